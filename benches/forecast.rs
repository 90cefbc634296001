//! The forecast over 100,000 open deals: the bare aggregate query against the whole `/forecast`
//! use case (the same query, plus member names, plus the engine's forecast math).
//!
//! Run: `cargo bench --bench forecast` (SQLite, in a temporary directory). On PostgreSQL:
//! `DEALGATE_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/dealgate_bench cargo bench
//! --bench forecast`, with a database used for nothing else (its `bench` workspace is replaced).
//! Target: the use case within 1.5× the bare query.

use criterion::{Criterion, criterion_group, criterion_main};
use dealgate::commands::PeriodSpec;
use dealgate::service::Service;
use dealgate::store::pipeline::{PipelineFilter, open_groups};
use dealgate::store::{Backend, Store, tenants};
use tokio::runtime::Runtime;

mod support;

const DEALS: i64 = 100_000;
const OWNERS: usize = 20;

fn setup(rt: &Runtime, dir: &tempfile::TempDir) -> (Service, dealgate::service::Session) {
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
        // One statement generates every deal: a realistic spread of stages, owners, amounts and
        // close dates over the coming year. Only the date arithmetic differs by backend.
        let close_date = match service.store().backend() {
            Backend::Sqlite => "date('2026-11-01', '+' || (i % 365) || ' days')",
            Backend::Postgres => "to_char(DATE '2026-11-01' + (i % 365), 'YYYY-MM-DD')",
        };
        let sql = format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {DEALS}) \
             INSERT INTO deals (tenant_id, number, name, owner_id, amount, close_date, stage, \
             stage_entered_at, status, fields, version, created_at, updated_at) \
             SELECT {tenant}, i, 'Deal ' || i, {first_owner} + (i % {OWNERS}), (i * 7919 % 500000) * 100, \
             {close_date}, CASE i % {n} {stage_case} END, \
             '2026-10-01T09:00:00.000000Z', 'open', '{{}}', 1, '2026-10-01T09:00:00.000000Z', \
             '2026-10-01T09:00:00.000000Z' FROM n",
            tenant = admin.tenant.id,
            n = stage_count,
        );
        let mut tx = service.store().begin().await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        sqlx::query("ANALYZE")
            .execute(&mut *service.store().reader().acquire().await.unwrap())
            .await
            .unwrap();
        (service, admin)
    })
}

fn forecast(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (service, admin) = setup(&rt, &dir);
    let mut group = c.benchmark_group("forecast over 100k open deals");
    group.sample_size(30);
    group.bench_function("bare aggregate query", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut conn = service.store().reader().acquire().await.unwrap();
                open_groups(&mut conn, admin.tenant.id, &PipelineFilter::default())
                    .await
                    .unwrap()
            })
        })
    });
    group.bench_function("forecast use case (all open deals)", |b| {
        b.iter(|| {
            rt.block_on(service.forecast(&admin, Some(PeriodSpec::All), None))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, forecast);
criterion_main!(benches);
