use super::*;
use crate::fixtures::*;

fn ym(year: i32, month: u32) -> YearMonth {
    YearMonth { year, month }
}

fn q(fiscal_year: i32, quarter: u32, calendar: bool) -> Quarter {
    Quarter {
        fiscal_year,
        quarter,
        calendar,
    }
}

fn row(stage: &str, owner: &str, month: YearMonth, count: u64, major: i64) -> OpenRow {
    OpenRow {
        stage: id(stage),
        owner: owner.to_string(),
        close_month: month,
        count,
        amount: major * 100,
    }
}

fn totals(count: u64, major: i128, weighted_major: i128) -> Totals {
    Totals {
        count,
        amount: major * 100,
        weighted_x100: weighted_major * 100 * 100,
    }
}

#[test]
fn a_calendar_fiscal_year_names_quarters_by_the_calendar_year() {
    assert_eq!(Quarter::of(ym(2026, 11), 1), q(2026, 4, true));
    assert_eq!(Quarter::of(ym(2026, 1), 1), q(2026, 1, true));
    assert_eq!(Quarter::of(ym(2026, 3), 1), q(2026, 1, true));
    assert_eq!(Quarter::of(ym(2026, 4), 1), q(2026, 2, true));
    assert_eq!(Quarter::of(ym(2026, 11), 1).to_string(), "2026 Q4");
}

#[test]
fn a_fiscal_year_is_named_by_the_calendar_year_it_ends_in() {
    // February 2026 to January 2027 is FY2027.
    assert_eq!(Quarter::of(ym(2026, 2), 2), q(2027, 1, false));
    assert_eq!(Quarter::of(ym(2026, 4), 2), q(2027, 1, false));
    assert_eq!(Quarter::of(ym(2026, 5), 2), q(2027, 2, false));
    assert_eq!(Quarter::of(ym(2026, 12), 2), q(2027, 4, false));
    assert_eq!(Quarter::of(ym(2027, 1), 2), q(2027, 4, false));
    assert_eq!(Quarter::of(ym(2026, 1), 2), q(2026, 4, false));
    assert_eq!(Quarter::of(ym(2026, 2), 2).to_string(), "FY2027 Q1");

    // July to June, and a year starting in December.
    assert_eq!(Quarter::of(ym(2026, 7), 7), q(2027, 1, false));
    assert_eq!(Quarter::of(ym(2026, 6), 7), q(2026, 4, false));
    assert_eq!(Quarter::of(ym(2026, 12), 12), q(2027, 1, false));
    assert_eq!(Quarter::of(ym(2026, 11), 12), q(2026, 4, false));
}

#[test]
fn a_fiscal_start_month_out_of_range_reads_as_the_calendar_year() {
    assert_eq!(Quarter::of(ym(2026, 11), 0), q(2026, 4, true));
    assert_eq!(Quarter::of(ym(2026, 11), 13), q(2026, 4, true));
}

#[test]
fn the_weighted_amount_rounds_half_a_minor_unit_up() {
    let t = |weighted_x100| Totals {
        count: 1,
        amount: 0,
        weighted_x100,
    };
    assert_eq!(t(149).weighted_minor(), 1);
    assert_eq!(t(150).weighted_minor(), 2);
    assert_eq!(t(0).weighted_minor(), 0);
}

#[test]
fn the_forecast_weighs_each_stage_by_its_probability_and_slices_it_every_way() {
    let open = [
        // qualify 10%, develop 40%, negotiate 70%; `negotiate` has no deals.
        row("qualify", "bo", ym(2026, 4), 2, 10_000),
        row("develop", "ana", ym(2026, 3), 1, 5_000),
        row("develop", "bo", ym(2026, 4), 1, 1_000),
        // A stage the playbook dropped, and a terminal stage: counted, never weighted.
        row("retired", "cy", ym(2026, 7), 1, 7_000),
        row("closed-won", "cy", ym(2026, 7), 1, 3_000),
    ];
    let won = [
        WonRow {
            owner: "ana".into(),
            close_month: ym(2026, 2),
            count: 2,
            amount: 400_000,
        },
        WonRow {
            owner: "bo".into(),
            close_month: ym(2026, 3),
            count: 1,
            amount: 50,
        },
    ];
    let f = forecast(&playbook(), &open, &won, 2);

    assert_eq!(f.open, totals(6, 26_000, 1_000 + 2_000 + 400));
    assert_eq!(
        f.by_stage,
        vec![
            (id("qualify"), totals(2, 10_000, 1_000)),
            (id("develop"), totals(2, 6_000, 2_400)),
            (id("negotiate"), Totals::default()),
        ]
    );
    // Highest weighted first: ana 2,000, bo 1,000 + 400, then cy with nothing weighted.
    assert_eq!(
        f.by_owner,
        vec![
            ("ana".to_string(), totals(1, 5_000, 2_000)),
            ("bo".to_string(), totals(3, 11_000, 1_400)),
            ("cy".to_string(), totals(2, 10_000, 0)),
        ]
    );
    assert_eq!(
        f.by_month,
        vec![
            (ym(2026, 3), totals(1, 5_000, 2_000)),
            (ym(2026, 4), totals(3, 11_000, 1_400)),
            (ym(2026, 7), totals(2, 10_000, 0)),
        ]
    );
    // Fiscal year from February: March and April are Q1 of FY2027, July is Q2.
    assert_eq!(
        f.by_quarter,
        vec![
            (q(2027, 1, false), totals(4, 16_000, 3_400)),
            (q(2027, 2, false), totals(2, 10_000, 0)),
        ]
    );
    assert_eq!(
        f.by_category,
        vec![
            (ForecastCategory::Pipeline, totals(2, 10_000, 1_000)),
            (ForecastCategory::BestCase, totals(2, 6_000, 2_400)),
        ]
    );
    // By owner and category, owners by name: the parts the digest chart stacks per rep.
    // (cy's deals are in no open stage, so in no category.)
    assert_eq!(
        f.by_owner_category,
        vec![
            (
                "ana".to_string(),
                ForecastCategory::BestCase,
                totals(1, 5_000, 2_000)
            ),
            (
                "bo".to_string(),
                ForecastCategory::Pipeline,
                totals(2, 10_000, 1_000)
            ),
            (
                "bo".to_string(),
                ForecastCategory::BestCase,
                totals(1, 1_000, 400)
            ),
        ]
    );
    assert_eq!(
        f.won,
        Totals {
            count: 3,
            amount: 400_050,
            weighted_x100: 40_005_000
        }
    );
}

#[test]
fn owners_with_the_same_weighted_amount_are_listed_by_name() {
    let open = [
        row("develop", "zoe", ym(2026, 5), 1, 1_000),
        row("develop", "al", ym(2026, 5), 1, 1_000),
        row("negotiate", "mo", ym(2026, 5), 1, 1_000),
    ];
    let owners: Vec<String> = forecast(&playbook(), &open, &[], 1)
        .by_owner
        .into_iter()
        .map(|(o, _)| o)
        .collect();
    assert_eq!(owners, ["mo", "al", "zoe"]);
}

#[test]
fn an_empty_pipeline_still_lists_every_open_stage() {
    let f = forecast(&playbook(), &[], &[], 1);
    let stages: Vec<&str> = f.by_stage.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(stages, ["qualify", "develop", "negotiate"]);
    assert!(f.by_stage.iter().all(|(_, t)| *t == Totals::default()));
    assert_eq!(f.open, Totals::default());
    assert!(f.by_owner.is_empty() && f.by_month.is_empty() && f.by_quarter.is_empty());
    assert!(f.by_category.is_empty());
}

#[test]
fn the_weighted_total_is_exact_for_the_largest_amounts() {
    let max = crate::ids::Money::MAX_MINOR;
    let open = [OpenRow {
        stage: id("negotiate"),
        owner: "ana".into(),
        close_month: ym(2026, 5),
        count: 1_000,
        amount: max,
    }];
    let f = forecast(&playbook(), &open, &[], 1);
    assert_eq!(f.open.weighted_x100, i128::from(max) * 70);
}
