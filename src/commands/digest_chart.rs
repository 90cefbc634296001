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
use crate::engine::playbook::Playbook;
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

/// Renders the chart for `figures`.
pub fn render(figures: &DigestFigures, playbook: &Playbook) -> anyhow::Result<Image> {
    font()?;
    let q = &figures.quarter_forecast;
    let by_stage: Vec<(String, f64)> = q
        .by_stage
        .iter()
        .map(|(id, t)| {
            let name = playbook
                .stage(id)
                .map_or_else(|| id.to_string(), |s| s.name.clone());
            (name, major(t))
        })
        .collect();
    let mut by_rep: Vec<(String, f64)> = q
        .by_owner
        .iter()
        .take(MAX_REPS)
        .map(|(o, t)| (o.clone(), major(t)))
        .collect();
    let others: f64 = q
        .by_owner
        .iter()
        .skip(MAX_REPS)
        .map(|(_, t)| major(t))
        .sum();
    if q.by_owner.len() > MAX_REPS {
        by_rep.push(("others".into(), others));
    }
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let (left, right) = root.split_horizontally(WIDTH / 2);
        let title = format!(
            "Weighted pipeline, {} ({})",
            short_label(&figures.quarter.label),
            figures.currency
        );
        bars(
            &left,
            &format!("{title}: by stage"),
            &by_stage,
            &RGBColor(52, 101, 164),
        )?;
        bars(&right, "By rep", &by_rep, &RGBColor(0, 140, 90))?;
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

/// Horizontal bars, first item on top: names read on the left at any length, so stage names such
/// as "Contract and Commit" never collide as they did under vertical bars. Each bar carries its
/// value at its end, so the chart is readable without following grid lines.
fn bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    data: &[(String, f64)],
    colour: &RGBColor,
) -> anyhow::Result<()> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("draw the chart: {e}");
    // Room on the right of the longest bar for its value label.
    let top = data.iter().map(|(_, v)| *v).fold(0.0, f64::max).max(1.0) * 1.18;
    let n = data.len().max(1);
    let labels: Vec<String> = data.iter().map(|(l, _)| truncate(l)).collect();
    let widest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(4);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size((widest as u32 * 8 + 16).clamp(48, 200))
        // A segmented range gives each value up to and including its end a row: `0..n - 1` is n rows.
        .build_cartesian_2d(0.0..top, (0..n - 1).into_segmented())
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
    chart
        .draw_series(data.iter().enumerate().map(|(i, (_, v))| {
            let row = n - 1 - i;
            let mut bar = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(row)),
                    (*v, SegmentValue::Exact(row + 1)),
                ],
                colour.filled(),
            );
            bar.set_margin(5, 5, 0, 0);
            bar
        }))
        .map_err(err)?;
    let value_style = ("sans-serif", 12)
        .into_font()
        .color(&RGBColor(60, 60, 60))
        .pos(Pos::new(HPos::Left, VPos::Center));
    chart
        .draw_series(data.iter().enumerate().map(|(i, (_, v))| {
            let row = n - 1 - i;
            EmptyElement::at((*v, SegmentValue::CenterOf(row)))
                + Text::new(compact(*v), (5, 0), value_style.clone())
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

/// `12k`, `1.2M`: axis labels that fit.
pub(super) fn compact(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
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
