//! The digest and the nudges as people read them: pure builders, figures in, `Reply` out.
//!
//! ```text
//! ── Forecast digest: Mon 26 Oct 2026
//!    **2026 Q4 (Oct 1 – Dec 31, 2026)**: open EUR 480,000 in 12 deals · weighted EUR 162,000 ·
//!    commit EUR 90,000 · best case EUR 140,000 · won EUR 35,000 (1)
//!    **By stage, this quarter**
//!    Qualify: 5 deals · EUR 150,000 · weighted EUR 15,000
//!    …
//!    **At risk**
//!    Stalled (2, EUR 60,000): deal-4 Globex (alex, 31 days in Discover) …
//! ```

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::replies::{deals, money};
use super::reply::{Reply, Tone};
use super::user_text::user;
use crate::engine::forecast::{Forecast, Totals};
use crate::engine::ids::StageId;
use crate::engine::playbook::Playbook;
use crate::service::{
    AckReminder, ChangedDeal, DigestFigures, LATE_STAGE_QUIET_DAYS, NudgeItem, RiskDeal, RiskGroup,
    RiskKind, Schedule, Snoozed, day_label,
};

/// How one kind of change describes a deal.
type Detail<'a> = dyn Fn(&ChangedDeal) -> String + 'a;

fn stage_name(playbook: &Playbook, id: &str) -> String {
    id.parse::<StageId>()
        .ok()
        .and_then(|s| playbook.stage(&s).map(|s| s.name.clone()))
        .unwrap_or_else(|| id.to_string())
}

/// `open EUR 480,000 in 12 deals · weighted … · commit … · best case (with commit) … · won … (1)`
fn headline(f: &Forecast, cur: &str) -> String {
    format!(
        "open {} in {} · weighted {} · commit {} · best case (with commit) {} · won {} ({})",
        money(f.open_amount(), cur),
        deals(f.open.count),
        money(f.weighted(), cur),
        money(f.commit(), cur),
        money(f.best_case(), cur),
        money(f.won_amount(), cur),
        f.won.count,
    )
}

fn totals(label: &str, t: &Totals, cur: &str) -> String {
    format!(
        "{label}: {} · {} · weighted {}",
        deals(t.count),
        money(t.amount, cur),
        money(t.weighted_minor(), cur)
    )
}

/// `/digest preview`: the digest as it would go out now, shown only to the admin who asked,
/// with its chart.
pub fn digest_preview(f: &DigestFigures, playbook: &Playbook, zone: Tz) -> anyhow::Result<Reply> {
    let mut reply = digest(f, playbook, zone).ephemeral();
    reply.image = Some(super::digest_chart::render(f, playbook)?);
    Ok(reply)
}

/// The daily digest (also `/digest preview`, which marks it ephemeral).
pub fn digest(f: &DigestFigures, playbook: &Playbook, zone: Tz) -> Reply {
    let cur = &f.currency;
    let q = &f.quarter_forecast;
    let mut r = Reply::new(format!("Forecast digest: {}", day_label(f.today)))
        .tone(Tone::Info)
        .line(format!("**{}**: {}", f.quarter.label, headline(q, cur)))
        .line(format!(
            "**{}**: {}",
            f.month.label,
            headline(&f.month_forecast, cur)
        ));

    r = r.line("**By stage, this quarter**");
    for (stage, t) in &q.by_stage {
        r = r.line(totals(&stage_name(playbook, stage.as_str()), t, cur));
    }
    if !q.by_owner.is_empty() {
        r = r.line("**By rep, this quarter**");
        for (owner, t) in &q.by_owner {
            r = r.line(totals(&user(owner), t, cur));
        }
    }
    if let Some(range) = &f.range {
        for line in super::truth_replies::range_lines(range, cur) {
            r = r.line(line);
        }
    }

    r = r.line(if f.first_digest {
        "**In the last 24 hours**".to_string()
    } else {
        format!("**Since the last digest** ({})", local_time(f.since, zone))
    });
    let c = &f.changes;
    if c.is_empty() {
        r = r.line("Nothing changed.");
    }
    let stage_move = |d: &ChangedDeal| {
        let from = d
            .from
            .as_deref()
            .map(|s| stage_name(playbook, s))
            .unwrap_or_default();
        let to =
            d.to.as_deref()
                .map(|s| stage_name(playbook, s))
                .unwrap_or_default();
        format!("{from} → {to}")
    };
    let value_change = |d: &ChangedDeal| {
        format!(
            "{} → {}",
            d.from.as_deref().unwrap_or("—"),
            d.to.as_deref().unwrap_or("—")
        )
    };
    let with_amount = |d: &ChangedDeal| money(i128::from(d.amount), cur);
    // Amounts as the field history keeps them (grouped, without the currency), with it.
    let amount_change = |d: &ChangedDeal| {
        let with_cur = |v: &str| format!("{cur} {v}");
        d.from
            .iter()
            .chain(&d.via)
            .chain(&d.to)
            .map(|v| with_cur(v))
            .collect::<Vec<_>>()
            .join(" → ")
    };
    let overridden = |d: &ChangedDeal| {
        let by =
            d.by.as_deref()
                .map_or_else(String::new, |b| format!(" by {}", user(b)));
        let why = d
            .reason
            .as_deref()
            .map_or_else(String::new, |r| format!(": “{}”", user(r)));
        format!("{}{by}{why}", stage_move(d))
    };
    let groups: [(&str, &Vec<ChangedDeal>, &Detail); 8] = [
        ("New", &c.new, &with_amount),
        ("Advanced", &c.advanced, &stage_move),
        ("Moved back", &c.moved_back, &stage_move),
        ("Won", &c.won, &with_amount),
        ("Lost", &c.lost, &with_amount),
        (
            "Close date slipped out of the period",
            &c.slipped,
            &value_change,
        ),
        ("Amount changed", &c.amounts, &amount_change),
        ("Gates overridden", &c.overrides, &overridden),
    ];
    for (label, list, detail) in groups {
        if list.is_empty() {
            continue;
        }
        let shown: Vec<String> = list
            .iter()
            .take(crate::service::LIST_LIMIT)
            .map(|d| {
                format!(
                    "{} {} ({}, {})",
                    d.number,
                    user(&d.name),
                    user(&d.owner),
                    detail(d)
                )
            })
            .collect();
        let more = list.len().saturating_sub(crate::service::LIST_LIMIT);
        let more = if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        };
        r = r.line(format!(
            "{label} ({}): {}{more}",
            list.len(),
            shown.join("; ")
        ));
    }

    r = r.line("**At risk**");
    if f.risks.iter().all(|g| g.count == 0) {
        r = r.line("Nothing at risk.");
    }
    for g in f.risks.iter().filter(|g| g.count > 0) {
        r = r.line(risk_line(g, playbook, cur));
    }
    if !f.week.is_empty() {
        r = r.line("**The process last week** (deals that left a stage in the last seven days)");
        for s in &f.week {
            let t = &s.team;
            let coverage = t
                .coverage
                .map(|c| format!(" · recommended activities done {c}%"))
                .unwrap_or_default();
            let days = t
                .median_days
                .map(|d| format!(" · median {d:.1} days in stage"))
                .unwrap_or_default();
            r = r.line(format!(
                "{}: {} left · gates met {} of {}, overridden {}{coverage}{days}",
                user(&s.name),
                t.exits,
                t.met,
                t.forward,
                t.overridden
            ));
        }
        r = r.line("`/coach` has each rep's figures beside the team's.");
    }
    if let Some(m) = &f.movement {
        r = r.line(super::truth_replies::movement_summary(m));
    }
    if let Some(closed) = &f.closed_quarter {
        r = r.line(super::truth_replies::closed_period_summary(closed));
    }
    r
}

fn risk_line(g: &RiskGroup, playbook: &Playbook, cur: &str) -> String {
    let label = match g.kind {
        RiskKind::OutOfProcess => "⚠ Out of process".to_string(),
        RiskKind::Stalled => "Stalled".to_string(),
        RiskKind::Overdue => "Close date passed".to_string(),
        RiskKind::QuietLateStage => {
            format!("Late stage, no activity in {LATE_STAGE_QUIET_DAYS} days")
        }
    };
    let detail = |d: &RiskDeal| match g.kind {
        RiskKind::Overdue => format!("was due {}", d.close_date.format("%-d %b")),
        RiskKind::OutOfProcess => {
            let first = d
                .first_broken
                .as_ref()
                .map_or_else(String::new, |(stage, what)| {
                    format!(": {what} [{}]", stage_name(playbook, stage.as_str()))
                });
            format!(
                "now in {}, {} of a stage it left no longer met{first}",
                stage_name(playbook, d.stage.as_str()),
                match d.out_of_process {
                    1 => "1 requirement".to_string(),
                    n => format!("{n} requirements"),
                },
            )
        }
        _ => format!(
            "{} days in {}",
            d.days_in_stage,
            stage_name(playbook, d.stage.as_str())
        ),
    };
    let shown: Vec<String> = g
        .top
        .iter()
        .map(|d| {
            format!(
                "{} {} ({}, {}, {})",
                d.number,
                user(&d.name),
                user(&d.owner),
                money(i128::from(d.amount), cur),
                detail(d)
            )
        })
        .collect();
    let more = (g.count as usize).saturating_sub(g.top.len());
    let more = if more > 0 {
        format!("; and {more} more")
    } else {
        String::new()
    };
    format!(
        "{label} ({}, {}): {}{more}",
        g.count,
        money(i128::from(g.amount), cur),
        shown.join("; ")
    )
}

fn local_time(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .format("%a %-d %b %H:%M")
        .to_string()
}

/// `/digest setup` done.
pub fn digest_scheduled(s: &Schedule) -> Reply {
    let days = if s.digest.weekdays_only {
        "Monday to Friday"
    } else {
        "every day"
    };
    let fiscal = u8::try_from(s.fiscal_start_month)
        .ok()
        .and_then(|n| chrono::Month::try_from(n).ok())
        .map_or("January", |m| m.name());
    Reply::new("Digest scheduled")
        .tone(Tone::Success)
        .line(format!(
            "The forecast digest goes to {} at {} ({}), {days}. `/digest preview` shows it now.",
            s.digest_channel.as_deref().unwrap_or("?"),
            s.digest.at.format("%H:%M"),
            s.digest.zone.name()
        ))
        .line(format!(
            "The fiscal year starts in {fiscal}; the digest's quarters follow it."
        ))
}

/// `/nudges setup` done.
pub fn nudges_scheduled(s: &Schedule) -> Reply {
    let reps = if s.nudges_to_reps {
        " Reps get their own list too."
    } else {
        ""
    };
    Reply::new("Coaching nudges scheduled")
        .tone(Tone::Success)
        .line(format!(
            "Each manager gets a DM about their reps' deals at {} ({}) on working days. \
             The same nudge is not repeated within {} days.{reps} Whoever has not \
             acknowledged a playbook change {} days after it was applied is reminded in them.",
            s.nudges.at.format("%H:%M"),
            s.nudges.zone.name(),
            s.nudge_repeat_days,
            s.ack_remind_days
        ))
}

/// `/nudges snooze` done.
pub fn snoozed(s: &Snoozed) -> Reply {
    Reply::new(format!("{} snoozed", s.number))
        .tone(Tone::Success)
        .ephemeral()
        .line(format!(
            "No coaching nudges about {} {} until {} (inclusive).",
            s.number,
            user(&s.name),
            s.until.format("%a %-d %b")
        ))
        .line(format!("Why: {}", user(&s.reason)))
}

/// A coaching DM: to a manager about their reps (`about_team`), or to a rep about their own.
pub fn nudges(
    items: &[NudgeItem],
    currency: &str,
    about_team: bool,
    unacknowledged: Option<&AckReminder>,
) -> Reply {
    use crate::engine::nudge::Reason;
    let title = match (items.len(), about_team) {
        (0, _) => match unacknowledged {
            Some(a) => format!("Playbook version {} is not acknowledged yet", a.version),
            None => "Nothing to look at today".to_string(),
        },
        (1, true) => "Coaching: 1 deal on your team to look at".to_string(),
        (n, true) => format!("Coaching: {n} deals on your team to look at"),
        (1, false) => "1 of your deals needs attention".to_string(),
        (n, false) => format!("{n} of your deals need attention"),
    };
    let mut r = Reply::new(title).tone(Tone::Info);
    for item in items {
        let facts: Vec<String> = item
            .reasons
            .iter()
            .map(|reason| match reason {
                Reason::Stalled { days, threshold } => {
                    format!("{days} days in {} (stalls after {threshold})", item.stage)
                }
                Reason::ThinCoverage { done, of, days } => {
                    format!("{done} of {of} recommended activities done after {days} days")
                }
                Reason::Slipped {
                    close_date,
                    days_late,
                } => format!(
                    "close date {} passed {days_late} day{} ago",
                    close_date.format("%-d %b"),
                    if *days_late == 1 { "" } else { "s" }
                ),
                Reason::Overridden { times: 1 } => "a gate was overridden".to_string(),
                Reason::Overridden { times } => format!("gates overridden {times} times"),
                Reason::OutOfProcess { broken } => format!(
                    "⚠ out of process: {} of a stage it left no longer met (`/deal show {}` \
                     says which; a manager approves or overrides)",
                    match broken {
                        1 => "1 requirement".to_string(),
                        n => format!("{n} requirements"),
                    },
                    item.number
                ),
            })
            .collect();
        r = r.line(format!(
            "**{} {}** ({}, {}, {}): {}.",
            item.number,
            user(&item.name),
            user(&item.owner),
            item.stage,
            money(i128::from(item.amount), currency),
            facts.join("; ")
        ));
        if !item.suggestions.is_empty() {
            let next: Vec<String> = item
                .suggestions
                .iter()
                .map(|(id, name)| format!("{name} (`/log {} {id}`)", item.number))
                .collect();
            r = r.line(format!("Next: {}", next.join(", ")));
        }
    }
    if let Some(a) = unacknowledged {
        let mut who: Vec<String> = Vec::new();
        if a.you {
            who.push("you".to_string());
        }
        who.extend(a.others.iter().map(user));
        r = r.line(format!(
            "**Playbook version {}** (applied {}) is not acknowledged yet by {}. \
             `/playbook history` says what changed; **Got it** on its message, or \
             `/playbook ack {}`, says it was read.",
            a.version,
            a.applied.format("%-d %b"),
            who.join(", "),
            a.version
        ));
    }
    if about_team && !items.is_empty() {
        r = r.line("`/nudges snooze deal days reason` silences a deal you are already on.");
    }
    r
}
