//! The built `dealgate` binary as the end-to-end tests start it.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::process::Stdio;
use std::time::Duration;

use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};

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

/// A child started by [`spawn_until`].
pub struct Started {
    pub child: tokio::process::Child,
    /// The rest of the line that started with the awaited prefix.
    pub rest: String,
    /// Every line it said up to and with that one.
    pub seen: Vec<String>,
    /// What it says from then on, line by line.
    pub later: tokio::sync::mpsc::UnboundedReceiver<String>,
}

/// Starts `command` (its stderr piped) and reads what it says until a line that starts with
/// `prefix`, such as the address a server listens on; panics with what it said if that line
/// does not come within 30 seconds or the child ends first.
pub async fn spawn_until(mut command: tokio::process::Command, prefix: &str) -> Started {
    let mut child = command.spawn().expect("start dealgate");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("no line starting {prefix:?}; saw {seen:?}"))
            .unwrap()
            .unwrap_or_else(|| panic!("dealgate ended; it said {seen:?}"));
        seen.push(line.clone());
        if let Some(rest) = line.strip_prefix(prefix) {
            // Keep reading what it says later: a closed stderr would make its next line fail.
            let (said, later) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    let _ = said.send(line);
                }
            });
            return Started {
                child,
                rest: rest.trim().to_string(),
                seen,
                later,
            };
        }
    }
}

/// Runs `dealgate args…` to the end on the database at `database_url`, in `dir`, with
/// `playbook` for new workspaces and `lines` typed into it; its output.
pub fn run_typing(
    database_url: &str,
    dir: &std::path::Path,
    playbook: &str,
    args: &[&str],
    lines: &str,
) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dealgate"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("DEALGATE_PLAYBOOK", playbook)
        .env("RUST_LOG", "warn")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dealgate");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    child.wait_with_output().expect("dealgate ran")
}
