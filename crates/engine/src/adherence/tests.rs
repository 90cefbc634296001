use chrono::{Duration, TimeZone};

use super::*;
use crate::fixtures::{id, playbook};

fn at(day: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap() + Duration::days(day)
}

fn change(from: Option<&str>, to: &str, kind: Option<TransitionKind>, day: i64) -> StageChange {
    StageChange {
        from: from.map(id),
        to: id(to),
        kind,
        actor_id: 1,
        overridden: false,
        overridden_gates: Vec::new(),
        reason: None,
        at: at(day),
    }
}

fn logged(activity: &str, stage: &str, day: i64) -> LoggedActivity {
    LoggedActivity {
        activity: id(activity),
        stage: id(stage),
        at: at(day),
        times: 1,
    }
}

/// deal-1 (owner 7): Qualify 4 days, 2 of 3 activities, advanced; Develop 10 days on an
/// override, then won. deal-2 (owner 8): Qualify 6 days, lost from it. deal-3 (owner 7):
/// Qualify 2 days, advanced, back after 1 day, advanced again after 3.
fn histories() -> Vec<DealHistory> {
    use TransitionKind::*;
    let mut overridden = change(Some("develop"), "negotiate", Some(Advance), 14);
    overridden.overridden = true;
    vec![
        DealHistory {
            number: DealNumber::new(1).unwrap(),
            owner_id: 7,
            status: DealStatus::Won,
            out_of_process: false,
            changes: vec![
                change(None, "qualify", None, 0),
                change(Some("qualify"), "develop", Some(Advance), 4),
                overridden,
                change(Some("negotiate"), "closed-won", Some(Won), 20),
            ],
            activities: vec![
                logged("discovery-call", "qualify", 1),
                logged("discovery-call", "qualify", 2),
                logged("pain-identified", "qualify", 3),
                // After it left Qualify: not counted there.
                logged("budget-confirmed", "qualify", 5),
            ],
        },
        DealHistory {
            number: DealNumber::new(2).unwrap(),
            owner_id: 8,
            status: DealStatus::Lost,
            out_of_process: false,
            changes: vec![
                change(None, "qualify", None, 0),
                change(Some("qualify"), "closed-lost", Some(Lost), 6),
            ],
            activities: vec![],
        },
        DealHistory {
            number: DealNumber::new(3).unwrap(),
            owner_id: 7,
            status: DealStatus::Open,
            out_of_process: true,
            changes: vec![
                change(None, "qualify", None, 10),
                change(Some("qualify"), "develop", Some(Advance), 12),
                change(Some("develop"), "qualify", Some(Back), 13),
                change(Some("qualify"), "develop", Some(Advance), 16),
            ],
            activities: vec![logged("discovery-call", "qualify", 11)],
        },
    ]
}

#[test]
fn each_time_a_deal_left_a_stage_is_one_exit() {
    let all = exits(&playbook(), &histories(), None, None);
    let seen: Vec<(u32, &str, Exit, usize)> = all
        .iter()
        .map(|e| (e.deal.get(), e.stage.as_str(), e.how, e.activities_done))
        .collect();
    assert_eq!(
        seen,
        [
            (1, "qualify", Exit::Met, 2),
            (1, "develop", Exit::Overridden, 0),
            (1, "negotiate", Exit::Met, 0),
            (2, "qualify", Exit::Lost, 0),
            (3, "qualify", Exit::Met, 1),
            (3, "develop", Exit::Back, 0),
            (3, "qualify", Exit::Met, 1),
        ]
    );
    // The period is half open, by the day the deal left.
    let january = exits(&playbook(), &histories(), Some(at(5)), Some(at(14)));
    assert_eq!(
        january.iter().map(|e| e.deal.get()).collect::<Vec<_>>(),
        [2, 3, 3]
    );
}

#[test]
fn a_reps_figures_stand_beside_the_teams() {
    let all = exits(&playbook(), &histories(), None, None);
    let by_stage = adherence(&playbook(), &all, Some(&[7]));
    let qualify = &by_stage[0];
    assert_eq!(qualify.name, "Qualify");
    // Owner 7 left Qualify three times, all with gates met; the team four times (one lost).
    assert_eq!(
        (qualify.rep.exits, qualify.rep.forward, qualify.rep.met),
        (3, 3, 3)
    );
    assert_eq!(
        (qualify.team.exits, qualify.team.forward, qualify.team.met),
        (4, 3, 3)
    );
    // Activities: 2 of 3, 1 of 3, 1 of 3 → 66 %, 33 %, 33 % → mean 44 %; team adds 0 → 33 %.
    assert_eq!(qualify.rep.coverage, Some(44));
    assert_eq!(qualify.team.coverage, Some(33));
    // Days: 4, 2, 3 → median 3; team 4, 6, 2, 3 → 3.5.
    assert_eq!(qualify.rep.median_days, Some(3.0));
    assert_eq!(qualify.team.median_days, Some(3.5));
    assert_eq!(qualify.rep.out_of_process, 1, "deal-3, once");
    let develop = &by_stage[1];
    assert_eq!((develop.rep.overridden, develop.rep.overrides_won), (1, 1));
}

#[test]
fn win_rates_carry_a_wilson_interval_and_say_when_they_are_too_few() {
    let r = WinRate {
        won: 18,
        closed: 24,
    };
    let (lo, hi) = r.interval90().unwrap();
    assert!(
        (lo - 0.5845).abs() < 1e-4 && (hi - 0.8648).abs() < 1e-4,
        "{lo} {hi}"
    );
    let none = WinRate { won: 0, closed: 5 };
    let (lo, hi) = none.interval90().unwrap();
    assert!(lo == 0.0 && (hi - 0.3511).abs() < 1e-4, "{lo} {hi}");
    let all = WinRate { won: 5, closed: 5 }.interval90().unwrap();
    assert!((all.0 - 0.6489).abs() < 1e-4 && all.1 <= 1.0);
    assert_eq!(WinRate::default().interval90(), None);
    assert!(!WinRate { won: 3, closed: 4 }.enough());
    assert!(
        WinRate {
            won: 0,
            closed: MIN_DEALS
        }
        .enough()
    );
}

#[test]
fn evidence_compares_closed_deals_that_did_an_activity_in_the_stage_with_those_that_did_not() {
    let p = playbook();
    let qualify = p.stage(&id("qualify")).unwrap();
    let deal = |won: bool, did: &[&str], visited: &[&str]| ClosedDeal {
        won,
        visited: visited.iter().map(|s| id(s)).collect(),
        activities: did.iter().map(|a| logged(a, "qualify", 1)).collect(),
    };
    let closed = vec![
        deal(
            true,
            &["discovery-call", "pain-identified"],
            &["qualify", "develop"],
        ),
        deal(true, &["discovery-call"], &["qualify"]),
        deal(false, &[], &["qualify"]),
        deal(false, &["pain-identified"], &["qualify"]),
        // Never in Qualify (created later): not counted.
        deal(true, &["discovery-call"], &["develop"]),
    ];
    let found = evidence(qualify, &closed);
    let call = &found[0];
    assert_eq!(call.activity.as_str(), "discovery-call");
    assert_eq!(call.did, WinRate { won: 2, closed: 2 });
    assert_eq!(call.did_not, WinRate { won: 0, closed: 2 });
    assert!(!call.enough());
    assert_eq!(found[1].did, WinRate { won: 1, closed: 2 });
    assert_eq!(found[2].did, WinRate { won: 0, closed: 0 });
    assert_eq!(found[2].did_not, WinRate { won: 2, closed: 4 });
}
