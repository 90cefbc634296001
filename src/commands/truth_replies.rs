//! Replies of forecast truth: `/forecast accuracy`, `/forecast changes`, and the range line
//! `/forecast` and the digest show.

use crate::engine::playbook::Playbook;
use crate::engine::truth::movement::{Bucket, BucketName};
use crate::engine::truth::{accuracy as hubspot, ratio};
use crate::service::{AccuracyView, ForecastView, MovementView, RANGE_RUNS, RangeView};

use super::replies::{forecast_view, money};
use super::reply::Image;
use super::reply::Reply;
use super::truth_chart;
use super::user_text::user;

/// A chart that could not be drawn is left out, and said so in the log: the reply's text
/// carries every figure.
pub(super) fn chart(drawn: anyhow::Result<Image>) -> Option<Image> {
    drawn
        .inspect_err(|e| tracing::warn!(error = %e, "chart left out"))
        .ok()
}

/// Deals a bucket lists before it counts the rest.
const LISTED: usize = 15;

fn percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

/// `/forecast`: the figures, then the range of the period's closed-won amount.
pub fn forecast_with_range(view: &ForecastView, playbook: &Playbook) -> Reply {
    let mut reply = forecast_view(view, playbook);
    if let Some(range) = &view.range {
        reply.lines.extend(range_lines(range, &view.currency));
    }
    reply
}

/// The range and, under it, how it was drawn.
pub fn range_lines(r: &RangeView, currency: &str) -> Vec<String> {
    let calibrated = match r.calibrated_stages {
        0 => "its stage's configured probability (no stage has 30 closed deals yet)".to_string(),
        n => format!(
            "its stage's probability calibrated on closed deals ({n} stage{} with 30 or more; \
             the configured one elsewhere)",
            if n == 1 { "" } else { "s" }
        ),
    };
    let timing = match r.in_period {
        Some(p) => format!(
            "closing in time {} of the time (the slip rate of the last closed quarters)",
            percent(p)
        ),
        None => "closing in time (no closed quarter to measure slip on yet)".to_string(),
    };
    let mut lines = vec![
        format!(
            "**Likely closed won** P10 {} · P50 {} · P90 {}",
            money(r.range.p10, currency),
            money(r.range.p50, currency),
            money(r.range.p90, currency)
        ),
        format!(
            "{} seeded draws over {} open deal{} closing in the period, each won with {calibrated}, \
             {timing}, plus {} already won.",
            thousands(RANGE_RUNS),
            r.open_deals,
            if r.open_deals == 1 { "" } else { "s" },
            money(r.won, currency)
        ),
    ];
    lines.push(match r.new_business {
        Some((periods, deals)) => format!(
            "Business not in the pipeline yet is drawn too: the {deals} deal{} won in the last \
             {periods} period{} that were not in its pipeline at this point of it, each counted \
             with a chance of one in {periods}.",
            if deals == 1 { "" } else { "s" },
            if periods == 1 { "" } else { "s" },
        ),
        None => "Deals not created yet are not in it (no earlier period to learn them from), so \
                 it runs low early in the period."
            .to_string(),
    });
    lines
}

fn thousands(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A call with its accuracy and ratio: `EUR 60,000 (80%, ratio 1.20)`; the call alone when
/// nothing was won.
fn judged(actual: i128, call: i128, currency: &str) -> String {
    match (hubspot(actual, call), ratio(call, actual)) {
        (Some(a), Some(r)) => format!("{} ({}, ratio {r:.2})", money(call, currency), percent(a)),
        _ => money(call, currency),
    }
}

pub fn accuracy(view: &AccuracyView) -> Reply {
    let c = &view.currency;
    let mut reply = Reply::new(format!(
        "Forecast accuracy · {} · {}",
        user(&view.scope),
        view.period.label
    ))
    .field("Won in the period", money(view.won, c))
    .field("Deals won", view.won_count.to_string())
    .ephemeral();
    if !view.closed {
        reply.lines.push(
            "The period is still running: its result, and so every figure below, is not final."
                .to_string(),
        );
    }
    if view.weeks.is_empty() {
        reply.lines.push(
            "No forecast snapshot was taken in this period, so there is no call to judge. One \
             is taken with each daily digest (`/digest setup`)."
                .to_string(),
        );
        return reply;
    }
    for w in &view.weeks {
        let conversion = w
            .commit_conversion
            .map(|c| format!(" · commit converted {}", percent(c)))
            .unwrap_or_default();
        let range = match w.in_range {
            Some(true) => " · range held",
            Some(false) => " · range missed",
            None => "",
        };
        reply.lines.push(format!(
            "Week {} ({}): weighted {} · commit {} · best case {}{conversion}{range}",
            w.week,
            w.date.format("%b %-d"),
            judged(view.won, w.weighted, c),
            judged(view.won, w.commit, c),
            judged(view.won, w.best_case, c),
        ));
    }
    reply.lines.push(
        "A week's call is what was already won plus the open deals closing in the period, as \
         that week's first snapshot saw them. Accuracy is 1 − |A − F| / A; the ratio F / A is \
         over 1 for an over-forecast and under 1 for an under-forecast. Commit converted: won in the \
         period from the deals in commit that day, over their amount then."
            .to_string(),
    );
    if let Some((day, slip)) = view.slip {
        reply.lines.push(format!(
            "**Slip** {} of {} commit and best-case deals on {} did not close in the period: {} \
             of {} ({}).",
            slip.slipped,
            slip.of,
            day.format("%b %-d"),
            money(slip.slipped_amount, c),
            money(slip.of_amount, c),
            slip.rate().map_or_else(|| "–".to_string(), percent)
        ));
    }
    if let Some((score, n)) = view.brier {
        reply.lines.push(format!(
            "**Brier score** of the stage probabilities: {score:.3} over {n} deal{} the first \
             snapshot saw closing in the period (0 is perfect; always saying 50% scores 0.25).",
            if n == 1 { "" } else { "s" }
        ));
    }
    if view.history.iter().any(|(_, line)| !line.is_empty()) {
        let name = format!(
            "accuracy-{}.png",
            view.period.from.map_or_else(String::new, |d| d.to_string())
        );
        reply.image = chart(truth_chart::accuracy_by_week(name, &view.history));
    }
    match view.hit_rate {
        Some((inside, of)) => reply.lines.push(format!(
            "**Ranges** The quarter's result fell inside the P10–P90 range of {inside} of {of} \
             weekly calls over the last closed quarters ({}; a sound range holds about 80%).",
            percent(f64::from(inside) / f64::from(of))
        )),
        None if !view.workspace_wide => reply.lines.push(
            "**Ranges** are recorded for the whole workspace, so how often they held is in the \
             accuracy of everyone's deals (an admin's `/forecast accuracy`)."
                .to_string(),
        ),
        None => reply.lines.push(
            "**Ranges** No closed quarter has recorded ranges yet; each daily snapshot records \
             one, and the hit rate appears once a quarter has closed."
                .to_string(),
        ),
    }
    reply
}

fn bucket_line(
    sign: &str,
    label: &str,
    b: &Bucket<(crate::engine::ids::DealNumber, String)>,
    c: &str,
) -> String {
    format!(
        "{sign} {label}: {} ({} deal{})",
        money(b.amount, c),
        b.deals.len(),
        if b.deals.len() == 1 { "" } else { "s" }
    )
}

/// The waterfall as lines; `list` names the bucket whose deals to show.
pub fn movement(view: &MovementView, list: Option<BucketName>) -> Reply {
    let c = &view.currency;
    let m = &view.movement;
    let mut reply = Reply::new(format!(
        "Pipeline movement · {} · {} · since {}",
        user(&view.scope),
        view.period.label,
        view.since.format("%b %-d")
    ))
    .ephemeral();
    let rows = [
        bucket_line(" ", "Start", &m.start, c),
        bucket_line("+", "Created", &m.created, c),
        bucket_line("+", "Pulled in", &m.pulled_in, c),
        bucket_line("+", "Amount up", &m.amount_up, c),
        bucket_line("−", "Amount down", &m.amount_down, c),
        bucket_line("−", "Pushed out", &m.pushed_out, c),
        bucket_line("−", "Lost", &m.lost, c),
        bucket_line("−", "Won", &m.won, c),
        bucket_line("=", "End (now)", &m.end, c),
    ];
    reply.lines.extend(rows);
    reply.image = chart(truth_chart::waterfall(m, c));
    reply.lines.push(format!(
        "Deals closing in the period: from the snapshot of {} to now. Pushed out: the close \
         date moved past the period; pulled in: moved into it.",
        view.since.format("%b %-d")
    ));
    match list {
        Some(name) => {
            let b = m.bucket(name);
            reply
                .lines
                .push(format!("**Deals in `{}`**", name.as_str()));
            if b.deals.is_empty() {
                reply.lines.push("No deals.".to_string());
            }
            for ((number, deal), amount) in b.deals.iter().take(LISTED) {
                reply
                    .lines
                    .push(format!("• {number} {} · {}", user(deal), money(*amount, c)));
            }
            if b.deals.len() > LISTED {
                reply
                    .lines
                    .push(format!("…and {} more.", b.deals.len() - LISTED));
            }
        }
        None => reply.lines.push(
            "`/forecast changes … list:pushed-out` (or start, created, pulled-in, up, down, \
             lost, won, end) lists a bucket's deals."
                .to_string(),
        ),
    }
    reply
}

/// The week's movement in one line, for the Monday digest.
pub fn movement_summary(view: &MovementView) -> String {
    let c = &view.currency;
    let m = &view.movement;
    format!(
        "**Pipeline this quarter since {}**: {} + created {} + pulled in {} + up {} − down {} − \
         pushed out {} − lost {} − won {} = {} now. `/forecast changes {}` lists the deals.",
        view.since.format("%b %-d"),
        money(m.start.amount, c),
        money(m.created.amount, c),
        money(m.pulled_in.amount, c),
        money(m.amount_up.amount, c),
        money(m.amount_down.amount, c),
        money(m.pushed_out.amount, c),
        money(m.lost.amount, c),
        money(m.won.amount, c),
        money(m.end.amount, c),
        view.since
    )
}

/// How a closed period's calls fared, in one paragraph, for the first digest after it closed.
pub fn closed_period_summary(view: &AccuracyView) -> String {
    let c = &view.currency;
    let mut parts = vec![format!(
        "**How {} was forecast**: {} won.",
        view.period.label,
        money(view.won, c)
    )];
    let call = |label: &str, w: &crate::service::WeekCall| match (
        hubspot(view.won, w.weighted),
        ratio(w.weighted, view.won),
    ) {
        (Some(a), Some(r)) => format!(
            "{label} (week {}) weighted call {}: accuracy {}, ratio {r:.2}.",
            w.week,
            money(w.weighted, c),
            percent(a)
        ),
        _ => format!(
            "{label} (week {}) weighted call {}.",
            w.week,
            money(w.weighted, c)
        ),
    };
    if let Some(first) = view.weeks.first() {
        parts.push(call("First call", first));
    }
    if let Some(last) = view.weeks.last().filter(|_| view.weeks.len() > 1) {
        parts.push(call("Last call", last));
    }
    if let Some(rate) = view.slip.and_then(|(_, s)| s.rate()) {
        parts.push(format!("Slip {}.", percent(rate)));
    }
    if let Some((inside, of)) = view.hit_rate {
        parts.push(format!("Ranges held {inside} of {of} weekly calls."));
    }
    parts.push("`/forecast accuracy last-quarter` has every week.".to_string());
    parts.join(" ")
}
