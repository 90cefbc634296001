//! Any text as a console line (or a Slack command's text): a `Command`, or a refusal with words.

#![no_main]

use dealgate::commands::parse::{ParseError, parse_line, tokenize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &str| {
    if let Err(e) = parse_line(line) {
        assert!(!e.to_string().trim().is_empty(), "{e:?}");
    }
    match tokenize(line) {
        Ok(_) => {}
        Err(ParseError::UnclosedQuote { at, .. }) => {
            assert!(at >= 1 && at <= line.chars().count(), "{at}")
        }
        Err(other) => panic!("the tokenizer refused with {other:?}"),
    }
});
