//! The charts of forecast truth, in the digest chart's look (same size, font and palette):
//! accuracy by week of period for the last periods, the stages' reliability (configured
//! probability against what happened), and the pipeline's movement as a waterfall.

use anyhow::anyhow;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::digest_chart::{HEIGHT, WIDTH, compact, encode, font};
use super::reply::Image;
use crate::engine::truth::Calibrated;
use crate::engine::truth::movement::{BucketName, Movement};

const BLUE: RGBColor = RGBColor(52, 101, 164);
const GREEN: RGBColor = RGBColor(0, 140, 90);
const RED: RGBColor = RGBColor(196, 60, 60);
const GREY: RGBColor = RGBColor(150, 150, 150);
/// Oldest period first, the period shown last and strongest.
const PERIOD_COLOURS: [RGBColor; 4] = [
    RGBColor(200, 200, 200),
    RGBColor(150, 170, 200),
    RGBColor(100, 140, 190),
    BLUE,
];

fn draw_error<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("draw the chart: {e}")
}

/// Renders into an RGB buffer of the digest chart's size and encodes it as a PNG.
fn picture(
    file_name: String,
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> anyhow::Result<()>,
) -> anyhow::Result<Image> {
    font()?;
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        draw(&root)?;
        root.present().map_err(draw_error)?;
    }
    Ok(Image {
        file_name,
        png: encode(&rgb)?,
    })
}

/// Accuracy (0–100 %) of the weighted call by week of period, one line per period, oldest first.
pub fn accuracy_by_week(
    file_name: String,
    periods: &[(String, Vec<(u32, f64)>)],
) -> anyhow::Result<Image> {
    picture(file_name, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Accuracy of the weighted call by week of period",
                ("sans-serif", 18),
            )
            .margin(14)
            .x_label_area_size(32)
            .y_label_area_size(48)
            .build_cartesian_2d(1u32..13u32, 0.0..100.0)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(225, 225, 225))
            .x_desc("week of period")
            .x_labels(13)
            .y_label_formatter(&|y| format!("{y:.0}%"))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(draw_error)?;
        let skip = PERIOD_COLOURS.len().saturating_sub(periods.len());
        for ((label, weeks), colour) in periods.iter().zip(PERIOD_COLOURS.iter().skip(skip)) {
            let points: Vec<(u32, f64)> = weeks.iter().map(|(w, a)| (*w, a * 100.0)).collect();
            chart
                .draw_series(std::iter::once(PathElement::new(
                    points.clone(),
                    colour.stroke_width(3),
                )))
                .map_err(draw_error)?
                .label(label.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(3))
                });
            chart
                .draw_series(points.iter().map(|p| Circle::new(*p, 3, colour.filled())))
                .map_err(draw_error)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(225, 225, 225))
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(draw_error)?;
        Ok(())
    })
}

/// Configured probability against the share won, per stage, with the 90 % interval: a stage on
/// the diagonal is calibrated.
pub fn reliability(stages: &[(String, Calibrated)]) -> anyhow::Result<Image> {
    picture("reliability.png".to_string(), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Stage probability: configured against won (90% interval)",
                ("sans-serif", 18),
            )
            .margin(14)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(0.0..100.0, 0.0..100.0)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(225, 225, 225))
            .x_desc("configured")
            .y_desc("won")
            .x_label_formatter(&|x| format!("{x:.0}%"))
            .y_label_formatter(&|y| format!("{y:.0}%"))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 0.0), (100.0, 100.0)],
                GREY.stroke_width(1),
            )))
            .map_err(draw_error)?;
        let label_style = ("sans-serif", 12)
            .into_font()
            .color(&RGBColor(60, 60, 60))
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (name, c) in stages.iter().filter(|(_, c)| c.decided > 0) {
            let x = c.configured * 100.0;
            let colour = if c.propose { RED } else { GREEN };
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, c.interval.0 * 100.0), (x, c.interval.1 * 100.0)],
                    colour.stroke_width(2),
                )))
                .map_err(draw_error)?;
            let y = c.shrunk * 100.0;
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((x, y))
                        + Circle::new((0, 0), 5, colour.filled())
                        + Text::new(
                            format!("{name} (n = {})", c.decided),
                            (9, 0),
                            label_style.clone(),
                        ),
                ))
                .map_err(draw_error)?;
        }
        Ok(())
    })
}

/// The movement as a waterfall: start and end as whole bars, each bucket floating from where
/// the one before it left the pipeline.
pub fn waterfall<K>(movement: &Movement<K>, currency: &str) -> anyhow::Result<Image> {
    let steps: Vec<(BucketName, f64)> = BucketName::ALL
        .iter()
        .map(|b| (*b, movement.bucket(*b).amount as f64 / 100.0))
        .collect();
    let mut level = 0.0;
    let mut bars = Vec::new();
    for (name, amount) in &steps {
        let (from, to, colour) = match name {
            BucketName::Start | BucketName::End => (0.0, *amount, BLUE),
            BucketName::Created | BucketName::PulledIn | BucketName::AmountUp => {
                (level, level + amount, GREEN)
            }
            // Won leaves the pipeline too, but it is the good way out.
            BucketName::Won => (level - amount, level, GREY),
            _ => (level - amount, level, RED),
        };
        level = match name {
            BucketName::Start => *amount,
            BucketName::Created | BucketName::PulledIn | BucketName::AmountUp => level + amount,
            BucketName::End => level,
            _ => level - amount,
        };
        bars.push((name.as_str(), from.min(to), from.max(to), *amount, colour));
    }
    let top = bars.iter().map(|b| b.2).fold(0.0, f64::max).max(1.0) * 1.12;
    picture("movement.png".to_string(), |root| {
        let n = bars.len();
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("Pipeline movement this quarter ({currency})"),
                ("sans-serif", 18),
            )
            .margin(14)
            .x_label_area_size(32)
            .y_label_area_size(56)
            .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..top)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(225, 225, 225))
            .x_labels(n)
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(i) => {
                    bars.get(*i).map_or(String::new(), |b| b.0.to_string())
                }
                _ => String::new(),
            })
            .y_label_formatter(&|y| compact(*y))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(
                bars.iter()
                    .enumerate()
                    .map(|(i, (_, low, high, _, colour))| {
                        let mut bar = Rectangle::new(
                            [
                                (SegmentValue::Exact(i), *low),
                                (SegmentValue::Exact(i + 1), *high),
                            ],
                            colour.filled(),
                        );
                        bar.set_margin(0, 0, 8, 8);
                        bar
                    }),
            )
            .map_err(draw_error)?;
        let value_style = ("sans-serif", 12)
            .into_font()
            .color(&RGBColor(60, 60, 60))
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        chart
            .draw_series(bars.iter().enumerate().map(|(i, (_, _, high, amount, _))| {
                EmptyElement::at((SegmentValue::CenterOf(i), *high))
                    + Text::new(compact(*amount), (0, -4), value_style.clone())
            }))
            .map_err(draw_error)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::truth::movement::{DealPath, EndState, movement};
    use crate::engine::truth::{PRIOR_STRENGTH, calibrate};

    /// Each chart decodes as a PNG of the digest chart's size. With `DEALGATE_CHART_DIR` set,
    /// they are also written there to be looked at.
    #[test]
    fn each_chart_is_a_png_of_the_digest_charts_size() {
        let periods: Vec<(String, Vec<(u32, f64)>)> = (0..4)
            .map(|p| {
                let weeks = (1..=13)
                    .map(|w| {
                        (
                            w,
                            (0.3 + 0.05 * f64::from(w) + 0.02 * f64::from(p)).min(1.0),
                        )
                    })
                    .collect();
                (format!("2026 Q{}", p + 1), weeks)
            })
            .collect();
        let stages: Vec<(String, Calibrated)> = [
            ("Qualify", 0.10, 14, 41),
            ("Solution", 0.40, 20, 45),
            ("Negotiate", 0.80, 30, 36),
        ]
        .into_iter()
        .map(|(name, p, won, n)| (name.to_string(), calibrate(p, won, n, PRIOR_STRENGTH)))
        .collect();
        let path = |start: Option<i128>, end, amount| DealPath {
            key: 0,
            start,
            created_in_window: start.is_none(),
            end,
            amount,
        };
        let moved = movement([
            path(Some(50_000_000), EndState::Won, 50_000_000),
            path(Some(30_000_000), EndState::OutOfPeriod, 30_000_000),
            path(Some(20_000_000), EndState::InPeriod, 25_000_000),
            path(None, EndState::InPeriod, 10_000_000),
        ]);
        let charts = [
            accuracy_by_week("accuracy.png".into(), &periods).unwrap(),
            reliability(&stages).unwrap(),
            waterfall(&moved, "EUR").unwrap(),
        ];
        for image in charts {
            let decoder = png::Decoder::new(std::io::Cursor::new(&image.png));
            let info = decoder.read_info().unwrap().info().clone();
            assert_eq!(
                (info.width, info.height),
                (WIDTH, HEIGHT),
                "{}",
                image.file_name
            );
            if let Ok(dir) = std::env::var("DEALGATE_CHART_DIR") {
                std::fs::write(
                    std::path::Path::new(&dir).join(&image.file_name),
                    &image.png,
                )
                .unwrap();
            }
        }
    }
}
