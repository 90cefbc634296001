//! The demo workspace: a sales ops admin, a manager, three reps and about thirty deals spread
//! over every stage, with the activities, approvals and history a real quarter leaves behind;
//! and behind them fourteen months of closed deals, won and lost, with the forecast snapshot of
//! each weekday, so `/coach`, `/playbook evidence`, `/playbook calibrate`, `/forecast accuracy`
//! and `/forecast changes` have something to say on the first run.
//!
//! It is built through the service itself, on a clock set back and played forward: every deal's
//! steps in time order, the snapshots between them, so every deal got where it is by meeting its
//! gates and each snapshot saw the pipeline as it stood that morning (the same code paths a team
//! and the digest use).

use std::sync::Arc;

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

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

/// How the demo introduces the member acting at its console.
pub fn who(user: &str) -> &'static str {
    match user {
        ADMIN => "the admin",
        MANAGER => "a manager",
        rep if REPS.contains(&rep) => "a rep",
        _ => "not in the demo's team (joins it as a rep)",
    }
}

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
         ({} open or recently closed, {HISTORY_DEALS} closed over the last fourteen months, with \
         a forecast snapshot for each weekday).",
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
    let clock = Arc::new(ManualClock::new(now - Duration::days(HISTORY_DAYS + 1)));
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
    // The deals of the quarter under way come first, so they are deal-1 to deal-30.
    let mut first_created = now;
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
        first_created = first_created.min(created);
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
    let mut scripts = history_scripts(now);
    let cast = Cast {
        service: &service,
        reps: &reps,
        manager: &manager,
        stages: open.len(),
    };
    // Snapshots stop the day before the first of those deals was created: a snapshot reads
    // the deals as they stand, and theirs were played to the end already.
    let snapshots = Snapshots {
        next: now.date_naive() - Duration::days(HISTORY_DAYS),
        until: first_created.date_naive(),
        tenant_id: admin.tenant.id,
    };
    play(&cast, &clock, &mut scripts, snapshots, now).await?;
    Ok(COMPANIES.len() + scripts.len())
}

/// How far back the history reaches: four closed quarters and the one under way.
const HISTORY_DAYS: i64 = 420;

/// How many closed deals the history holds.
const HISTORY_DEALS: usize = 120;

/// Who plays the demo's deals.
struct Cast<'a> {
    service: &'a Service,
    reps: &'a [Session],
    manager: &'a Session,
    /// Open stages of the playbook.
    stages: usize,
}

/// A closed deal of the history as a script played on the clock: created at `start`, then one
/// step at a time, each step saying when the next one is due. It is worked with a diligence of
/// its own: the share of each stage's recommended activities its rep logged. The more diligent
/// win more often, deals a manager pushed past a gate less often, and the rest is chance, so the
/// figures show a pattern without being a formula.
struct Script {
    diligence: u64,
    rep: usize,
    company: String,
    amount: Money,
    close: NaiveDate,
    start: DateTime<Utc>,
    /// Each deal draws from its own generator, so the order the steps interleave in does not
    /// change what happens to it.
    rng: Lcg,
    number: Option<DealNumber>,
    /// Open stages passed so far.
    step: usize,
    /// A manager pushed it past a gate once.
    pushed: bool,
}

/// The closed deals of the history, created evenly over `HISTORY_DAYS`, each expected to close
/// a few weeks to a couple of months after it starts (some will slip).
fn history_scripts(now: DateTime<Utc>) -> Vec<Script> {
    (0..HISTORY_DEALS)
        .map(|i| {
            let mut rng = Lcg(7_000 + i as u64);
            let start = now - Duration::days(HISTORY_DAYS)
                + Duration::days((i as i64) * (HISTORY_DAYS - 75) / HISTORY_DEALS as i64)
                + Duration::hours(rng.next(8) as i64);
            let diligence = [35, 60, 85][rng.next(3) as usize];
            let amount =
                Money::from_major(((rng.next(40) + 4) * 5_000) as i64).expect("small amounts");
            let close = start.date_naive() + Duration::days(25 + rng.next(45) as i64);
            Script {
                diligence,
                rep: i % REPS.len(),
                company: format!(
                    "{} ({})",
                    COMPANIES[(i * 7) % COMPANIES.len()],
                    ["renewal", "expansion", "pilot", "new region"][i % 4]
                ),
                amount,
                close,
                start,
                rng,
                number: None,
                step: 0,
                pushed: false,
            }
        })
        .collect()
}

/// Plays every script's steps in time order on the set-back clock, taking each weekday's
/// forecast snapshot (as the morning digest would, at 08:00) between the steps.
async fn play(
    cast: &Cast<'_>,
    clock: &ManualClock,
    scripts: &mut [Script],
    mut snapshots: Snapshots,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let last_step = now - Duration::hours(25);
    let mut due: BinaryHeap<Reverse<(DateTime<Utc>, usize)>> = scripts
        .iter()
        .enumerate()
        .map(|(i, s)| Reverse((s.start, i)))
        .collect();
    while let Some(Reverse((at, i))) = due.pop() {
        snapshots.take_before(cast.service, clock, at).await?;
        clock.set(at);
        if let Some(next) = step(cast, &mut scripts[i]).await? {
            // The history is over before the day the digest reports on starts.
            due.push(Reverse((next.min(last_step), i)));
        }
    }
    let end = snapshots
        .until
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    snapshots.take_before(cast.service, clock, end).await
}

/// The weekday snapshots still to take.
struct Snapshots {
    next: NaiveDate,
    /// Exclusive.
    until: NaiveDate,
    tenant_id: i64,
}

impl Snapshots {
    async fn take_before(
        &mut self,
        service: &Service,
        clock: &ManualClock,
        before: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        loop {
            let at = self
                .next
                .and_hms_opt(8, 0, 0)
                .expect("a valid time")
                .and_utc();
            if at > before || self.next >= self.until {
                return Ok(());
            }
            if self.next.weekday().num_days_from_monday() < 5 {
                clock.set(at);
                service.record_snapshot(self.tenant_id, self.next).await?;
            }
            self.next = self.next.succ_opt().expect("far from chrono's limits");
        }
    }
}

/// One step of a script at the clock's time; when its next step is due, if it has one.
async fn step(cast: &Cast<'_>, s: &mut Script) -> Result<Option<DateTime<Utc>>, ServiceError> {
    let service = cast.service;
    let rep = &cast.reps[s.rep];
    let now = service.clock().now();
    let Some(number) = s.number else {
        let number = service
            .create_deal(rep, &s.company, s.amount, s.close, None, None)
            .await?
            .deal
            .number;
        s.number = Some(number);
        return after_stage_entered(cast, s, number).await;
    };
    // Past its expected close and still open: the rep moves the date out.
    if s.close < now.date_naive() {
        s.close = now.date_naive() + Duration::days(21 + s.rng.next(25) as i64);
        service
            .set_field(
                rep,
                number,
                &"close_date".parse().expect("a field name"),
                FieldValue::CloseDate(s.close),
            )
            .await?;
    }
    // Chance of losing it here: less the more diligent, more once pushed past a gate.
    let risk = 22 - s.diligence / 5 + if s.pushed { 12 } else { 0 };
    if s.rng.next(100) < risk {
        let reason = [
            "Chose a competitor on price",
            "No budget this year",
            "Went quiet",
        ][s.rng.next(3) as usize];
        service.lost(rep, number, reason).await?;
        return Ok(None);
    }
    let last = s.step + 1 == cast.stages;
    if s.rng.next(100) < 10 {
        s.pushed = true;
        let reason = "Pushed for the quarter; the customer is in a hurry";
        if last {
            service.won(cast.manager, number, Some(reason)).await?;
            return Ok(None);
        }
        service
            .advance(cast.manager, number, None, Some(reason))
            .await?;
    } else {
        meet_gates(service, rep, cast.manager, number).await?;
        if last {
            service.won(rep, number, None).await?;
            return Ok(None);
        }
        service.advance(rep, number, None, None).await?;
    }
    s.step += 1;
    after_stage_entered(cast, s, number).await
}

/// The rep works the stage the deal entered; its next step comes some days later.
async fn after_stage_entered(
    cast: &Cast<'_>,
    s: &mut Script,
    number: DealNumber,
) -> Result<Option<DateTime<Utc>>, ServiceError> {
    let rep = &cast.reps[s.rep];
    log_with_diligence(cast.service, rep, number, s.diligence, &mut s.rng).await?;
    Ok(Some(
        cast.service.clock().now() + Duration::days(2 + s.rng.next(9) as i64),
    ))
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
