//! The digest's chart: weighted pipeline this quarter by stage and by rep, as a PNG drawn in
//! process. The font ships inside the binary (DejaVu Sans, `assets/fonts/`, Bitstream Vera
//! licence), so a server without any system font renders the same image.

use std::sync::OnceLock;

use anyhow::{Context, anyhow};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

use super::reply::Image;
use crate::engine::forecast::Totals;
use crate::engine::playbook::{ForecastCategory, Playbook};
use crate::service::DigestFigures;

/// DejaVu Sans 2.37 from Debian's `fonts-dejavu-core`; licence in `assets/fonts/LICENSE-DejaVu.txt`.
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

pub const WIDTH: u32 = 1000;
pub const HEIGHT: u32 = 420;
/// Reps beyond this many are summed into "others" so the bars stay readable.
const MAX_REPS: usize = 8;

pub(super) fn font() -> anyhow::Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    // plotters looks fonts up by family name; without a registered one, ab_glyph has nothing
    // to draw text with.
    let ok =
        *REGISTERED.get_or_init(|| register_font("sans-serif", FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(anyhow!("the bundled font does not load"))
    }
}

/// A bar's parts, weighted, in whole currency units: commit, best case, the rest of the
/// pipeline (omitted stages included), stacked in that order from the left.
type Parts = [f64; 3];

const PART_NAMES: [&str; 3] = ["commit", "best case", "pipeline"];
const PART_COLOURS: [RGBColor; 3] = [
    RGBColor(0, 120, 80),
    RGBColor(52, 101, 164),
    RGBColor(150, 160, 175),
];

fn part_of(category: ForecastCategory) -> usize {
    match category {
        ForecastCategory::Commit => 0,
        ForecastCategory::BestCase => 1,
        _ => 2,
    }
}

/// Renders the chart for `figures`: the quarter's weighted pipeline by stage (with the total on
/// top, and where last week's total stood) and by rep, on one scale, each bar split into
/// commit, best case and pipeline.
pub fn render(figures: &DigestFigures, playbook: &Playbook) -> anyhow::Result<Image> {
    font()?;
    let q = &figures.quarter_forecast;
    let mut total: Parts = [0.0; 3];
    let mut by_stage: Vec<(String, Parts)> = Vec::new();
    for (id, t) in &q.by_stage {
        let stage = playbook.stage(id);
        let mut parts: Parts = [0.0; 3];
        parts[stage.map_or(2, |s| part_of(s.forecast_category))] = major(t);
        for (sum, part) in total.iter_mut().zip(parts) {
            *sum += part;
        }
        let name = stage.map_or_else(|| id.to_string(), |s| s.name.clone());
        by_stage.push((name, parts));
    }
    by_stage.insert(0, ("Total".to_string(), total));
    let parts_of = |owner: &str| {
        let mut parts: Parts = [0.0; 3];
        for (_, category, t) in q.by_owner_category.iter().filter(|(o, _, _)| o == owner) {
            parts[part_of(*category)] += major(t);
        }
        parts
    };
    let mut by_rep: Vec<(String, Parts)> = q
        .by_owner
        .iter()
        .take(MAX_REPS)
        .map(|(o, _)| (o.clone(), parts_of(o)))
        .collect();
    if q.by_owner.len() > MAX_REPS {
        let mut others: Parts = [0.0; 3];
        for (o, _) in q.by_owner.iter().skip(MAX_REPS) {
            for (sum, part) in others.iter_mut().zip(parts_of(o)) {
                *sum += part;
            }
        }
        by_rep.push(("others".into(), others));
    }
    let last_week = figures.last_week.map(|(_, w)| w as f64 / 100.0);
    // One scale for both panels, so a rep's bar and a stage's can be compared by eye; room on
    // the right of the longest bar for its value.
    let longest = by_stage
        .iter()
        .chain(&by_rep)
        .map(|(_, p)| p.iter().sum::<f64>())
        .chain(last_week)
        .fold(0.0, f64::max)
        .max(1.0);
    let scale = longest * 1.22;
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let (panels, legend) = root.split_vertically(HEIGHT - 28);
        let (left, right) = panels.split_horizontally(WIDTH / 2);
        let title = format!(
            "Weighted pipeline, {} ({})",
            short_label(&figures.quarter.label),
            figures.currency
        );
        bars(
            &left,
            &format!("{title}: by stage"),
            &by_stage,
            scale,
            last_week,
        )?;
        bars(&right, "By rep", &by_rep, scale, None)?;
        draw_legend(&legend, last_week.is_some())?;
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(Image {
        file_name: format!("digest-{}.png", figures.today.format("%Y-%m-%d")),
        png: encode(&rgb)?,
    })
}

fn short_label(label: &str) -> &str {
    label.split(" (").next().unwrap_or(label)
}

/// Whole currency units: the chart is for shape, the text has exact figures.
fn major(t: &Totals) -> f64 {
    t.weighted_minor() as f64 / 100.0
}

/// Widest label kept whole; longer stage or rep names are cut with an ellipsis.
const MAX_LABEL_CHARS: usize = 22;

/// The colours' meaning, and the marker's, along the bottom.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    marker: bool,
) -> anyhow::Result<()> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("draw the legend: {e}");
    let style = ("sans-serif", 13)
        .into_font()
        .color(&RGBColor(60, 60, 60))
        .pos(Pos::new(HPos::Left, VPos::Center));
    let mut x = 24;
    for (name, colour) in PART_NAMES.iter().zip(PART_COLOURS) {
        area.draw(&Rectangle::new([(x, 8), (x + 14, 22)], colour.filled()))
            .map_err(err)?;
        area.draw(&Text::new(*name, (x + 20, 15), style.clone()))
            .map_err(err)?;
        x += 40 + 8 * name.len() as i32;
    }
    if marker {
        area.draw(&PathElement::new(
            vec![(x, 6), (x, 24)],
            RGBColor(200, 60, 40).stroke_width(2),
        ))
        .map_err(err)?;
        area.draw(&Text::new("weighted total a week ago", (x + 8, 15), style))
            .map_err(err)?;
    }
    Ok(())
}

/// Horizontal bars, first item on top: names read on the left at any length, so stage names such
/// as "Contract and Commit" never collide as they did under vertical bars. Each bar is split into
/// its parts and carries its total at its end, so the chart is readable without following grid
/// lines. `marker`: a value drawn as a line across the first bar (last week's total).
fn bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    data: &[(String, Parts)],
    scale: f64,
    marker: Option<f64>,
) -> anyhow::Result<()> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("draw the chart: {e}");
    let n = data.len().max(1);
    let labels: Vec<String> = data.iter().map(|(l, _)| truncate(l)).collect();
    let widest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(4);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size((widest as u32 * 8 + 16).clamp(48, 200))
        // A segmented range gives each value up to and including its end a row: `0..n - 1` is n rows.
        .build_cartesian_2d(0.0..scale, (0..n - 1).into_segmented())
        .map_err(err)?;
    // Row `i` of the chart (counted from the bottom) shows item `n - 1 - i`.
    let item = |row: usize| n.checked_sub(row + 1);
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(225, 225, 225))
        .x_labels(5)
        .x_label_formatter(&|x| compact(*x))
        .y_labels(n)
        .y_label_formatter(&|y| match y {
            SegmentValue::CenterOf(row) => item(*row)
                .and_then(|i| labels.get(i).cloned())
                .unwrap_or_default(),
            _ => String::new(),
        })
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    let mut segments = Vec::new();
    for (i, (_, parts)) in data.iter().enumerate() {
        let row = n - 1 - i;
        let mut start = 0.0;
        for (part, colour) in parts.iter().zip(PART_COLOURS) {
            if *part > 0.0 {
                let mut bar = Rectangle::new(
                    [
                        (start, SegmentValue::Exact(row)),
                        (start + part, SegmentValue::Exact(row + 1)),
                    ],
                    colour.filled(),
                );
                bar.set_margin(5, 5, 0, 0);
                segments.push(bar);
            }
            start += part;
        }
    }
    chart.draw_series(segments).map_err(err)?;
    if let Some(at) = marker {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![
                    (at, SegmentValue::Exact(n - 1)),
                    (at, SegmentValue::Exact(n)),
                ],
                RGBColor(200, 60, 40).stroke_width(2),
            )))
            .map_err(err)?;
    }
    let value_style = ("sans-serif", 12)
        .into_font()
        .color(&RGBColor(60, 60, 60))
        .pos(Pos::new(HPos::Left, VPos::Center));
    chart
        .draw_series(data.iter().enumerate().map(|(i, (_, parts))| {
            let row = n - 1 - i;
            let sum: f64 = parts.iter().sum();
            EmptyElement::at((sum, SegmentValue::CenterOf(row)))
                + Text::new(compact(sum), (5, 0), value_style.clone())
        }))
        .map_err(err)?;
    Ok(())
}

fn truncate(label: &str) -> String {
    if label.chars().count() > MAX_LABEL_CHARS {
        format!(
            "{}…",
            label.chars().take(MAX_LABEL_CHARS - 1).collect::<String>()
        )
    } else {
        label.to_string()
    }
}

/// `94.5k`, `1.2M`, `950`: labels that fit, in full below a thousand and with one decimal
/// above (none when it is 0: `12k`).
pub(super) fn compact(v: f64) -> String {
    let (scaled, unit) = if v.abs() >= 1e6 {
        (v / 1e6, "M")
    } else if v.abs() >= 1e3 {
        (v / 1e3, "k")
    } else {
        return format!("{v:.0}");
    };
    let text = format!("{scaled:.1}");
    format!("{}{unit}", text.strip_suffix(".0").unwrap_or(&text))
}

pub(super) fn encode(rgb: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().context("write the PNG header")?;
    writer.write_image_data(rgb).context("encode the PNG")?;
    writer.finish().context("finish the PNG")?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::compact;

    #[test]
    fn values_read_in_full_below_a_thousand_and_with_one_decimal_above() {
        assert_eq!(compact(950.0), "950");
        assert_eq!(compact(94_500.0), "94.5k");
        assert_eq!(compact(94_000.0), "94k");
        assert_eq!(compact(1_260_000.0), "1.3M");
        assert_eq!(compact(2_000_000.0), "2M");
        assert_eq!(compact(0.0), "0");
    }
}
