//! The playbook changed in place, end to end through the binary on both backends: a change is
//! previewed (stages that disappear, deals that would newly miss a gate, the weighted pipeline
//! before and after), refused until every open deal has a stage to go to, applied in one step
//! with `--yes` or `/playbook confirm`, and kept in `/playbook history`. Bad input changes
//! nothing and says why.

mod support;

#[path = "support/binary.rs"]
mod binary;

use std::path::Path;

use binary::FIXTURE;
use chrono::{Datelike, NaiveDate};
use support::TestApp;

/// The fixture's process with Solution gone, a second gate on Qualify and Negotiate at 70 %.
fn version_two() -> String {
    let fixture = std::fs::read_to_string(FIXTURE).unwrap();
    let start = fixture.find("[[stage]]\nid = \"solution\"").unwrap();
    let end = fixture.find("[[stage]]\nid = \"negotiate\"").unwrap();
    let without_solution = format!("{}{}", &fixture[..start], &fixture[end..]);
    let qualify_gates = without_solution.find("[[stage.gate]]").unwrap();
    let with_gate = format!(
        "{}[[stage.gate]]\nkind = \"activity\"\nactivity = \"pain-identified\"\n\n{}",
        &without_solution[..qualify_gates],
        &without_solution[qualify_gates..]
    );
    let changed = with_gate.replacen("probability = 80", "probability = 70", 1);
    assert_ne!(changed, with_gate, "the fixture's Negotiate is at 80 %");
    changed
}

/// The last day of the calendar quarter holding today (by the clock the binary reads): a close
/// date inside "this quarter".
fn quarter_end() -> NaiveDate {
    use dealgate::clock::Clock;
    let today = dealgate::clock::SystemClock.now().date_naive();
    let first_month_next = (today.month0() / 3 + 1) * 3 + 1;
    let next = if first_month_next > 12 {
        NaiveDate::from_ymd_opt(today.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(today.year(), first_month_next, 1)
    };
    next.unwrap().pred_opt().unwrap()
}

struct Ran {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs the binary on `app`'s database with `lines` typed into it.
fn dealgate(app: &TestApp, dir: &Path, args: &[&str], lines: &str) -> Ran {
    let out = binary::run_typing(&app.db.url, dir, FIXTURE, args, lines);
    Ran {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn console(app: &TestApp, dir: &Path, who: &str, lines: &str) -> String {
    let ran = dealgate(
        app,
        dir,
        &["console", "--workspace", "acme", "--as", who],
        lines,
    );
    assert!(ran.ok, "{}", ran.stderr);
    ran.stdout
}

fn apply(app: &TestApp, dir: &Path, file: &str, extra: &[&str]) -> Ran {
    let mut args = vec![
        "playbook",
        "apply",
        file,
        "--workspace",
        "console:acme",
        "--reason",
        "Solution merges into Negotiate; pain is found before anything else",
    ];
    args.extend_from_slice(extra);
    dealgate(app, dir, &args, "")
}

/// Three deals: deal-1 in Qualify, deal-2 advanced to Solution, deal-3 advanced to Negotiate;
/// ann (the first member) is the admin, bob a rep.
fn seed(app: &TestApp, dir: &Path) {
    let close = quarter_end();
    let out = console(
        app,
        dir,
        "ann",
        &format!(
            "/deal new Alpha 50000 {close}\n\
             /deal new Beta 20000 {close}\n\
             /log deal-2 discovery-call\n\
             /advance deal-2\n\
             /deal new Gamma 30000 {close}\n\
             /log deal-3 discovery-call\n\
             /advance deal-3\n\
             /deal set deal-3 champion \"Dana Ruiz, VP Operations\"\n\
             /advance deal-3\n"
        ),
    );
    assert!(!out.contains("cannot move"), "{out}");
    let list = console(app, dir, "ann", "/deal list\n");
    for (deal, stage) in [
        ("deal-1", "Qualify"),
        ("deal-2", "Solution"),
        ("deal-3", "Negotiate"),
    ] {
        assert!(
            list.lines()
                .any(|l| l.contains(&format!("`{deal}`")) && l.contains(stage)),
            "{deal} in {stage}: {list}"
        );
    }
    console(app, dir, "bob", "/deal list\n");
}

async fn a_change_is_previewed_refused_without_a_mapping_and_applied_with_one(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    seed(&app, dir);
    std::fs::write(dir.join("v2.toml"), version_two()).unwrap();

    // Solution holds deal-2 and disappears: the preview says so and nothing can apply.
    let refused = apply(&app, dir, "v2.toml", &["--yes"]);
    assert!(!refused.ok, "{}", refused.stdout);
    assert!(
        refused.stdout.contains(
            "Solution (`solution`) disappears and holds 1 deal with nowhere to go: deal-2. Say \
             where they go with `--map solution=<stage>`."
        ),
        "{}",
        refused.stdout
    );
    assert!(
        refused
            .stdout
            .contains("Stage Solution (`solution`) removed")
    );
    assert!(!refused.stdout.contains("is in force"));

    // A mapping to a stage that does not exist is refused in words.
    let nowhere = apply(&app, dir, "v2.toml", &["--map", "solution=ghost", "--yes"]);
    assert!(!nowhere.ok);
    assert!(
        nowhere.stdout.contains(
            "the new playbook has no stage `ghost`. Its open stages: `qualify`, `negotiate`."
        ),
        "{}",
        nowhere.stdout
    );

    // With a mapping: the deals that would newly miss the new Qualify gate, and the weighted
    // pipeline this quarter. Before: 50,000 × 10 % + 20,000 × 40 % + 30,000 × 80 % = 37,000;
    // after: 50,000 × 10 % + (20,000 + 30,000) × 70 % = 40,000.
    let preview = apply(&app, dir, "v2.toml", &["--map", "solution=negotiate"]);
    assert!(preview.ok, "{}{}", preview.stdout, preview.stderr);
    for expected in [
        "Playbook change preview: version 1 → 2",
        "• Solution (removed): 1 deal move to Negotiate: deal-2",
        "• Negotiate: 2 deals would newly miss a gate already passed",
        "deal-2, deal-3",
        "• Weighted pipeline this quarter: EUR 37,000 → EUR 40,000 (+EUR 3,000)",
        "• Qualify: new gate: Log Business pain identified (`pain-identified`) in this stage",
        "• Negotiate: probability 80% → 70%",
        "Nothing changed.",
    ] {
        assert!(
            preview.stdout.contains(expected),
            "{expected}\n{}",
            preview.stdout
        );
    }
    let unchanged = console(&app, dir, "ann", "/playbook history\n/deal show deal-2\n");
    assert!(!unchanged.contains("Version 2"), "{unchanged}");
    assert!(unchanged.contains("Solution"), "{unchanged}");

    let applied = apply(
        &app,
        dir,
        "v2.toml",
        &["--map", "solution=negotiate", "--yes"],
    );
    assert!(applied.ok, "{}{}", applied.stdout, applied.stderr);
    assert!(
        applied.stdout.contains("Playbook version 2 is in force"),
        "{}",
        applied.stdout
    );
    assert!(
        applied
            .stdout
            .contains("1 deal moved from `solution` to `negotiate`")
    );

    // After: the history, the deals flagged as the preview said, the weighted figure it gave.
    let after = console(
        &app,
        dir,
        "ann",
        "/playbook history\n/deal list\n/forecast this-quarter\n/playbook\n",
    );
    assert!(after.contains("Version 2 ·"), "{after}");
    assert!(after.contains("by the operator (command line)"), "{after}");
    assert!(
        after.contains("Why: Solution merges into Negotiate"),
        "{after}"
    );
    assert!(after.contains("Version: 2 · in force since"), "{after}");
    let flagged: Vec<&str> = after
        .lines()
        .filter(|l| l.contains("out of process"))
        .collect();
    assert_eq!(flagged.len(), 2, "{after}");
    assert!(
        flagged
            .iter()
            .any(|l| l.contains("`deal-2`") && l.contains("Negotiate"))
    );
    assert!(flagged.iter().any(|l| l.contains("`deal-3`")));
    assert!(after.contains("EUR 40,000"), "{after}");

    // ann has not acknowledged version 2: the first /advance out of Qualify, whose gates
    // changed, says how, once; after `/playbook ack` nothing more is said anyway.
    let advancing = console(&app, dir, "ann", "/advance deal-1\n/advance deal-1\n");
    assert_eq!(
        advancing
            .matches("The gates of this stage changed in playbook version 2:")
            .count(),
        1,
        "{advancing}"
    );
    assert!(
        advancing.contains("Qualify: new gate: Log Business pain identified"),
        "{advancing}"
    );
    let acked = console(&app, dir, "ann", "/playbook ack\n/playbook ack 2\n");
    assert!(
        acked.contains("Thanks: noted that you have read playbook version 2"),
        "{acked}"
    );
    assert!(
        acked.contains("You had already acknowledged playbook version 2"),
        "{acked}"
    );

    // Applying the same file again is not a change.
    let again = apply(&app, dir, "v2.toml", &["--yes"]);
    assert!(!again.ok);
    assert!(
        again.stdout.contains("the same process as version 2"),
        "{}",
        again.stdout
    );
}

async fn bad_input_is_refused_in_words_and_changes_nothing(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    seed(&app, dir);
    std::fs::write(dir.join("huge.toml"), "# padding\n".repeat(30_000)).unwrap();
    std::fs::write(dir.join("binary.toml"), [0u8, 159, 146, 150, 255, 0, 1]).unwrap();
    std::fs::write(
        dir.join("prose.toml"),
        "This is our new process: be nice.\n",
    )
    .unwrap();
    let no_won = version_two().replace("outcome = \"won\"\n", "");
    std::fs::write(dir.join("no-won.toml"), no_won).unwrap();
    let euros = version_two().replace("currency = \"EUR\"", "currency = \"USD\"");
    std::fs::write(dir.join("dollars.toml"), euros).unwrap();
    std::fs::write(dir.join("v2.toml"), version_two()).unwrap();

    for (file, expected) in [
        (
            "huge.toml",
            "`huge.toml` is larger than 256 KiB, the most a playbook may be",
        ),
        (
            "binary.toml",
            "is not a text file; a playbook is a TOML file",
        ),
        (
            "prose.toml",
            "The proposed playbook has problems; nothing changed.",
        ),
        (
            "no-won.toml",
            "The proposed playbook has problems; nothing changed.",
        ),
        ("dollars.toml", "the currency cannot change in place"),
    ] {
        let ran = apply(&app, dir, file, &["--map", "solution=negotiate", "--yes"]);
        assert!(!ran.ok, "{file}: {}", ran.stdout);
        assert!(ran.stdout.contains(expected), "{file}: {}", ran.stdout);
    }
    let mapping = apply(
        &app,
        dir,
        "v2.toml",
        &["--map", "qualify=negotiate", "--yes"],
    );
    assert!(!mapping.ok);
    assert!(
        mapping
            .stdout
            .contains("`qualify` is still a stage in the new playbook")
    );
    let workspace = dealgate(
        &app,
        dir,
        &[
            "playbook",
            "apply",
            "v2.toml",
            "--workspace",
            "acme",
            "--reason",
            "x",
        ],
        "",
    );
    assert!(!workspace.ok);
    assert!(
        workspace.stderr.contains("write PLATFORM:ID"),
        "{}",
        workspace.stderr
    );

    // In chat: a rep may not, a missing file is named, and the admin's own bad file is refused.
    let chat = console(
        &app,
        dir,
        "bob",
        "/playbook update v2.toml \"we should change\"\n",
    );
    assert!(
        chat.contains("Only an admin can change the playbook."),
        "{chat}"
    );
    let chat = console(
        &app,
        dir,
        "ann",
        "/playbook update missing.toml \"new process\"\n\
         /playbook update binary.toml \"new process\"\n\
         /playbook update v2.toml \"\"\n\
         /playbook confirm 99\n",
    );
    assert!(chat.contains("Cannot read `missing.toml`"), "{chat}");
    assert!(chat.contains("`binary.toml` is not a text file"), "{chat}");
    assert!(
        chat.contains("There is no playbook preview 99 in this workspace"),
        "{chat}"
    );

    let history = console(&app, dir, "ann", "/playbook history\n/deal show deal-2\n");
    assert!(!history.contains("Version 2"), "{history}");
    assert!(history.contains("Solution"), "{history}");
}

async fn a_preview_confirmed_in_chat_applies_once_and_only_onto_its_version(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    seed(&app, dir);
    std::fs::write(dir.join("v2.toml"), version_two()).unwrap();
    let three = version_two().replacen("probability = 70", "probability = 75", 1);
    std::fs::write(dir.join("v3.toml"), three).unwrap();

    let out = console(
        &app,
        dir,
        "ann",
        "/playbook update v2.toml \"merge Solution\" map:solution=negotiate\n\
         /playbook update v3.toml \"merge Solution, Negotiate at 75\" map:solution=negotiate\n\
         /playbook confirm 1\n\
         /playbook confirm 1\n\
         /playbook confirm 2\n\
         /playbook history\n",
    );
    assert!(
        out.contains("[Apply version 2] /playbook confirm 1"),
        "{out}"
    );
    assert!(out.contains("Playbook version 2 is in force"), "{out}");
    assert!(
        out.contains("Preview 1 was already applied; the version in force is 2."),
        "{out}"
    );
    assert!(
        out.contains(
            "The playbook changed since preview 2 was made (it was made against version 1; \
             version 2 is in force now), so it was not applied."
        ),
        "{out}"
    );
    assert!(out.contains("Version 2 ·"), "{out}");
    assert!(out.contains("by ann"), "{out}");
    assert!(!out.contains("Version 3 ·"), "{out}");
}

on_both_backends!(
    a_change_is_previewed_refused_without_a_mapping_and_applied_with_one,
    bad_input_is_refused_in_words_and_changes_nothing,
    a_preview_confirmed_in_chat_applies_once_and_only_onto_its_version,
);
