//! `training.png`: reward curves per function (or, for supervised
//! fine-tuning, validation accuracy) and the loss, from `metrics.jsonl` and
//! `eval.jsonl`, because people would rather look at a curve than read a
//! thousand report lines.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use plotters::prelude::*;
use serde_json::Value;

/// Fonts tried, in order: Debian's DejaVu (scripts/setup installs it), then
/// macOS's Arial.
const FONTS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "/Library/Fonts/Arial.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// Draws `dir/training.png` from `dir/metrics.jsonl`; returns its path.
pub fn training_curves(dir: &Path) -> Result<PathBuf> {
    let metrics = dir.join("metrics.jsonl");
    let text = std::fs::read_to_string(&metrics)
        .with_context(|| format!("reading {}", metrics.display()))?;
    let rows: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    if rows.is_empty() {
        bail!("{} has no iterations", metrics.display());
    }
    register_font()?;
    let series = |f: &dyn Fn(&Value) -> Option<f64>| -> Vec<(f64, f64)> {
        rows.iter()
            .filter_map(|r| Some((r["iteration"].as_f64()?, f(r)?)))
            .filter(|(_, y)| y.is_finite())
            .collect()
    };
    let names = rows[0]["rewards"].as_array().cloned().unwrap_or_default();
    let mut top: Series = Vec::new();
    let mut title = "Rewards";
    if names.is_empty() {
        title = "Validation";
    } else {
        let mean = series(&|r| r["mean_reward"].as_f64());
        // Each iteration scores different prompts, so the raw line is noisy;
        // the trailing average shows the trend.
        let trend = trailing_mean(&mean, TREND_WINDOW);
        top.push(("mean reward".into(), mean));
        top.push((
            format!("mean reward ({TREND_WINDOW}-iteration average)"),
            trend,
        ));
        for (i, pair) in names.iter().enumerate() {
            let name = pair[0].as_str().unwrap_or("reward").to_string();
            top.push((name, series(&|r| r["rewards"][i][1].as_f64())));
        }
    }
    let evals: Vec<Value> = std::fs::read_to_string(dir.join("eval.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    for key in ["exact_match", "function", "params"] {
        let points: Vec<(f64, f64)> = evals
            .iter()
            .filter_map(|r| Some((r["iteration"].as_f64()?, r[key].as_f64()?)))
            .collect();
        if !points.is_empty() {
            top.push((format!("validation {}", key.replace('_', " ")), points));
        }
    }
    let loss = series(&|r| r["loss"].as_f64());
    let x_max = rows
        .last()
        .and_then(|r| r["iteration"].as_f64())
        .unwrap_or(2.0)
        .max(2.0);
    let out = dir.join("training.png");
    draw(&out, title, &top, &loss, x_max)?;
    Ok(out)
}

type Series = Vec<(String, Vec<(f64, f64)>)>;

/// Iterations averaged by the reward trend line.
const TREND_WINDOW: usize = 10;

/// The mean of each point's `window` last values (fewer at the start).
fn trailing_mean(points: &[(f64, f64)], window: usize) -> Vec<(f64, f64)> {
    points
        .iter()
        .enumerate()
        .map(|(i, &(x, _))| {
            let from = (i + 1).saturating_sub(window.max(1));
            let slice = &points[from..=i];
            (
                x,
                slice.iter().map(|p| p.1).sum::<f64>() / slice.len() as f64,
            )
        })
        .collect()
}

fn draw(out: &Path, title: &str, rewards: &Series, loss: &[(f64, f64)], x_max: f64) -> Result<()> {
    let root = BitMapBackend::new(out, (1000, 700)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(420);

    let mut chart = ChartBuilder::on(&top)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(45)
        .build_cartesian_2d(1f64..x_max, 0f64..range_top(rewards))?;
    chart.configure_mesh().x_desc("iteration").draw()?;
    for (i, (name, points)) in rewards.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()?;

    let (lo, hi) = loss
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, y)| {
            (lo.min(*y), hi.max(*y))
        });
    let pad = ((hi - lo) * 0.1).max(1e-3);
    let mut chart = ChartBuilder::on(&bottom)
        .caption("Loss", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(45)
        .build_cartesian_2d(1f64..x_max, (lo - pad)..(hi + pad))?;
    chart.configure_mesh().x_desc("iteration").draw()?;
    chart.draw_series(LineSeries::new(loss.iter().copied(), BLUE.stroke_width(2)))?;
    root.present()?;
    Ok(())
}

fn range_top(series: &Series) -> f64 {
    let max = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
        .fold(1.0f64, f64::max);
    max * 1.05
}

fn register_font() -> Result<()> {
    use std::sync::OnceLock;
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        FONTS
            .iter()
            .find_map(|p| std::fs::read(p).ok())
            .is_some_and(|bytes| {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok()
            })
    });
    if !ok {
        bail!(
            "no font found to label the plot (tried {}); on Debian/Ubuntu install fonts-dejavu-core",
            FONTS.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trend_averages_the_last_window_of_points() {
        let points = [(1.0, 0.0), (2.0, 1.0), (3.0, 2.0), (4.0, 6.0)];
        assert_eq!(
            trailing_mean(&points, 2),
            [(1.0, 0.0), (2.0, 0.5), (3.0, 1.5), (4.0, 4.0)]
        );
    }
}
