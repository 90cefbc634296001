//! `/coach` and `/playbook evidence` on the demo's seeded history, through the binary on both
//! backends, checked against counts computed here straight from the rows: the exits, gates met
//! and overrides per stage for one rep and for the team, what became of the overrides, and each
//! activity's closed deals won and lost, did and did not.

#[path = "support/binary.rs"]
mod binary;
mod support;

use support::TestApp;

fn demo(app: &TestApp, dir: &std::path::Path, lines: &str) -> String {
    let out = binary::run_typing(
        &app.db.url,
        dir,
        "default",
        &["demo", "--as", "dana"],
        lines,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The line of `out` that starts (after its indent) with `prefix`, after the line holding
/// `after`.
fn line_after<'a>(out: &'a str, after: &str, prefix: &str) -> &'a str {
    let start = out
        .find(after)
        .unwrap_or_else(|| panic!("no `{after}` in {out}"));
    out[start..]
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` after `{after}` in {out}"))
}

async fn rows(app: &TestApp, sql: &str, binds: &[&str]) -> Vec<(String, i64, i64)> {
    let mut conn = app.service.store().reader().acquire().await.unwrap();
    let mut q = sqlx::query_as::<_, (String, i64, i64)>(sqlx::AssertSqlSafe(sql.to_string()));
    for b in binds {
        q = q.bind(*b);
    }
    q.fetch_all(&mut *conn).await.unwrap()
}

/// An exit from a stage: the deal's owner, whether on an override, whether forward, and the
/// deal's status now.
type ExitRow = (String, i64, i64, String);

async fn exits(app: &TestApp, stage: &str) -> Vec<ExitRow> {
    let mut conn = app.service.store().reader().acquire().await.unwrap();
    sqlx::query_as(
        "SELECT m.display_name, c.overridden, \
         CAST(CASE WHEN c.kind IN ('advance', 'won') THEN 1 ELSE 0 END AS BIGINT), d.status \
         FROM stage_changes c JOIN deals d ON d.id = c.deal_id \
         JOIN members m ON m.id = d.owner_id JOIN tenants t ON t.id = d.tenant_id \
         WHERE t.external_id = 'demo' AND c.from_stage = $1",
    )
    .bind(stage)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

async fn coach_counts_match_the_rows(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(&app, dir.path(), "/coach @alex all\n");
    for (stage, name) in [
        ("qualify", "Qualify"),
        ("solution", "Solution"),
        ("negotiate", "Negotiate"),
    ] {
        let all = exits(&app, stage).await;
        let alex: Vec<_> = all.iter().filter(|e| e.0 == "alex").collect();
        let count =
            |of: &[&ExitRow], f: &dyn Fn(&ExitRow) -> bool| of.iter().filter(|e| f(e)).count();
        let team: Vec<_> = all.iter().collect();
        let heading = format!("{name}: ");
        assert_eq!(
            line_after(&out, "Coaching: alex", &heading),
            format!("{name}: {} left · team {}", alex.len(), team.len())
        );
        let forward = |e: &ExitRow| e.2 == 1;
        let met = |e: &ExitRow| e.2 == 1 && e.1 == 0;
        let (a_fwd, a_met) = (count(&alex, &forward), count(&alex, &met));
        let (t_fwd, t_met) = (count(&team, &forward), count(&team, &met));
        let gates = line_after(&out, &heading, "gates met:");
        assert!(
            gates.starts_with(&format!("gates met: {a_met} of {a_fwd} (")),
            "{gates}"
        );
        assert!(
            gates.contains(&format!("· team {t_met} of {t_fwd} (")),
            "{gates}"
        );
        let over = line_after(&out, &heading, "by override:");
        assert!(
            over.starts_with(&format!("by override: {} of {a_fwd}", a_fwd - a_met)),
            "{over}"
        );
        let team_overrides: Vec<_> = team.iter().filter(|e| e.2 == 1 && e.1 == 1).collect();
        if !team_overrides.is_empty() {
            let won = team_overrides.iter().filter(|e| e.3 == "won").count();
            let lost = team_overrides.iter().filter(|e| e.3 == "lost").count();
            assert!(
                over.ends_with(&format!("team {won} won, {lost} lost, 0 open")),
                "{over}"
            );
        }
    }
}

async fn evidence_counts_match_the_rows(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(&app, dir.path(), "/playbook evidence proposal\n");
    let closed: Vec<(String, i64, i64)> = rows(
        &app,
        "SELECT d.status, d.id, CAST(0 AS BIGINT) FROM deals d JOIN tenants t ON t.id = d.tenant_id \
         WHERE t.external_id = 'demo' AND d.status IN ('won', 'lost')",
        &[],
    )
    .await;
    assert!(
        closed.len() >= 50,
        "the demo seeds its history: {}",
        closed.len()
    );
    assert!(
        out.contains(&format!("Over {} closed deals", closed.len())),
        "{out}"
    );
    for activity in ["proposal-sent", "mutual-action-plan", "pricing-approved"] {
        // Closed deals that were in Proposal, and whether each logged the activity there.
        let through = rows(
            &app,
            "SELECT d.status, d.id, CAST(CASE WHEN EXISTS (SELECT 1 FROM activities a \
             WHERE a.deal_id = d.id AND a.stage = 'proposal' AND a.activity = $1) THEN 1 ELSE 0 \
             END AS BIGINT) FROM deals d JOIN tenants t ON t.id = d.tenant_id \
             WHERE t.external_id = 'demo' AND d.status IN ('won', 'lost') AND EXISTS \
             (SELECT 1 FROM stage_changes c WHERE c.deal_id = d.id \
             AND (c.to_stage = 'proposal' OR c.from_stage = 'proposal'))",
            &[activity],
        )
        .await;
        let side = |did: i64| {
            let of: Vec<_> = through.iter().filter(|r| r.2 == did).collect();
            (of.iter().filter(|r| r.0 == "won").count(), of.len())
        };
        let ((did_won, did), (not_won, not)) = (side(1), side(0));
        let found = out
            .lines()
            .map(str::trim)
            .find(|l| l.contains(&format!("`{activity}`")))
            .unwrap_or_else(|| panic!("{activity} in {out}"));
        if did >= 5 && not >= 5 {
            assert!(
                found.contains(&format!("did {did_won} of {did} won (")),
                "{found}"
            );
            assert!(
                found.contains(&format!("did not {not_won} of {not} won (")),
                "{found}"
            );
        } else {
            assert!(
                found.contains(&format!("not enough data ({did} did, {not} did not)")),
                "{found}"
            );
        }
    }
}

on_both_backends!(
    coach_counts_match_the_rows,
    evidence_counts_match_the_rows,
    mondays_digest_says_how_deals_left_each_stage_last_week,
    calibration_counts_match_the_rows,
);

/// Monday's digest has a section on how deals left each stage in the seven days before, with
/// the counts the rows give; the demo is seeded on the test clock, a Monday.
async fn mondays_digest_says_how_deals_left_each_stage_last_week(app: TestApp) {
    use chrono::{Datelike, Duration};
    use dealgate::chat::console::{caller, render};
    use dealgate::commands::execute::execute_line;
    use dealgate::engine::playbook::Role;

    dealgate::demo::prepare(&app.service, false).await.unwrap();
    let now = support::start_time();
    assert_eq!(now.weekday(), chrono::Weekday::Mon);
    let dana = app.service.session(&caller("demo", "dana")).await.unwrap();
    assert_eq!(dana.member.role, Role::Manager);
    let shown =
        render(&execute_line(&app.service, &caller("demo", "dana"), "/digest preview").await);
    assert!(shown.contains("The process last week"), "{shown}");

    let until = now.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let from = until - Duration::days(7);
    let mut conn = app.service.store().reader().acquire().await.unwrap();
    let counted: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT c.from_stage, CAST(COUNT(*) AS BIGINT), \
         CAST(SUM(CASE WHEN c.kind IN ('advance', 'won') AND c.overridden = 0 THEN 1 ELSE 0 END) \
         AS BIGINT) FROM stage_changes c JOIN tenants t ON t.id = c.tenant_id \
         WHERE t.external_id = 'demo' AND c.from_stage IS NOT NULL AND c.at >= $1 AND c.at < $2 \
         GROUP BY c.from_stage",
    )
    .bind(from.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
    .bind(until.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert!(!counted.is_empty(), "the demo moved deals last week");
    for (stage, left, met) in counted {
        let name = dana
            .playbook
            .stage(&stage.parse().unwrap())
            .map(|s| s.name.clone())
            .unwrap();
        let line = shown
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(&format!("{name}: ")) && l.contains(" left · gates met "))
            .unwrap_or_else(|| panic!("{name} in {shown}"));
        assert!(
            line.starts_with(&format!("{name}: {left} left · gates met {met} of ")),
            "{line}"
        );
    }
}

async fn calibration_counts_match_the_rows(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(&app, dir.path(), "/playbook calibrate\n");
    for (stage, name) in [("qualify", "Qualify"), ("proposal", "Proposal")] {
        // Closed deals that ever entered the stage, and of those the won.
        let counted = rows(
            &app,
            "SELECT d.status, d.id, CAST(0 AS BIGINT) FROM deals d \
             JOIN tenants t ON t.id = d.tenant_id WHERE t.external_id = 'demo' \
             AND d.status IN ('won', 'lost') AND EXISTS (SELECT 1 FROM stage_changes c \
             WHERE c.deal_id = d.id AND c.to_stage = $1)",
            &[stage],
        )
        .await;
        let won = counted.iter().filter(|r| r.0 == "won").count();
        let line = out
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(&format!("• {name}: configured ")))
            .unwrap_or_else(|| panic!("{name} in {out}"));
        let observed = (won as f64 * 100.0 / counted.len() as f64).round() as i64;
        assert!(
            line.contains(&format!("observed {observed}%")),
            "{won} of {}: {line}",
            counted.len()
        );
        assert!(line.contains(&format!("n = {}", counted.len())), "{line}");
    }
}
