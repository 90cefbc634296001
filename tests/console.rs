//! The built binary end to end: commands piped into `dealgate console` and `dealgate demo`,
//! output asserted as a person would read it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/three-stages.toml"
);

fn dealgate(dir: &TempDir, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dealgate"))
        .args(args)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("console.db").display()),
        )
        .env("DEALGATE_PLAYBOOK", FIXTURE)
        .env("RUST_LOG", "warn")
        .current_dir(dir.path())
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

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_refused_advance_lists_what_is_missing_and_meeting_it_moves_the_deal() {
    let dir = tempfile::tempdir().unwrap();
    let out = dealgate(
        &dir,
        &["console", "--as", "ann"],
        "/deal new \"Acme Rollout\" 50000 2030-06-30\n\
         /advance deal-1\n\
         /deal show 1\n\
         /log deal-1 discovery-call \"met the CFO\"\n\
         /advance #1\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = text(&out);
    let (refusal, rest) = s
        .split_once("/deal show 1")
        .expect("commands echoed in order");
    assert!(
        refusal.contains("deal-1 can't leave Qualify yet"),
        "{refusal}"
    );
    assert!(
        refusal.contains("/log deal-1 discovery-call"),
        "says how to meet the gate: {refusal}"
    );
    assert!(
        refusal.contains("Suggested, not required"),
        "suggestions kept apart: {refusal}"
    );
    let (show, after) = rest.split_once("/log deal-1").unwrap();
    assert!(
        show.contains("Stage: Qualify (10%)"),
        "the deal stayed where it was: {show}"
    );
    assert!(after.contains("deal-1 advanced to Solution"), "{after}");
    assert!(after.contains("probability 40%"), "{after}");
    assert!(
        after.contains("weighted EUR 20,000 (was EUR 5,000)"),
        "{after}"
    );
}

#[test]
fn bad_input_gets_a_reply_that_says_what_would_be_right() {
    let dir = tempfile::tempdir().unwrap();
    let out = dealgate(
        &dir,
        &["console", "--as", "ann"],
        "/deal new Acme -5 2030-06-30\n\
         /deal new Acme 5000 2030-02-30\n\
         /log deal-99 demo\n\
         /log deal-99 discovry-call\n\
         /advnce deal-1\n\
         /as bob\n\
         /team set ann manager\n",
    );
    let s = text(&out);
    assert!(s.contains("negative"), "{s}");
    assert!(
        s.contains("30 February 2030") || s.contains("February"),
        "{s}"
    );
    assert!(s.contains("There is no deal-99"), "{s}");
    assert!(s.contains("Did you mean `discovery-call`?"), "{s}");
    assert!(s.contains("/advance"), "did you mean: {s}");
    assert!(s.contains("Now acting as bob."), "{s}");
    assert!(s.contains("Only an admin can"), "bob is a rep: {s}");
}

#[test]
fn the_demo_opens_a_console_on_a_populated_workspace_and_reuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let first = dealgate(&dir, &["demo"], "/deal list\n/as dana\n/forecast all\n");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let s = text(&first);
    assert!(s.contains("Deals: yours"), "{s}");
    assert!(s.matches("deal-").count() >= 5, "alex has deals: {s}");
    assert!(s.contains("Forecast · your team"), "{s}");
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(stderr.contains("Created the demo workspace"), "{stderr}");
    let again = dealgate(&dir, &["demo"], "");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("Reusing the demo workspace (150 deals)")
    );
    let reset = dealgate(&dir, &["demo", "--reset"], "");
    assert!(String::from_utf8_lossy(&reset.stderr).contains("Created the demo workspace"));
}

#[test]
fn playbook_check_reports_file_and_line_and_exits_1_on_a_broken_playbook() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        FIXTURE_TEXT.replace(
            "activity = \"discovery-call\"",
            "activity = \"discovery-cal\"",
        ),
    )
    .unwrap();
    let out = dealgate(&dir, &["playbook", "check", bad.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let line = FIXTURE_TEXT
        .lines()
        .position(|l| l.contains("activity = \"discovery-call\""))
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!("bad.toml:{line}:")),
        "file:line in {err}"
    );
    assert!(err.contains("discovery-cal"), "{err}");
}

#[test]
fn every_built_in_template_passes_playbook_check_and_shows() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["default", "meddpicc", "salesforce", "hubspot"] {
        let show = dealgate(&dir, &["playbook", "show", name], "");
        assert!(
            show.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&show.stderr)
        );
        assert!(text(&show).contains("Closed Won"), "{name}");
        let file = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &file,
            dealgate::engine::playbook::template_source(name).unwrap(),
        )
        .unwrap();
        let check = dealgate(&dir, &["playbook", "check", file.to_str().unwrap()], "");
        assert_eq!(
            check.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
}

const FIXTURE_TEXT: &str = include_str!("fixtures/three-stages.toml");

/// What the terminal shows, read on a thread of its own; `wait_for` reads until `text` has
/// appeared (within 30 seconds) and returns everything seen so far.
struct Screen {
    chunks: std::sync::mpsc::Receiver<Vec<u8>>,
    seen: String,
}

impl Screen {
    fn watch(mut master: std::fs::File) -> Self {
        let (tx, chunks) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0_u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut master, &mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Self {
            chunks,
            seen: String::new(),
        }
    }

    /// Reads until `text` appears at or after byte `from` of what was shown; the byte after it.
    /// (Counting prompts would not do: the editor redraws its prompt as a line is edited.)
    fn wait_for(&mut self, text: &str, from: usize) -> usize {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some(at) = self.seen.get(from..).and_then(|rest| rest.find(text)) {
                return from + at + text.len();
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.seen.push_str(&String::from_utf8_lossy(&chunk)),
                Err(_) => panic!("{text:?} did not appear after byte {from}: {:?}", self.seen),
            }
        }
    }
}

/// A pseudo-terminal: (the side a person types into and reads, the side the program gets).
fn pty() -> (std::fs::File, std::fs::File) {
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two new descriptors into the two integers and reads nothing else
    // (no name buffer, default terminal settings and size).
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // Not inherited by the other tests' children: a stray copy of the terminal would keep it
    // open after dealgate ends. (The child gets its own copies as stdin, stdout and stderr.)
    for fd in [master, slave] {
        // SAFETY: fcntl on a descriptor this function owns.
        assert_eq!(
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) },
            0
        );
    }
    // SAFETY: both descriptors are fresh and owned by nothing else.
    unsafe {
        (
            std::fs::File::from_raw_fd(master),
            std::fs::File::from_raw_fd(slave),
        )
    }
}

#[test]
fn at_a_terminal_the_arrow_keys_edit_the_line_and_recall_the_last_one() {
    let dir = tempfile::tempdir().unwrap();
    let (master, slave) = pty();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dealgate"))
        .args(["console", "--as", "ria"])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("console.db").display()),
        )
        .env("DEALGATE_PLAYBOOK", FIXTURE)
        .env("RUST_LOG", "warn")
        .env("TERM", "xterm")
        .current_dir(dir.path())
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave)
        .spawn()
        .expect("start dealgate");
    let mut keys = master.try_clone().unwrap();
    let mut screen = Screen::watch(master);
    let at = screen.wait_for("ria> ", 0);
    // "/deal lst", two steps left, "i": the line sent is "/deal list".
    keys.write_all(b"/deal lst\x1b[D\x1b[Di\r").unwrap();
    let at = screen.wait_for("Deals: everyone's", at);
    let at = screen.wait_for("ria> ", at);
    // Up recalls it; Enter runs it again.
    keys.write_all(b"\x1b[A\r").unwrap();
    let at = screen.wait_for("Deals: everyone's", at);
    screen.wait_for("ria> ", at);
    assert!(
        !screen.seen.contains("^[[D"),
        "arrows are keys, not text: {:?}",
        screen.seen
    );
    assert!(
        !screen.seen.contains("Unknown command"),
        "{:?}",
        screen.seen
    );
    keys.write_all(b"\x04").unwrap(); // Ctrl-D ends the session
    let pid = child.id() as libc::pid_t;
    let (done, ended) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait());
    });
    let Ok(status) = ended.recv_timeout(std::time::Duration::from_secs(30)) else {
        // SAFETY: signals the child this test started, which has not been reaped.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        panic!("Ctrl-D did not end the console: {:?}", screen.seen);
    };
    let status = status.unwrap();
    assert!(status.success(), "{status:?}: {:?}", screen.seen);
}
