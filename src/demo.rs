//! The demo workspace: a sales ops admin, a manager, three reps and about thirty deals spread
//! over every stage, with the activities, approvals and history a real quarter leaves behind;
//! and behind them five quarters of closed deals, won and lost, so `/coach` and
//! `/playbook evidence` have something to say on the first run.
//!
//! It is built through the service itself, on a clock set back to each deal's history, so every
//! deal got where it is by meeting its gates (the same code paths a team uses).

use std::sync::Arc;

use chrono::{Duration, NaiveDate};

use crate::chat::console::caller;
use crate::clock::ManualClock;
use crate::commands::UserRef;
use crate::engine::deal::DealStatus;
use crate::engine::gates::Remedy;
use crate::engine::ids::{DealNumber, Money};
use crate::engine::playbook::{FieldRule, Role};
use crate::service::{FieldValue, Service, ServiceError, Session};

pub const WORKSPACE: &str = "demo";
pub const ADMIN: &str = "morgan";
pub const MANAGER: &str = "dana";
pub const REPS: [&str; 3] = ["alex", "sam", "riley"];

const COMPANIES: [&str; 30] = [
    "Acme Logistics",
    "Borealis Health",
    "Cobalt Mining",
    "Dunmore Foods",
    "Evergreen Bank",
    "Fjord Shipping",
    "Granite Insurance",
    "Harbor Retail",
    "Ionic Energy",
    "Juniper Schools",
    "Keystone Legal",
    "Lumen Media",
    "Meridian Air",
    "Northwind Traders",
    "Orchid Pharma",
    "Pioneer Farms",
    "Quarry Build",
    "Redwood Hotels",
    "Summit Telecom",
    "Tidal Water",
    "Umber Textiles",
    "Vertex Robotics",
    "Willow Care",
    "Xenon Labs",
    "Yarrow Seeds",
    "Zephyr Motors",
    "Atlas Freight",
    "Beacon Security",
    "Crescent Clinics",
    "Delta Chemicals",
];

/// Makes sure the demo workspace exists (creating or, with `reset`, recreating it) and says what
/// is in it.
pub async fn prepare(service: &Service, reset: bool) -> Result<String, ServiceError> {
    match service
        .workspace_deal_count(crate::service::Platform::Console, WORKSPACE)
        .await?
    {
        Some((_, deals)) if !reset && deals > 0 => {
            return Ok(format!(
                "Reusing the demo workspace ({deals} deals); `dealgate demo --reset` starts it afresh."
            ));
        }
        Some((id, _)) => service.delete_workspace(id).await?,
        None => {}
    }
    let count = seed(service).await?;
    Ok(format!(
        "Created the demo workspace: {ADMIN} (admin), {MANAGER} (manager), reps {} and {count} deals \
         ({} open or recently closed, {HISTORY_DEALS} closed over the last fifteen months).",
        REPS.join(", "),
        count - HISTORY_DEALS
    ))
}

/// A tiny deterministic generator, so every demo is the same demo.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

async fn seed(real: &Service) -> Result<usize, ServiceError> {
    let now = real.clock().now();
    let clock = Arc::new(ManualClock::new(now - Duration::days(120)));
    let service = real.with_clock(clock.clone());
    let session = |name: &str| {
        let service = &service;
        let c = caller(WORKSPACE, name);
        async move { service.session(&c).await }
    };
    let admin = session(ADMIN).await?;
    let manager = session(MANAGER).await?;
    service
        .set_team_role(&admin, &UserRef::Name(MANAGER.into()), Role::Manager, None)
        .await?;
    let mut reps = Vec::new();
    for rep in REPS {
        session(rep).await?;
        service
            .set_team_role(
                &admin,
                &UserRef::Name(rep.into()),
                Role::Rep,
                Some(&UserRef::Name(MANAGER.into())),
            )
            .await?;
        reps.push(session(rep).await?);
    }
    let manager = Session {
        member: service.session(&caller(WORKSPACE, MANAGER)).await?.member,
        ..manager
    };
    let playbook = admin.playbook.clone();
    let open: Vec<_> = playbook.open_stages().map(|s| s.id.clone()).collect();
    let mut rng = Lcg(42);
    for (i, company) in COMPANIES.iter().enumerate() {
        // Where this deal will end up: spread over every open stage, a few won and lost.
        let target = match i % 10 {
            8 => open.len() + 1, // won
            9 => open.len() + 2, // lost
            k => k % open.len(),
        };
        let moves = target.min(open.len()) as i64;
        // Work backwards from today so the last move happened recently for most deals and a
        // few weeks ago for some: a realistic mix of fresh and stalled deals.
        let last_move_days_ago = 1 + rng.next(24) as i64;
        let created = now - Duration::days(last_move_days_ago + moves * 5) - Duration::hours(3);
        clock.set(created);
        let rep = &reps[i % reps.len()];
        let amount = Money::from_major(((rng.next(48) + 2) * 5_000) as i64).expect("small amounts");
        let close = now.date_naive() + Duration::days(10 + rng.next(150) as i64);
        let view = service
            .create_deal(rep, company, amount, close, None, None)
            .await?;
        let number = view.deal.number;
        for step in 0..open.len() {
            log_some_recommended(&service, rep, number, &mut rng).await?;
            if step >= target.min(open.len()) || target == open.len() + 2 && step >= 1 {
                break;
            }
            clock.advance(Duration::days(3 + rng.next(3) as i64));
            meet_gates(&service, rep, &manager, number).await?;
            if step + 1 == open.len() {
                service.won(rep, number, None).await?;
            } else {
                service.advance(rep, number, None, None).await?;
            }
        }
        if target == open.len() + 2 {
            clock.advance(Duration::days(3));
            service
                .lost(rep, number, "Chose a competitor on price")
                .await?;
        }
    }
    let closed = seed_history(&service, &clock, now, &reps, &manager, &mut rng).await?;
    Ok(COMPANIES.len() + closed)
}

/// How many closed deals the history holds.
const HISTORY_DEALS: usize = 60;

/// Closed deals created over the last fifteen months, each worked with a diligence of its own:
/// the share of each stage's recommended activities its rep logged. The more diligent win more
/// often, deals a manager pushed past a gate less often, and the rest is chance, so the figures
/// show a pattern without being a formula.
async fn seed_history(
    service: &Service,
    clock: &ManualClock,
    now: chrono::DateTime<chrono::Utc>,
    reps: &[Session],
    manager: &Session,
    rng: &mut Lcg,
) -> Result<usize, ServiceError> {
    let playbook = manager.playbook.clone();
    let open: Vec<_> = playbook.open_stages().map(|s| s.id.clone()).collect();
    for i in 0..HISTORY_DEALS {
        let rep = &reps[i % reps.len()];
        let diligence = [35, 60, 85][rng.next(3) as usize];
        let start =
            now - Duration::days(450) + Duration::days((i as i64) * 400 / HISTORY_DEALS as i64);
        clock.set(start);
        let amount = Money::from_major(((rng.next(40) + 4) * 5_000) as i64).expect("small amounts");
        let close = start.date_naive() + Duration::days(60 + rng.next(60) as i64);
        let company = format!(
            "{} ({})",
            COMPANIES[(i * 7) % COMPANIES.len()],
            ["renewal", "expansion", "pilot", "new region"][i % 4]
        );
        let number = service
            .create_deal(rep, &company, amount, close, None, None)
            .await?
            .deal
            .number;
        let mut pushed = false;
        let mut lost_at = None;
        for (step, _) in open.iter().enumerate() {
            log_with_diligence(service, rep, number, diligence, rng).await?;
            clock.advance(Duration::days(2 + rng.next(9) as i64));
            // Chance of losing it here: less the more diligent, more once pushed past a gate.
            let risk = 22 - diligence / 5 + if pushed { 12 } else { 0 };
            if rng.next(100) < risk {
                lost_at = Some(step);
                break;
            }
            let last = step + 1 == open.len();
            if rng.next(100) < 10 {
                pushed = true;
                let reason = "Pushed for the quarter; the customer is in a hurry";
                if last {
                    service.won(manager, number, Some(reason)).await?;
                } else {
                    service.advance(manager, number, None, Some(reason)).await?;
                }
            } else {
                meet_gates(service, rep, manager, number).await?;
                if last {
                    service.won(rep, number, None).await?;
                } else {
                    service.advance(rep, number, None, None).await?;
                }
            }
        }
        if lost_at.is_some() {
            let reason = [
                "Chose a competitor on price",
                "No budget this year",
                "Went quiet",
            ][rng.next(3) as usize];
            service.lost(rep, number, reason).await?;
        }
    }
    Ok(HISTORY_DEALS)
}

/// Logs each recommended activity of the deal's stage not done yet with a chance of
/// `diligence` percent.
async fn log_with_diligence(
    service: &Service,
    rep: &Session,
    number: DealNumber,
    diligence: u64,
    rng: &mut Lcg,
) -> Result<(), ServiceError> {
    let view = service.show_deal(rep, number).await?;
    if let Some(cov) = view.coverage {
        for activity in cov.not_done {
            if rng.next(100) < diligence {
                service.log_activity(rep, number, &activity, None).await?;
            }
        }
    }
    Ok(())
}

async fn log_some_recommended(
    service: &Service,
    rep: &Session,
    number: DealNumber,
    rng: &mut Lcg,
) -> Result<(), ServiceError> {
    let view = service.show_deal(rep, number).await?;
    if view.deal.status != DealStatus::Open {
        return Ok(());
    }
    if let Some(cov) = view.coverage {
        for activity in cov.not_done {
            if rng.next(3) > 0 {
                service.log_activity(rep, number, &activity, None).await?;
            }
        }
    }
    Ok(())
}

/// Does whatever each unmet gate of the current stage asks for.
async fn meet_gates(
    service: &Service,
    rep: &Session,
    manager: &Session,
    number: DealNumber,
) -> Result<(), ServiceError> {
    let view = service.show_deal(rep, number).await?;
    for check in view.checks.iter().filter(|c| !c.met) {
        match &check.remedy {
            Remedy::LogActivity {
                activity,
                remaining,
            } => {
                for _ in 0..*remaining {
                    service
                        .log_activity(rep, number, activity, Some("Demo: done as planned"))
                        .await?;
                }
            }
            Remedy::SetField { field, rule } => {
                let value = match (field.as_str(), rule) {
                    ("close_date", _) | (_, FieldRule::FutureDate) => {
                        let date: NaiveDate =
                            view.deal.close_date.max(service.clock().now().date_naive())
                                + Duration::days(30);
                        FieldValue::CloseDate(date)
                    }
                    ("amount", _) | (_, FieldRule::Positive) => {
                        FieldValue::Amount(Money::from_major(25_000).expect("in range"))
                    }
                    _ => FieldValue::Text(format!(
                        "Confirmed with the customer on a call: {} agreed this in writing, and the team has the notes.",
                        view.deal.name
                    )),
                };
                service.set_field(rep, number, field, value).await?;
            }
            Remedy::Approval { .. } => {
                service
                    .approve(manager, number, Some("Reviewed in the pipeline meeting"))
                    .await?;
            }
        }
    }
    Ok(())
}
