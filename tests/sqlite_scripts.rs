//! SQLite's one-round-trip write scripts (`Connections::run_script`, used for a deal's move):
//! all of a script or none of it, and the single writer never left inside a transaction.

mod support;

use std::time::Duration;

use dealgate::store::Store;
use support::TestApp;

async fn receipts(store: &Store) -> Vec<String> {
    let mut conn = store.reader().acquire().await.unwrap();
    sqlx::query_scalar("SELECT interaction_id FROM interaction_receipts ORDER BY interaction_id")
        .fetch_all(&mut *conn)
        .await
        .unwrap()
}

fn insert(ids: &[&str]) -> String {
    let rows: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(
                "INSERT INTO interaction_receipts (platform, interaction_id, received_at) \
                 VALUES ('test', '{id}', '2026-03-02T09:00:00Z');"
            )
        })
        .collect();
    format!("BEGIN IMMEDIATE; {} COMMIT;", rows.join(" "))
}

async fn run(store: &Store, script: String) -> Result<usize, sqlx::Error> {
    let rows = store
        .writer()
        .run_script(sqlx::query(sqlx::AssertSqlSafe(script)))
        .await?;
    Ok(rows.len())
}

#[tokio::test]
async fn a_script_that_fails_part_way_leaves_nothing_and_the_writer_usable() {
    let app = TestApp::new().await;
    let store = app.service.store();
    run(store, insert(&["1"])).await.unwrap();
    // "2" is written, then "1" again breaks the primary key before COMMIT.
    let failed = run(store, insert(&["2", "1", "3"])).await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(receipts(store).await, ["1"]);
    // The writer is not left inside the failed script's transaction: a new one starts and
    // commits, and what it wrote is seen from another connection.
    run(store, insert(&["4", "5"])).await.unwrap();
    assert_eq!(receipts(store).await, ["1", "4", "5"]);
}

#[tokio::test]
async fn a_script_whose_caller_stops_waiting_is_all_or_nothing_and_the_writer_stays_usable() {
    let app = TestApp::new().await;
    let store = app.service.store();
    for round in 0..20 {
        let ids: Vec<String> = (0..50).map(|i| format!("{round:02}-{i:02}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        // Polled once (the script is sent to the connection's thread), then dropped: sqlx skips
        // whatever it has not run yet, COMMIT included, unless the thread was quicker.
        let _ = tokio::time::timeout(Duration::ZERO, run(store, insert(&ids))).await;
        run(store, insert(&[&format!("{round:02}-after")]))
            .await
            .expect("the next script runs in a transaction of its own");
        let written = receipts(store).await;
        let of_round = written
            .iter()
            .filter(|id| id.starts_with(&format!("{round:02}-")) && !id.ends_with("after"))
            .count();
        assert!(
            of_round == 0 || of_round == 50,
            "round {round}: {of_round} of 50"
        );
        assert!(written.contains(&format!("{round:02}-after")));
    }
}

#[tokio::test]
async fn a_transaction_whose_begin_is_dropped_in_flight_never_leaves_the_writer_inside_it() {
    let app = TestApp::new().await;
    let store = app.service.store();
    for round in 0..200 {
        // Polled once (BEGIN IMMEDIATE is sent to the connection's thread), then dropped, as
        // when a client hangs up while its command waits for the writer.
        let _ = tokio::time::timeout(Duration::ZERO, store.begin()).await;
        let mut tx = store
            .begin()
            .await
            .unwrap_or_else(|e| panic!("round {round}: the next transaction starts: {e}"));
        sqlx::query(
            "INSERT INTO interaction_receipts (platform, interaction_id, received_at) \
             VALUES ('test', $1, '2026-03-02T09:00:00Z')",
        )
        .bind(format!("begin-{round:03}"))
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    // Every committed write is there, seen from another connection.
    assert_eq!(receipts(store).await.len(), 200);
}
