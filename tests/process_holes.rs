//! The holes a new user found in the process's two promises (a gate is met or overridden on the
//! record; every view gives the same figure), each reproduced end to end on `dealgate demo`
//! through the console, with the behaviour that replaced it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// Runs `dealgate demo` in `dir` with `lines` typed into its console (as `alex` until an `/as`).
fn demo(dir: &TempDir, lines: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dealgate"))
        .arg("demo")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("demo.db").display()),
        )
        .env("RUST_LOG", "warn")
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dealgate demo");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let out: Output = child.wait_with_output().expect("dealgate demo ran");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The console's answer to the command typed as `prompt` (`dana> /won deal-1`), up to the next
/// prompt.
fn answer<'a>(out: &'a str, prompt: &str) -> &'a str {
    let start = out
        .find(prompt)
        .unwrap_or_else(|| panic!("`{prompt}` was not run: {out}"));
    let rest = &out[start + prompt.len()..];
    let end = rest
        .find("\nalex> ")
        .into_iter()
        .chain(rest.find("\ndana> "))
        .chain(rest.find("\nmorgan> "))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

/// Hole 2: `/won` refused a manager with a hint to `/advance … override`, which `/advance`
/// refused in turn ("the last open stage; close the deal with `/won`"). Now the hint names `/won`
/// with an override, and that closes the deal with the reason on the record.
#[test]
fn a_manager_closes_a_deal_won_past_unmet_gates_with_the_command_the_refusal_names() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(
        &dir,
        "/as dana\n\
         /won deal-1\n\
         /won deal-1 override:\"signed early; the CFO waived the review\"\n\
         /deal show deal-1\n",
    );
    let refused = answer(&out, "dana> /won deal-1\n");
    assert!(refused.contains("deal-1 can't leave"), "{refused}");
    assert!(
        refused.contains("`/won deal-1 override:\"why\"`"),
        "the hint names the command that works: {refused}"
    );
    assert!(!refused.contains("/advance deal-1 override"), "{refused}");
    let won = answer(
        &out,
        "override:\"signed early; the CFO waived the review\"\n",
    );
    assert!(won.contains("deal-1 won"), "{won}");
    assert!(
        won.contains("Override by dana: signed early; the CFO waived the review"),
        "{won}"
    );
    let shown = answer(&out, "dana> /deal show deal-1\n");
    assert!(shown.contains("Status: won"), "{shown}");
}

/// Hole 2, the other path: a rep may not pass gates, whatever the command.
#[test]
fn a_rep_cannot_close_past_unmet_gates_with_an_override() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(
        &dir,
        "/won deal-1 override:\"trust me\"\n/deal show deal-1\n",
    );
    let refused = answer(&out, "alex> /won deal-1 override:\"trust me\"\n");
    assert!(
        refused.contains("override"),
        "says who may override: {refused}"
    );
    let shown = answer(&out, "alex> /deal show deal-1\n");
    assert!(!shown.contains("Status: won"), "{shown}");
}
