//! Migrations meet data, on both backends: each one is applied on a database holding what the
//! ones before it left (sample rows written after each), as an upgrade in the field would; the
//! data still reads and works through the service afterwards, and running the migrations
//! again applies nothing and changes nothing.
//!
//! Adding a migration: write its SQLite and PostgreSQL files, then add sample rows for it to
//! `samples` below; the test refuses a migration without them.

mod support;

use std::sync::Arc;

use dealgate::chat::console::caller;
use dealgate::clock::ManualClock;
use dealgate::service::Service;
use dealgate::store::{Store, jobs};
use support::{PLAYBOOK, TestBackend, TestDb, playbook_source, start_time};

mod migrations_applied_one_by_one_keep_the_data_and_a_second_run_is_a_no_op {
    use super::*;

    #[tokio::test]
    async fn on_sqlite() {
        run(TestBackend::Sqlite).await;
    }

    #[tokio::test]
    async fn on_postgres() {
        run(TestBackend::Postgres).await;
    }
}

mod dealgate_migrate_applies_the_schema_once_and_then_reports_nothing_to_do {
    use super::*;

    #[tokio::test]
    async fn on_sqlite() {
        migrate_command(TestBackend::Sqlite).await;
    }

    #[tokio::test]
    async fn on_postgres() {
        migrate_command(TestBackend::Postgres).await;
    }
}

/// `dealgate migrate` through the built binary, as an operator runs it before starting
/// replicas.
async fn migrate_command(backend: TestBackend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let count = Store::open(&db.url)
        .await
        .unwrap()
        .migration_versions()
        .len();
    for expected in [count, 0] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dealgate"))
            .arg("migrate")
            .env("DATABASE_URL", &db.url)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run dealgate migrate");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("{expected} migration(s) applied")),
            "{stdout}"
        );
    }
}

/// Rows written right after migration `version`, in that version's schema. Plain SQL that both
/// backends accept: no explicit ids (PostgreSQL's identity columns refuse them), foreign keys
/// by sub-select. `$1` is the playbook's TOML.
fn samples(version: i64) -> Option<&'static [&'static str]> {
    match version {
        20261126000001 => Some(&[
            "INSERT INTO tenants (platform, external_id, name, playbook_ref, playbook_toml, \
             next_deal_number, created_at) VALUES ('console', 'sample', 'Sample Co', \
             'three-stages.toml', $1, 2, '2026-01-05T09:00:00.000000Z')",
            "INSERT INTO members (tenant_id, user_key, display_name, role, created_at) \
             SELECT id, 'sam', 'Sam', 'admin', '2026-01-05T09:00:00.000000Z' FROM tenants \
             WHERE external_id = 'sample'",
            "INSERT INTO members (tenant_id, user_key, display_name, role, manager_id, created_at) \
             SELECT t.id, 'ria', 'Ria', 'rep', m.id, '2026-01-05T09:05:00.000000Z' \
             FROM tenants t JOIN members m ON m.tenant_id = t.id AND m.user_key = 'sam' \
             WHERE t.external_id = 'sample'",
            "INSERT INTO deals (tenant_id, number, name, owner_id, amount, close_date, stage, \
             stage_entered_at, status, fields, version, created_at, updated_at) \
             SELECT t.id, 1, 'Sample deal', m.id, 2500000, '2026-06-30', 'solution', \
             '2026-01-12T10:00:00.000000Z', 'open', '{\"champion\":\"Priya, VP Operations\"}', \
             3, '2026-01-05T10:00:00.000000Z', '2026-01-12T10:00:00.000000Z' \
             FROM tenants t JOIN members m ON m.tenant_id = t.id AND m.user_key = 'ria' \
             WHERE t.external_id = 'sample'",
            "INSERT INTO activities (tenant_id, deal_id, member_id, activity, note, stage, at) \
             SELECT d.tenant_id, d.id, d.owner_id, 'discovery-call', 'met the CFO', 'qualify', \
             '2026-01-08T15:00:00.000000Z' FROM deals d WHERE d.name = 'Sample deal'",
            "INSERT INTO stage_changes (tenant_id, deal_id, actor_id, from_stage, to_stage, kind, \
             overridden, at) SELECT d.tenant_id, d.id, d.owner_id, NULL, 'qualify', 'create', 0, \
             '2026-01-05T10:00:00.000000Z' FROM deals d WHERE d.name = 'Sample deal'",
            "INSERT INTO stage_changes (tenant_id, deal_id, actor_id, from_stage, to_stage, kind, \
             overridden, at) SELECT d.tenant_id, d.id, d.owner_id, 'qualify', 'solution', \
             'advance', 0, '2026-01-12T10:00:00.000000Z' FROM deals d WHERE d.name = 'Sample deal'",
            "INSERT INTO approvals (tenant_id, deal_id, approver_id, role, stage, note, at) \
             SELECT d.tenant_id, d.id, m.id, 'admin', 'solution', 'pricing ok', \
             '2026-01-13T09:00:00.000000Z' FROM deals d JOIN members m \
             ON m.tenant_id = d.tenant_id AND m.user_key = 'sam' WHERE d.name = 'Sample deal'",
            "INSERT INTO field_changes (tenant_id, deal_id, actor_id, field, old_value, new_value, \
             at) SELECT d.tenant_id, d.id, d.owner_id, 'champion', NULL, 'Priya, VP Operations', \
             '2026-01-10T11:00:00.000000Z' FROM deals d WHERE d.name = 'Sample deal'",
        ]),
        20261126000002 => Some(&[
            "INSERT INTO interaction_receipts (platform, interaction_id, response, received_at) \
             VALUES ('discord', '1300000000000000001', '{\"type\":4}', \
             '2026-01-12T10:00:00.000000Z')",
        ]),
        20261126000003 => Some(&[
            "INSERT INTO schedules (tenant_id, digest_channel, digest_time, timezone, \
             weekdays_only, updated_at) SELECT id, 'pipeline', '08:30', 'Europe/Berlin', 1, \
             '2026-01-05T09:00:00.000000Z' FROM tenants WHERE external_id = 'sample'",
            "INSERT INTO snoozes (tenant_id, deal_id, until_date, member_id, at) \
             SELECT d.tenant_id, d.id, '2026-01-20', d.owner_id, '2026-01-13T09:00:00.000000Z' \
             FROM deals d WHERE d.name = 'Sample deal'",
            "INSERT INTO job_claims (tenant_id, job, local_date, claimed_at) SELECT id, 'digest', \
             '2026-01-13', '2026-01-13T07:30:00.000000Z' FROM tenants WHERE external_id = 'sample'",
            "INSERT INTO outbox (tenant_id, claim_id, target_kind, target, payload, nonce, status, \
             attempts, next_attempt_at, last_error, created_at) SELECT c.tenant_id, c.id, \
             'channel', 'pipeline', '{}', 'dg1m1', 'failed', 3, '2026-01-13T08:00:00.000000Z', \
             'HTTP 403: missing access', '2026-01-13T07:30:00.000000Z' FROM job_claims c \
             WHERE c.job = 'digest'",
        ]),
        // Through the name-search triggers: a won deal, which autocomplete must not suggest.
        20261126000004 => Some(&[
            "INSERT INTO deals (tenant_id, number, name, owner_id, amount, close_date, stage, \
             stage_entered_at, status, fields, version, created_at, updated_at, closed_at) \
             SELECT t.id, 2, 'Sample renewal', m.id, 900000, '2026-02-27', 'closed-won', \
             '2026-02-20T10:00:00.000000Z', 'won', '{}', 2, '2026-01-20T10:00:00.000000Z', \
             '2026-02-20T10:00:00.000000Z', '2026-02-20T10:00:00.000000Z' \
             FROM tenants t JOIN members m ON m.tenant_id = t.id AND m.user_key = 'ria' \
             WHERE t.external_id = 'sample'",
            "UPDATE tenants SET next_deal_number = 3 WHERE external_id = 'sample'",
        ]),
        // A Slack digest whose chart was shared before its text failed.
        20261127000005 => Some(&[
            "INSERT INTO outbox (tenant_id, target_kind, target, payload, nonce, status, \
             attempts, next_attempt_at, last_error, created_at, progress) SELECT id, 'channel', \
             'C0MGRS001', '{}', 'dg1m2', 'pending', 1, '2026-02-27T08:00:05.000000Z', \
             'chat.postMessage: HTTP 500', '2026-02-27T08:00:00.000000Z', 'slack: chart shared' \
             FROM tenants WHERE external_id = 'sample'",
        ]),
        // A receipt taken over once, and the effects of an interaction that was applied.
        20261202000006 => Some(&[
            "INSERT INTO interaction_receipts (platform, interaction_id, received_at, attempts) \
             VALUES ('slack', 'command:T0SAMPLE', '2026-02-27T08:00:00.000000Z', 2)",
            "INSERT INTO interaction_effects (platform, interaction_id, applied_at) \
             VALUES ('slack', 'command:T0SAMPLE', '2026-02-27T08:00:01.000000Z')",
        ]),
        // A snooze with its reason.
        20261203000007 => Some(&[
            "UPDATE snoozes SET reason = 'CFO away until the 20th', until_date = '2026-02-20'",
        ]),
        // The won deal judged; the open one left for the service to judge when it next reads it.
        20261204000008 => Some(&["UPDATE deals SET out_of_process = 0 WHERE number = 2"]),
        // A workspace whose pipeline is open to everyone.
        20261204000009 => {
            Some(&["UPDATE tenants SET team_pipeline_open = 1 WHERE external_id = 'sample'"])
        }
        // A playbook change previewed and not yet confirmed.
        20261204000010 => Some(&[
            "INSERT INTO playbook_drafts (tenant_id, base_version, playbook_ref, playbook_toml, \
             mapping, reason, proposed_by, created_at) SELECT id, 1, 'next.toml', $1, '', \
             'sample change', 'sam', '2026-02-27T08:00:00.000000Z' FROM tenants \
             WHERE external_id = 'sample'",
        ]),
        // sam has read the playbook in force.
        20261204000011 => Some(&[
            "INSERT INTO playbook_acks (tenant_id, member_id, version, acked_at) \
             SELECT t.id, m.id, 1, '2026-02-27T09:00:00.000000Z' FROM tenants t \
             JOIN members m ON m.tenant_id = t.id AND m.user_key = 'sam' \
             WHERE t.external_id = 'sample'",
        ]),
        // sam was told how a stage's gates changed.
        20261204000012 => Some(&[
            "INSERT INTO playbook_gate_notes (tenant_id, member_id, version, stage, shown_at) \
             SELECT t.id, m.id, 1, 'qualify', '2026-02-27T09:00:00.000000Z' FROM tenants t \
             JOIN members m ON m.tenant_id = t.id AND m.user_key = 'sam' \
             WHERE t.external_id = 'sample'",
        ]),
        // Reminders of an unread playbook change after five days instead of three.
        20261204000013 => Some(&["UPDATE schedules SET ack_remind_days = 5"]),
        // A day's snapshot with its range, and its one open deal with the owner it had.
        20261204000014 => Some(&[
            "INSERT INTO forecast_snapshots (tenant_id, local_date, taken_at, open_count, \
             open_amount, weighted, commit_amount, best_case, won_amount, playbook_version, \
             range_p10, range_p50, range_p90) SELECT id, '2026-02-27', \
             '2026-02-27T08:00:00.000000Z', 1, 500000, 100000, 0, 0, 0, 1, 0, 0, 500000 \
             FROM tenants WHERE external_id = 'sample'",
            "INSERT INTO snapshot_deals (snapshot_id, tenant_id, deal_id, stage, amount, \
             close_date, owner_id) SELECT s.id, s.tenant_id, d.id, d.stage, d.amount, \
             d.close_date, d.owner_id FROM forecast_snapshots s JOIN deals d \
             ON d.tenant_id = s.tenant_id AND d.status = 'open' WHERE s.local_date = '2026-02-27'",
        ]),
        // The snapshot rows kept in key order still take the next day's snapshot.
        20261204000015 => Some(&[
            "INSERT INTO forecast_snapshots (tenant_id, local_date, taken_at, open_count, \
             open_amount, weighted, commit_amount, best_case, won_amount, playbook_version) \
             SELECT id, '2026-02-28', '2026-02-28T08:00:00.000000Z', 1, 500000, 100000, 0, 0, 0, 1 \
             FROM tenants WHERE external_id = 'sample'",
            "INSERT INTO snapshot_deals (snapshot_id, tenant_id, deal_id, stage, amount, \
             close_date, owner_id) SELECT s.id, s.tenant_id, d.id, d.stage, d.amount, \
             d.close_date, d.owner_id FROM forecast_snapshots s JOIN deals d \
             ON d.tenant_id = s.tenant_id AND d.status = 'open' WHERE s.local_date = '2026-02-28'",
        ]),
        // A deal imported from Salesforce, with its source id and its imported creation.
        20261205000016 => Some(&[
            "INSERT INTO deals (tenant_id, number, name, owner_id, amount, close_date, stage, \
             stage_entered_at, status, fields, version, created_at, updated_at, source, source_id) \
             SELECT t.id, 3, 'Imported deal', m.id, 900000, '2026-07-31', 'qualify', \
             '2026-02-01T00:00:00.000000Z', 'open', '{}', 1, '2026-02-01T00:00:00.000000Z', \
             '2026-03-01T09:00:00.000000Z', 'salesforce', '0065g00000AbCdEfGH' \
             FROM tenants t JOIN members m ON m.tenant_id = t.id AND m.user_key = 'sam' \
             WHERE t.external_id = 'sample'",
            "UPDATE tenants SET next_deal_number = 4 WHERE external_id = 'sample'",
            "INSERT INTO stage_changes (tenant_id, deal_id, actor_id, from_stage, to_stage, kind, \
             overridden, at, source) SELECT d.tenant_id, d.id, d.owner_id, NULL, 'qualify', \
             'create', 0, '2026-02-01T00:00:00.000000Z', 'salesforce' FROM deals d \
             WHERE d.name = 'Imported deal'",
        ]),
        // SQLite's name index by workspace (a no-op on PostgreSQL): another workspace's deal
        // whose name holds the sample's search text is never suggested in the sample workspace
        // (the search below).
        20261206000017 => Some(&[
            "INSERT INTO tenants (platform, external_id, name, playbook_ref, playbook_toml, \
             next_deal_number, created_at) VALUES ('console', 'neighbour', 'Neighbour Co', \
             'three-stages.toml', $1, 2, '2026-03-02T09:00:00.000000Z')",
            "INSERT INTO members (tenant_id, user_key, display_name, role, created_at) \
             SELECT id, 'nia', 'Nia', 'admin', '2026-03-02T09:00:00.000000Z' FROM tenants \
             WHERE external_id = 'neighbour'",
            "INSERT INTO deals (tenant_id, number, name, owner_id, amount, close_date, stage, \
             stage_entered_at, status, fields, version, created_at, updated_at) \
             SELECT t.id, 1, 'Sample lookalike', m.id, 100000, '2026-07-31', 'qualify', \
             '2026-03-02T09:00:00.000000Z', 'open', '{}', 1, '2026-03-02T09:00:00.000000Z', \
             '2026-03-02T09:00:00.000000Z' \
             FROM tenants t JOIN members m ON m.tenant_id = t.id WHERE t.external_id = 'neighbour'",
        ]),
        // The activity tally: one more activity of the sample deal, counted on top of the
        // ones the migration counted (checked against the activities below).
        20261206000018 => Some(&[
            "INSERT INTO activities (tenant_id, deal_id, member_id, activity, note, stage, at) \
             SELECT d.tenant_id, d.id, d.owner_id, 'discovery-call', 'met the CEO', 'qualify', \
             '2026-03-03T15:00:00.000000Z' FROM deals d WHERE d.name = 'Sample deal'",
        ]),
        // Receipts and effects copied into tables without a rowid: the earlier rows are read
        // back after the migrations (see `receipts_and_effects`), and these go in beside them.
        20261207000019 => Some(&[
            "INSERT INTO interaction_receipts (platform, interaction_id, received_at) \
             VALUES ('discord', '1300000000000000002', '2026-03-04T09:00:00.000000Z')",
            "INSERT INTO interaction_effects (platform, interaction_id, applied_at) \
             VALUES ('discord', '1300000000000000002', '2026-03-04T09:00:01.000000Z')",
        ]),
        // The tally kept by an update once its row exists, and by an insert the first time:
        // one more call in the stage counted before, and a first activity in another stage
        // (both checked against the activities below).
        20261208000020 => Some(&[
            "INSERT INTO activities (tenant_id, deal_id, member_id, activity, note, stage, at) \
             SELECT d.tenant_id, d.id, d.owner_id, 'discovery-call', 'again', 'qualify', \
             '2026-03-05T15:00:00.000000Z' FROM deals d WHERE d.name = 'Sample deal'",
            "INSERT INTO activities (tenant_id, deal_id, member_id, activity, note, stage, at) \
             SELECT d.tenant_id, d.id, d.owner_id, 'demo', NULL, 'propose', \
             '2026-03-06T15:00:00.000000Z' FROM deals d WHERE d.name = 'Sample deal'",
        ]),
        // The activities' index by deal now ends with the id, which orders two activities
        // logged at the same moment: a second demo at the first one's time.
        20261209000021 => Some(&[
            "INSERT INTO activities (tenant_id, deal_id, member_id, activity, note, stage, at) \
             SELECT d.tenant_id, d.id, d.owner_id, 'demo', 'same moment', 'propose', \
             '2026-03-06T15:00:00.000000Z' FROM deals d WHERE d.name = 'Sample deal'",
        ]),
        // Workspaces count the changes to what a session reads of them: a member renamed (its
        // trigger bumps the workspace's session version, which then must be above zero).
        20261210000022 => Some(&[
            "UPDATE members SET display_name = display_name || ' (renamed)' \
             WHERE id = (SELECT MIN(id) FROM members)",
            "UPDATE tenants SET name = name WHERE session_version > 0",
        ]),
        _ => None,
    }
}

/// Every receipt (platform, id, answer, attempts) and every effect (platform, id) in the store.
async fn receipts_and_effects(
    store: &Store,
) -> (
    Vec<(String, String, Option<String>, i64)>,
    Vec<(String, String)>,
) {
    let mut tx = store.begin().await.unwrap();
    let receipts = sqlx::query_as(
        "SELECT platform, interaction_id, response, attempts FROM interaction_receipts \
         ORDER BY platform, interaction_id",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    let effects = sqlx::query_as(
        "SELECT platform, interaction_id FROM interaction_effects ORDER BY platform, interaction_id",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (receipts, effects)
}

async fn run(backend: TestBackend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let store = Store::open(&db.url).await.expect("open the empty database");
    let versions = store.migration_versions();
    assert!(!versions.is_empty());
    for version in versions.iter().copied() {
        assert_eq!(
            store.migrate_to(version).await.expect("migrate"),
            1,
            "migration {version} on {backend:?}"
        );
        let statements = samples(version).unwrap_or_else(|| {
            panic!("add sample rows for migration {version} to `samples` in tests/migrations.rs")
        });
        let mut tx = store.begin().await.unwrap();
        for sql in statements {
            let mut q = sqlx::query(*sql);
            if sql.contains("$1") {
                q = q.bind(PLAYBOOK);
            }
            q.execute(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("sample rows after {version}: {e}\n{sql}"));
        }
        tx.commit().await.unwrap();
    }
    let text = |s: &str| s.to_string();
    assert_eq!(
        receipts_and_effects(&store).await,
        (
            vec![
                (
                    text("discord"),
                    text("1300000000000000001"),
                    Some(text("{\"type\":4}")),
                    1
                ),
                (text("discord"), text("1300000000000000002"), None, 1),
                (text("slack"), text("command:T0SAMPLE"), None, 2),
            ],
            vec![
                (text("discord"), text("1300000000000000002")),
                (text("slack"), text("command:T0SAMPLE")),
            ]
        ),
        "receipts and effects kept through their tables' rebuild on {backend:?}"
    );

    let service = Service::new(
        store.clone(),
        Arc::new(ManualClock::new(start_time())),
        playbook_source(),
    );
    let before = snapshot(&service).await;
    assert_eq!(store.migrate().await.unwrap(), 0, "nothing left to apply");
    assert_eq!(
        Store::connect(&db.url)
            .await
            .unwrap()
            .migrate()
            .await
            .unwrap(),
        0,
        "a second process migrating finds nothing to do either"
    );
    assert_eq!(
        snapshot(&service).await,
        before,
        "a no-op run changes nothing"
    );

    // Deals written before the name index existed are in it; closed ones are not suggested,
    // nor are other workspaces' (the neighbour's deal of migration 17's samples).
    let sam = service.session(&caller("sample", "sam")).await.unwrap();
    let suggested: Vec<String> = service
        .suggest_deals(&sam, "sample")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.value)
        .collect();
    assert_eq!(suggested, ["deal-1"], "on {backend:?}");

    // Outbox rows from before `progress` existed have none; the later one keeps its own.
    let mut conn = store.reader().acquire().await.unwrap();
    // Activities from before the tally existed and after are counted in it, and only once.
    let tallied: Vec<(String, String, i64, String)> = sqlx::query_as(
        "SELECT activity, stage, times, first_at FROM activity_tallies ORDER BY deal_id, activity",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let row = |activity: &str, stage: &str, times, first_at: &str| {
        (
            activity.to_string(),
            stage.to_string(),
            times,
            first_at.to_string(),
        )
    };
    assert_eq!(
        tallied,
        [
            row("demo", "propose", 2, "2026-03-06T15:00:00.000000Z"),
            row(
                "discovery-call",
                "qualify",
                3,
                "2026-01-08T15:00:00.000000Z"
            ),
        ],
        "on {backend:?}"
    );
    let kept: Vec<(String, Option<String>)> = jobs::undelivered(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            let r = r.expect("a readable message");
            (r.nonce, r.progress)
        })
        .collect();
    let tenant = dealgate::store::tenants::find(&mut conn, "console", "sample")
        .await
        .unwrap()
        .expect("the sample workspace");
    let (snapshots, rows) = jobs::snapshot_counts(&mut conn, tenant.id).await.unwrap();
    assert!(snapshots >= 1, "on {backend:?}");
    assert_eq!(
        rows, snapshots,
        "each snapshot keeps its one open deal, on {backend:?}"
    );
    drop(conn);
    assert_eq!(
        kept,
        [
            ("dg1m1".to_string(), None),
            ("dg1m2".to_string(), Some("slack: chart shared".to_string()))
        ]
    );

    // The migrated data is not only readable but usable: the playbook in force loads, the
    // sample deal advances on the gates its stored history meets, numbering continues.
    let ria = service.session(&caller("sample", "ria")).await.unwrap();
    assert_eq!(ria.member.role, dealgate::engine::playbook::Role::Rep);
    assert!(ria.tenant.team_pipeline_open, "the setting is kept");
    // The playbook a workspace had before versions were kept is its version 1, from its start.
    let history = service.playbook_history(&ria).await.unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(
        (history[0].version, history[0].changed_by.as_deref()),
        (1, None)
    );
    assert_eq!(ria.tenant.playbook_version, 1);
    let sam = service.session(&caller("sample", "sam")).await.unwrap();
    let acks = service.playbook_acknowledgements(&sam).await.unwrap();
    assert_eq!(acks.acknowledged.len(), 1, "sam's acknowledgement is kept");
    // A deal from before its process standing was kept is judged when a list first reads it.
    let listed = service.list_deals(&ria, None, None).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].deal.out_of_process, Some(0), "in process");
    let number = "deal-1".parse().unwrap();
    let moved = service.advance(&ria, number, None, None).await.unwrap();
    assert_eq!(moved.transition.to.as_str(), "negotiate");
    let next = service
        .create_deal(
            &ria,
            "After the upgrade",
            dealgate::engine::ids::Money::from_major(100).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2026, 9, 30).unwrap(),
            None,
            None,
        )
        .await
        .unwrap();
    // Deals 1 and 2 are the first migration's and the name search's; deal 3 was imported.
    assert_eq!(next.deal.number.to_string(), "deal-4");
}

/// What the sample rows look like through the service: everything `/deal show` and `/team`
/// read.
async fn snapshot(service: &Service) -> String {
    let sam = service.session(&caller("sample", "sam")).await.unwrap();
    let view = service
        .show_deal(&sam, "deal-1".parse().unwrap())
        .await
        .unwrap();
    let team = service.team(&sam).await.unwrap();
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        view.deal,
        view.recent_activities,
        view.history,
        view.checks,
        team.iter()
            .map(|m| (&m.member.display_name, &m.member.role, &m.manager))
            .collect::<Vec<_>>()
    )
}
