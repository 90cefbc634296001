//! Keeps the engine pure: no clock, no I/O, no async runtime or database. (Nothing from the
//! application can be named: the engine is a crate of its own.) The sources are read at compile time, so this test does no I/O itself.

/// Every engine source file this module guards, with its path for the failure message.
const SOURCES: &[(&str, &str)] = &[
    ("lib.rs", include_str!("lib.rs")),
    ("coaching.rs", include_str!("coaching.rs")),
    ("deal.rs", include_str!("deal.rs")),
    ("forecast.rs", include_str!("forecast.rs")),
    ("gates.rs", include_str!("gates.rs")),
    ("ids.rs", include_str!("ids.rs")),
    ("transition.rs", include_str!("transition.rs")),
    ("suggest.rs", include_str!("suggest.rs")),
    ("text.rs", include_str!("text.rs")),
    ("nudge.rs", include_str!("nudge.rs")),
    ("schedule.rs", include_str!("schedule.rs")),
    ("playbook/mod.rs", include_str!("playbook/mod.rs")),
    ("playbook/model.rs", include_str!("playbook/model.rs")),
    ("playbook/load.rs", include_str!("playbook/load.rs")),
    ("playbook/raw.rs", include_str!("playbook/raw.rs")),
    ("playbook/validate.rs", include_str!("playbook/validate.rs")),
    (
        "playbook/validate/gates.rs",
        include_str!("playbook/validate/gates.rs"),
    ),
    (
        "playbook/validate/structure.rs",
        include_str!("playbook/validate/structure.rs"),
    ),
    (
        "playbook/validate/warnings.rs",
        include_str!("playbook/validate/warnings.rs"),
    ),
    (
        "playbook/templates.rs",
        include_str!("playbook/templates.rs"),
    ),
    ("fixtures.rs", include_str!("fixtures.rs")),
];

#[test]
fn the_engine_reads_no_clock_and_does_no_io() {
    // Built from pieces so that this file does not trip its own check.
    let forbidden = [
        ["Utc::", "now"].concat(),
        ["Local::", "now"].concat(),
        ["SystemTime::", "now"].concat(),
        ["Instant::", "now"].concat(),
        ["std::", "fs"].concat(),
        ["std::", "net"].concat(),
        ["std::", "env"].concat(),
        ["tok", "io"].concat(),
        ["sq", "lx"].concat(),
        ["sere", "nity"].concat(),
    ];
    for (path, source) in SOURCES {
        for word in &forbidden {
            assert!(
                !source.contains(word.as_str()),
                "crates/engine/src/{path} uses `{word}`"
            );
        }
    }
}
