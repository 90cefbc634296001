//! Tests for `parse.rs`: one line per case where possible, errors by their reply text.

use chrono::NaiveDate;
use proptest::prelude::*;

use super::*;
use crate::commands::catalogue::{CATALOGUE, find};
use crate::commands::command::{PeriodSpec, UserRef, limits};
use crate::engine::ids::{ActivityId, DealNumber, FieldName, Money, StageId};
use crate::engine::playbook::Role;

fn ok(line: &str) -> Command {
    parse_line(line).unwrap_or_else(|e| panic!("`{line}` should parse, got: {e}"))
}

fn err(line: &str) -> String {
    match parse_line(line) {
        Ok(command) => panic!("`{line}` should be refused, got {command:?}"),
        Err(e) => e.to_string(),
    }
}

fn deal(n: u32) -> DealNumber {
    DealNumber::new(n).unwrap()
}

fn stage(s: &str) -> StageId {
    s.parse().unwrap()
}

fn activity(s: &str) -> ActivityId {
    s.parse().unwrap()
}

fn field(s: &str) -> FieldName {
    s.parse().unwrap()
}

fn money(s: &str) -> Money {
    s.parse().unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn user(s: &str) -> UserRef {
    UserRef::Name(s.to_string())
}

fn key(s: &str) -> UserRef {
    UserRef::Key(s.to_string())
}

fn text(s: &str) -> Option<String> {
    Some(s.to_string())
}

fn args(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn spec(name: &str) -> &'static CommandSpec {
    find(name).unwrap()
}

// ---- Every command, the way people type it ----

#[test]
fn deal_new_takes_name_amount_and_close_in_order() {
    assert_eq!(
        ok(r#"/deal new "Acme renewal" 48k 2026-12-31"#),
        Command::DealNew {
            name: "Acme renewal".into(),
            amount: money("48000"),
            close: date(2026, 12, 31),
            owner: None,
            stage: None
        }
    );
}

#[test]
fn deal_new_takes_owner_and_stage_by_name_in_any_order() {
    assert_eq!(
        ok("/deal new stage:Discover name:Acme close:2026-01-15 amount:$1,200.50 owner:@bob"),
        Command::DealNew {
            name: "Acme".into(),
            amount: money("1200.50"),
            close: date(2026, 1, 15),
            owner: Some(user("bob")),
            stage: Some(stage("discover"))
        }
    );
}

#[test]
fn deal_show_accepts_all_three_spellings_of_a_deal() {
    for line in [
        "/deal show deal-42",
        "/deal show 42",
        "/deal show #42",
        "deal show DEAL-42",
    ] {
        assert_eq!(ok(line), Command::DealShow { deal: deal(42) }, "{line}");
    }
}

#[test]
fn deal_list_needs_nothing() {
    assert_eq!(
        ok("/deal list"),
        Command::DealList {
            owner: None,
            stage: None
        }
    );
}

#[test]
fn deal_list_takes_owner_then_stage() {
    assert_eq!(
        ok("/deal list @alice proposal"),
        Command::DealList {
            owner: Some(user("alice")),
            stage: Some(stage("proposal"))
        }
    );
}

#[test]
fn deal_list_takes_a_stage_alone_by_name() {
    assert_eq!(
        ok("/deal list stage:proposal"),
        Command::DealList {
            owner: None,
            stage: Some(stage("proposal"))
        }
    );
}

#[test]
fn deal_set_joins_the_remaining_words_into_the_value() {
    assert_eq!(
        ok("/deal set 42 champion Dana Smith,  VP Finance"),
        Command::DealSet {
            deal: deal(42),
            field: field("champion"),
            value: "Dana Smith, VP Finance".into()
        }
    );
}

#[test]
fn deal_set_keeps_a_link_in_the_value() {
    assert_eq!(
        ok("/deal set 42 website https://acme.example/buy"),
        Command::DealSet {
            deal: deal(42),
            field: field("website"),
            value: "https://acme.example/buy".into()
        }
    );
}

#[test]
fn log_takes_a_quoted_note() {
    assert_eq!(
        ok(r#"/log deal-42 discovery-call "met the CFO""#),
        Command::Log {
            deal: deal(42),
            activity: activity("discovery-call"),
            note: text("met the CFO")
        }
    );
}

#[test]
fn log_needs_no_note() {
    assert_eq!(
        ok("/log 7 demo"),
        Command::Log {
            deal: deal(7),
            activity: activity("demo"),
            note: None
        }
    );
}

#[test]
fn log_takes_an_unquoted_note_with_times_and_colons_as_text() {
    assert_eq!(
        ok("/log 7 demo at 10:30 re:pricing, don't forget"),
        Command::Log {
            deal: deal(7),
            activity: activity("demo"),
            note: text("at 10:30 re:pricing, don't forget")
        }
    );
}

#[test]
fn log_fills_positional_words_around_named_ones() {
    assert_eq!(
        ok("/log activity:demo 42 went well"),
        Command::Log {
            deal: deal(42),
            activity: activity("demo"),
            note: text("went well")
        }
    );
}

#[test]
fn log_treats_a_blank_note_as_none() {
    assert_eq!(
        ok(r#"/log 7 demo note:"  ""#),
        Command::Log {
            deal: deal(7),
            activity: activity("demo"),
            note: None
        }
    );
}

#[test]
fn log_trims_the_note() {
    assert_eq!(
        ok(r#"/log 7 demo "  hi  ""#),
        Command::Log {
            deal: deal(7),
            activity: activity("demo"),
            note: text("hi")
        }
    );
}

#[test]
fn advance_takes_a_target_stage_by_name() {
    assert_eq!(
        ok("/advance #42 to:proposal"),
        Command::Advance {
            deal: deal(42),
            to: Some(stage("proposal")),
            override_reason: None
        }
    );
}

#[test]
fn advance_needs_only_the_deal() {
    assert_eq!(
        ok("/advance 42"),
        Command::Advance {
            deal: deal(42),
            to: None,
            override_reason: None
        }
    );
}

#[test]
fn advance_lowercases_a_stage_typed_in_capitals() {
    assert_eq!(
        ok("/advance 42 Proposal"),
        Command::Advance {
            deal: deal(42),
            to: Some(stage("proposal")),
            override_reason: None
        }
    );
}

#[test]
fn advance_takes_an_override_reason_in_quotes_after_its_name() {
    assert_eq!(
        ok(r#"/advance 42 override:"CFO signed off by phone""#),
        Command::Advance {
            deal: deal(42),
            to: None,
            override_reason: text("CFO signed off by phone")
        }
    );
}

#[test]
fn advance_takes_stage_and_override_positionally() {
    assert_eq!(
        ok("/advance 42 proposal CFO signed off"),
        Command::Advance {
            deal: deal(42),
            to: Some(stage("proposal")),
            override_reason: text("CFO signed off")
        }
    );
}

#[test]
fn option_names_ignore_case() {
    assert_eq!(
        ok("/advance 42 TO:proposal"),
        Command::Advance {
            deal: deal(42),
            to: Some(stage("proposal")),
            override_reason: None
        }
    );
}

#[test]
fn back_takes_stage_and_reason() {
    assert_eq!(
        ok("/back 42 discover budget owner changed"),
        Command::Back {
            deal: deal(42),
            to: stage("discover"),
            reason: "budget owner changed".into()
        }
    );
}

#[test]
fn approve_takes_an_optional_note() {
    assert_eq!(
        ok("/approve 42"),
        Command::Approve {
            deal: deal(42),
            note: None
        }
    );
    assert_eq!(
        ok("/approve 42 pricing ok"),
        Command::Approve {
            deal: deal(42),
            note: text("pricing ok")
        }
    );
}

#[test]
fn won_takes_a_deal() {
    assert_eq!(
        ok("/won deal-9"),
        Command::Won {
            deal: deal(9),
            override_reason: None
        }
    );
    assert_eq!(
        ok("/won deal-9 override:signed by phone, paper follows"),
        Command::Won {
            deal: deal(9),
            override_reason: text("signed by phone, paper follows")
        }
    );
}

#[test]
fn lost_joins_the_reason_without_quotes() {
    assert_eq!(
        ok("/lost deal-42 went with a competitor"),
        Command::Lost {
            deal: deal(42),
            reason: "went with a competitor".into()
        }
    );
}

#[test]
fn a_named_reason_keeps_the_words_typed_after_it() {
    assert_eq!(
        ok("/lost 42 reason:went with a competitor"),
        Command::Lost {
            deal: deal(42),
            reason: "went with a competitor".into()
        }
    );
}

#[test]
fn a_quoted_word_that_looks_like_an_option_is_text() {
    assert_eq!(
        ok(r#"/lost 42 "deal:off""#),
        Command::Lost {
            deal: deal(42),
            reason: "deal:off".into()
        }
    );
}

#[test]
fn curly_quotes_group_words_too() {
    assert_eq!(
        ok("/lost 42 “no budget”"),
        Command::Lost {
            deal: deal(42),
            reason: "no budget".into()
        }
    );
}

#[test]
fn playbook_takes_an_optional_stage() {
    assert_eq!(ok("/playbook"), Command::Playbook { stage: None });
    assert_eq!(ok("/playbook show"), Command::Playbook { stage: None });
    for line in ["/playbook qualify", "/playbook show qualify"] {
        assert_eq!(
            ok(line),
            Command::Playbook {
                stage: Some(stage("qualify"))
            },
            "{line}"
        );
    }
    // The other playbook commands are not stages.
    assert_eq!(ok("/playbook history"), Command::PlaybookHistory);
}

#[test]
fn a_playbook_update_takes_a_file_a_reason_and_a_mapping() {
    assert_eq!(
        ok(r#"/playbook update ./next.toml "security review" map:demo=proposal"#),
        Command::PlaybookUpdate {
            file: crate::commands::command::ProposedFile::Path("./next.toml".into()),
            reason: "security review".into(),
            map: Some("demo=proposal".into()),
        }
    );
    assert_eq!(
        ok("/playbook confirm 12"),
        Command::PlaybookConfirm { preview: 12 }
    );
    for bad in [
        "/playbook confirm 0",
        "/playbook confirm -1",
        "/playbook confirm x",
    ] {
        assert!(
            parse_line(bad)
                .unwrap_err()
                .to_string()
                .contains("is not a number above zero"),
            "{bad}"
        );
    }
    assert!(parse_line("/playbook update").is_err());
}

#[test]
fn forecast_takes_period_and_owner() {
    assert_eq!(
        ok("/forecast"),
        Command::Forecast {
            period: None,
            owner: None
        }
    );
    assert_eq!(
        ok("/forecast 2026-Q4 <@123456>"),
        Command::Forecast {
            period: Some(PeriodSpec::Quarter {
                year: 2026,
                quarter: 4
            }),
            owner: Some(key("123456"))
        }
    );
    assert_eq!(
        ok("/forecast owner:alice"),
        Command::Forecast {
            period: None,
            owner: Some(user("alice"))
        }
    );
}

#[test]
fn team_set_takes_user_role_and_manager() {
    assert_eq!(
        ok("/team set @alice Rep <@!99>"),
        Command::TeamSet {
            user: user("alice"),
            role: Role::Rep,
            manager: Some(key("99"))
        }
    );
    assert_eq!(
        ok("/team set bob admin"),
        Command::TeamSet {
            user: user("bob"),
            role: Role::Admin,
            manager: None
        }
    );
}

#[test]
fn team_list_takes_nothing() {
    assert_eq!(ok("/team list"), Command::TeamList);
}

#[test]
fn help_takes_a_one_or_two_word_command_and_names_it_canonically() {
    assert_eq!(ok("/help"), Command::Help { command: None });
    assert_eq!(
        ok("/help Advance"),
        Command::Help {
            command: text("advance")
        }
    );
    assert_eq!(
        ok("/help deal new"),
        Command::Help {
            command: text("deal new")
        }
    );
    assert_eq!(
        ok("/help /team set"),
        Command::Help {
            command: text("team set")
        }
    );
}

#[test]
fn the_slash_is_optional_and_the_command_name_ignores_case() {
    assert_eq!(
        ok("WON 3"),
        Command::Won {
            deal: deal(3),
            override_reason: None
        }
    );
    assert_eq!(
        ok("  /Deal   Show 3  "),
        Command::DealShow { deal: deal(3) }
    );
}

// ---- Every error, by the reply it gives ----

#[test]
fn an_empty_line_asks_for_a_command() {
    for line in ["", "   ", "/", " / "] {
        assert_eq!(parse_line(line), Err(ParseError::Empty), "{line:?}");
    }
}

#[test]
fn an_unknown_command_suggests_the_nearest_one() {
    assert_eq!(
        err("/advnce 42"),
        "`/advnce` is not a command. Did you mean `/advance`? `/help` lists every command."
    );
}

#[test]
fn an_unknown_command_with_nothing_near_points_to_help() {
    assert_eq!(
        err("/weather today"),
        "`/weather` is not a command. `/help` lists every command."
    );
}

#[test]
fn a_typo_in_a_two_word_command_is_caught() {
    assert_eq!(
        err("/deal nwe x 1 2026-01-01"),
        "`/deal nwe` is not a command. Did you mean `/deal new`? `/help` lists every command."
    );
}

#[test]
fn a_typo_in_the_group_word_of_a_two_word_command_is_caught() {
    assert_eq!(
        parse_line("/dael new x 1 2026-01-01"),
        Err(ParseError::UnknownCommand {
            typed: "dael new".into(),
            suggestion: Some("deal new")
        })
    );
}

#[test]
fn help_for_a_group_word_is_help_for_the_group() {
    assert_eq!(
        parse_line("/help team"),
        Ok(Command::Help {
            command: Some("team".into())
        })
    );
    assert_eq!(
        parse_line("/help advance deal-42 now"),
        Ok(Command::Help {
            command: Some("advance".into())
        })
    );
}

#[test]
fn a_group_word_alone_lists_what_may_follow() {
    assert_eq!(
        err("/deal"),
        "`/deal` needs one more word: `new`, `show`, `list` or `set`, e.g. `/deal new`."
    );
    assert_eq!(
        err("/team purge"),
        "`/team purge` is not a command; after `/team` comes `set`, `list` or `visibility`."
    );
}

#[test]
fn a_missing_option_is_named_with_the_usage_and_an_example() {
    assert_eq!(
        err("/log deal-42"),
        "`/log` needs `activity`. Usage: `/log deal activity [note]` — e.g. `/log deal-42 discovery-call \"met the CFO\"`"
    );
}

#[test]
fn a_missing_reason_is_a_missing_option() {
    assert!(err("/lost 42").starts_with("`/lost` needs `reason`. Usage: `/lost deal reason`"));
}

#[test]
fn a_blank_required_text_is_refused() {
    assert_eq!(
        parse_line(r#"/lost 42 reason:"   ""#),
        Err(ParseError::EmptyText {
            command: spec("lost"),
            option: "reason"
        })
    );
    assert!(err(r#"/lost 42 """#).starts_with("`reason` cannot be blank for `/lost`. Usage: "));
}

#[test]
fn an_unknown_option_name_lists_the_valid_ones() {
    assert_eq!(
        err("/advance 42 stage:proposal"),
        "`/advance` has no option `stage`. Its options are `deal`, `to` and `override`. \
         Usage: `/advance deal [to] [override]` — e.g. `/advance deal-42 proposal`"
    );
}

#[test]
fn an_unknown_option_name_close_to_a_real_one_is_suggested() {
    assert!(err(r#"/log 42 notes:"met the CFO""#).starts_with("`/log` has no option `notes`. Did you mean `note`? Its options are `deal`, `activity` and `note`."));
}

#[test]
fn an_option_after_the_last_one_is_unknown_not_extra() {
    assert!(
        err("/deal show 42 reason:price")
            .starts_with("`/deal show` has no option `reason`. Its only option is `deal`.")
    );
    assert!(
        err("/team list role:rep")
            .starts_with("`/team list` has no option `role`. It takes no options.")
    );
}

#[test]
fn an_option_given_twice_is_refused() {
    assert_eq!(
        parse_line("/log deal:1 deal:2 demo"),
        Err(ParseError::DuplicateOption {
            command: spec("log"),
            option: "deal"
        })
    );
    assert!(
        err("/log deal:1 DEAL:2 demo")
            .starts_with("`deal` is given twice; give each option once. Usage: `/log")
    );
}

#[test]
fn words_beyond_the_last_option_are_too_many() {
    assert_eq!(
        err("/deal show 42 today please"),
        "`/deal show` got more than it takes: `today please` is left over. Put text with spaces in \
         quotes. Usage: `/deal show deal` — e.g. `/deal show deal-42`"
    );
}

#[test]
fn words_before_a_named_rest_option_are_too_many() {
    assert_eq!(
        parse_line("/lost 42 extra reason:price"),
        Err(ParseError::TooManyArguments {
            command: spec("lost"),
            extra: "extra".into()
        })
    );
}

#[test]
fn a_negative_amount_is_refused_naming_the_option() {
    assert_eq!(
        err("/deal new Acme -5 2026-12-31"),
        "`amount`: amounts cannot be negative (got `-5`)"
    );
}

#[test]
fn a_word_where_an_amount_belongs_is_refused() {
    assert!(
        err("/deal new Acme renewal 48k 2026-12-31")
            .starts_with("`amount`: `renewal` is not an amount")
    );
}

#[test]
fn a_bad_deal_number_is_refused_naming_the_option() {
    assert_eq!(
        err("/won acme"),
        "`deal`: `acme` is not a deal; name a deal as `deal-42`, `42` or `#42`"
    );
}

#[test]
fn a_bad_activity_id_is_refused() {
    assert!(
        err("/log 42 discovery!call").starts_with("`activity`: `discovery!call` is not a valid id")
    );
}

#[test]
fn an_impossible_date_is_refused_naming_the_option() {
    assert_eq!(
        err("/deal new Acme 5k 2026-02-30"),
        "`close`: there is no 30 February 2026"
    );
}

#[test]
fn a_date_in_another_format_is_refused_with_the_iso_spelling() {
    assert_eq!(
        err("/deal new Acme 5k 31/12/2026"),
        "`close`: `31/12/2026` is not a date; write dates as YYYY-MM-DD, e.g. 2026-12-31"
    );
}

#[test]
fn a_bad_period_lists_the_good_ones() {
    assert!(
        err("/forecast someday")
            .starts_with("`period`: `someday` is not a period; use this-month, next-month")
    );
}

#[test]
fn a_bad_member_is_refused() {
    assert!(err("/deal list al!ce").starts_with("`owner`: `al!ce` is not a member; write `@name`"));
}

#[test]
fn a_bad_role_lists_the_roles() {
    assert_eq!(
        err("/team set alice boss"),
        "`role`: `boss` is not a role; use `rep`, `manager` or `admin`"
    );
}

#[test]
fn a_note_over_the_limit_names_the_limit_and_its_length() {
    let line = format!("/log 42 demo {}", "x".repeat(1_204));
    assert_eq!(
        err(&line),
        "`note`: a note can be at most 1,000 characters; yours has 1,204"
    );
}

#[test]
fn text_exactly_at_the_limit_is_accepted() {
    let reason = "é".repeat(limits::REASON);
    assert_eq!(
        ok(&format!("/lost 42 {reason}")),
        Command::Lost {
            deal: deal(42),
            reason
        }
    );
}

#[test]
fn a_long_deal_name_and_override_are_refused_with_their_own_limits() {
    let name = "n".repeat(limits::DEAL_NAME + 1);
    assert_eq!(
        err(&format!("/deal new {name} 5 2026-01-01")),
        "`name`: a deal name can be at most 120 characters; yours has 121"
    );
    let why = "w".repeat(limits::REASON + 1);
    assert_eq!(
        err(&format!("/advance 42 override:{why}")),
        "`override`: an override reason can be at most 500 characters; yours has 501"
    );
}

#[test]
fn a_deal_name_with_an_escape_sequence_is_refused_naming_the_character_and_where() {
    assert_eq!(
        err("/deal new \"Acme\u{1b}[31m\" 5 2026-01-01"),
        "`name`: a deal name can't contain control or invisible characters (found U+001B at \
         position 5); type it on one line, without special characters"
    );
}

#[test]
fn a_deal_name_with_a_line_break_is_refused_from_any_platform() {
    let forged = "Acme\n✅ Approved by Dana (manager), gates passed";
    let refused = build(
        spec("deal new"),
        &args(&[("name", forged), ("amount", "5"), ("close", "2026-01-01")]),
    )
    .unwrap_err();
    assert_eq!(
        refused,
        ParseError::BadValue {
            option: Some("name"),
            problem: ValueProblem::Unprintable {
                what: "a deal name",
                found: '\n',
                at: 5
            }
        }
    );
    assert!(refused.to_string().contains("(found U+000A at position 5)"));
}

#[test]
fn bidi_overrides_and_zero_width_characters_are_refused_in_names_and_field_values() {
    for hostile in [
        "\u{202e}gpj.exe",
        "Ac\u{200b}me",
        "Acme\u{2066}",
        "Acme\u{feff}",
    ] {
        assert!(
            err(&format!("/deal new \"{hostile}\" 5 2026-01-01"))
                .starts_with("`name`: a deal name can't contain control or invisible characters"),
            "{hostile:?}"
        );
        assert!(
            err(&format!("/deal set 42 champion \"{hostile}\""))
                .starts_with("`value`: a field value can't contain control or invisible"),
            "{hostile:?}"
        );
    }
}

#[test]
fn names_with_markup_and_any_script_are_kept_as_typed() {
    // Markup is not refused: it is text, and every renderer escapes it.
    let Command::DealNew { name, .. } =
        ok("/deal new \"**[Verify](https://evil.example)** <@1> 中文 Café\" 5 2026-01-01")
    else {
        panic!("not a deal");
    };
    assert_eq!(name, "**[Verify](https://evil.example)** <@1> 中文 Café");
}

#[test]
fn notes_and_reasons_keep_their_words_on_one_line_without_invisible_characters() {
    assert_eq!(
        build(
            spec("log"),
            &args(&[
                ("deal", "7"),
                ("activity", "demo"),
                ("note", "met the CFO\r\nand\tthe CTO\u{200b}\u{1b}[0m")
            ])
        ),
        Ok(Command::Log {
            deal: deal(7),
            activity: activity("demo"),
            note: text("met the CFO and the CTO[0m")
        })
    );
    assert_eq!(
        build(
            spec("lost"),
            &args(&[("deal", "7"), ("reason", "budget\n✅ Approved by Dana")])
        ),
        Ok(Command::Lost {
            deal: deal(7),
            reason: "budget ✅ Approved by Dana".to_string()
        })
    );
}

#[test]
fn prose_of_nothing_but_breaks_and_invisible_characters_counts_as_not_given() {
    assert_eq!(
        build(
            spec("log"),
            &args(&[
                ("deal", "7"),
                ("activity", "demo"),
                ("note", "\u{200b}\n\u{202e}")
            ])
        ),
        Ok(Command::Log {
            deal: deal(7),
            activity: activity("demo"),
            note: None
        })
    );
    assert_eq!(
        build(
            spec("lost"),
            &args(&[("deal", "7"), ("reason", "\r\n\u{feff}")])
        ),
        Err(ParseError::EmptyText {
            command: spec("lost"),
            option: "reason"
        })
    );
}

#[test]
fn a_slack_mention_whose_label_hides_a_control_character_is_refused() {
    assert!(parse_user("<@U024BE7LH|al\u{1b}ex>").is_err());
    assert_eq!(parse_user("<@U024BE7LH|alex>"), Ok(key("U024BE7LH")));
}

#[test]
fn an_unclosed_quote_says_where_it_opened() {
    assert_eq!(
        parse_line(r#"/log 42 demo "met the CFO"#),
        Err(ParseError::UnclosedQuote {
            open: '"',
            close: '"',
            at: 14
        })
    );
    assert_eq!(
        err(r#"/log 42 demo "met"#),
        "The `\"` at character 14 starts a quote that is never closed: end it with `\"`. \
         Inside quotes, write `\\\"` for a quote that belongs to the text."
    );
}

#[test]
fn help_for_an_unknown_command_suggests_the_nearest() {
    assert_eq!(
        parse_line("/help advnce"),
        Err(ParseError::UnknownCommand {
            typed: "advnce".into(),
            suggestion: Some("advance")
        })
    );
}

// ---- build, as the Discord and Slack adapters call it ----

#[test]
fn build_takes_named_values_in_any_order() {
    assert_eq!(
        build(
            spec("advance"),
            &args(&[("override", "signed"), ("deal", "42")])
        ),
        Ok(Command::Advance {
            deal: deal(42),
            to: None,
            override_reason: text("signed")
        })
    );
}

#[test]
fn build_refuses_an_unknown_option() {
    assert!(matches!(
        build(spec("won"), &args(&[("deal", "42"), ("reason", "x")])),
        Err(ParseError::UnknownOption { option, .. }) if option == "reason"
    ));
}

#[test]
fn build_refuses_an_option_given_twice() {
    assert_eq!(
        build(spec("won"), &args(&[("deal", "42"), ("deal", "43")])),
        Err(ParseError::DuplicateOption {
            command: spec("won"),
            option: "deal"
        })
    );
}

#[test]
fn build_treats_blank_values_as_not_given() {
    assert_eq!(
        build(spec("playbook show"), &args(&[("stage", " ")])),
        Ok(Command::Playbook { stage: None })
    );
    assert_eq!(
        build(spec("won"), &args(&[("deal", "")])),
        Err(ParseError::MissingOption {
            command: spec("won"),
            option: "deal"
        })
    );
}

#[test]
fn build_reports_the_first_missing_option_in_catalogue_order() {
    assert_eq!(
        build(spec("deal new"), &args(&[("close", "2026-01-01")])),
        Err(ParseError::MissingOption {
            command: spec("deal new"),
            option: "name"
        })
    );
}

// ---- tokenize ----

#[test]
fn tokenize_splits_on_any_whitespace() {
    assert_eq!(tokenize(" a\tb \n c ").unwrap(), ["a", "b", "c"]);
}

#[test]
fn tokenize_groups_double_and_single_quoted_words() {
    assert_eq!(tokenize(r#"a "b c" 'd e'"#).unwrap(), ["a", "b c", "d e"]);
}

#[test]
fn tokenize_keeps_a_quoted_value_after_an_option_name() {
    assert_eq!(
        tokenize(r#"note:"met the CFO" x"#).unwrap(),
        ["note:met the CFO", "x"]
    );
}

#[test]
fn tokenize_unescapes_a_quote_and_a_backslash_inside_quotes() {
    assert_eq!(
        tokenize(r#""say \"hi\" \\ \n""#).unwrap(),
        [r#"say "hi" \ \n"#]
    );
}

#[test]
fn tokenize_keeps_apostrophes_and_backslashes_inside_words() {
    assert_eq!(
        tokenize(r"don't C:\temp it's").unwrap(),
        ["don't", r"C:\temp", "it's"]
    );
}

#[test]
fn tokenize_keeps_an_empty_quoted_word() {
    assert_eq!(tokenize(r#"a "" b"#).unwrap(), ["a", "", "b"]);
}

#[test]
fn tokenize_refuses_an_unclosed_quote() {
    assert_eq!(
        tokenize("a 'b c"),
        Err(ParseError::UnclosedQuote {
            open: '\'',
            close: '\'',
            at: 3
        })
    );
    assert_eq!(
        tokenize("“b c"),
        Err(ParseError::UnclosedQuote {
            open: '“',
            close: '”',
            at: 1
        })
    );
}

#[test]
fn tokenize_of_nothing_is_no_words() {
    assert_eq!(tokenize("  ").unwrap(), Vec::<String>::new());
}

// ---- values ----

#[test]
fn dates_are_iso_only() {
    assert_eq!(parse_date("2026-12-31"), Ok(date(2026, 12, 31)));
    assert_eq!(parse_date(" 2028-02-29 "), Ok(date(2028, 2, 29)));
}

#[test]
fn an_impossible_date_names_the_day_that_does_not_exist() {
    assert_eq!(
        parse_date("2026-02-30").unwrap_err().to_string(),
        "there is no 30 February 2026"
    );
    assert_eq!(
        parse_date("2026-04-31").unwrap_err().to_string(),
        "there is no 31 April 2026"
    );
}

#[test]
fn a_month_out_of_range_is_named() {
    assert_eq!(
        parse_date("2026-13-01").unwrap_err().to_string(),
        "`2026-13-01` has no month 13; months run from 01 to 12"
    );
}

#[test]
fn other_date_spellings_get_the_iso_spelling_when_only_one_reading_is_real() {
    let example = |s: &str| match parse_date(s) {
        Err(ParseError::BadValue {
            problem: ValueProblem::DateFormat { example, .. },
            ..
        }) => example,
        other => panic!("{s}: {other:?}"),
    };
    assert_eq!(example("31/12/2026"), "2026-12-31");
    assert_eq!(example("12/31/2026"), "2026-12-31");
    assert_eq!(example("31.12.2026"), "2026-12-31");
    assert_eq!(example("2026-2-3"), "2026-02-03");
    assert_eq!(example("2026/12/31"), "2026-12-31");
    // Day-first and month-first are both real dates here, so no guess.
    assert_eq!(example("01/02/2026"), "2026-12-31");
    assert_eq!(example("tomorrow"), "2026-12-31");
}

#[test]
fn periods_have_names_months_and_quarters_in_any_case() {
    let cases = [
        ("this-month", PeriodSpec::ThisMonth),
        ("Next-Month", PeriodSpec::NextMonth),
        ("this-quarter", PeriodSpec::ThisQuarter),
        ("next-quarter", PeriodSpec::NextQuarter),
        ("THIS-YEAR", PeriodSpec::ThisYear),
        ("all", PeriodSpec::All),
        (
            "2026-11",
            PeriodSpec::Month {
                year: 2026,
                month: 11,
            },
        ),
        (
            "2026-1",
            PeriodSpec::Month {
                year: 2026,
                month: 1,
            },
        ),
        (
            "2026-Q4",
            PeriodSpec::Quarter {
                year: 2026,
                quarter: 4,
            },
        ),
        (
            "2026-q1",
            PeriodSpec::Quarter {
                year: 2026,
                quarter: 1,
            },
        ),
        (
            "Q4-2026",
            PeriodSpec::Quarter {
                year: 2026,
                quarter: 4,
            },
        ),
    ];
    for (text, period) in cases {
        assert_eq!(parse_period(text), Ok(period), "{text}");
    }
}

#[test]
fn impossible_periods_are_refused() {
    for text in [
        "2026-13",
        "2026-0",
        "2026-Q5",
        "Q0-2026",
        "26-11",
        "2026-",
        "-",
        "",
        "quarter",
        "2026-11-01",
    ] {
        assert!(parse_period(text).is_err(), "{text}");
    }
}

#[test]
fn periods_display_as_they_parse() {
    for text in [
        "this-month",
        "next-month",
        "this-quarter",
        "next-quarter",
        "this-year",
        "all",
        "2026-11",
        "2026-Q4",
    ] {
        assert_eq!(parse_period(text).unwrap().to_string(), text);
    }
}

#[test]
fn members_are_names_or_mentions() {
    assert_eq!(parse_user("@alice"), Ok(user("alice")));
    assert_eq!(parse_user("alice.b_c-d"), Ok(user("alice.b_c-d")));
    assert_eq!(parse_user("josé"), Ok(user("josé")));
    assert_eq!(parse_user("<@123456>"), Ok(key("123456")));
    assert_eq!(parse_user("<@!123456>"), Ok(key("123456")));
    assert_eq!(parse_user("<@U024BE7LH|bob>"), Ok(key("U024BE7LH")));
    assert_eq!(parse_user(&"a".repeat(64)), Ok(user(&"a".repeat(64))));
}

#[test]
fn bad_members_are_refused() {
    let too_long = "a".repeat(65);
    for text in [
        "",
        "@",
        "@@alice",
        "al ice",
        "al!ce",
        "<@>",
        "<@12 3>",
        "<@123",
        "<#123>",
        too_long.as_str(),
    ] {
        assert!(parse_user(text).is_err(), "{text:?}");
    }
}

// ---- The catalogue and the parser agree ----

/// Adding a variant to `Command` breaks this match: give it an arm, raise `VARIANTS`, and add
/// its catalogue entry with an example.
fn variant_number(command: &Command) -> usize {
    match command {
        Command::DealNew { .. } => 0,
        Command::DealShow { .. } => 1,
        Command::DealList { .. } => 2,
        Command::DealSet { .. } => 3,
        Command::Log { .. } => 4,
        Command::Advance { .. } => 5,
        Command::Back { .. } => 6,
        Command::Approve { .. } => 7,
        Command::Won { .. } => 8,
        Command::Lost { .. } => 9,
        Command::Playbook { .. } => 10,
        Command::Forecast { .. } => 11,
        Command::TeamSet { .. } => 12,
        Command::TeamList => 13,
        Command::Help { .. } => 14,
        Command::DigestSetup { .. } => 15,
        Command::DigestPreview => 16,
        Command::NudgesSetup { .. } => 17,
        Command::NudgesSnooze { .. } => 18,
        Command::TeamVisibility { .. } => 19,
        Command::PlaybookHistory => 20,
        Command::PlaybookUpdate { .. } => 21,
        Command::PlaybookConfirm { .. } => 22,
        Command::PlaybookAck { .. } => 23,
        Command::PlaybookAcks => 24,
        Command::PlaybookEvidence { .. } => 25,
        Command::Coach { .. } => 26,
        Command::PlaybookCalibrate { .. } => 27,
        Command::ForecastAccuracy { .. } => 28,
        Command::ForecastChanges { .. } => 29,
    }
}

const VARIANTS: usize = 30;

#[test]
fn every_example_parses_to_its_command_and_every_variant_has_one() {
    let mut seen = [false; VARIANTS];
    for spec in CATALOGUE {
        let command = ok(spec.example);
        assert_eq!(command.name(), spec.name, "{}", spec.example);
        seen[variant_number(&command)] = true;
    }
    assert_eq!(seen, [true; VARIANTS], "a variant has no catalogue entry");
}

#[test]
fn every_example_displays_as_a_line_that_parses_back_to_it() {
    for spec in CATALOGUE {
        let command = ok(spec.example);
        assert_eq!(ok(&command.to_string()), command, "{}", spec.example);
    }
}

#[test]
fn commands_display_positionally_until_an_option_is_skipped() {
    let log = Command::Log {
        deal: deal(42),
        activity: activity("discovery-call"),
        note: text("met the CFO"),
    };
    assert_eq!(
        log.to_string(),
        r#"/log deal-42 discovery-call "met the CFO""#
    );
    let advance = Command::Advance {
        deal: deal(4),
        to: None,
        override_reason: text("CFO: yes"),
    };
    assert_eq!(
        advance.to_string(),
        r#"/advance deal-4 override:"CFO: yes""#
    );
    assert_eq!(Command::TeamList.to_string(), "/team list");
}

// ---- Properties ----

fn quote(word: &str) -> String {
    format!("\"{}\"", word.replace('\\', "\\\\").replace('"', "\\\""))
}

fn slug() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9_-]{0,20}"
}

fn text_up_to(limit: usize) -> impl Strategy<Value = String> {
    "(?s).{1,80}".prop_filter_map("blank or too long", move |s| {
        // Control and invisible characters are refused or dropped on input (tested apart).
        let s: String = s
            .chars()
            .filter(|c| !crate::engine::text::is_forbidden(*c))
            .collect();
        let t = s.trim().to_string();
        (!t.is_empty() && t.chars().count() <= limit).then_some(t)
    })
}

fn arb_user() -> impl Strategy<Value = UserRef> {
    prop_oneof![
        "[A-Za-z0-9._-]{1,64}".prop_map(UserRef::Name),
        "[0-9]{1,20}".prop_map(UserRef::Key),
        "U[A-Z0-9]{8,11}".prop_map(UserRef::Key),
    ]
}

fn arb_period() -> impl Strategy<Value = PeriodSpec> {
    prop_oneof![
        Just(PeriodSpec::ThisMonth),
        Just(PeriodSpec::NextMonth),
        Just(PeriodSpec::ThisQuarter),
        Just(PeriodSpec::NextQuarter),
        Just(PeriodSpec::ThisYear),
        Just(PeriodSpec::All),
        (1000..=9999i32, 1..=12u32).prop_map(|(year, month)| PeriodSpec::Month { year, month }),
        (1000..=9999i32, 1..=4u32)
            .prop_map(|(year, quarter)| PeriodSpec::Quarter { year, quarter }),
    ]
}

fn arb_deal() -> impl Strategy<Value = DealNumber> {
    (1..=u32::MAX).prop_map(deal)
}

fn arb_stage() -> impl Strategy<Value = StageId> {
    slug().prop_map(|s| stage(&s))
}

fn arb_command() -> impl Strategy<Value = Command> {
    use proptest::option::of as o;
    let money = (0..=Money::MAX_MINOR).prop_map(|m| Money::from_minor(m).unwrap());
    let date = (0..100_000i64).prop_map(|d| date(1900, 1, 1) + chrono::Duration::days(d));
    let role = prop_oneof![Just(Role::Rep), Just(Role::Manager), Just(Role::Admin)];
    let name = proptest::sample::select(
        CATALOGUE
            .iter()
            .map(|s| s.name.to_string())
            .collect::<Vec<_>>(),
    );
    prop_oneof![
        (
            text_up_to(limits::DEAL_NAME),
            money,
            date,
            o(arb_user()),
            o(arb_stage())
        )
            .prop_map(|(name, amount, close, owner, stage)| Command::DealNew {
                name,
                amount,
                close,
                owner,
                stage
            }),
        arb_deal().prop_map(|deal| Command::DealShow { deal }),
        (o(arb_user()), o(arb_stage()))
            .prop_map(|(owner, stage)| Command::DealList { owner, stage }),
        (arb_deal(), slug(), text_up_to(limits::FIELD_VALUE)).prop_map(|(deal, f, value)| {
            Command::DealSet {
                deal,
                field: field(&f),
                value,
            }
        }),
        (arb_deal(), slug(), o(text_up_to(limits::NOTE))).prop_map(|(deal, a, note)| {
            Command::Log {
                deal,
                activity: activity(&a),
                note,
            }
        }),
        (arb_deal(), o(arb_stage()), o(text_up_to(limits::REASON))).prop_map(
            |(deal, to, override_reason)| Command::Advance {
                deal,
                to,
                override_reason
            }
        ),
        (arb_deal(), arb_stage(), text_up_to(limits::REASON))
            .prop_map(|(deal, to, reason)| Command::Back { deal, to, reason }),
        (arb_deal(), o(text_up_to(limits::NOTE)))
            .prop_map(|(deal, note)| Command::Approve { deal, note }),
        (arb_deal(), o(text_up_to(limits::REASON))).prop_map(|(deal, override_reason)| {
            Command::Won {
                deal,
                override_reason,
            }
        }),
        (arb_deal(), text_up_to(limits::REASON))
            .prop_map(|(deal, reason)| Command::Lost { deal, reason }),
        o(arb_stage()).prop_map(|stage| Command::Playbook { stage }),
        (o(arb_period()), o(arb_user()))
            .prop_map(|(period, owner)| Command::Forecast { period, owner }),
        (arb_user(), role, o(arb_user())).prop_map(|(user, role, manager)| Command::TeamSet {
            user,
            role,
            manager
        }),
        Just(Command::TeamList),
        o(name).prop_map(|command| Command::Help { command }),
    ]
}

/// Lines made of the words people actually type, so the fuzzing reaches past the command name.
fn commandish_line() -> impl Strategy<Value = String> {
    let name = proptest::sample::select(CATALOGUE.iter().map(|s| s.name).collect::<Vec<_>>());
    let word = prop_oneof![
        Just("deal-42".to_string()),
        Just("to:".to_string()),
        Just("note:\"".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("\\".to_string()),
        Just("2026-02-30".to_string()),
        Just("<@!".to_string()),
        "[a-z]{1,8}:[^ ]{0,8}",
        "\\PC{0,12}",
    ];
    (name, proptest::collection::vec(word, 0..8))
        .prop_map(|(name, words)| format!("/{name} {}", words.join(" ")))
}

proptest! {
    #[test]
    fn parse_line_never_panics_on_any_text(line in "\\PC{0,200}") {
        let _ = parse_line(&line);
    }

    #[test]
    fn parse_line_never_panics_on_command_like_text(line in commandish_line()) {
        let _ = parse_line(&line);
    }

    #[test]
    fn tokenize_reads_back_any_words_quoted_by_the_helper(words in proptest::collection::vec(any::<String>(), 0..8)) {
        let line = words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
        prop_assert_eq!(tokenize(&line), Ok(words));
    }

    #[test]
    fn every_command_displays_as_a_line_that_parses_back_to_it(command in arb_command()) {
        let line = command.to_string();
        prop_assert_eq!(parse_line(&line), Ok(command), "{}", line);
    }
}

/// Pieces of the grammar and of what breaks tokenizers: every command and group word, every
/// option name as `name:` (with and without a value or an opening quote), mentions of every
/// platform, numbers, money and dates at and past their limits, lone and curly quotes,
/// backslashes, control, invisible and bidi characters, and words far past any text limit.
fn grammar_piece() -> impl Strategy<Value = String> {
    let mut names: Vec<String> = CATALOGUE.iter().map(|s| s.name.to_string()).collect();
    names.extend(
        CATALOGUE
            .iter()
            .filter_map(|s| Some(s.name.split_once(' ')?.0.to_string())),
    );
    let options: Vec<String> = CATALOGUE
        .iter()
        .flat_map(|s| s.options.iter().map(|o| o.name.to_string()))
        .collect();
    let fixed = [
        "<@123>",
        "<@!18446744073709551616>",
        "<@U024BE7LH|dana>",
        "<@",
        "<#7001>",
        "<#C1|x>",
        "@ann",
        "@",
        "#42",
        "deal-0",
        "deal-4294967295",
        "deal-4294967296",
        "-1",
        "0",
        "1e309",
        "12.5k",
        "99999999999999999999",
        "1,2,3.4.5",
        "NaN",
        "2026-02-29",
        "2024-02-29",
        "9999-12-31",
        "0000-01-01",
        "+262143-01-01",
        "2026-Q5",
        "2026-13",
        "24:00",
        "23:59",
        "Europe/Berlin",
        "UTC",
        "yes",
        "no",
        "\"",
        "'",
        "“",
        "”",
        "‘",
        "’",
        "\\",
        "\\\"",
        ":",
        "::",
        "a:",
        "note:\"",
        "to:'",
        "\u{0}",
        "\u{1b}[31m",
        "\r\n",
        "\u{202e}",
        "\u{200b}",
        "\u{feff}",
        "\t",
        "/",
        "//",
    ];
    prop_oneof![
        proptest::sample::select(names),
        proptest::sample::select(options.clone()).prop_map(|o| format!("{o}:")),
        (proptest::sample::select(options), "\\PC{0,12}").prop_map(|(o, v)| format!("{o}:{v}")),
        proptest::sample::select(fixed.map(str::to_string).to_vec()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| format!("deal-{n}")),
        any::<char>().prop_map(String::from),
        "[a-z]{1,10}",
        any::<String>(),
        (any::<char>(), 1000usize..3000).prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
}

/// Lines put together from `grammar_piece`s, separated by spaces or nothing at all, with or
/// without the leading slash.
fn grammar_line() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        proptest::collection::vec((grammar_piece(), any::<bool>()), 0..12),
    )
        .prop_map(|(slash, pieces)| {
            let mut line = if slash {
                "/".to_string()
            } else {
                String::new()
            };
            for (piece, spaced) in pieces {
                line.push_str(&piece);
                if spaced {
                    line.push(' ');
                }
            }
            line
        })
}

/// What every refusal must be: words for the person, and a quote position inside their line.
fn check_refusal(line: &str, result: Result<Command, ParseError>) -> Result<(), TestCaseError> {
    if let Err(e) = result {
        prop_assert!(!e.to_string().trim().is_empty(), "{e:?} for {line:?}");
        if let ParseError::UnclosedQuote { at, .. } = e {
            prop_assert!(at >= 1 && at <= line.chars().count(), "{at} for {line:?}");
        }
    }
    Ok(())
}

proptest! {
    // Under a second in a debug build; the pieces are where the bugs would be.
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn parse_line_builds_a_command_or_says_why_not_on_lines_made_of_grammar_pieces(
        line in grammar_line()
    ) {
        check_refusal(&line, parse_line(&line))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_line_builds_a_command_or_says_why_not_on_any_string_even_with_control_characters(
        line in any::<String>()
    ) {
        check_refusal(&line, parse_line(&line))?;
    }

    #[test]
    fn parse_line_survives_lines_of_tens_of_thousands_of_characters(
        piece in grammar_piece(),
        times in 1usize..40,
    ) {
        let line = format!("/lost deal-42 {}", piece.repeat(times));
        check_refusal(&line, parse_line(&line))?;
    }

    /// A quote that is never closed is the tokenizer's only refusal, and it points into the line.
    #[test]
    fn tokenize_refuses_only_an_unclosed_quote(line in grammar_line()) {
        match tokenize(&line) {
            // Only a pair of quotes makes an empty word.
            Ok(words) => prop_assert!(
                words.iter().all(|w| !w.is_empty()) || line.contains(['"', '\'', '“', '‘']),
                "{words:?} from {line:?}"
            ),
            Err(ParseError::UnclosedQuote { at, .. }) => {
                prop_assert!(at >= 1 && at <= line.chars().count(), "{at} for {line:?}")
            }
            Err(other) => prop_assert!(false, "{other:?} for {line:?}"),
        }
    }

    /// Discord and Slack hand `build` named values straight from a payload: any name, any text,
    /// given twice or not at all.
    #[test]
    fn build_builds_a_command_or_says_why_not_on_any_named_values(
        spec in proptest::sample::select(CATALOGUE.iter().collect::<Vec<_>>()),
        args in proptest::collection::vec(
            (
                prop_oneof![
                    proptest::sample::select(
                        CATALOGUE
                            .iter()
                            .flat_map(|s| s.options.iter().map(|o| o.name.to_string()))
                            .collect::<Vec<_>>()
                    ),
                    any::<String>(),
                ],
                prop_oneof![grammar_piece(), grammar_line()],
            ),
            0..6,
        ),
    ) {
        let line = format!("{args:?}");
        check_refusal(&line, build(spec, &args))?;
    }
}

// ---- Digest and nudges ----

#[test]
fn digest_setup_takes_channel_time_zone_and_an_optional_weekdays_flag() {
    assert_eq!(
        ok("/digest setup #sales-managers 8:30 europe/berlin no"),
        Command::DigestSetup {
            channel: "sales-managers".into(),
            time: chrono::NaiveTime::from_hms_opt(8, 30, 0).unwrap(),
            timezone: chrono_tz::Europe::Berlin,
            weekdays_only: Some(false),
            fiscal_start: None,
        }
    );
}

#[test]
fn digest_setup_takes_the_fiscal_year_start_as_a_month_name_or_number() {
    for typed in ["april", "Apr", "4"] {
        let line = format!("/digest setup managers 08:30 UTC yes {typed}");
        let Command::DigestSetup { fiscal_start, .. } = ok(&line) else {
            panic!("{line}");
        };
        assert_eq!(fiscal_start, Some(chrono::Month::April), "{line}");
    }
    let text = err("/digest setup managers 08:30 UTC yes 13");
    assert!(text.starts_with("`fiscal-start`:"), "{text}");
    assert!(text.contains("`13` is not a month"), "{text}");
}

#[test]
fn digest_setup_refuses_an_unknown_zone_naming_the_option() {
    let text = err("/digest setup managers 08:30 Europe/Berln");
    assert!(text.starts_with("`timezone`:"), "{text}");
    assert!(text.contains("Europe/Berlin"), "{text}");
}

#[test]
fn digest_setup_refuses_a_time_that_is_not_hh_mm() {
    assert!(err("/digest setup managers 8.30 UTC").starts_with("`time`:"));
}

#[test]
fn nudges_setup_and_snooze_parse() {
    assert_eq!(
        ok("/nudges setup 09:00 to-reps:yes"),
        Command::NudgesSetup {
            time: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            to_reps: Some(true),
            repeat_days: None,
            ack_days: None,
        }
    );
    assert_eq!(
        ok("/nudges setup 09:00 no 3"),
        Command::NudgesSetup {
            time: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            to_reps: Some(false),
            repeat_days: Some(3),
            ack_days: None,
        }
    );
    assert_eq!(
        ok("/nudges setup 09:00 ack-days:5"),
        Command::NudgesSetup {
            time: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            to_reps: None,
            repeat_days: None,
            ack_days: Some(5),
        }
    );
    assert!(err("/nudges setup 09:00 repeat-days:0").starts_with("`repeat-days`:"));
    assert_eq!(
        ok("/nudges snooze 42 7 CFO away until the 20th"),
        Command::NudgesSnooze {
            deal: deal(42),
            days: 7,
            reason: "CFO away until the 20th".into()
        }
    );
    assert!(err("/nudges snooze 42 400 busy").starts_with("`days`:"));
    assert!(err("/nudges snooze 42 7").starts_with("`/nudges snooze` needs `reason`"));
    assert_eq!(ok("/digest preview"), Command::DigestPreview);
}

/// Deferred work runs outside the delivery's claim, so only reads may be slow.
#[test]
fn no_command_that_changes_something_is_deferred() {
    for spec in CATALOGUE {
        let command = ok(spec.example);
        assert!(
            !(command.is_slow() && command.changes_something()),
            "{}",
            spec.name
        );
    }
}

#[test]
fn forecast_truth_commands_parse_and_a_bare_forecast_still_shows_it() {
    assert_eq!(
        ok("/forecast accuracy last-quarter"),
        Command::ForecastAccuracy {
            period: Some(PeriodSpec::LastQuarter),
            owner: None,
        }
    );
    assert_eq!(
        ok("/forecast changes 2026-11-01 list:Pushed_Out"),
        Command::ForecastChanges {
            since: NaiveDate::from_ymd_opt(2026, 11, 1),
            owner: None,
            list: Some(crate::engine::truth::movement::BucketName::PushedOut),
        }
    );
    assert_eq!(ok("/forecast this-quarter").name(), "forecast show");
    let refused = err("/forecast changes list:sideways");
    assert!(refused.contains("`sideways` is not a bucket"), "{refused}");
}
