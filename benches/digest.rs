//! The daily digest over 100,000 open deals and 1,000,000 activities: the bare aggregate
//! queries (open and won by stage/owner/month, the three at-risk queries) against the whole
//! digest (the same queries plus changes, member names, the engine's forecast math, the reply
//! and the PNG chart).
//!
//! Run: `cargo bench --bench digest` (SQLite, in a temporary directory). On PostgreSQL:
//! `DEALGATE_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/dealgate_bench cargo bench
//! --bench digest`, with a database used for nothing else (its `bench` workspace is replaced).
//! Target: the digest within 2× the bare queries.

use chrono::Duration;
use criterion::{Criterion, criterion_group, criterion_main};
use dealgate::jobs::scheduler::digest_reply;
use dealgate::service::{Service, Session};
use dealgate::store::digest::{Risk, StallCutoff, at_risk};
use dealgate::store::pipeline::{PipelineFilter, open_groups, won_groups};
use dealgate::store::{Backend, Store, tenants};
use tokio::runtime::Runtime;

mod support;

const DEALS: i64 = 100_000;
const ACTIVITIES: i64 = 1_000_000;
const OWNERS: usize = 20;

fn setup(rt: &Runtime, dir: &tempfile::TempDir) -> (Service, Session) {
    rt.block_on(async {
        let url = std::env::var("DEALGATE_BENCH_DATABASE_URL")
            .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
        let store = Store::connect(&url).await.unwrap();
        // A re-run on the same PostgreSQL database starts from an empty workspace.
        {
            let mut tx = store.begin().await.unwrap();
            if let Some(t) = tenants::find(&mut tx, "console", "bench").await.unwrap() {
                tenants::delete(&mut tx, t.id).await.unwrap();
            }
            tx.commit().await.unwrap();
        }
        let support::BenchWorkspace {
            service,
            admin,
            first_owner,
            stage_case,
            stage_count,
        } = support::workspace(store, OWNERS).await;
        // One statement per table: deals spread over stages, owners, amounts, close dates in
        // the coming year and stage entry over the last 60 days; ten activities a deal over the
        // last 90 days. Only the date arithmetic differs by backend.
        let (close_date, entered, activity_at) = match service.store().backend() {
            Backend::Sqlite => (
                "date('2026-10-01', '+' || (i % 365) || ' days')",
                "strftime('%Y-%m-%dT%H:%M:%S.000000Z', '2026-11-02 09:00:00', '-' || (i % 60) || ' days')",
                "strftime('%Y-%m-%dT%H:%M:%S.000000Z', '2026-11-02 08:00:00', '-' || (n.i * 37 % 90) || ' days')",
            ),
            Backend::Postgres => (
                "to_char(DATE '2026-10-01' + (i % 365), 'YYYY-MM-DD')",
                "to_char(TIMESTAMP '2026-11-02 09:00:00' - (i % 60) * INTERVAL '1 day', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
                "to_char(TIMESTAMP '2026-11-02 08:00:00' - (n.i * 37 % 90) * INTERVAL '1 day', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
            ),
        };
        let deals = format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {DEALS}) \
             INSERT INTO deals (tenant_id, number, name, owner_id, amount, close_date, stage, \
             stage_entered_at, status, fields, version, created_at, updated_at) \
             SELECT {tenant}, i, 'Deal ' || i, {first_owner} + (i % {OWNERS}), (i * 7919 % 500000) * 100, \
             {close_date}, CASE i % {n} {stage_case} END, {entered}, 'open', '{{}}', 1, '2026-09-01T09:00:00.000000Z', '2026-09-01T09:00:00.000000Z' FROM n",
            tenant = admin.tenant.id,
            n = stage_count,
        );
        let activities = format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ACTIVITIES}) \
             INSERT INTO activities (tenant_id, deal_id, member_id, activity, stage, at) \
             SELECT {tenant}, d.id, d.owner_id, 'discovery-call', d.stage, {activity_at} \
             FROM n JOIN deals d ON d.tenant_id = {tenant} AND d.number = 1 + (n.i % {DEALS})",
            tenant = admin.tenant.id,
        );
        let mut tx = service.store().begin().await.unwrap();
        for sql in [deals, activities] {
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
        // On PostgreSQL a vacuum as well: it sets the hint bits and visibility map of a million
        // fresh rows, which would otherwise be paid by whichever benchmark runs first.
        let analyze = match service.store().backend() {
            Backend::Sqlite => "ANALYZE",
            Backend::Postgres => "VACUUM ANALYZE",
        };
        sqlx::query(analyze)
            .execute(&mut *service.store().reader().acquire().await.unwrap())
            .await
            .unwrap();
        (service, admin)
    })
}

fn digest(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (service, admin) = setup(&rt, &dir);
    let now = service.clock().now();
    let today = now.date_naive();
    let tenant_id = admin.tenant.id;
    let quarter = PipelineFilter {
        owners: None,
        from: chrono::NaiveDate::from_ymd_opt(2026, 10, 1),
        until: chrono::NaiveDate::from_ymd_opt(2027, 1, 1),
    };
    let cutoffs: Vec<StallCutoff> = admin
        .playbook
        .open_stages()
        .filter_map(|s| {
            s.stall_after_days.map(|d| StallCutoff {
                stage: s.id.to_string(),
                cutoff: now - Duration::days(i64::from(d)),
            })
        })
        .collect();
    let open: Vec<String> = admin
        .playbook
        .open_stages()
        .map(|s| s.id.to_string())
        .collect();
    let late: Vec<String> = open.iter().rev().take(2).cloned().collect();
    let schedule = rt.block_on(service.schedule(tenant_id)).unwrap();
    let mut group = c.benchmark_group("digest over 100k open deals and 1M activities");
    group.sample_size(10);
    group.bench_function("bare aggregate queries", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut conn = service.store().reader().acquire().await.unwrap();
                let open = open_groups(&mut conn, tenant_id, &quarter).await.unwrap();
                let won = won_groups(&mut conn, tenant_id, &quarter).await.unwrap();
                let mut n = open.len() + won.len();
                for risk in [
                    Risk::Stalled(&cutoffs),
                    Risk::Overdue(today),
                    Risk::Quiet {
                        stages: &late,
                        since: now - Duration::days(7),
                    },
                ] {
                    n += at_risk(&mut conn, tenant_id, &risk, None, 5)
                        .await
                        .unwrap()
                        .len();
                }
                n
            })
        })
    });
    group.bench_function("digest: figures, reply and chart", |b| {
        b.iter(|| {
            rt.block_on(async {
                let run = service.digest_run(&schedule, now).await.unwrap();
                digest_reply(&run, &schedule).unwrap()
            })
        })
    });
    group.finish();
}

criterion_group!(benches, digest);
criterion_main!(benches);
