//! `dealgate import` and `dealgate export` through the built binary, on both backends: files
//! shaped like Salesforce's and HubSpot's exports land in a workspace on the matching template
//! with their counts, amounts and stage histories; a second import changes nothing; a changed
//! row updates; a dry run writes nothing; bad files are refused with their line and nothing of
//! them is written; an export imported into a fresh workspace reproduces it.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dealgate::chat::console::caller;
use dealgate::clock::SystemClock;
use dealgate::commands::execute::execute_line;
use dealgate::commands::reply::Tone;
use dealgate::engine::playbook::Role;
use dealgate::service::{Service, UserRef};
use support::{TestBackend, TestDb};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/import");
const PEOPLE: [&str; 3] = ["Alice Adams", "Bob Brown", "Cara Chen"];

/// A database with a console workspace `crm` on `template`, whose team is the fixtures' owners.
struct World {
    service: Service,
    db: TestDb,
}

impl World {
    async fn new(backend: TestBackend, template: &str) -> Option<Self> {
        let db = TestDb::create(backend).await?;
        let service = Service::new(
            db.store().await,
            Arc::new(SystemClock),
            dealgate::config::playbook_source(template).unwrap(),
        );
        let world = Self { service, db };
        world.team("crm").await;
        Some(world)
    }

    /// The fixtures' three owners in `workspace` (Alice, the first, is its admin; Bob manages).
    async fn team(&self, workspace: &str) {
        let admin = self
            .service
            .session(&caller(workspace, PEOPLE[0]))
            .await
            .unwrap();
        for name in &PEOPLE[1..] {
            self.service
                .session(&caller(workspace, name))
                .await
                .unwrap();
        }
        self.service
            .set_team_role(
                &admin,
                &UserRef::Name(PEOPLE[1].into()),
                Role::Manager,
                None,
            )
            .await
            .unwrap();
    }

    /// `dealgate ARGS` on this database: its exit code, stdout and stderr.
    async fn run(&self, args: &[&str]) -> Ran {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_dealgate"))
            .args(args)
            .env("DATABASE_URL", &self.db.url)
            .env("RUST_LOG", "warn")
            .env_remove("DEALGATE_PLAYBOOK")
            .output()
            .await
            .expect("run dealgate");
        Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    async fn import(&self, kind: &str, file: &Path, extra: &[&str]) -> Ran {
        let file = file.to_str().unwrap();
        let mut args = vec!["import", kind, file, "--workspace", "console:crm"];
        args.extend_from_slice(extra);
        self.run(&args).await
    }

    /// Rows of `sql` (with `$1` the workspace `crm`'s id) as text, one line a row, `|` between
    /// columns.
    async fn rows(&self, sql: &str) -> Vec<String> {
        use sqlx::{Row, ValueRef};
        let store = self.db.store().await;
        let mut conn = store.reader().acquire().await.unwrap();
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .bind(self.tenant(&mut conn, "crm").await)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        rows.iter()
            .map(|r| {
                (0..r.columns().len())
                    .map(|i| {
                        if r.try_get_raw(i).unwrap().is_null() {
                            "∅".to_string()
                        } else if let Ok(n) = r.try_get::<i64, _>(i) {
                            n.to_string()
                        } else {
                            r.try_get::<String, _>(i).unwrap()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    }

    async fn tenant(&self, conn: &mut sqlx::AnyConnection, workspace: &str) -> i64 {
        sqlx::query_scalar("SELECT id FROM tenants WHERE external_id = $1")
            .bind(workspace)
            .fetch_one(conn)
            .await
            .unwrap()
    }

    /// Runs statements on the database as its owner would by hand.
    async fn execute(&self, statements: &[&str]) {
        let store = self.db.store().await;
        let mut conn = store.reader().acquire().await.unwrap();
        for sql in statements {
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&mut *conn)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }

    /// Deals, activities and stage changes of `crm`.
    async fn counts(&self) -> String {
        self.rows(
            "SELECT (SELECT COUNT(*) FROM deals WHERE tenant_id = $1), \
             (SELECT COUNT(*) FROM activities WHERE tenant_id = $1), \
             (SELECT COUNT(*) FROM stage_changes WHERE tenant_id = $1), \
             (SELECT COUNT(*) FROM field_changes WHERE tenant_id = $1)",
        )
        .await
        .join("")
    }

    /// A deal's stage history by its source id: `from→to kind at` per line.
    async fn history(&self, source_id: &str) -> Vec<String> {
        let sql = format!(
            "SELECT c.from_stage, c.to_stage, c.kind, substr(c.at, 1, 16) FROM stage_changes c \
             JOIN deals d ON d.id = c.deal_id WHERE d.tenant_id = $1 AND d.source_id = '{}' \
             ORDER BY c.at, c.id",
            source_id.replace('\'', "''")
        );
        self.rows(&sql).await
    }
}

#[derive(Debug)]
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Ran {
    #[track_caller]
    fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "{self:?}");
        &self.stdout
    }

    #[track_caller]
    fn refused(&self) -> String {
        assert_eq!(self.code, 1, "{self:?}");
        assert!(!self.stderr.contains("panicked"), "{self:?}");
        format!("{}{}", self.stdout, self.stderr)
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn on_sqlite() {
                super::$name(super::TestBackend::Sqlite).await;
            }

            #[tokio::test]
            async fn on_postgres() {
                super::$name(super::TestBackend::Postgres).await;
            }
        }
    )*};
}

on_both!(
    a_data_loader_export_lands_with_its_figures_and_a_second_import_changes_nothing,
    a_report_export_with_quotes_bare_line_feeds_and_a_footer_lands_with_its_figures,
    a_hubspot_export_brings_its_stage_history_and_leaves_other_pipelines,
    a_changed_row_updates_its_deal_and_a_dry_run_writes_nothing,
    bad_files_are_refused_with_their_line_and_nothing_of_them_is_written,
    unmapped_stages_and_owners_are_listed_not_guessed,
    an_export_imported_into_a_fresh_workspace_reproduces_it,
    a_batch_that_fails_leaves_no_partial_deal_and_the_same_command_goes_on,
);

/// What a person reads, with the fixtures' folder as the repository names it.
fn shown(text: &str) -> String {
    text.replace(FIXTURES, "tests/fixtures/import")
}

const BY_STATUS: &str = "SELECT status, COUNT(*), CAST(SUM(amount) AS BIGINT) FROM deals WHERE tenant_id = $1 \
     GROUP BY status ORDER BY status";

async fn a_data_loader_export_lands_with_its_figures_and_a_second_import_changes_nothing(
    backend: TestBackend,
) {
    let Some(w) = World::new(backend, "salesforce").await else {
        return;
    };
    let file = fixture("salesforce-dataloader.csv");
    let first = w.import("deals", &file, &[]).await;
    assert!(
        first.ok().contains("created 12, updated 0, unchanged 0"),
        "{first:?}"
    );
    // 47,250,000 cents in all, 37,050,000 open; the won row left in Negotiation/Review by its
    // stage name is won by its flags.
    assert_eq!(
        w.rows(BY_STATUS).await,
        ["lost|2|3700000", "open|8|37050000", "won|2|6500000"]
    );
    assert_eq!(
        w.rows(
            "SELECT m.display_name, COUNT(*) FROM deals d JOIN members m ON m.id = d.owner_id \
             WHERE d.tenant_id = $1 GROUP BY m.display_name ORDER BY m.display_name"
        )
        .await,
        ["Alice Adams|4", "Bob Brown|4", "Cara Chen|4"]
    );
    assert_eq!(
        w.rows(
            "SELECT stage, status, amount FROM deals WHERE tenant_id = $1 AND source_id IN \
             ('0065g00000XyzQAAAZ', '0065g00000XyzQ8AAJ', '0065g00000XyzQ7AAJ') ORDER BY source_id"
        )
        .await,
        [
            "proposal-price-quote|open|9500000",
            "negotiation-review|open|0",
            "closed-won|won|2500000"
        ]
    );
    assert_eq!(
        w.history("0065g00000XyzQAAAZ").await,
        [
            "∅|prospecting|create|2026-01-08T15:40",
            "prospecting|closed-won|won|2026-03-06T00:00"
        ]
    );
    // Won deals whose history the file does not give miss every gate they passed: imported as
    // history all the same, and flagged.
    assert_eq!(
        w.rows("SELECT COUNT(*) FROM deals WHERE tenant_id = $1 AND out_of_process > 0")
            .await,
        ["2"]
    );
    let counts = w.counts().await;
    let second = w.import("deals", &file, &[]).await;
    assert!(
        second
            .ok()
            .contains("unchanged: 12, refused: 0\nNothing to change"),
        "{second:?}"
    );
    assert_eq!(w.counts().await, counts);
}

async fn a_report_export_with_quotes_bare_line_feeds_and_a_footer_lands_with_its_figures(
    backend: TestBackend,
) {
    let Some(w) = World::new(backend, "salesforce").await else {
        return;
    };
    let ran = w
        .import("deals", &fixture("salesforce-report.csv"), &[])
        .await;
    assert!(ran.ok().contains("created 10, updated 0"), "{ran:?}");
    assert_eq!(
        w.rows(BY_STATUS).await,
        ["lost|2|8500000", "open|6|29549950", "won|2|4850000"]
    );
    assert_eq!(
        w.rows(
            "SELECT name FROM deals WHERE tenant_id = $1 AND source_id IN \
             ('0065g00000RptA2AAJ', '0065g00000RptA3AAJ') ORDER BY source_id"
        )
        .await,
        ["Contoso - \"Phase 2\", EMEA", "Société Générale - Pilot"]
    );
    assert_eq!(
        w.history("0065g00000RptA7AAJ").await,
        [
            "∅|prospecting|create|2025-12-30T00:00",
            "prospecting|closed-won|won|2026-02-13T00:00"
        ]
    );
    assert_eq!(
        w.history("0065g00000RptA5AAJ").await,
        ["∅|negotiation-review|create|2026-01-06T00:00"]
    );
}

async fn a_hubspot_export_brings_its_stage_history_and_leaves_other_pipelines(
    backend: TestBackend,
) {
    let Some(w) = World::new(backend, "hubspot").await else {
        return;
    };
    let dry = w
        .import("deals", &fixture("hubspot-deals.csv"), &["--dry-run"])
        .await;
    insta::assert_snapshot!("hubspot_dry_run", shown(dry.ok()));
    let ran = w.import("deals", &fixture("hubspot-deals.csv"), &[]).await;
    let out = ran.ok();
    insta::assert_snapshot!("hubspot_import", shown(out));
    assert!(
        out.contains("skipped, other pipelines: Partner Pipeline (3 rows)"),
        "{out}"
    );
    assert!(out.contains("created 12, updated 0"), "{out}");
    assert_eq!(
        w.rows(BY_STATUS).await,
        ["lost|2|6000000", "open|8|38130000", "won|2|8450000"]
    );
    assert_eq!(
        w.history("15209773005").await,
        [
            "∅|appointment-scheduled|create|2026-01-06T10:00",
            "appointment-scheduled|qualified-to-buy|advance|2026-01-14T11:30",
            "qualified-to-buy|presentation-scheduled|advance|2026-01-27T14:00",
            "presentation-scheduled|decision-maker-bought-in|advance|2026-02-09T16:15",
            "decision-maker-bought-in|contract-sent|advance|2026-02-24T12:40",
        ]
    );
    assert_eq!(
        w.history("15209773010").await,
        [
            "∅|appointment-scheduled|create|2026-01-14T08:00",
            "appointment-scheduled|qualified-to-buy|advance|2026-01-21T12:00",
            "qualified-to-buy|decision-maker-bought-in|advance|2026-02-13T10:45",
            "decision-maker-bought-in|contract-sent|advance|2026-03-03T09:30",
            "contract-sent|closed-won|won|2026-03-12T16:20",
        ]
    );
    // Days in stage start from the day the source says the deal entered its stage.
    assert_eq!(
        w.rows(
            "SELECT substr(stage_entered_at, 1, 16) FROM deals WHERE tenant_id = $1 AND \
             source_id = '15209773005'"
        )
        .await,
        ["2026-02-24T12:40"]
    );
}

async fn a_changed_row_updates_its_deal_and_a_dry_run_writes_nothing(backend: TestBackend) {
    let Some(w) = World::new(backend, "hubspot").await else {
        return;
    };
    let original = fixture("hubspot-deals.csv");
    w.import("deals", &original, &[]).await.ok();
    let text = std::fs::read_to_string(&original).unwrap();
    let before = "15209773005,Fjord Shipping - Fleet Tracking,Contract Sent,98000,2026-03-31,\
                  Bob Brown,Sales Pipeline,2026-01-06 10:00,USD,2026-01-06 10:00,2026-01-14 11:30,\
                  2026-01-27 14:00,2026-02-09 16:15,2026-02-24 12:40,,,";
    let after = "15209773005,Fjord Shipping - Fleet Tracking,Closed Won,120000,2026-03-20,\
                 Bob Brown,Sales Pipeline,2026-01-06 10:00,USD,2026-01-06 10:00,2026-01-14 11:30,\
                 2026-01-27 14:00,2026-02-09 16:15,2026-02-24 12:40,2026-03-20 10:00,,";
    assert!(text.contains(before));
    let dir = tempfile::tempdir().unwrap();
    let changed = dir.path().join("changed.csv");
    std::fs::write(&changed, text.replace(before, after)).unwrap();

    let counts = w.counts().await;
    let dry = w.import("deals", &changed, &["--dry-run"]).await;
    assert!(
        dry.ok()
            .contains("to create: 0, to update: 1, unchanged: 11, refused: 0"),
        "{dry:?}"
    );
    assert!(dry.stdout.contains("Dry run: nothing was written."));
    assert_eq!(w.counts().await, counts, "a dry run writes nothing");

    let ran = w.import("deals", &changed, &[]).await;
    assert!(
        ran.ok().contains("created 0, updated 1, unchanged 11"),
        "{ran:?}"
    );
    assert_eq!(
        w.rows(
            "SELECT stage, status, amount, close_date, substr(closed_at, 1, 16) FROM deals \
             WHERE tenant_id = $1 AND source_id = '15209773005'"
        )
        .await,
        ["closed-won|won|12000000|2026-03-20|2026-03-20T10:00"]
    );
    assert_eq!(
        w.history("15209773005").await.last().unwrap(),
        "contract-sent|closed-won|won|2026-03-20T10:00"
    );
    assert_eq!(
        w.rows(
            "SELECT f.field, f.old_value, f.new_value FROM field_changes f JOIN deals d \
             ON d.id = f.deal_id WHERE d.tenant_id = $1 ORDER BY f.field"
        )
        .await,
        ["amount|98,000|120,000", "close_date|2026-03-31|2026-03-20"]
    );
    let counts = w.counts().await;
    let again = w.import("deals", &changed, &[]).await;
    assert!(again.ok().contains("Nothing to change"), "{again:?}");
    assert_eq!(w.counts().await, counts);
}

async fn bad_files_are_refused_with_their_line_and_nothing_of_them_is_written(
    backend: TestBackend,
) {
    let Some(w) = World::new(backend, "salesforce").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // A row of 10,000 columns, and a 50 MB file that is one quoted value never closed.
    let wide = dir.path().join("wide.csv");
    std::fs::write(&wide, format!("{}\n", vec!["x"; 10_000].join(","))).unwrap();
    let huge = dir.path().join("huge.csv");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&huge).unwrap());
        writeln!(
            f,
            "Opportunity ID,Opportunity Name,Stage,Amount,Close Date,Opportunity Owner"
        )
        .unwrap();
        write!(f, "0065g00000HugeAAA,\"").unwrap();
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..50 {
            f.write_all(&chunk).unwrap();
        }
    }
    let cases: [(PathBuf, &[&str], &str); 6] = [
        (
            fixture("bad-latin1.csv"),
            &[],
            "line 4: not UTF-8 text (byte 0xE9 in column `Opportunity Name`)",
        ),
        (fixture("bad-missing-column.csv"), &[], "Deal Stage"),
        (
            fixture("bad-unterminated.csv"),
            &[],
            "line 4: a quoted value is never closed",
        ),
        (
            fixture("bad-formula.csv"),
            &[],
            "line 3: the name `=HYPERLINK(",
        ),
        (
            wide,
            &[],
            "line 1: 10000 columns; an export has at most 1000",
        ),
        (
            huge,
            &[],
            "line 2: a row longer than 1 MiB — is a quote never closed?",
        ),
    ];
    for (file, extra, says) in cases {
        let ran = w.import("deals", &file, extra).await;
        let text = ran.refused();
        assert!(text.contains(says), "{}: {text}", file.display());
        assert!(
            text.contains("Nothing was imported"),
            "{}: {text}",
            file.display()
        );
        assert_eq!(w.counts().await, "0|0|0|0", "{}", file.display());
    }
    let Some(w) = World::new(backend, "hubspot").await else {
        return;
    };
    let values = w.import("deals", &fixture("bad-values.csv"), &[]).await;
    insta::assert_snapshot!("bad_values_refused", shown(&values.refused()));
    assert!(
        values.refused().contains(
            "to create: 1, to update: 0, unchanged: 0, refused: 4\n  refused:\n    \
             line 3: the amount `abc` is not a number; write it as 12500 or 12,500.00\n    \
             line 4: Close Date `31/31/2026` is not a date; it was read month first"
        ),
        "{values:?}"
    );
    for says in [
        "line 5: the row has no Deal Name",
        "line 6: owner `Zed Zimmer` is not a member of the workspace",
        "owners not in the workspace: `Zed Zimmer` (1 row).\n  Its members: Alice Adams, \
         Bob Brown, Cara Chen.",
        "Nothing was imported: 4 rows refused.",
    ] {
        assert!(values.stdout.contains(says), "{values:?}");
    }
    assert_eq!(w.counts().await, "0|0|0|0");
    // The rows that map go in when the person says to leave the others out; the refused stay
    // out.
    let skipped = w
        .import("deals", &fixture("bad-values.csv"), &["--skip-refused"])
        .await;
    assert!(skipped.ok().contains("created 1,"), "{skipped:?}");
    assert_eq!(
        w.rows("SELECT source_id FROM deals WHERE tenant_id = $1")
            .await,
        ["15209773101"]
    );
}

async fn unmapped_stages_and_owners_are_listed_not_guessed(backend: TestBackend) {
    let Some(w) = World::new(backend, "salesforce").await else {
        return;
    };
    // A HubSpot file into a Salesforce-template workspace: none of its stages is the playbook's.
    let file = fixture("hubspot-deals.csv");
    let ran = w.import("deals", &file, &[]).await;
    let text = ran.refused();
    assert!(
        text.contains("stages not in the playbook: `Appointment Scheduled` (12 rows)"),
        "{text}"
    );
    assert!(
        text.contains("The playbook's stages: prospecting (Prospecting), qualification"),
        "{text}"
    );
    assert!(
        text.contains("Nothing was imported: 12 rows refused"),
        "{text}"
    );
    assert_eq!(w.counts().await, "0|0|0|0");

    let bad_map = w
        .import("deals", &file, &["--map-stage", "Contract Sent=signed"])
        .await;
    assert!(
        bad_map
            .refused()
            .contains("--map-stage \"Contract Sent=signed\": the playbook has no stage `signed`"),
        "{bad_map:?}"
    );
    let mapped = w
        .import(
            "deals",
            &file,
            &[
                "--map-stage",
                "Appointment Scheduled=prospecting",
                "--map-stage",
                "Qualified to Buy=qualification",
                "--map-stage",
                "Presentation Scheduled=Value Proposition",
                "--map-stage",
                "Decision Maker Bought-In=id-decision-makers",
                "--map-stage",
                "Contract Sent=negotiation-review",
                "--map-owner",
                "Cara Chen=Alice Adams",
            ],
        )
        .await;
    assert!(mapped.ok().contains("created 12"), "{mapped:?}");
    assert_eq!(
        w.rows(
            "SELECT m.display_name, COUNT(*) FROM deals d JOIN members m ON m.id = d.owner_id \
             WHERE d.tenant_id = $1 GROUP BY m.display_name ORDER BY m.display_name"
        )
        .await,
        ["Alice Adams|8", "Bob Brown|4"]
    );
}

/// A workspace with history made in dealgate (moves, an override, activities, a custom field),
/// exported and imported into a fresh one: the fresh one's export is the same, but for the
/// columns that say where its deals came from.
async fn an_export_imported_into_a_fresh_workspace_reproduces_it(backend: TestBackend) {
    let Some(w) = World::new(backend, "salesforce").await else {
        return;
    };
    w.import("deals", &fixture("salesforce-dataloader.csv"), &[])
        .await
        .ok();
    let alice = w.service.session(&caller("crm", PEOPLE[0])).await.unwrap();
    drop(alice);
    for line in [
        "/deal new \"=1+2 pricing\" 25000 2027-12-31",
        "/log deal-13 first-meeting-held met the CFO",
        "/advance deal-13",
        "/advance deal-13 override:\"verbal need, confirmed by email\"",
        "/log deal-13 needs-analysis-completed",
        "/deal new Globex 40000 2027-11-30",
        "/lost deal-14 went with a competitor",
    ] {
        let reply = execute_line(&w.service, &caller("crm", PEOPLE[0]), line).await;
        assert!(
            !matches!(reply.tone, Tone::Refusal | Tone::Error),
            "{line}: {reply:?}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let mut exported = Vec::new();
    for kind in ["deals", "activities", "history"] {
        let path = dir.path().join(format!("{kind}.csv"));
        let ran = w
            .run(&[
                "export",
                kind,
                "--workspace",
                "console:crm",
                "--out",
                path.to_str().unwrap(),
            ])
            .await;
        assert!(ran.ok().starts_with("Wrote "), "{ran:?}");
        exported.push(std::fs::read_to_string(&path).unwrap());
    }
    // Formulas are neutralised: a spreadsheet shows the name as text.
    assert!(exported[0].contains(",'=1+2 pricing,"), "{}", exported[0]);
    assert!(exported[1].lines().count() > 1 && exported[2].lines().count() > 2);

    w.team("fresh").await;
    for kind in ["deals", "activities", "history"] {
        let path = dir.path().join(format!("{kind}.csv"));
        let ran = w
            .run(&[
                "import",
                kind,
                path.to_str().unwrap(),
                "--workspace",
                "console:fresh",
            ])
            .await;
        ran.ok();
    }
    for (i, kind) in ["deals", "activities", "history"].iter().enumerate() {
        let ran = w
            .run(&["export", kind, "--workspace", "console:fresh"])
            .await;
        let again = ran.ok();
        if *kind == "deals" {
            assert_eq!(without_source(again), without_source(&exported[i]));
        } else {
            assert_eq!(again, exported[i], "{kind}");
        }
    }
    // A second import of the same files changes nothing.
    for kind in ["deals", "activities", "history"] {
        let path = dir.path().join(format!("{kind}.csv"));
        let ran = w
            .run(&[
                "import",
                kind,
                path.to_str().unwrap(),
                "--workspace",
                "console:fresh",
            ])
            .await;
        assert!(ran.ok().contains("Nothing to change"), "{kind}: {ran:?}");
    }
}

/// A deals export without its `source` and `source_id` columns (13 and 14).
fn without_source(csv: &str) -> Vec<String> {
    csv.lines()
        .map(|line| {
            let mut cells: Vec<&str> = line.split(',').collect();
            if cells.len() > 13 {
                cells.drain(12..14);
            }
            cells.join(",")
        })
        .collect()
}

/// A HubSpot file of `deals` deals in Contract Sent, each with five stage dates; deal `i` is
/// named `Deal {i:04}`.
fn generated_hubspot(deals: usize) -> String {
    let mut text = String::from(
        "Record ID,Deal Name,Deal Stage,Amount,Close Date,Deal owner,Pipeline,Create Date,\
         \"Date entered \"\"Appointment Scheduled (Sales Pipeline)\"\"\",\
         \"Date entered \"\"Qualified to Buy (Sales Pipeline)\"\"\",\
         \"Date entered \"\"Presentation Scheduled (Sales Pipeline)\"\"\",\
         \"Date entered \"\"Decision Maker Bought-In (Sales Pipeline)\"\"\",\
         \"Date entered \"\"Contract Sent (Sales Pipeline)\"\"\"\n",
    );
    for i in 1..=deals {
        let owner = PEOPLE[i % 3];
        text.push_str(&format!(
            "{},Deal {i:04},Contract Sent,{},2026-09-30,{owner},Sales Pipeline,2026-01-05 09:00,\
             2026-01-05 09:00,2026-01-12 09:00,2026-01-19 09:00,2026-01-26 09:00,2026-02-02 09:00\n",
            90_000_000 + i,
            1_000 + i
        ));
    }
    text
}

/// A fault injected in the database fails the second batch's transaction part way: the first
/// batch stays whole, nothing of the second is written (no deal without its history), the
/// person is told where it stopped, and the same command then imports the rest, once.
async fn a_batch_that_fails_leaves_no_partial_deal_and_the_same_command_goes_on(
    backend: TestBackend,
) {
    let Some(w) = World::new(backend, "hubspot").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.csv");
    std::fs::write(&file, generated_hubspot(1_200)).unwrap();
    let poison: &[&str] = match backend {
        TestBackend::Sqlite => &["CREATE TRIGGER poison BEFORE INSERT ON deals \
             WHEN NEW.name = 'Deal 0700' BEGIN SELECT RAISE(ABORT, 'injected fault'); END"],
        TestBackend::Postgres => &[
            "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN IF NEW.name = 'Deal 0700' \
             THEN RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER poison BEFORE INSERT ON deals FOR EACH ROW EXECUTE FUNCTION poison()",
        ],
    };
    w.execute(poison).await;

    let ran = w.import("deals", &file, &[]).await;
    let text = ran.refused();
    assert!(
        text.contains("stopped at the batch of rows from line 502: "),
        "{text}"
    );
    assert!(text.contains("injected fault"), "{text}");
    assert!(
        text.contains("Nothing of that batch was written; every row before it is imported."),
        "{text}"
    );
    assert_eq!(w.counts().await, "500|0|2500|0");
    let partial = "SELECT COUNT(*) FROM deals d WHERE d.tenant_id = $1 AND \
                   (SELECT COUNT(*) FROM stage_changes c WHERE c.deal_id = d.id) <> 5";
    assert_eq!(w.rows(partial).await, ["0"]);

    w.execute(&[match backend {
        TestBackend::Sqlite => "DROP TRIGGER poison",
        TestBackend::Postgres => "DROP TRIGGER poison ON deals",
    }])
    .await;
    let again = w.import("deals", &file, &[]).await;
    assert!(
        again.ok().contains("created 700, updated 0, unchanged 500"),
        "{again:?}"
    );
    assert_eq!(w.counts().await, "1200|0|6000|0");
    assert_eq!(w.rows(partial).await, ["0"]);
}
