//! Pure builders: service results in, `Reply` out. Everything a person reads about a deal,
//! a refusal, the playbook or the forecast is worded here, once, for every platform.

use crate::engine::forecast::Totals;
use crate::engine::gates::{GateCheck, Remedy};
use crate::engine::ids::{DealNumber, StageId, format_minor};
use crate::engine::playbook::{FieldRule, Playbook, Role, Stage};
use crate::engine::transition::{Refusal, TransitionKind};
use crate::service::{
    ApprovalRequest, Approved, DealSummary, DealView, ForecastView, LoggedOutcome, Moved,
    ProcessAlert, TeamMember, UserRef,
};

use super::press::Press;
use super::reply::{Notify, Reply, Tone};
use super::user_text::user;

/// `USD 12,500` from minor units, to the currency's precision (a weighted yen figure is whole
/// yen).
pub fn money(minor: i128, currency: &str) -> String {
    let shown = crate::engine::currency::round(minor, currency);
    format!("{currency} {}", format_minor(shown))
}

fn stage_tone(playbook: &Playbook, stage: &Stage) -> Tone {
    match stage.outcome {
        Some(crate::engine::playbook::Outcome::Won) => Tone::Success,
        // A lost deal is an outcome to read, not an error to fix.
        Some(crate::engine::playbook::Outcome::Lost) => Tone::Info,
        None => {
            let open: Vec<_> = playbook.open_stages().collect();
            let index = open.iter().position(|s| s.id == stage.id).unwrap_or(0);
            Tone::Stage {
                index: index as u8,
                of: open.len() as u8,
            }
        }
    }
}

fn stage_name(playbook: &Playbook, id: &crate::engine::ids::StageId) -> String {
    playbook
        .stage(id)
        .map_or_else(|| id.to_string(), |s| s.name.clone())
}

/// The command line that meets a gate, e.g. `/log deal-42 discovery-call`.
pub fn remedy_command(number: DealNumber, remedy: &Remedy) -> String {
    match remedy {
        Remedy::LogActivity { activity, .. } => format!("/log {number} {activity}"),
        Remedy::SetField { field, rule } => {
            let example = match (field.as_str(), rule) {
                ("close_date", _) | (_, FieldRule::FutureDate) => "YYYY-MM-DD".to_string(),
                ("amount", _) | (_, FieldRule::Positive) => "50000".to_string(),
                (_, FieldRule::MinLength(n)) => format!("\"at least {n} characters of evidence\""),
                _ => "\"…\"".to_string(),
            };
            format!("/deal set {number} {field} {example}")
        }
        Remedy::Approval { .. } => format!("/approve {number}"),
    }
}

/// How to meet one unmet gate, in a sentence with the command.
fn how_to_meet(number: DealNumber, check: &GateCheck) -> String {
    let cmd = remedy_command(number, &check.remedy);
    match &check.remedy {
        Remedy::LogActivity {
            activity,
            remaining,
        } if *remaining > 1 => {
            format!("log `{activity}` {remaining} more times: `{cmd}`")
        }
        Remedy::LogActivity { activity, .. } => format!("log `{activity}`: `{cmd}`"),
        Remedy::SetField { field, .. } => format!("set `{field}`: `{cmd}`"),
        Remedy::Approval { role } => {
            let who = if *role == Role::Admin {
                "an admin"
            } else {
                "the owner's manager"
            };
            format!("{who} approves: `{cmd}`")
        }
    }
}

fn check_line(number: DealNumber, check: &GateCheck) -> String {
    let progress = check
        .progress
        .as_ref()
        .map(|p| format!(" ({p})"))
        .unwrap_or_default();
    if !check.applies {
        format!("➖ {}{progress}", check.requirement)
    } else if check.met {
        format!("✅ {}{progress}", check.requirement)
    } else {
        format!(
            "❌ {}{progress} — {}",
            check.requirement,
            how_to_meet(number, check)
        )
    }
}

/// A deal as `/deal show` shows it; other replies start from this.
pub fn deal_card(view: &DealView, playbook: &Playbook, title: impl Into<String>) -> Reply {
    use crate::engine::deal::DealStatus;
    let d = &view.deal;
    let currency = &playbook.currency;
    let stage = playbook.stage(&d.stage);
    let probability = stage.map_or(0, |s| s.probability.percent());
    let mut reply = Reply::new(title)
        .field(
            "Stage",
            format!("{} ({}%)", stage_name(playbook, &d.stage), probability),
        )
        .field("Amount", money(i128::from(d.amount.minor()), currency));
    // An open deal reads as a bet (weighted, expected date); a closed one as its outcome, dated
    // the day it closed.
    reply = match d.status {
        DealStatus::Open => {
            let weighted =
                crate::engine::forecast::deal_weighted(playbook, &d.stage, d.amount.minor());
            reply
                .field("Weighted", money(weighted, currency))
                .field("Close date", d.close_date.to_string())
        }
        DealStatus::Won => reply.field("Won on", d.close_date.to_string()),
        DealStatus::Lost => reply.field("Lost on", d.close_date.to_string()),
    };
    reply = reply.field("Owner", user(&view.owner.display_name));
    if let Some(s) = stage {
        reply = reply.tone(stage_tone(playbook, s));
    }
    if d.status == DealStatus::Open {
        let stalled = if view.stalled { " ⚠ stalled" } else { "" };
        reply = reply.field("In stage", format!("{} days{stalled}", view.days_in_stage));
    }
    for (name, value) in &d.fields {
        let label = playbook
            .custom_field(name)
            .map_or_else(|| name.to_string(), |f| f.name.clone());
        reply.fields.push(super::reply::Field {
            name: label,
            value: user(value),
            inline: false,
        });
    }
    if !view.out_of_process.is_empty() {
        reply.lines.push(format!(
            "⚠ **Out of process**: {} no longer met since the deal left the stage (met again, or \
             a manager's `override` on its next move, puts it back):",
            counted(view.out_of_process.len(), "requirement", "requirements")
        ));
        for check in &view.out_of_process {
            reply.lines.push(format!(
                "{} [{}]",
                check_line(d.number, check),
                stage_name(playbook, &check.stage)
            ));
        }
    }
    if !view.checks.is_empty() {
        let stage_label = stage.map_or_else(|| d.stage.to_string(), |s| s.name.clone());
        reply.lines.push(format!("**To leave {stage_label}:**"));
        reply
            .lines
            .extend(view.checks.iter().map(|c| check_line(d.number, c)));
    }
    if let (Some(cov), Some(s)) = (&view.coverage, stage) {
        let total = cov.done.len() + cov.not_done.len();
        if total > 0 {
            reply.lines.push(format!(
                "Recommended activities: {} of {total} done ({}%).",
                cov.done.len(),
                cov.percent()
            ));
            if !cov.not_done.is_empty() {
                let names: Vec<String> = cov
                    .not_done
                    .iter()
                    .map(|id| activity_label(s, id))
                    .collect();
                reply.lines.push(format!("Not yet: {}.", names.join(", ")));
            }
        }
    }
    reply
}

fn activity_label(stage: &Stage, id: &crate::engine::ids::ActivityId) -> String {
    stage
        .activities
        .iter()
        .find(|a| &a.id == id)
        .map_or_else(|| format!("`{id}`"), |a| format!("{} (`{id}`)", a.name))
}

pub fn deal_shown(view: &DealView, playbook: &Playbook) -> Reply {
    let mut reply = deal_card(
        view,
        playbook,
        format!("{} · {}", view.deal.number, user(&view.deal.name)),
    );
    if let Some(last) = view.recent_activities.first() {
        reply.lines.push(format!(
            "Last activity: `{}` on {}.",
            last.activity,
            last.at.date_naive()
        ));
    }
    let overrides = view.history.iter().filter(|h| h.overridden).count();
    if overrides > 0 {
        let times = match overrides {
            1 => "once".to_string(),
            2 => "twice".to_string(),
            n => format!("{n} times"),
        };
        reply
            .lines
            .push(format!("Gates overridden {times} in this deal's history."));
    }
    reply.ephemeral()
}

pub fn deal_created(view: &DealView, playbook: &Playbook) -> Reply {
    let mut reply = deal_card(
        view,
        playbook,
        format!("Created {} · {}", view.deal.number, user(&view.deal.name)),
    );
    reply.lines.push(format!(
        "Log work with `/log {} <activity>`; `/playbook {}` lists what to do in this stage.",
        view.deal.number, view.deal.stage
    ));
    reply
}

/// `/deal set`: the card as it is now. The value is recorded whatever it is (the data stays
/// true); if it leaves a gate the deal passed unmet, the card says so and offers to ask the
/// owner's manager for the approval that would put it back.
pub fn field_set(view: &DealView, playbook: &Playbook, field: &str) -> Reply {
    let mut reply = deal_card(
        view,
        playbook,
        format!("Updated `{field}` of {}", view.deal.number),
    )
    .ephemeral();
    if view
        .out_of_process
        .iter()
        .any(|c| matches!(c.remedy, Remedy::Approval { .. }))
    {
        reply = reply.button(
            "Ask for approval",
            Press::AskApproval {
                deal: view.deal.number,
            },
        );
    }
    reply
}

pub fn approved(approved: &Approved, playbook: &Playbook, approver: &str) -> Reply {
    let view = &approved.view;
    let stage = stage_name(playbook, &approved.stage);
    deal_card(
        view,
        playbook,
        if approved.stage == view.deal.stage {
            format!(
                "{} approved {} in {stage}",
                user(approver),
                view.deal.number
            )
        } else {
            format!(
                "{} approved {} for {stage}, a stage it has left",
                user(approver),
                view.deal.number
            )
        },
    )
    .tone(Tone::Success)
}

pub fn logged(outcome: &LoggedOutcome, playbook: &Playbook) -> Reply {
    let view = &outcome.view;
    let number = view.deal.number;
    let mut reply = Reply::new(format!("Logged {} on {number}", outcome.activity_name))
        .tone(Tone::Success)
        .ephemeral();
    if !outcome.recommended_here {
        reply.lines.push(format!(
            "`{}` is not one of this stage's recommended activities; it is recorded all the same.",
            outcome.activity
        ));
    }
    if let Some(cov) = &view.coverage {
        let total = cov.done.len() + cov.not_done.len();
        if total > 0 {
            reply.lines.push(format!(
                "Recommended activities in this stage: {} of {total} done.",
                cov.done.len()
            ));
        }
    }
    let unmet: Vec<&GateCheck> = view.checks.iter().filter(|c| !c.met).collect();
    if unmet.is_empty() {
        let stage = stage_name(playbook, &view.deal.stage);
        reply.lines.push(format!(
            "Every requirement to leave {stage} is met: `/advance {number}`."
        ));
    } else {
        reply
            .lines
            .push(format!("Still needed to advance ({}):", unmet.len()));
        reply
            .lines
            .extend(unmet.iter().map(|c| check_line(number, c)));
    }
    reply
}

pub fn moved(m: &Moved, playbook: &Playbook, actor: &str) -> Reply {
    let d = &m.view.deal;
    let currency = &playbook.currency;
    let to = stage_name(playbook, &m.transition.to);
    let from = stage_name(playbook, &m.transition.from);
    let title = match m.transition.kind {
        TransitionKind::Advance => format!("{} advanced to {to}", d.number),
        TransitionKind::Back => format!("{} moved back to {to}", d.number),
        TransitionKind::Won => format!("{} won 🎉", d.number),
        TransitionKind::Lost => format!("{} lost", d.number),
    };
    let mut reply = deal_card(&m.view, playbook, title);
    let actor = user(actor);
    let name = user(&d.name);
    let reason = user(m.transition.reason.as_deref().unwrap_or(""));
    let probability = playbook
        .stage(&m.transition.to)
        .map_or(0, |s| s.probability.percent());
    match m.transition.kind {
        TransitionKind::Won => reply.lines.insert(
            0,
            format!("{actor} closed **{name}** won: {} booked.", money(i128::from(d.amount.minor()), currency)),
        ),
        TransitionKind::Lost => reply.lines.insert(
            0,
            format!(
                "{actor} closed **{name}** lost from {from}. Reason: {reason}"
            ),
        ),
        _ => reply.lines.insert(
            0,
            format!(
                "{actor} moved **{name}** from {from} to {to}: probability {probability}%, weighted {} (was {}).",
                money(m.weighted_after, currency),
                money(m.weighted_before, currency)
            ),
        ),
    }
    if m.transition.kind == TransitionKind::Back && m.transition.reason.is_some() {
        reply.lines.insert(1, format!("Reason: {reason}"));
    }
    if !m.transition.overridden.is_empty() {
        reply.lines.insert(
            1,
            format!(
                "⚠ Override by {actor}: {reason}. Requirements passed without being met: {}.",
                m.transition
                    .overridden
                    .iter()
                    .map(|c| c.requirement.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        );
    }
    reply
}

/// A refused move: every unmet requirement with how to meet it, then the suggestions, clearly
/// apart. Private to the person who asked.
pub fn refused(
    number: DealNumber,
    refusal: &Refusal,
    playbook: &Playbook,
    deal_stage: Option<&Stage>,
) -> Reply {
    match refusal {
        Refusal::GatesUnmet {
            unmet,
            suggestions,
            kind,
            to,
        } => {
            let here = deal_stage.map_or_else(|| "its stage".to_string(), |s| s.name.clone());
            let mut reply = Reply::new(format!("{number} can't leave {here} yet"))
                .tone(Tone::Refusal)
                .ephemeral();
            reply
                .lines
                .push(format!("**Requirements not met ({}):**", unmet.len()));
            for check in unmet {
                let stage_note = if deal_stage.is_some_and(|s| s.id != check.stage) {
                    format!(" [{}]", stage_name(playbook, &check.stage))
                } else {
                    String::new()
                };
                reply
                    .lines
                    .push(format!("{}{stage_note}", check_line(number, check)));
                match &check.remedy {
                    Remedy::LogActivity { activity, .. } => {
                        reply = reply.button(
                            format!("Log {activity}"),
                            Press::Log {
                                deal: number,
                                activity: activity.clone(),
                            },
                        );
                    }
                    // The rep cannot approve; the button asks the owner's manager, who can.
                    Remedy::Approval { .. }
                        if !reply
                            .buttons
                            .iter()
                            .any(|b| matches!(b.press, Press::AskApproval { .. })) =>
                    {
                        reply =
                            reply.button("Ask for approval", Press::AskApproval { deal: number });
                    }
                    _ => {}
                }
            }
            if !suggestions.is_empty() {
                reply.lines.push(
                    "**Suggested, not required** (recommended activities not yet done):"
                        .to_string(),
                );
                for id in suggestions {
                    let label =
                        deal_stage.map_or_else(|| format!("`{id}`"), |s| activity_label(s, id));
                    reply.lines.push(format!("• {label}: `/log {number} {id}`"));
                }
            }
            let passing = override_command(number, *kind, to, playbook, deal_stage);
            reply.lines.push(format!(
                "A manager can pass unmet requirements with a reason: `{passing}`."
            ));
            reply
        }
        other => Reply::new(format!("{number} cannot move"))
            .line(capitalise(&other.to_string()) + ".")
            .tone(Tone::Refusal)
            .ephemeral(),
    }
}

/// The command that makes the refused move with a manager's override: the same command, to the
/// same stage, so following the hint never leads to another refusal of a different kind.
fn override_command(
    number: DealNumber,
    kind: TransitionKind,
    to: &StageId,
    playbook: &Playbook,
    deal_stage: Option<&Stage>,
) -> String {
    let next = deal_stage.and_then(|s| playbook.next_open_stage(&s.id));
    match kind {
        TransitionKind::Won => format!("/won {number} override:\"why\""),
        _ if next.is_some_and(|s| &s.id == to) => format!("/advance {number} override:\"why\""),
        _ => format!("/advance {number} to:{to} override:\"why\""),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| {
        f.to_uppercase().collect::<String>() + c.as_str()
    })
}

/// Whose deals `/deal list` shows, for its heading: the owner asked for, or by default what
/// the caller's role sees (a rep their own, a manager their team's, an admin everyone's).
pub fn whose_deals(owner: Option<&UserRef>, stage: Option<&StageId>, role: Role) -> String {
    let whose = match (owner, role) {
        (Some(o), _) => user(o.to_string()),
        (None, Role::Rep) => "yours".to_string(),
        (None, Role::Manager) => "your team's".to_string(),
        (None, Role::Admin) => "everyone's".to_string(),
    };
    match stage {
        Some(s) => format!("{whose}, in {s}"),
        None => whose,
    }
}

/// `/deal list`: one line per deal, `whose` (see `whose_deals`) in the heading.
pub fn deal_list(deals: &[DealSummary], playbook: &Playbook, whose: &str) -> Reply {
    let mut reply = Reply::new(format!("Deals: {whose}")).ephemeral();
    if deals.is_empty() {
        reply.lines.push(
            "No deals here. Create one with `/deal new \"Name\" 25000 2026-12-31`.".to_string(),
        );
        return reply;
    }
    for s in deals {
        let d = &s.deal;
        let stalled = if s.stalled { " ⚠ stalled" } else { "" };
        let out = match s.out_of_process.as_slice() {
            [] => String::new(),
            [first, rest @ ..] => format!(
                " ⚠ out of process: {} [{}]{}",
                first.requirement,
                stage_name(playbook, &first.stage),
                if rest.is_empty() {
                    String::new()
                } else {
                    format!(" and {} more", rest.len())
                }
            ),
        };
        reply.lines.push(format!(
            "`{}` **{}** · {} · {} · closes {} · {}{out}{stalled}",
            d.number,
            user(&d.name),
            stage_name(playbook, &d.stage),
            money(i128::from(d.amount.minor()), &playbook.currency),
            d.close_date,
            user(&s.owner)
        ));
    }
    if deals.len() >= 50 {
        reply.lines.push(
            "Showing the first 50; filter by `owner:` or `stage:` to see others.".to_string(),
        );
    }
    reply
}

/// Each gate of `stage` as the playbook labels it, or described.
pub(crate) fn gate_summary(playbook: &Playbook, stage: &Stage) -> Vec<String> {
    stage
        .gates
        .iter()
        .map(|g| {
            g.label
                .clone()
                .unwrap_or_else(|| crate::engine::gates::describe(playbook, g))
        })
        .collect()
}

/// `/playbook`: every stage at a glance, or one stage in full.
pub fn playbook_view(playbook: &Playbook, stage: Option<&Stage>) -> Reply {
    match stage {
        None => {
            let mut reply = Reply::new(format!("Playbook: {}", playbook.name)).ephemeral();
            for (i, s) in playbook.stages.iter().enumerate() {
                let kind = match s.outcome {
                    Some(crate::engine::playbook::Outcome::Won) => " (closed won)".to_string(),
                    Some(crate::engine::playbook::Outcome::Lost) => " (closed lost)".to_string(),
                    None => format!(
                        " · {} recommended activities · {}",
                        s.activities.len(),
                        counted(s.gates.len(), "gate", "gates")
                    ),
                };
                reply.lines.push(format!(
                    "{}. **{}** `{}` · {}% · {}{kind}",
                    i + 1,
                    s.name,
                    s.id,
                    s.probability.percent(),
                    s.forecast_category.label()
                ));
            }
            reply
                .lines
                .push("`/playbook <stage>` shows a stage's activities and gates.".to_string());
            reply
        }
        Some(s) => {
            let mut reply = Reply::new(format!("{} · {}%", s.name, s.probability.percent()))
                .tone(stage_tone(playbook, s))
                .ephemeral();
            if let Some(d) = &s.description {
                reply.lines.push(d.clone());
            }
            reply = reply.field("Forecast category", s.forecast_category.label());
            if let Some(days) = s.stall_after_days {
                reply = reply.field("Stalls after", format!("{days} days"));
            }
            if !s.activities.is_empty() {
                reply
                    .lines
                    .push("**Recommended activities** (guidance, not required):".to_string());
                for a in &s.activities {
                    let hint = a
                        .hint
                        .as_ref()
                        .map(|h| format!(" — {h}"))
                        .unwrap_or_default();
                    reply.lines.push(format!("• {} `{}`{hint}", a.name, a.id));
                }
            }
            let gates = gate_summary(playbook, s);
            if !gates.is_empty() {
                reply
                    .lines
                    .push("**Gates** (required to advance):".to_string());
                reply
                    .lines
                    .extend(gates.into_iter().map(|g| format!("• {g}")));
            }
            reply
        }
    }
}

/// "1 deal", "3 deals".
pub(crate) fn deals(n: u64) -> String {
    counted(n as usize, "deal", "deals")
}

/// `1 gate`, `3 gates`.
fn counted(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn totals_line(label: &str, t: &Totals, currency: &str) -> String {
    format!(
        "{label}: {} · {} · weighted {}",
        deals(t.count),
        money(t.amount, currency),
        money(t.weighted_minor(), currency)
    )
}

pub fn forecast_view(view: &ForecastView, playbook: &Playbook) -> Reply {
    let f = &view.forecast;
    let c = &view.currency;
    let mut reply = Reply::new(format!(
        "Forecast · {} · {}",
        user(&view.scope),
        view.period.label
    ))
    .field("Open pipeline", money(f.open_amount(), c))
    .field("Weighted", money(f.weighted(), c))
    .field("Commit", money(f.commit(), c))
    .field("Best case (with commit)", money(f.best_case(), c))
    .field("Closed won", money(f.won_amount(), c))
    .ephemeral();
    reply.lines.push(format!(
        "{} open; {} won in the period.",
        deals(f.open.count),
        f.won.count
    ));
    reply.lines.push("**By stage**".to_string());
    for (id, t) in &f.by_stage {
        let name = stage_name(playbook, id);
        let p = playbook.stage(id).map_or(0, |s| s.probability.percent());
        reply.lines.push(format!(
            "• {}",
            totals_line(&format!("{name} ({p}%)"), t, c)
        ));
    }
    if !f.by_owner.is_empty() {
        reply.lines.push("**By owner**".to_string());
        reply.lines.extend(
            f.by_owner
                .iter()
                .map(|(o, t)| format!("• {}", totals_line(&user(o), t, c))),
        );
    }
    if f.by_month.len() > 1 {
        reply.lines.push("**By close month**".to_string());
        reply.lines.extend(
            f.by_month
                .iter()
                .map(|(m, t)| format!("• {}", totals_line(&m.to_string(), t, c))),
        );
    }
    if f.by_quarter.len() > 1 {
        reply.lines.push("**By quarter**".to_string());
        reply.lines.extend(
            f.by_quarter
                .iter()
                .map(|(q, t)| format!("• {}", totals_line(&q.to_string(), t, c))),
        );
    }
    reply
}

/// A rep's request that the owner's manager approve a deal in its stage, as posted in the
/// channel; each platform adds its own mention of the approver and an Approve button.
/// A pressed button that did nothing, and why (a stale or forged button value).
pub fn button_refused(why: &str) -> Reply {
    Reply::new("That button did nothing")
        .line(why)
        .tone(Tone::Refusal)
        .ephemeral()
}

pub fn approval_requested(req: &ApprovalRequest, asker: &str, playbook: &Playbook) -> Reply {
    let d = &req.deal;
    let stage = stage_name(playbook, &d.stage);
    Reply::new(format!(
        "Approval requested for {} · {}",
        d.number,
        user(&d.name)
    ))
    .line(format!(
        "{} asks {} to approve {} in {stage}: `/approve {}`.",
        user(asker),
        user(&req.approver.display_name),
        d.number,
        d.number
    ))
    .field(
        "Amount",
        money(i128::from(d.amount.minor()), &playbook.currency),
    )
    .field("Owner", user(&req.owner.display_name))
    .field("Stage", stage)
    .tone(Tone::Info)
    .notify(Notify {
        user_key: req.approver.user_key.clone(),
        display_name: req.approver.display_name.clone(),
        why: "your approval is asked for.".to_string(),
    })
    .button(
        format!("Approve {}", d.number),
        Press::Approve { deal: d.number },
    )
}

/// The DM to a manager when a change puts one of their team's deals out of process: what
/// changed, what no longer holds, and the commands that put it right.
pub fn process_alert(alert: &ProcessAlert, playbook: &Playbook) -> Reply {
    let d = &alert.deal;
    let currency = &playbook.currency;
    let shown = |value: &str| match alert.field.as_str() {
        "amount" => format!("{currency} {value}"),
        _ => user(value),
    };
    let change = match &alert.old {
        Some(old) => format!("from {} to {}", shown(old), shown(&alert.new)),
        None => format!("to {}", shown(&alert.new)),
    };
    let mut reply = Reply::new(format!(
        "⚠ {} · {} is out of process",
        d.number,
        user(&d.name)
    ))
    .line(format!(
        "{} set {} {change}, and {} since the deal left the stage:",
        user(&alert.changed_by),
        alert.field,
        match alert.broken.len() {
            1 => "a requirement is no longer met".to_string(),
            n => format!("{n} requirements are no longer met"),
        }
    ))
    .tone(Tone::Refusal);
    for check in &alert.broken {
        reply.lines.push(format!(
            "• [{}] {}",
            stage_name(playbook, &check.stage),
            check.requirement
        ));
    }
    let approval = alert
        .broken
        .iter()
        .any(|c| matches!(c.remedy, Remedy::Approval { .. }));
    reply.lines.push(if approval {
        format!(
            "`/approve {}` gives the approval; until then, or until a manager's \
             `/advance {} override:\"why\"`, it cannot move on.",
            d.number, d.number
        )
    } else {
        format!(
            "It cannot move on until the requirement is met again or a manager passes it with \
             `/advance {} override:\"why\"`.",
            d.number
        )
    });
    reply = reply
        .field("Amount", money(i128::from(d.amount.minor()), currency))
        .field("Owner", user(&alert.owner.display_name))
        .field("Stage", stage_name(playbook, &d.stage));
    if approval {
        reply = reply.button(
            format!("Approve {}", d.number),
            Press::Approve { deal: d.number },
        );
    }
    reply
}

pub fn team_visibility(open: bool) -> Reply {
    let line = if open {
        "Everyone now sees every deal, read only: `/deal show`, `/deal list @name`, `/forecast \
         @name` and the suggestions as you type. Acting on a deal keeps its rule."
    } else {
        "Each member now sees their own deals; managers their reps' too; admins all."
    };
    Reply::new("Who sees which deals")
        .line(line)
        .tone(Tone::Success)
}

pub fn team_view(team: &[TeamMember]) -> Reply {
    let mut reply = Reply::new("Team").ephemeral();
    for t in team {
        let manager = t
            .manager
            .as_ref()
            .map(|m| format!(", reports to {}", user(m)))
            .unwrap_or_default();
        reply.lines.push(format!(
            "• {} — {}{manager}",
            user(&t.member.display_name),
            t.member.role
        ));
    }
    reply
}

pub fn team_set(t: &TeamMember) -> Reply {
    let manager = t
        .manager
        .as_ref()
        .map(|m| format!(", reporting to {}", user(m)))
        .unwrap_or_default();
    Reply::new(format!(
        "{} is now a {}{manager}",
        user(&t.member.display_name),
        t.member.role
    ))
    .tone(Tone::Success)
}

/// A user error: the text says what was wrong and what would be right.
pub fn user_error(text: &str) -> Reply {
    Reply::new("That didn't work")
        .line(text)
        .tone(Tone::Error)
        .ephemeral()
}

/// An internal error: only a reference the operator can find in the log.
/// The title of a failure on our side, and only of that: how metrics tell it from a refusal.
pub const INTERNAL_ERROR_TITLE: &str = "Something went wrong on our side";

pub fn internal_error(reference: &str) -> Reply {
    Reply::new(INTERNAL_ERROR_TITLE)
        .line(format!(
            "Nothing was changed. If it happens again, give your admin this reference: `{reference}`."
        ))
        .tone(Tone::Error)
        .ephemeral()
}
