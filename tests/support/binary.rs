//! The built `dealgate` binary as the end-to-end tests start it.

use std::process::Stdio;

use tempfile::TempDir;

pub const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/three-stages.toml"
);

/// Every setting that would connect the child to a platform, or change how it serves; a test
/// gives back only those it means to.
const PLATFORM_SETTINGS: [&str; 18] = [
    "DISCORD_TOKEN",
    "DISCORD_APPLICATION_ID",
    "DISCORD_PUBLIC_KEY",
    "DISCORD_API_BASE",
    "DEALGATE_HTTP_ADDR",
    "DEALGATE_MANAGER_ROLE",
    "DEALGATE_ADMIN_ROLE",
    "SLACK_SIGNING_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_API_BASE",
    "DEALGATE_DRAIN_SECONDS",
    "DEALGATE_HEALTH_ADDR",
    "DEALGATE_HEADER_SECONDS",
    "DEALGATE_BODY_SECONDS",
    "DEALGATE_MAX_CONNECTIONS",
    "DEALGATE_RESERVE_CONNECTIONS",
    "DEALGATE_RESERVE_SECONDS",
    "DEALGATE_MAX_BODIES",
];

/// The database file of a child started in `dir`.
pub fn database_url(dir: &TempDir) -> String {
    format!("sqlite://{}", dir.path().join("bot.db").display())
}

/// `dealgate …` with a database in `dir`, the fixture playbook and no platform settings but
/// those in `env`; stdout and stderr piped, killed when dropped.
pub fn dealgate(dir: &TempDir, args: &[&str], env: &[(&str, &str)]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_dealgate"));
    cmd.args(args)
        .env("DATABASE_URL", database_url(dir))
        .env("DEALGATE_PLAYBOOK", FIXTURE)
        .env("RUST_LOG", "warn")
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for var in PLATFORM_SETTINGS {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}
