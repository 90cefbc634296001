//! The holes a new user found in the process's two promises (a gate is met or overridden on the
//! record; every view gives the same figure), each reproduced end to end on `dealgate demo`
//! through the console, with the behaviour that replaced it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// Runs the binary with `args` in `dir`, its database there too, `lines` typed into it; its
/// output, once it succeeded.
fn dealgate(dir: &TempDir, args: &[&str], env: &[(&str, &std::path::Path)], lines: &str) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dealgate"));
    command
        .args(args)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("dealgate.db").display()),
        )
        .env("RUST_LOG", "warn")
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("start dealgate");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let out: Output = child.wait_with_output().expect("dealgate ran");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `dealgate demo` in `dir` with `lines` typed into its console (as `alex` until an `/as`).
fn demo(dir: &TempDir, lines: &str) -> String {
    dealgate(dir, &["demo"], &[], lines)
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
        .chain(rest.find("\nann> "))
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
    assert!(shown.contains("Won on"), "{shown}");
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
    assert!(!shown.contains("Won on"), "{shown}");
}

/// Runs `dealgate console --as ann` on a fresh workspace whose playbook is the three-stage
/// fixture counted in `currency`.
fn console_in(dir: &TempDir, currency: &str, lines: &str) -> String {
    let fixture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/three-stages.toml"
    ))
    .unwrap();
    let playbook = dir.path().join("playbook.toml");
    std::fs::write(
        &playbook,
        fixture.replace("currency = \"EUR\"", &format!("currency = \"{currency}\"")),
    )
    .unwrap();
    dealgate(
        dir,
        &["console", "--as", "ann"],
        &[("DEALGATE_PLAYBOOK", &playbook)],
        lines,
    )
}

/// Hole 7: `12,34,5` was read as 12,345, `0` and a close date in 9999 were taken, and nothing
/// stopped a deal being worth a fraction of a yen. Each is refused now with what would be right,
/// and nothing is created.
#[test]
fn sloppy_amounts_and_dates_are_refused_saying_what_would_be_right() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(
        &dir,
        "/deal new \"Typo\" 12,34,5 2027-01-10\n\
         /deal new \"Nothing\" 0 2027-01-10\n\
         /deal new \"Someday\" 5000 9999-12-31\n\
         /deal set deal-1 amount 1,23\n\
         /deal new \"Fine\" 12,345 2027-01-10\n",
    );
    let grouping = answer(&out, "alex> /deal new \"Typo\" 12,34,5 2027-01-10\n");
    assert!(
        grouping.contains("thousands separators go every three digits"),
        "{grouping}"
    );
    let zero = answer(&out, "alex> /deal new \"Nothing\" 0 2027-01-10\n");
    assert!(zero.contains("positive number"), "{zero}");
    let far = answer(&out, "alex> /deal new \"Someday\" 5000 9999-12-31\n");
    assert!(far.contains("more than 5 years away"), "{far}");
    assert!(
        far.contains("at the latest"),
        "the limit is in the error: {far}"
    );
    let set = answer(&out, "alex> /deal set deal-1 amount 1,23\n");
    assert!(set.contains("every three digits"), "{set}");
    let fine = answer(&out, "alex> /deal new \"Fine\" 12,345 2027-01-10\n");
    assert!(fine.contains("Amount: USD 12,345"), "{fine}");
    // Only the well-formed one was created: the demo's 150 deals and deal-151.
    assert!(fine.contains("deal-151"), "{fine}");
    assert!(!out.contains("deal-152"), "{out}");
}

#[test]
fn a_yen_workspace_takes_whole_amounts_and_shows_whole_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = console_in(
        &dir,
        "JPY",
        "/deal new \"Tokyo\" 1,234.56 2030-01-10\n\
         /deal new \"Osaka\" 1,235 2030-01-10\n",
    );
    let finer = answer(&out, "ann> /deal new \"Tokyo\" 1,234.56 2030-01-10\n");
    assert!(
        finer.contains("`1,234.56` is finer than JPY allows: JPY amounts are whole numbers"),
        "{finer}"
    );
    let whole = answer(&out, "ann> /deal new \"Osaka\" 1,235 2030-01-10\n");
    // 10% of 1,235 yen is 123.5 yen, shown as whole yen.
    assert!(whole.contains("Amount: JPY 1,235"), "{whole}");
    assert!(whole.contains("Weighted: JPY 124"), "{whole}");
    assert!(!out.contains("deal-2"), "{out}");
}

/// Hole 4: a deal won in November kept its expected close date in January, and a lost deal was
/// printed as an error (`!! deal-1 lost`). Closing dates the deal the day it closed, keeps the
/// expected date in its history, and both outcomes read as outcomes.
#[test]
fn a_closed_deal_is_dated_the_day_it_closed_and_reads_as_an_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(
        &dir,
        "/deal show deal-1\n\
         /lost deal-1 went with a competitor\n\
         /deal show deal-1\n",
    );
    let before = answer(&out, "alex> /deal show deal-1\n");
    let expected = field(before, "Close date");
    let lost = answer(&out, "alex> /lost deal-1 went with a competitor\n");
    assert!(
        !lost.starts_with("!!"),
        "a lost deal is not an error: {lost}"
    );
    assert!(lost.contains("deal-1 lost"), "{lost}");
    let shown = &out[out.rfind("alex> /deal show deal-1\n").unwrap()..];
    let closed_on = field(shown, "Lost on");
    assert_ne!(closed_on, expected, "{shown}");
    assert!(!shown.contains("Close date"), "{shown}");
    assert!(!shown.contains("Weighted"), "{shown}");
    // The day it closed is today on the machine's clock: the binary runs on the real one, so
    // the test reads it too (at most a midnight later than the close).
    #[allow(clippy::disallowed_methods)]
    let today = chrono::Utc::now().date_naive().to_string();
    assert!(closed_on <= today.as_str(), "{closed_on} vs {today}");
}

/// The value of a `Name: value` field in a console card.
fn field<'a>(card: &'a str, name: &str) -> &'a str {
    let at = card
        .find(&format!("{name}: "))
        .unwrap_or_else(|| panic!("no `{name}` in {card}"));
    let rest = &card[at + name.len() + 2..];
    rest.split(" · ").next().unwrap().trim()
}

/// Hole 5: a second `/approve` of the same deal in the same stage was recorded again. It now
/// says who approved and when, and records nothing; an admin's approval still counts, since it
/// meets gates a manager's does not.
#[test]
fn a_repeated_approval_says_who_approved_and_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(
        &dir,
        "/as dana\n\
         /approve deal-4 pricing checked\n\
         /approve deal-4 checked again\n\
         /deal show deal-4\n",
    );
    let first = answer(&out, "dana> /approve deal-4 pricing checked\n");
    assert!(
        first.contains("dana approved deal-4 in Proposal"),
        "{first}"
    );
    let again = answer(&out, "dana> /approve deal-4 checked again\n");
    assert!(
        again.contains("deal-4 is already approved in Proposal by dana on"),
        "{again}"
    );
    assert!(again.contains("nothing was recorded"), "{again}");
}

/// Hole 3: `/forecast` and `/digest preview` gave two different best cases for the same quarter,
/// and after `fiscal-start april` the digest spoke of FY2027 Q3 while `/forecast` said 2026 Q4.
/// Both now read the same figures under the same label.
#[test]
fn the_forecast_and_the_digest_give_one_best_case_under_one_fiscal_label() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(
        &dir,
        "/as morgan\n\
         /digest setup #managers 08:30 UTC fiscal-start:april\n\
         /forecast\n\
         /digest preview\n",
    );
    let forecast = answer(&out, "morgan> /forecast\n");
    let digest = answer(&out, "morgan> /digest preview\n");
    let best = field(forecast, "Best case (with commit)");
    assert!(
        digest.contains(&format!("best case (with commit) {best}")),
        "the digest says {best} too: {digest}"
    );
    let commit = field(forecast, "Commit");
    assert!(digest.contains(&format!("commit {commit}")), "{digest}");
    let label = forecast
        .lines()
        .next()
        .and_then(|title| title.split(" · ").nth(2))
        .expect("the forecast's title names its period");
    assert!(label.starts_with("FY20"), "a fiscal label: {label}");
    assert!(
        digest.contains(label),
        "the digest's quarter is {label}: {digest}"
    );
}

/// Hole 1: deal-4 in Proposal at 165,000 needs a manager's review; lowering the amount to 99,000,
/// advancing, and raising it to 150,000 left it in Negotiate with no approval, unflagged. Now
/// the data stays true (the amount is recorded), the deal is out of process and says why, it
/// cannot move on, and the manager's approval (for the stage it left) puts it back.
#[test]
fn an_approval_slipped_by_lowering_the_amount_puts_the_deal_out_of_process() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(
        &dir,
        "/deal set deal-4 amount 99000\n\
         /advance deal-4\n\
         /deal set deal-4 amount 150000\n\
         /advance deal-4 override:\"trust me\"\n\
         /won deal-4\n\
         /deal list\n\
         /as dana\n\
         /digest preview\n\
         /approve deal-4\n\
         /deal show deal-4\n\
         /deal list alex\n",
    );
    let advanced = answer(&out, "alex> /advance deal-4\n");
    assert!(
        advanced.contains("deal-4 advanced to Negotiate"),
        "{advanced}"
    );
    let raised = answer(&out, "alex> /deal set deal-4 amount 150000\n");
    assert!(raised.contains("Amount: USD 150,000"), "recorded: {raised}");
    assert!(raised.contains("⚠ Out of process"), "{raised}");
    assert!(
        raised.contains("A manager has reviewed the proposal of a deal of 100,000 or more"),
        "{raised}"
    );
    assert!(raised.contains("[Proposal]"), "{raised}");
    assert!(raised.contains("[Ask for approval]"), "{raised}");
    let overridden = answer(&out, "alex> /advance deal-4 override:\"trust me\"\n");
    assert!(
        overridden.contains("Only a manager can override"),
        "a rep cannot slip it either: {overridden}"
    );
    let won = answer(&out, "alex> /won deal-4\n");
    assert!(won.contains("can't leave"), "{won}");
    assert!(
        won.contains("A manager has reviewed the proposal"),
        "the refusal names the broken gate: {won}"
    );
    let listed = answer(&out, "alex> /deal list\n");
    let line = listed.lines().find(|l| l.contains("deal-4")).unwrap();
    assert!(
        line.contains(
            "⚠ out of process: A manager has reviewed the proposal of a deal of 100,000 or more \
             [Proposal]"
        ),
        "{listed}"
    );
    assert_eq!(listed.matches("out of process").count(), 1, "{listed}");
    let digest = answer(&out, "dana> /digest preview\n");
    assert!(
        digest.contains(
            "⚠ Out of process (1, USD 150,000): deal-4 Dunmore Foods (alex, USD 150,000, now in \
             Negotiate, 1 requirement of a stage it left no longer met: A manager has reviewed \
             the proposal of a deal of 100,000 or more [Proposal])"
        ),
        "the digest's risks name it: {digest}"
    );
    let approved = answer(&out, "dana> /approve deal-4\n");
    assert!(
        approved.contains("dana approved deal-4 for Proposal, a stage it has left"),
        "{approved}"
    );
    let shown = answer(&out, "dana> /deal show deal-4\n");
    assert!(!shown.contains("Out of process"), "{shown}");
    assert!(shown.contains("Stage: Negotiate"), "{shown}");
    let listed = answer(&out, "dana> /deal list alex\n");
    assert!(!listed.contains("out of process"), "back in: {listed}");

    // The owner's manager was asked by DM when the amount went up, once.
    let outbox = dealgate(&dir, &["outbox"], &[], "");
    assert_eq!(
        outbox
            .matches("→ dm dana: \"⚠ deal-4 · Dunmore Foods is out of process\"")
            .count(),
        1,
        "{outbox}"
    );
}

/// Hole 5, the digest: a deal's moves in the period were listed one by one, an override named
/// the deal's owner instead of the manager and left out the reason, and amounts had no
/// currency. Now one line per deal from the first stage to the last, each override with who
/// and why, and amounts with their currency, through every value they took.
#[test]
fn the_digest_merges_a_deals_moves_and_says_who_overrode_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(
        &dir,
        "/deal set deal-22 amount 95000\n\
         /deal set deal-22 amount 90,500\n\
         /as dana\n\
         /advance deal-22 override:\"Pilot signed; notes follow\"\n\
         /advance deal-22 override:\"CFO joined the call\"\n\
         /digest preview\n",
    );
    let digest = answer(&out, "dana> /digest preview\n");
    assert!(
        digest.contains("Advanced (1): deal-22 Vertex Robotics (alex, Discover → Proposal)"),
        "{digest}"
    );
    assert!(
        digest.contains(
            "Amount changed (1): deal-22 Vertex Robotics (alex, USD 90,000 → USD 95,000 → \
             USD 90,500)"
        ),
        "{digest}"
    );
    assert!(
        digest.contains(
            "Gates overridden (2): deal-22 Vertex Robotics (alex, Discover → Solution by dana: \
             “Pilot signed; notes follow”); deal-22 Vertex Robotics (alex, Solution → Proposal \
             by dana: “CFO joined the call”)"
        ),
        "{digest}"
    );
}

/// Hole 6: a rep read anyone's forecast and deals. Now a rep sees their own until an admin
/// opens the team's pipeline, which opens it read only.
#[test]
fn a_rep_sees_their_own_deals_until_an_admin_opens_the_pipeline_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(
        &dir,
        "/forecast this-quarter @sam\n\
         /deal list sam\n\
         /deal show deal-14\n\
         /as morgan\n\
         /team visibility yes\n\
         /as alex\n\
         /deal list sam\n\
         /deal show deal-14\n\
         /deal set deal-14 amount 1000\n",
    );
    let refusals = out.split("alex> /as morgan").next().unwrap();
    for read in [
        "/forecast this-quarter @sam\n",
        "/deal list sam\n",
        "/deal show deal-14\n",
    ] {
        let refused = answer(refusals, &format!("alex> {read}"));
        assert!(refused.contains("You can't see"), "{read}: {refused}");
        assert!(refused.contains("`/team visibility yes`"), "{refused}");
    }
    let opened = &out[out.find("morgan> /team visibility yes").unwrap()..];
    let listed = answer(opened, "alex> /deal list sam\n");
    assert!(listed.contains("`deal-14` Northwind Traders"), "{listed}");
    let shown = answer(opened, "alex> /deal show deal-14\n");
    assert!(shown.contains("deal-14 · Northwind Traders"), "{shown}");
    let changed = answer(opened, "alex> /deal set deal-14 amount 1000\n");
    assert!(
        changed.contains("You can't change deal-14"),
        "read only: {changed}"
    );
}

/// Hole 5, the snooze: `/nudges snooze` took no reason. Now the reason is required and shown.
#[test]
fn a_snooze_needs_a_reason_and_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(
        &dir,
        "/as dana\n\
         /nudges snooze deal-4 7\n\
         /nudges snooze deal-4 7 CFO away until the 20th\n",
    );
    let refused = answer(&out, "dana> /nudges snooze deal-4 7\n");
    assert!(
        refused.contains("`/nudges snooze` needs `reason`"),
        "{refused}"
    );
    let snoozed = answer(
        &out,
        "dana> /nudges snooze deal-4 7 CFO away until the 20th\n",
    );
    assert!(snoozed.contains("deal-4 snoozed"), "{snoozed}");
    assert!(
        snoozed.contains("Why: CFO away until the 20th"),
        "{snoozed}"
    );
}
