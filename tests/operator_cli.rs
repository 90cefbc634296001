//! The first hour of an operator, through the built binary: settings from a `.env`, empty
//! variables, each subcommand's own help, completions, the Slack manifest's URL, a reader that
//! hangs up, the operator's looks after `dealgate demo`, and the container's health probe.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The binary run in `dir` with nothing from this process's environment but what is given.
fn dealgate(dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dealgate"))
        .args(args)
        .env_clear()
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
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
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().expect("dealgate ran")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts the run failed with exit 1, saying `text` on stderr; what it said there.
fn fails_saying(out: &Output, text: &str) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(text), "{text:?} not in: {err}");
    err
}

#[test]
fn a_copied_env_example_is_read_and_its_empty_variables_count_as_unset() {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example"))
        .expect("the example in the repository");
    std::fs::write(dir.path().join(".env"), example).unwrap();

    // `serve` reads DEALGATE_HTTP_ADDR= and DISCORD_TOKEN= as unset: the complaint is that
    // nothing is configured, not that '' is a bad address.
    let serve = dealgate(dir.path(), &["serve"], &[], "");
    fails_saying(&serve, "nothing to serve");
    assert!(
        !stderr(&serve).contains("invalid value"),
        "{}",
        stderr(&serve)
    );

    // The console uses the file's DATABASE_URL (sqlite://dealgate.db in the working directory).
    let console = dealgate(dir.path(), &["console", "--as", "ria"], &[], "/deal list\n");
    assert!(console.status.success(), "{}", stderr(&console));
    assert!(dir.path().join("dealgate.db").exists());

    // A variable set in the environment wins over the file.
    let elsewhere = dealgate(
        dir.path(),
        &["console", "--as", "ria"],
        &[("DATABASE_URL", "sqlite://elsewhere.db")],
        "/deal list\n",
    );
    assert!(elsewhere.status.success(), "{}", stderr(&elsewhere));
    assert!(dir.path().join("elsewhere.db").exists());
}

#[test]
fn a_broken_env_file_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "DATABASE_URL=sqlite://a.db\nnot a setting\n",
    )
    .unwrap();
    let out = dealgate(dir.path(), &["migrate"], &[], "");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(".env in the working directory"), "{err}");
    assert!(err.contains("not a setting"), "{err}");
    assert!(!dir.path().join("a.db").exists(), "nothing ran");
}

#[test]
fn each_subcommand_help_shows_its_own_flags() {
    let dir = tempfile::tempdir().unwrap();
    let console = stdout(&dealgate(dir.path(), &["console", "--help"], &[], ""));
    assert!(console.contains("--as"), "{console}");
    assert!(console.contains("--database-url"), "{console}");
    for foreign in [
        "--discord-token",
        "--slack-signing-secret",
        "--tick-seconds",
    ] {
        assert!(!console.contains(foreign), "{foreign} in: {console}");
    }
    let check = stdout(&dealgate(
        dir.path(),
        &["playbook", "check", "--help"],
        &[],
        "",
    ));
    assert!(!check.contains("--database-url"), "{check}");
    let serve = stdout(&dealgate(dir.path(), &["serve", "--help"], &[], ""));
    for own in [
        "--http",
        "--discord-token",
        "--slack-signing-secret",
        "--database-url",
        "--playbook",
    ] {
        assert!(serve.contains(own), "{own} missing from: {serve}");
    }
    let register = stdout(&dealgate(
        dir.path(),
        &["commands", "register", "--help"],
        &[],
        "",
    ));
    assert!(register.contains("--discord-token"), "{register}");
    assert!(!register.contains("--slack-bot-token"), "{register}");
}

#[test]
fn completions_are_printed_for_each_shell_and_an_unknown_shell_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = dealgate(dir.path(), &["completions", shell], &[], "");
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for word in ["dealgate", "serve", "digest", "playbook"] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    let out = dealgate(dir.path(), &["completions", "tcsh"], &[], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("possible values"), "{}", stderr(&out));
}

#[test]
fn the_slack_manifest_wants_an_https_url_with_a_host() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dealgate(
        dir.path(),
        &["slack", "manifest", "--url", "http://bot.example.com"],
        &[],
        "",
    );
    fails_saying(&plain, "use https://");
    let tunnel = dealgate(
        dir.path(),
        &[
            "slack",
            "manifest",
            "--url",
            "http://tunnel.internal:8080/",
            "--insecure",
        ],
        &[],
        "",
    );
    assert!(tunnel.status.success(), "{}", stderr(&tunnel));
    assert!(
        stdout(&tunnel).contains("\"http://tunnel.internal:8080/slack/commands\""),
        "{}",
        stdout(&tunnel)
    );
    for bad in ["https://", "bot.example.com", "ftp://bot.example.com"] {
        let out = dealgate(dir.path(), &["slack", "manifest", "--url", bad], &[], "");
        fails_saying(&out, "give the bot's public address");
    }
}

#[test]
fn a_reader_that_hangs_up_ends_the_output_quietly() {
    let dir = tempfile::tempdir().unwrap();
    // The read end is closed before dealgate writes a byte: its first write meets a broken pipe.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_dealgate"))
        .args(["slack", "manifest", "--url", "https://bot.example.com"])
        .env_clear()
        .current_dir(dir.path())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "no panic, no message");
}

#[test]
fn after_the_demo_digest_and_outbox_read_the_demo_and_the_chart_folder_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dealgate(dir.path(), &["demo", "--no-console"], &[], "");
    assert!(demo.status.success(), "{}", stderr(&demo));
    assert!(dir.path().join("dealgate-demo.db").exists());

    let digest = dealgate(
        dir.path(),
        &["digest", "--dry-run", "--save-chart", "charts/today"],
        &[],
        "",
    );
    assert!(digest.status.success(), "{}", stderr(&digest));
    assert!(
        stderr(&digest).contains("Reading the demo's database ./dealgate-demo.db"),
        "{}",
        stderr(&digest)
    );
    let printed = stdout(&digest);
    assert!(printed.contains("Workspace 1 (demo)"), "{printed}");
    assert!(
        printed.contains("Chart saved to charts/today/"),
        "{printed}"
    );
    let charts: Vec<_> = std::fs::read_dir(dir.path().join("charts/today"))
        .expect("the folder was created")
        .collect();
    assert_eq!(charts.len(), 1);

    let outbox = dealgate(dir.path(), &["outbox"], &[], "");
    assert!(outbox.status.success(), "{}", stderr(&outbox));
    assert!(
        stderr(&outbox).contains("dealgate-demo.db"),
        "{}",
        stderr(&outbox)
    );
    assert!(
        !dir.path().join("dealgate.db").exists(),
        "no empty database left behind"
    );

    // A database named in the environment is the one read, demo or not.
    let named = dealgate(
        dir.path(),
        &["digest", "--dry-run"],
        &[("DATABASE_URL", "sqlite://other.db")],
        "",
    );
    fails_saying(&named, "no workspaces");
}

#[test]
fn the_demo_checks_who_it_acts_as_and_says_their_role() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dealgate(dir.path(), &["demo", "--as", "dana smith"], &[], "");
    fails_saying(&bad, "--as `dana smith`");
    assert!(
        !dir.path().join("dealgate-demo.db").exists(),
        "refused before any work"
    );

    let dana = dealgate(dir.path(), &["demo", "--as", "dana"], &[], "/ask\n/as\n");
    assert!(dana.status.success(), "{}", stderr(&dana));
    assert!(
        stderr(&dana).contains("Acting as dana, a manager."),
        "{}",
        stderr(&dana)
    );
    let console = stdout(&dana);
    // `/ask` is not `/as k`: it is an unknown command, and dana is still acting.
    assert!(!console.contains("Now acting as k"), "{console}");
    assert!(console.contains("dana> /ask"), "{console}");
    assert!(console.contains("Usage: /as NAME"), "{console}");
}

/// A one-request HTTP server answering `status`, on a port of its own.
fn answer_once(status: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0_u8; 1024];
        let _ = stream.read(&mut request);
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
        );
    });
    format!("http://{addr}/healthz")
}

#[test]
fn healthcheck_exits_0_on_a_200_and_1_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let healthy = dealgate(
        dir.path(),
        &["healthcheck", "--url", &answer_once("200 OK")],
        &[],
        "",
    );
    assert_eq!(healthy.status.code(), Some(0), "{}", stderr(&healthy));

    let failing = dealgate(
        dir.path(),
        &[
            "healthcheck",
            "--url",
            &answer_once("503 Service Unavailable"),
        ],
        &[],
        "",
    );
    fails_saying(&failing, "503");

    let garbled = dealgate(dir.path(), &["healthcheck", "--url", "not a url"], &[], "");
    fails_saying(&garbled, "is not a URL");

    // Nobody listening: a port just bound and released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let down = dealgate(
        dir.path(),
        &["healthcheck", "--url", &format!("http://{closed}/healthz")],
        &[],
        "",
    );
    fails_saying(&down, "unhealthy");
}

#[test]
fn backup_copies_a_live_sqlite_database_and_names_pg_dump_for_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    let db = [("DATABASE_URL", "sqlite://live.db")];
    let made = dealgate(
        dir.path(),
        &["console", "--as", "ria"],
        &db,
        "/deal new \"Acme renewal\" 5000 2030-06-30\n",
    );
    assert!(made.status.success(), "{}", stderr(&made));

    let backup = dealgate(dir.path(), &["backup", "copy.db"], &db, "");
    assert!(backup.status.success(), "{}", stderr(&backup));
    assert!(
        stdout(&backup).starts_with("Backed up sqlite://live.db to copy.db ("),
        "{}",
        stdout(&backup)
    );
    let listed = dealgate(
        dir.path(),
        &["console", "--as", "ria"],
        &[("DATABASE_URL", "sqlite://copy.db")],
        "/deal list\n",
    );
    assert!(
        stdout(&listed).contains("Acme renewal"),
        "{}",
        stdout(&listed)
    );

    let nowhere = dealgate(dir.path(), &["backup", "no-folder/copy.db"], &db, "");
    fails_saying(
        &nowhere,
        "the folder no-folder for the backup does not exist",
    );

    let again = dealgate(dir.path(), &["backup", "copy.db"], &db, "");
    fails_saying(&again, "exists already");

    let missing = dealgate(
        dir.path(),
        &["backup", "other.db"],
        &[("DATABASE_URL", "sqlite://nothing-here.db")],
        "",
    );
    fails_saying(&missing, "there is no database at nothing-here.db");
    assert!(!dir.path().join("nothing-here.db").exists(), "none created");

    // PostgreSQL: the way to do it, without connecting (nothing listens on port 1).
    let pg = dealgate(
        dir.path(),
        &["backup", "pg.dump"],
        &[(
            "DATABASE_URL",
            "postgres://dealgate:secret@127.0.0.1:1/dealgate",
        )],
        "",
    );
    let err = fails_saying(&pg, "");
    assert!(
        err.contains("pg_dump --format=custom --file pg.dump"),
        "{err}"
    );
    assert!(!err.contains("secret"), "the password never prints: {err}");
}

#[test]
fn a_database_that_is_away_is_reported_once_with_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1: the refusal itself is the message, not a pool's timeout.
    let pg = dealgate(
        dir.path(),
        &["migrate"],
        &[(
            "DATABASE_URL",
            "postgres://dealgate:secret@127.0.0.1:1/dealgate",
        )],
        "",
    );
    let err = fails_saying(&pg, "");
    assert!(err.contains("Connection refused"), "{err}");
    assert!(!err.contains("timed out"), "{err}");
    assert_eq!(
        err.matches("Connection refused").count(),
        1,
        "said once: {err}"
    );
    assert!(!err.contains("secret"), "{err}");

    // A SQLite file that cannot be: in a folder that is missing, or a folder itself.
    std::fs::create_dir(dir.path().join("data")).unwrap();
    for (url, says) in [
        (
            "sqlite://no-such-folder/dealgate.db",
            &[
                "the folder no-such-folder of the SQLite file no-such-folder/dealgate.db does not \
               exist",
            ][..],
        ),
        (
            "sqlite://data",
            &[
                "data is a folder, not a SQLite file",
                "sqlite://data/dealgate.db",
            ],
        ),
    ] {
        let sqlite = dealgate(
            dir.path(),
            &["console", "--as", "ria"],
            &[("DATABASE_URL", url)],
            "/deal list\n",
        );
        let err = fails_saying(&sqlite, "");
        for said in says {
            assert!(err.contains(said), "{url}: {err}");
        }
        assert_eq!(err.lines().count(), 1, "{url}: one line: {err}");
    }
}
