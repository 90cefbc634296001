//! Forecast truth at scale (issue 15): the accuracy report of a closed quarter over a year of
//! daily snapshots of 100,000 open deals (36.5 million snapshot rows), and the Monte Carlo range
//! with 10,000 runs over 100,000 open deals, each beside the bare SQL that reads its inputs.
//!
//! Run: `cargo bench --bench truth` (SQLite, in a temporary directory; seeding takes a few
//! minutes and about 4 GB of disk). Targets: each under one second. The bare SQL is the
//! statements each reads its inputs with, run alone: the ratio is what the rest costs.

use criterion::{Criterion, criterion_group, criterion_main};
use dealgate::engine::forecast::PeriodSpec;
use dealgate::engine::truth::{OpenBet, ranges};
use dealgate::service::{Service, Session};
use dealgate::store::{Store, tenants};
use tokio::runtime::Runtime;

mod support;

const DEALS: i64 = 100_000;
const DAYS: i64 = 365;
const OWNERS: usize = 20;

fn exec(rt: &Runtime, service: &Service, sql: &str) {
    rt.block_on(async {
        let mut tx = service.store().begin().await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    })
}

/// 100,000 deals closing in 2026 Q3, 30 % of them won in it, and a snapshot of each day from
/// 2025-10-01 to 2026-09-30 holding all of them open, with a recorded range.
fn setup(rt: &Runtime, dir: &tempfile::TempDir) -> (Service, Session) {
    let (service, admin, first_owner, stage_case, stage_count) = rt.block_on(async {
        let url = format!("sqlite://{}", dir.path().join("truth.db").display());
        let store = Store::connect(&url).await.unwrap();
        {
            let mut tx = store.begin().await.unwrap();
            if let Some(t) = tenants::find(&mut tx, "console", "bench").await.unwrap() {
                tenants::delete(&mut tx, t.id).await.unwrap();
            }
            tx.commit().await.unwrap();
        }
        let w = support::workspace(store, OWNERS).await;
        (
            w.service,
            w.admin,
            w.first_owner,
            w.stage_case,
            w.stage_count,
        )
    });
    let tenant = admin.tenant.id;
    exec(
        rt,
        &service,
        &format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {DEALS}) \
             INSERT INTO deals (tenant_id, number, name, owner_id, amount, close_date, stage, \
             stage_entered_at, status, closed_at, fields, version, created_at, updated_at) \
             SELECT {tenant}, i, 'Deal ' || i, {first_owner} + (i % {OWNERS}), \
             (i * 7919 % 500000) * 100, date('2026-07-01', '+' || (i % 92) || ' days'), \
             CASE i % {stage_count} {stage_case} END, '2025-09-01T09:00:00.000000Z', \
             CASE WHEN i % 10 < 3 THEN 'won' ELSE 'open' END, \
             CASE WHEN i % 10 < 3 THEN strftime('%Y-%m-%dT%H:%M:%S.000000Z', '2026-07-01 10:00:00', '+' || (i % 92) || ' days') END, \
             '{{}}', 1, '2025-09-01T09:00:00.000000Z', '2025-09-01T09:00:00.000000Z' FROM n"
        ),
    );
    exec(
        rt,
        &service,
        &format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {DAYS} - 1) \
             INSERT INTO forecast_snapshots (tenant_id, local_date, taken_at, open_count, \
             open_amount, weighted, commit_amount, best_case, won_amount, playbook_version, \
             range_p10, range_p50, range_p90) \
             SELECT {tenant}, date('2025-10-01', '+' || i || ' days'), \
             strftime('%Y-%m-%dT08:00:00.000000Z', '2025-10-01', '+' || i || ' days'), \
             {DEALS}, 0, 0, 0, 0, 0, 1, 500000000000, 700000000000, 900000000000 FROM n"
        ),
    );
    exec(
        rt,
        &service,
        &format!(
            "INSERT INTO snapshot_deals (snapshot_id, tenant_id, deal_id, stage, amount, \
             close_date, owner_id) SELECT s.id, d.tenant_id, d.id, d.stage, d.amount, \
             d.close_date, d.owner_id FROM forecast_snapshots s JOIN deals d \
             ON d.tenant_id = s.tenant_id WHERE s.tenant_id = {tenant}"
        ),
    );
    // The groups the snapshot writes beside its rows, here from the deals once, not per day.
    exec(
        rt,
        &service,
        &format!(
            "INSERT INTO snapshot_groups (snapshot_id, tenant_id, stage, owner_id, close_month, \
             deals, amount) SELECT s.id, s.tenant_id, g.stage, g.owner_id, g.month, g.n, g.amount \
             FROM forecast_snapshots s CROSS JOIN (SELECT stage, owner_id, \
             substr(close_date, 1, 7) AS month, COUNT(*) AS n, SUM(amount) AS amount FROM deals \
             WHERE tenant_id = {tenant} GROUP BY stage, owner_id, month) g \
             WHERE s.tenant_id = {tenant}"
        ),
    );
    exec(rt, &service, "ANALYZE");
    (service, admin)
}

fn truth(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (service, admin) = setup(&rt, &dir);
    let tenant = admin.tenant.id;
    let q3 = PeriodSpec::Quarter {
        year: 2026,
        quarter: 3,
    };
    let mut group =
        c.benchmark_group("forecast truth over a year of daily snapshots of 100k deals");
    group.sample_size(10);
    let commit: Vec<String> = admin
        .playbook
        .stages
        .iter()
        .filter(|s| s.forecast_category == dealgate::engine::playbook::ForecastCategory::Commit)
        .map(|s| format!("'{}'", s.id))
        .collect();
    let probe = |only: &str| {
        format!(
            "SELECT s.stage, COUNT(*), CAST(SUM(s.amount) AS BIGINT), \
             CAST(SUM(CASE WHEN d.status = 'won' THEN d.amount ELSE 0 END) AS BIGINT) \
             FROM deals d JOIN snapshot_deals s ON s.snapshot_id = $2 AND s.deal_id = d.id \
             WHERE d.tenant_id = $1 AND d.status <> 'open' AND d.closed_at >= '2026-07-01' \
             AND d.closed_at < '2026-10-01' AND s.close_date >= '2026-07-01' \
             AND s.close_date < '2026-10-01'{only} GROUP BY s.stage"
        )
    };
    let commit_probe = probe(&format!(" AND s.stage IN ({})", commit.join(", ")));
    let all_probe = probe("");
    group.bench_function("bare SQL: the report's statements on 13 weekly snapshots", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut conn = service.store().reader().acquire().await.unwrap();
                let ids: Vec<i64> = sqlx::query_scalar(
                    "SELECT id FROM forecast_snapshots WHERE tenant_id = $1 \
                     AND local_date >= '2026-07-01' AND local_date < '2026-10-01' ORDER BY local_date",
                )
                .bind(tenant)
                .fetch_all(&mut *conn)
                .await
                .unwrap();
                let mut n = 0;
                for (week, id) in ids.iter().step_by(7).enumerate() {
                    let groups: Vec<(String, i64, i64)> = sqlx::query_as(
                        "SELECT stage, CAST(SUM(deals) AS BIGINT), CAST(SUM(amount) AS BIGINT) \
                         FROM snapshot_groups WHERE snapshot_id = $1 AND close_month >= '2026-07' \
                         AND close_month < '2026-10' GROUP BY stage",
                    )
                    .bind(id)
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap();
                    let sql = if week == 0 { &all_probe } else { &commit_probe };
                    let closed: Vec<(String, i64, i64, i64)> =
                        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                            .bind(tenant)
                            .bind(id)
                            .fetch_all(&mut *conn)
                            .await
                            .unwrap();
                    n += groups.len() + closed.len();
                }
                n
            })
        })
    });
    group.bench_function("/forecast accuracy 2026-Q3 (whole report)", |b| {
        b.iter(|| {
            rt.block_on(async {
                service
                    .forecast_accuracy(&admin, Some(q3), None)
                    .await
                    .unwrap()
            })
        })
    });
    group.finish();

    // The range: every deal open again, closing this quarter (the clock is 2 November 2026).
    exec(
        &rt,
        &service,
        &format!(
            "UPDATE deals SET status = 'open', closed_at = NULL, \
             close_date = date('2026-10-01', '+' || (number % 92) || ' days') WHERE tenant_id = {tenant}"
        ),
    );
    let bets: Vec<OpenBet> = (0..DEALS)
        .map(|i| OpenBet {
            amount: i128::from(i * 7919 % 500_000) * 100,
            win: [0.1, 0.2, 0.4, 0.6, 0.8, 0.9][(i % 6) as usize],
            in_period: 0.85,
        })
        .collect();
    let mut group = c.benchmark_group("range: 10,000 runs over 100k open deals");
    group.sample_size(10);
    group.bench_function("bare SQL: the open deals closing this quarter", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut conn = service.store().reader().acquire().await.unwrap();
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT stage, amount FROM deals WHERE tenant_id = $1 AND status = 'open' \
                     AND close_date >= '2026-10-01' AND close_date < '2027-01-01'",
                )
                .bind(tenant)
                .fetch_all(&mut *conn)
                .await
                .unwrap();
                rows.len()
            })
        })
    });
    group.bench_function("engine: the draws alone, one thread", |b| {
        b.iter(|| ranges(0, &bets, 10_000, 1))
    });
    group.bench_function("/forecast this-quarter (figures and range)", |b| {
        b.iter(|| {
            rt.block_on(async {
                service
                    .forecast(&admin, Some(PeriodSpec::ThisQuarter), None)
                    .await
                    .unwrap()
            })
        })
    });
    group.finish();
}

criterion_group!(benches, truth);
criterion_main!(benches);
