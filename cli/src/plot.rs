//! `training.png`, because people would rather look at curves than read a
//! thousand report lines. Four panels, from `metrics.jsonl` and
//! `eval.jsonl`:
//!
//! - the rewards of the training rollouts (mean, its trend, each function),
//!   or for supervised fine-tuning the loss;
//! - held-out exact match from the validations, iteration 0 (the model
//!   before training) included, over all examples and per kind;
//! - the mean completion length;
//! - what the rollouts did: completions with a parseable call, groups with
//!   no reward spread, and the KL to the reference and the clipped share of
//!   tokens when those are measured.
//!
//! The GRPO loss is not drawn: with one update per batch its value is
//! minus a mean advantage, about 0 by construction, a flat line that says
//! nothing about learning.

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

/// Kinds of example in the order they are drawn; others follow.
const KINDS: [&str; 4] = ["single", "multiple", "parallel", "irrelevance"];

/// Draws `dir/training.png` from `dir/metrics.jsonl` (and `eval.jsonl`
/// when there is one); returns its path.
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
    let evals: Vec<Value> = std::fs::read_to_string(dir.join("eval.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    register_font()?;
    let panels = panels(&rows, &evals);
    let x_max = rows
        .iter()
        .chain(&evals)
        .filter_map(|r| r["iteration"].as_f64())
        .fold(1.0, f64::max);
    let out = dir.join("training.png");
    draw(&out, &panels, x_max)?;
    Ok(out)
}

/// One line of a panel.
struct Line {
    name: String,
    points: Vec<(f64, f64)>,
    /// Drawn thicker, with a marker on each point (validations are few).
    bold: bool,
    markers: bool,
}

impl Line {
    fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
            bold: false,
            markers: false,
        }
    }
}

/// One chart.
struct Panel {
    title: String,
    lines: Vec<Line>,
    /// Rates in [0, 1]: the axis shows 0..1 (a little above 1 if needed).
    unit_range: bool,
}

/// What is drawn, from the rows of `metrics.jsonl` and `eval.jsonl`.
fn panels(rows: &[Value], evals: &[Value]) -> Vec<Panel> {
    let series = |f: &dyn Fn(&Value) -> Option<f64>| -> Vec<(f64, f64)> {
        rows.iter()
            .filter_map(|r| Some((r["iteration"].as_f64()?, f(r)?)))
            .filter(|(_, y)| y.is_finite())
            .collect()
    };
    let grpo = rows.iter().any(|r| r["groups"].as_u64().unwrap_or(0) > 0);
    let mut panels = Vec::new();

    if grpo {
        let names = rows[0]["rewards"].as_array().cloned().unwrap_or_default();
        let mean = series(&|r| r["mean_reward"].as_f64());
        // Each iteration scores different prompts, so the raw line is noisy;
        // the trailing average shows the trend.
        let trend = trailing_mean(&mean, TREND_WINDOW);
        let mut lines = vec![
            Line::new("mean reward", mean),
            Line {
                bold: true,
                ..Line::new(
                    format!("mean reward ({TREND_WINDOW}-iteration average)"),
                    trend,
                )
            },
        ];
        for (i, pair) in names.iter().enumerate() {
            let name = pair[0].as_str().unwrap_or("reward").to_string();
            let points = series(&|r| r["rewards"][i][1].as_f64());
            lines.push(Line::new(
                format!("{name} ({TREND_WINDOW}-it. avg)"),
                trailing_mean(&points, TREND_WINDOW),
            ));
        }
        panels.push(Panel {
            title: "Rewards of the training rollouts".into(),
            lines,
            unit_range: true,
        });
    } else {
        let loss = series(&|r| r["loss"].as_f64());
        panels.push(Panel {
            title: "Training loss".into(),
            lines: vec![Line {
                bold: true,
                ..Line::new("loss", loss)
            }],
            unit_range: false,
        });
    }

    let eval_series = |f: &dyn Fn(&Value) -> Option<f64>| -> Vec<(f64, f64)> {
        evals
            .iter()
            .filter_map(|r| Some((r["iteration"].as_f64()?, f(r)?)))
            .collect()
    };
    let mut lines = vec![Line {
        bold: true,
        markers: true,
        ..Line::new(
            "exact match, all",
            eval_series(&|r| r["exact_match"].as_f64()),
        )
    }];
    let mut kinds: Vec<String> = evals
        .iter()
        .filter_map(|r| r["by_kind"].as_object())
        .flat_map(|m| m.keys().cloned())
        .collect();
    kinds.sort_by_key(|k| {
        (
            KINDS.iter().position(|o| o == k).unwrap_or(KINDS.len()),
            k.clone(),
        )
    });
    kinds.dedup();
    for kind in kinds {
        let points = eval_series(&|r| r["by_kind"][&kind]["exact_match"].as_f64());
        lines.push(Line {
            markers: true,
            ..Line::new(kind, points)
        });
    }
    if evals.is_empty() {
        lines.clear();
    }
    panels.push(Panel {
        title: "Held-out exact match (validation; 0 = before training)".into(),
        lines,
        unit_range: true,
    });

    let length = series(&|r| r["completion_length"].as_f64());
    panels.push(Panel {
        title: if grpo {
            "Completion length (tokens)".into()
        } else {
            "Answer length (tokens)".into()
        },
        lines: vec![
            Line::new("mean", length.clone()),
            Line {
                bold: true,
                ..Line::new(
                    format!("{TREND_WINDOW}-iteration average"),
                    trailing_mean(&length, TREND_WINDOW),
                )
            },
        ],
        unit_range: false,
    });

    if grpo {
        let mut lines = vec![
            Line::new(
                "completions with a parseable call",
                trailing_mean(&series(&|r| r["parseable_fraction"].as_f64()), TREND_WINDOW),
            ),
            Line::new(
                "groups with no reward spread",
                trailing_mean(
                    &series(&|r| {
                        let g = r["groups"].as_f64()?;
                        (g > 0.0).then(|| r["zero_variance_groups"].as_f64().unwrap_or(0.0) / g)
                    }),
                    TREND_WINDOW,
                ),
            ),
        ];
        let kl = series(&|r| r["kl"].as_f64());
        if !kl.is_empty() {
            lines.push(Line::new("KL to the reference", kl));
        }
        let clip = series(&|r| r["clip_fraction"].as_f64());
        if clip.iter().any(|p| p.1 > 0.0) {
            lines.push(Line::new("clipped tokens", clip));
        }
        let truncated = series(&|r| r["truncated_fraction"].as_f64());
        if truncated.iter().any(|p| p.1 > 0.0) {
            lines.push(Line::new(
                "truncated completions",
                trailing_mean(&truncated, TREND_WINDOW),
            ));
        }
        panels.push(Panel {
            title: format!("Rollouts ({TREND_WINDOW}-iteration averages)"),
            lines,
            unit_range: true,
        });
    }
    panels
}

/// Iterations averaged by the trend lines.
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

fn draw(out: &Path, panels: &[Panel], x_max: f64) -> Result<()> {
    let rows = panels.len().div_ceil(2);
    let root = BitMapBackend::new(out, (1400, 460 * rows as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let areas = root.split_evenly((rows, 2));
    for (panel, area) in panels.iter().zip(&areas) {
        draw_panel(area, panel, x_max)?;
    }
    root.present()?;
    Ok(())
}

fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    panel: &Panel,
    x_max: f64,
) -> Result<()> {
    let values = || {
        panel
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.1))
    };
    let (lo, hi) = if panel.unit_range {
        (0.0, values().fold(1.0f64, f64::max) * 1.05)
    } else {
        let (lo, hi) = values().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
            (lo.min(y), hi.max(y))
        });
        if lo.is_finite() {
            let pad = ((hi - lo) * 0.1).max(1e-3);
            let bottom = if lo >= 0.0 {
                (lo - pad).max(0.0)
            } else {
                lo - pad
            };
            (bottom, hi + pad)
        } else {
            (0.0, 1.0)
        }
    };
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(45)
        .build_cartesian_2d(0f64..x_max, lo..hi)?;
    chart
        .configure_mesh()
        .x_desc("iteration")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()?;
    if panel.lines.iter().all(|l| l.points.is_empty()) {
        return Ok(());
    }
    for (i, line) in panel.lines.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let width = if line.bold { 3 } else { 1 };
        chart
            .draw_series(LineSeries::new(
                line.points.iter().copied(),
                color.stroke_width(width),
            ))?
            .label(line.name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(width))
            });
        if line.markers {
            chart.draw_series(
                line.points
                    .iter()
                    .map(|&p| Circle::new(p, 4, color.filled())),
            )?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .position(SeriesLabelPosition::LowerRight)
        .draw()?;
    Ok(())
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
    use serde_json::json;

    #[test]
    fn grpo_panels_show_held_out_exact_match_from_iteration_0_and_no_loss() {
        let rows: Vec<Value> = (1..=3)
            .map(|i| {
                json!({"iteration": i, "loss": 0.0, "mean_reward": 0.5, "groups": 8,
                       "zero_variance_groups": 2, "rewards": [["tool_call_exact", 0.4]],
                       "completion_length": 10.0 + i as f64, "parseable_fraction": 0.9,
                       "truncated_fraction": 0.0, "clip_fraction": 0.0, "kl": null})
            })
            .collect();
        let evals: Vec<Value> = [0, 3]
            .iter()
            .map(|&i| {
                json!({"iteration": i, "exact_match": 0.4, "by_kind": {
                    "irrelevance": {"exact_match": 0.7}, "single": {"exact_match": 0.3}}})
            })
            .collect();
        let panels = panels(&rows, &evals);
        assert!(panels
            .iter()
            .all(|p| !p.title.to_lowercase().contains("loss")));
        let held_out = &panels[1];
        let names: Vec<&str> = held_out.lines.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["exact match, all", "single", "irrelevance"]);
        assert_eq!(held_out.lines[0].points, [(0.0, 0.4), (3.0, 0.4)]);
        let rollouts: Vec<&str> = panels[3].lines.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            rollouts,
            [
                "completions with a parseable call",
                "groups with no reward spread"
            ],
            "KL and clipping only when measured"
        );
    }

    #[test]
    fn the_trend_averages_the_last_window_of_points() {
        let points = [(1.0, 0.0), (2.0, 1.0), (3.0, 2.0), (4.0, 6.0)];
        assert_eq!(
            trailing_mean(&points, 2),
            [(1.0, 0.0), (2.0, 0.5), (3.0, 1.5), (4.0, 4.0)]
        );
    }
}
