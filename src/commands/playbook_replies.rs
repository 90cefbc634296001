//! Replies about the playbook as a living definition: its version, its history, a proposed
//! change previewed, and a change applied.

use crate::engine::adherence::{StageFigures, WinRate};
use crate::engine::playbook::{Playbook, Stage};
use crate::service::{
    Acknowledged, Acknowledgements, Applied, CalibrationView, ChangeNotice, CoachView,
    EvidenceView, PlaybookVersion, Preview,
};

use super::press::Press;
use super::replies::{money, playbook_view};
use super::reply::{Reply, Tone};
use super::user_text::user;

/// How many deals a preview names in one line before it says "and N more".
const DEALS_NAMED: usize = 12;

/// `/playbook [stage]` with the version in force and since when.
pub fn playbook_shown(
    playbook: &Playbook,
    stage: Option<&Stage>,
    version: &PlaybookVersion,
) -> Reply {
    let mut reply = playbook_view(playbook, stage);
    reply.fields.insert(
        0,
        super::reply::Field {
            name: "Version".to_string(),
            value: format!(
                "{} · in force since {}",
                version.version,
                version.at.format("%Y-%m-%d")
            ),
            inline: true,
        },
    );
    reply
}

/// `/playbook history`: newest first.
pub fn playbook_history(versions: &[PlaybookVersion]) -> Reply {
    let mut reply = Reply::new("Playbook versions").ephemeral();
    for v in versions {
        let who = match &v.changed_by {
            Some(by) => format!(" by {}", user(by)),
            None => " (the workspace's first)".to_string(),
        };
        reply.lines.push(format!(
            "**Version {}** · {}{who} · `{}`",
            v.version,
            v.at.format("%Y-%m-%d %H:%M UTC"),
            user(&v.reference)
        ));
        if let Some(reason) = &v.reason {
            reply.lines.push(format!("  Why: {}", user(reason)));
        }
        for change in &v.summary {
            reply.lines.push(format!("  • {}", user(change)));
        }
    }
    reply
}

/// How the person reading a preview applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmBy {
    /// A button, or `/playbook confirm N`.
    Chat,
    /// `dealgate playbook apply … --yes`.
    CommandLine,
}

/// `/playbook update`: what the change would do, and how to apply it.
pub fn playbook_preview(p: &Preview, confirm: ConfirmBy) -> Reply {
    let next = p.base_version + 1;
    let mut reply = Reply::new(format!(
        "Playbook change preview: version {} → {next}",
        p.base_version
    ))
    .ephemeral()
    .line(format!(
        "From `{}`. Why: {}",
        user(&p.reference),
        user(&p.reason)
    ))
    .line("Nothing has changed yet.".to_string());
    reply.lines.push("**What changes**".to_string());
    reply.lines.extend(
        p.changes
            .iter()
            .map(|c| format!("• {}", user(c.to_string()))),
    );
    for w in &p.warnings {
        reply.lines.push(format!("⚠ {}", user(w)));
    }

    reply.lines.push(format!(
        "**Impact on the {} open deal{}**",
        p.impact.open_deals,
        if p.impact.open_deals == 1 { "" } else { "s" }
    ));
    let mut quiet = true;
    for m in &p.impact.moves {
        quiet = false;
        let (count, deals) = (count_deals(m.deals.len()), named_deals(&m.deals));
        match &m.to_name {
            Some(to) => reply.lines.push(format!(
                "• {} (removed): {count} move to {}: {deals}",
                user(&m.from_name),
                user(to)
            )),
            None => reply.lines.push(format!(
                "• {} (`{}`) disappears and holds {count} with nowhere to go: {deals}. Say \
                 where they go with `{}{}=<stage>`.",
                user(&m.from_name),
                m.from,
                match confirm {
                    ConfirmBy::Chat => "map:",
                    ConfirmBy::CommandLine => "--map ",
                },
                m.from
            )),
        }
    }
    for (from, to) in &p.closed_moves {
        quiet = false;
        reply.lines.push(format!(
            "• Closed deals in {} (removed) are kept in {}",
            user(from),
            user(to)
        ));
    }
    for out in &p.impact.newly_out {
        quiet = false;
        let numbers: Vec<_> = out.deals.iter().map(|(n, _)| *n).collect();
        reply.lines.push(format!(
            "• {}: {} would newly miss a gate already passed (out of process until a manager \
             approves or overrides): {}",
            user(&out.stage),
            count_deals(numbers.len()),
            named_deals(&numbers)
        ));
        if let Some((n, missing)) = out.deals.first() {
            reply
                .lines
                .push(format!("  {n}: {}", user(missing.join("; "))));
        }
    }
    // Until every deal has a stage, the weight after would leave the stranded ones out.
    if p.impact.weighted_before != p.impact.weighted_after && p.impact.unmapped().next().is_none() {
        quiet = false;
        let delta = p.impact.weighted_after - p.impact.weighted_before;
        reply.lines.push(format!(
            "• Weighted pipeline this quarter: {} → {} ({}{})",
            money(p.impact.weighted_before, &p.currency),
            money(p.impact.weighted_after, &p.currency),
            if delta > 0 { "+" } else { "−" },
            money(delta.abs(), &p.currency)
        ));
    }
    if quiet {
        reply
            .lines
            .push("• No open deal moves, misses a gate or changes weight.".to_string());
    }

    match p.draft {
        Some(_) if confirm == ConfirmBy::CommandLine => {
            reply
                .lines
                .push(format!("Apply it as version {next} with `--yes`."));
        }
        Some(draft) => {
            reply.lines.push(format!(
                "Apply it as version {next} with the button, or `/playbook confirm {draft}`."
            ));
            reply = reply.button(
                format!("Apply version {next}"),
                Press::ConfirmPlaybook { draft },
            );
        }
        None => {
            reply.tone = Tone::Refusal;
            reply.lines.push(format!(
                "This change cannot apply until every open deal has a stage to go to; preview it \
                 again with {}.",
                match confirm {
                    ConfirmBy::Chat => "`map:old=new`",
                    ConfirmBy::CommandLine => "`--map old=new`",
                }
            ));
        }
    }
    reply
}

/// `/playbook confirm`: the change applied.
pub fn playbook_applied(a: &Applied) -> Reply {
    let mut reply = Reply::new(format!(
        "Playbook version {} is in force",
        a.version.version
    ))
    .tone(Tone::Success)
    .line(format!(
        "{} · `{}`",
        a.playbook.name,
        user(&a.version.reference)
    ));
    if let Some(reason) = &a.version.reason {
        reply.lines.push(format!("Why: {}", user(reason)));
    }
    reply
        .lines
        .extend(a.version.summary.iter().map(|c| format!("• {}", user(c))));
    reply.lines.push(
        "Every deal is judged against the new gates; `/deal list` marks those out of process. \
         `/playbook history` keeps every version."
            .to_string(),
    );
    reply
}

/// The notice of an applied change, to the channel or by DM: what changed, why, and "Got it".
pub fn change_notice(n: &ChangeNotice) -> Reply {
    let v = &n.version;
    let mut reply = Reply::new(format!(
        "The sales process changed: {} version {}",
        user(&n.playbook_name),
        v.version
    ));
    if let Some(m) = &n.member {
        reply.lines.push(format!(
            "{}, this is how we sell from today:",
            user(&m.display_name)
        ));
    }
    if let Some(reason) = &v.reason {
        reply.lines.push(format!("Why: {}", user(reason)));
    }
    reply
        .lines
        .extend(v.summary.iter().map(|c| format!("• {}", user(c))));
    reply.lines.push(format!(
        "Applied by {} on {}. `/playbook` shows the stages and gates in force; press **Got it** \
         once you have read this.",
        user(v.changed_by.as_deref().unwrap_or("an admin")),
        v.at.format("%Y-%m-%d")
    ));
    reply.button(
        "Got it",
        Press::Acknowledge {
            workspace: n.workspace.clone(),
            version: v.version,
        },
    )
}

/// `/playbook ack` and "Got it".
pub fn acknowledged(a: &Acknowledged) -> Reply {
    let mut reply = Reply::new(if a.first {
        format!(
            "Thanks: noted that you have read playbook version {}",
            a.version
        )
    } else {
        format!(
            "You had already acknowledged playbook version {}",
            a.version
        )
    })
    .tone(Tone::Success)
    .ephemeral();
    if a.version < a.in_force {
        reply.lines.push(format!(
            "Version {} is in force now; `/playbook history` says what changed since, and \
             `/playbook ack` acknowledges it.",
            a.in_force
        ));
    }
    reply
}

/// `/playbook acks`: who has read the version in force, and who not yet.
pub fn acknowledgements(a: &Acknowledgements) -> Reply {
    let total = a.acknowledged.len() + a.pending.len();
    let mut reply = Reply::new(format!(
        "Playbook version {}: {} of {total} acknowledged",
        a.version.version,
        a.acknowledged.len()
    ))
    .ephemeral()
    .line(format!(
        "In force since {}.",
        a.version.at.format("%Y-%m-%d")
    ));
    if !a.pending.is_empty() {
        let names: Vec<String> = a.pending.iter().map(|m| user(&m.display_name)).collect();
        reply.lines.push(format!(
            "**Not yet** ({}): {}",
            a.pending.len(),
            names.join(", ")
        ));
    }
    if !a.acknowledged.is_empty() {
        let names: Vec<String> = a
            .acknowledged
            .iter()
            .map(|(m, at)| format!("{} ({})", user(&m.display_name), at.format("%Y-%m-%d")))
            .collect();
        reply
            .lines
            .push(format!("**Acknowledged**: {}", names.join(", ")));
    }
    reply
}

/// `/coach`: per stage, the figures of the rep (or team) beside the whole team's.
pub fn coach(v: &CoachView) -> Reply {
    let mut reply = Reply::new(format!("Coaching: {} · {}", user(&v.whose), v.period))
        .ephemeral()
        .line(
            "The recommended activities are a very useful basis for monitoring the progress \
             reps are making through each stage: an input to the continuous coaching dialogue, \
             not a scorecard. Over the deals that left each stage in the period, beside the \
             whole team's."
                .to_string(),
        );
    let mut any = false;
    for s in &v.stages {
        if s.team.exits == 0 {
            continue;
        }
        any = true;
        let (r, t) = (&s.rep, &s.team);
        reply.lines.push(format!(
            "**{}**: {} left · team {}",
            user(&s.name),
            r.exits,
            t.exits
        ));
        reply.lines.push(format!(
            "  gates met: {} · team {}",
            share(r.met, r.forward),
            share(t.met, t.forward)
        ));
        reply.lines.push(format!(
            "  by override: {} · team {}; since then: {} · team {}",
            share(r.overridden, r.forward),
            share(t.overridden, t.forward),
            outcomes(r),
            outcomes(t)
        ));
        reply.lines.push(format!(
            "  recommended activities done by exit: {} · team {}",
            percent(r.coverage),
            percent(t.coverage)
        ));
        reply.lines.push(format!(
            "  median days in stage: {} · team {}",
            days(r.median_days),
            days(t.median_days)
        ));
        reply.lines.push(format!(
            "  out of process now: {} · team {}",
            r.out_of_process, t.out_of_process
        ));
    }
    if !any {
        reply
            .lines
            .push("No deal left a stage in this period; try `period:this-year`.".to_string());
    }
    reply
}

/// "4 of 5 (80%)", or "none" out of nothing.
fn share(part: usize, of: usize) -> String {
    match (part * 100).checked_div(of) {
        Some(p) => format!("{part} of {of} ({p}%)"),
        None => "none".to_string(),
    }
}

fn percent(p: Option<u8>) -> String {
    p.map_or_else(|| "–".to_string(), |p| format!("{p}%"))
}

fn days(d: Option<f64>) -> String {
    d.map_or_else(|| "–".to_string(), |d| format!("{d:.1}"))
}

fn outcomes(f: &StageFigures) -> String {
    if f.overridden == 0 {
        return "–".to_string();
    }
    format!(
        "{} won, {} lost, {} open",
        f.overrides_won, f.overrides_lost, f.overrides_open
    )
}

/// `/playbook evidence`: per activity, won among closed deals that did it and that did not.
pub fn evidence(v: &EvidenceView) -> Reply {
    let mut reply = Reply::new("What has worked: recommended activities and closed deals")
        .ephemeral()
        .line(format!(
            "Over {} closed deal{}: the win rate of those that logged each activity in the \
             stage against those that were in the stage and did not, with a 90% interval. \
             Fewer than {} closed deals on a side is not enough data.",
            v.closed,
            if v.closed == 1 { "" } else { "s" },
            crate::engine::adherence::MIN_DEALS
        ));
    for (stage, activities) in &v.stages {
        reply.lines.push(format!("**{}**", user(stage)));
        for a in activities {
            let counts = format!("did {} · did not {}", rate(a.did), rate(a.did_not));
            if a.enough() {
                reply
                    .lines
                    .push(format!("• {} `{}`: {counts}", user(&a.name), a.activity));
            } else {
                reply.lines.push(format!(
                    "• {} `{}`: not enough data ({} did, {} did not)",
                    user(&a.name),
                    a.activity,
                    a.did.closed,
                    a.did_not.closed
                ));
            }
        }
    }
    reply
}

/// `/playbook calibrate`: per stage, configured against observed, and what to change.
pub fn calibration(v: &CalibrationView) -> Reply {
    let mut reply = Reply::new("Stage probabilities against what happened")
        .ephemeral()
        .line(format!(
            "Per stage: of the closed deals that entered it, the share won (open deals are not \
             decided yet and left out), pulled toward the configured figure as if it were {} \
             deals, with a 90% interval. A change is suggested from {} closed deals, when the \
             configured figure lies outside the interval.",
            crate::engine::truth::PRIOR_STRENGTH,
            crate::engine::truth::MIN_DECIDED
        ));
    let pct = |p: f64| (p * 100.0).round() as i64;
    let mut suggested = Vec::new();
    for (name, c) in &v.stages {
        let observed = c.observed.map_or_else(
            || "no closed deals yet".to_string(),
            |o| format!("observed {}%", pct(o)),
        );
        let mut line = format!(
            "• {}: configured {}%, {observed} → {}% [{}–{}], n = {}",
            user(name),
            pct(c.configured),
            pct(c.shrunk),
            pct(c.interval.0),
            pct(c.interval.1),
            c.decided
        );
        if c.propose {
            line.push_str(&format!(" — suggest {}%", pct(c.shrunk)));
            suggested.push(format!("{} {}%", user(name), pct(c.shrunk)));
        }
        reply.lines.push(line);
    }
    if v.stages.iter().any(|(_, c)| c.decided > 0) {
        reply.image = super::truth_replies::chart(super::truth_chart::reliability(&v.stages));
    }
    if suggested.is_empty() {
        reply.lines.push(
            "No change suggested: every configured probability is inside its interval, or the \
             history is still thin."
                .to_string(),
        );
        return reply;
    }
    reply.lines.push(format!(
        "Suggested: {}. An admin previews them as a playbook change with the button or \
         `/playbook calibrate propose:yes`; confirmed, it is broadcast like any other change.",
        suggested.join(", ")
    ));
    reply.button("Preview as a playbook change", Press::ProposeCalibration)
}

/// "18 of 24 won (75%, 58–86%)".
fn rate(r: WinRate) -> String {
    match (r.rate(), r.interval90()) {
        (Some(p), Some((lo, hi))) => format!(
            "{} of {} won ({:.0}%, {:.0}–{:.0}%)",
            r.won,
            r.closed,
            p * 100.0,
            lo * 100.0,
            hi * 100.0
        ),
        _ => "none closed".to_string(),
    }
}

/// Tells a rep, once, how the gates of the stage they advance from changed in a playbook version
/// they have not acknowledged.
pub fn add_gate_changes(reply: &mut Reply, changed: &[String], version: i64) {
    if changed.is_empty() {
        return;
    }
    reply.lines.push(format!(
        "**The gates of this stage changed in playbook version {version}:**"
    ));
    reply
        .lines
        .extend(changed.iter().map(|c| format!("• {}", user(c))));
    reply.lines.push(format!(
        "`/playbook history` says what else changed; `/playbook ack {version}` says you have \
         read it."
    ));
}

fn count_deals(n: usize) -> String {
    if n == 1 {
        "1 deal".to_string()
    } else {
        format!("{n} deals")
    }
}

/// "deal-3, deal-7 and 4 more".
fn named_deals(numbers: &[crate::engine::ids::DealNumber]) -> String {
    let shown: Vec<String> = numbers
        .iter()
        .take(DEALS_NAMED)
        .map(ToString::to_string)
        .collect();
    let more = numbers.len().saturating_sub(DEALS_NAMED);
    let mut s = shown.join(", ");
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}
