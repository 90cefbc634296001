//! Deal autocomplete by a piece of the name, over every open deal a person may act on however
//! old, on both backends (the SQLite FTS5 and PostgreSQL pg_trgm indexes of migration
//! 20261126000004).

mod support;

use chrono::NaiveDate;
use dealgate::engine::ids::{DealNumber, Money};
use dealgate::service::{FieldValue, Session};
use dealgate::store::Backend;
use dealgate::store::lookup::{Owners, fts_name, fts_query, name_search_sql};
use support::TestApp;

on_both_backends!(
    a_deal_behind_ten_thousand_newer_ones_is_found_by_a_piece_of_its_name,
    a_renamed_deal_is_found_by_its_new_name_and_not_its_old,
    closed_deals_are_not_suggested,
    the_search_ignores_case_and_takes_wildcards_literally,
    one_or_two_characters_still_answer,
    a_manager_sees_own_deals_first_then_the_reports_and_no_one_elses,
    a_search_finds_its_own_workspaces_deals_and_never_a_neighbours,
);

async fn new_deal(app: &TestApp, who: &Session, name: &str) -> DealNumber {
    app.service
        .create_deal(
            who,
            name,
            Money::from_major(1_000).unwrap(),
            NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
            None,
            None,
        )
        .await
        .expect("create deal")
        .deal
        .number
}

/// The suggested values (`deal-N`) for `typed`, in the order shown.
async fn suggested(app: &TestApp, who: &Session, typed: &str) -> Vec<String> {
    app.service
        .suggest_deals(who, typed)
        .await
        .expect("suggest deals")
        .into_iter()
        .map(|c| c.value)
        .collect()
}

/// `count` open deals of `who` named `Filler N`, numbered after the existing ones, in one
/// statement (a recursive series both backends understand).
async fn seed_fillers(app: &TestApp, who: &Session, count: i64) {
    let store = app.db.store().await;
    let mut tx = store.begin().await.unwrap();
    sqlx::query(
        "WITH RECURSIVE series (n) AS ( \
           SELECT next_deal_number FROM tenants WHERE id = $1 \
           UNION ALL SELECT n + 1 FROM series WHERE n + 1 < $3 + \
             (SELECT next_deal_number FROM tenants WHERE id = $1)) \
         INSERT INTO deals (tenant_id, number, name, owner_id, amount, close_date, stage, \
           stage_entered_at, status, fields, version, created_at, updated_at) \
         SELECT $1, n, 'Filler ' || n, $2, 100000, '2026-06-30', 'qualify', \
           '2026-03-02T09:00:00.000000Z', 'open', '{}', 1, '2026-03-02T09:00:00.000000Z', \
           '2026-03-02T09:00:00.000000Z' FROM series",
    )
    .bind(who.tenant.id)
    .bind(who.member.id)
    .bind(count)
    .execute(&mut *tx)
    .await
    .expect("seed filler deals");
    sqlx::query("UPDATE tenants SET next_deal_number = next_deal_number + $2 WHERE id = $1")
        .bind(who.tenant.id)
        .bind(count)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn a_deal_behind_ten_thousand_newer_ones_is_found_by_a_piece_of_its_name(app: TestApp) {
    let t = app.team().await;
    let old = new_deal(&app, &t.ann, "Zeppelin Logistics renewal").await;
    seed_fillers(&app, &t.ann, 10_000).await;
    let newest = new_deal(&app, &t.ann, "Newest after the fillers").await;
    assert_eq!(
        newest.to_string(),
        "deal-10002",
        "the fillers were numbered in between"
    );

    assert_eq!(suggested(&app, &t.ann, "zeppelin").await, [old.to_string()]);
    assert_eq!(
        suggested(&app, &t.ann, "Logistics ren").await,
        [old.to_string()]
    );
    // Her manager and the admin find it too, among the deals they may act on.
    assert_eq!(
        suggested(&app, &t.manager, "eppel").await,
        [old.to_string()]
    );
    assert_eq!(
        suggested(&app, &t.admin, "EPPELIN").await,
        [old.to_string()]
    );
    // Nobody else's deals, and nothing where nothing matches.
    assert!(suggested(&app, &t.eve, "zeppelin").await.is_empty());
    assert!(suggested(&app, &t.ann, "zzz").await.is_empty());
    // A piece many names share: newest first, a full page.
    let fillers = suggested(&app, &t.ann, "Filler 99").await;
    assert_eq!(fillers.len(), 25);
    assert_eq!(fillers[0], "deal-9999", "{fillers:?}");
    assert_eq!(fillers[1], "deal-9998", "{fillers:?}");
}

async fn a_renamed_deal_is_found_by_its_new_name_and_not_its_old(app: TestApp) {
    let t = app.team().await;
    let n = new_deal(&app, &t.ann, "Globex pilot").await;
    app.service
        .set_field(
            &t.ann,
            n,
            &"name".parse().unwrap(),
            FieldValue::Text("Initech expansion".into()),
        )
        .await
        .expect("rename");
    assert_eq!(suggested(&app, &t.ann, "initech").await, [n.to_string()]);
    assert!(suggested(&app, &t.ann, "globex").await.is_empty());
}

async fn closed_deals_are_not_suggested(app: TestApp) {
    let t = app.team().await;
    let lost = new_deal(&app, &t.ann, "Umbrella Corp pilot").await;
    let open = new_deal(&app, &t.ann, "Umbrella Corp renewal").await;
    app.service
        .lost(&t.ann, lost, "went with a competitor")
        .await
        .expect("close lost");
    assert_eq!(
        suggested(&app, &t.ann, "umbrella").await,
        [open.to_string()]
    );
    assert_eq!(
        suggested(&app, &t.admin, "umbrella").await,
        [open.to_string()]
    );
}

async fn the_search_ignores_case_and_takes_wildcards_literally(app: TestApp) {
    let t = app.team().await;
    let percent = new_deal(&app, &t.ann, "Discount 100% deal").await;
    let underscore = new_deal(&app, &t.ann, "ACME_EU rollout").await;
    let plain = new_deal(&app, &t.ann, "Acme EU rollout").await;
    let quoted = new_deal(&app, &t.ann, "The \"big\" one").await;

    assert_eq!(
        suggested(&app, &t.ann, "acme").await,
        [plain.to_string(), underscore.to_string()]
    );
    assert_eq!(
        suggested(&app, &t.ann, "acme_eu").await,
        [underscore.to_string()]
    );
    assert_eq!(suggested(&app, &t.ann, "0% d").await, [percent.to_string()]);
    assert!(suggested(&app, &t.ann, "t%d").await.is_empty());
    assert!(suggested(&app, &t.ann, "a_m").await.is_empty());
    assert_eq!(
        suggested(&app, &t.ann, "\"BIG\"").await,
        [quoted.to_string()]
    );
}

async fn one_or_two_characters_still_answer(app: TestApp) {
    let t = app.team().await;
    let hooli = new_deal(&app, &t.ann, "Hooli").await;
    let vandelay = new_deal(&app, &t.ann, "Vandelay imports").await;
    assert_eq!(suggested(&app, &t.ann, "ho").await, [hooli.to_string()]);
    assert_eq!(suggested(&app, &t.ann, "v").await, [vandelay.to_string()]);
    assert_eq!(
        suggested(&app, &t.ann, "o").await,
        [vandelay.to_string(), hooli.to_string()]
    );
    assert!(suggested(&app, &t.ann, "q").await.is_empty());
}

async fn a_manager_sees_own_deals_first_then_the_reports_and_no_one_elses(app: TestApp) {
    let t = app.team().await;
    let anns = new_deal(&app, &t.ann, "Stark Industries renewal").await;
    let mine = new_deal(&app, &t.manager, "Stark Industries pilot").await;
    new_deal(&app, &t.eve, "Stark Industries expansion").await;
    let bobs = new_deal(&app, &t.bob, "Stark Industries upsell").await;
    assert_eq!(
        suggested(&app, &t.manager, "stark ind").await,
        [mine.to_string(), bobs.to_string(), anns.to_string()]
    );
}

/// A second workspace on the same database, whose one deal's name shares "filler" with the
/// 1,000 deals `seed_fillers` gives the first.
async fn neighbour_with_a_filler(app: &TestApp) -> (Session, DealNumber) {
    let neighbour = app
        .service
        .session(&dealgate::chat::console::caller("T-NEIGHBOUR", "zed"))
        .await
        .unwrap();
    let theirs = new_deal(app, &neighbour, "Filler of their own").await;
    (neighbour, theirs)
}

async fn a_search_finds_its_own_workspaces_deals_and_never_a_neighbours(app: TestApp) {
    let t = app.team().await;
    seed_fillers(&app, &t.ann, 1_000).await;
    let (neighbour, theirs) = neighbour_with_a_filler(&app).await;
    assert_eq!(
        theirs.to_string(),
        "deal-1",
        "a workspace numbers its own deals"
    );

    assert_eq!(
        suggested(&app, &neighbour, "filler").await,
        [theirs.to_string()]
    );
    assert!(suggested(&app, &t.admin, "of their own").await.is_empty());
    assert_eq!(
        suggested(&app, &t.admin, "filler 1000").await,
        ["deal-1000"]
    );
}

/// Why a small workspace's search stays fast beside a big one on the same file: the index
/// itself hands out only the workspace's matches, so the search never walks (and drops) the
/// neighbour's 1,000 matching names. Before migration 20261206000017 it walked them all.
#[tokio::test]
async fn on_sqlite_the_index_walks_only_the_searching_workspaces_names() {
    let app = TestApp::new().await;
    let t = app.team().await;
    seed_fillers(&app, &t.ann, 1_000).await;
    let (neighbour, _) = neighbour_with_a_filler(&app).await;
    let store = app.db.store().await;
    let mut conn = store.reader().acquire().await.unwrap();
    let mut walked = async |tenant_id: i64, typed: &str| -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM deal_names WHERE deal_names MATCH $1")
            .bind(fts_query(tenant_id, typed))
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    };
    assert_eq!(walked(neighbour.tenant.id, "filler").await, 1);
    assert_eq!(walked(t.ann.tenant.id, "filler").await, 1_000);
    // A quote in the typed text is a character of the phrase, not the query's syntax.
    assert_eq!(walked(t.ann.tenant.id, "filler\" OR \"x").await, 0);
}

/// Guards the plan, which no answer above shows: with a plain JOIN, SQLite 3.51 walked the
/// owner's deals and ran the full-text query once per deal, seconds per keystroke over 100,000
/// deals while every answer stayed right. The index must be the outer loop, in its own order.
#[tokio::test]
async fn on_sqlite_the_name_search_starts_from_the_trigram_index_whoever_asks() {
    let app = TestApp::new().await;
    let t = app.team().await;
    seed_fillers(&app, &t.ann, 1_000).await;
    let store = app.db.store().await;
    let mut conn = store.reader().acquire().await.unwrap();
    for owners in [Owners::One(1), Owners::ReportsOf(1), Owners::AllBut(1)] {
        let sql = format!(
            "EXPLAIN QUERY PLAN {}",
            name_search_sql(Backend::Sqlite, owners)
        );
        let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(t.ann.tenant.id)
            .bind(1_i64)
            .bind(fts_query(t.ann.tenant.id, "filler"))
            .bind(25_i64)
            .bind(fts_name("filler"))
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        // The window of newest matches is read as a co-routine, in the index's order.
        let steps: Vec<&str> = plan
            .iter()
            .map(|r| r.3.as_str())
            .filter(|s| !s.starts_with("CO-ROUTINE"))
            .collect();
        assert!(
            steps[0].starts_with("SCAN deal_names VIRTUAL TABLE"),
            "{owners:?}: {steps:?}"
        );
        assert!(
            !steps.iter().any(|s| s.contains("TEMP B-TREE")),
            "{owners:?}: {steps:?}"
        );
    }
}
