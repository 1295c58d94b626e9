//! `training.png`, because people would rather look at curves than read a
//! thousand report lines. Four panels, from `metrics.jsonl` and
//! `eval.jsonl`:
//!
//! - the rewards of the training rollouts (mean, its trend, each function),
//!   or for supervised fine-tuning the loss;
//! - held-out exact match from the validations, iteration 0 (the model
//!   before training) included, over all examples and per kind, and the
//!   final-answer accuracy of multi-turn validations;
//! - the mean completion length;
//! - what the rollouts did: completions with a parseable call, groups with
//!   no reward spread, and the KL to the reference and the clipped share of
//!   tokens when those are measured.
//!
//! The GRPO loss is not drawn: with one update per batch its value is
//! minus a mean advantage, about 0 by construction, a flat line that says
//! nothing about learning.
//!
//! A plot never blocks or fails a run: non-finite values (written as `null`)
//! are left out, values beyond ±[`LIMIT`] are drawn at it (their sums and
//! spans would overflow, and plotters loops forever on an infinite axis),
//! every axis range is finite and non-empty, and the drawing runs on its own
//! thread, given up after [`TIME_LIMIT`] or when it panics.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

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

/// Values drawn at most this far from 0.
const LIMIT: f64 = 1e300;

/// How long the drawing may take before the run goes on without it (it
/// takes well under a second).
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// Draws `dir/training.png` from `dir/metrics.jsonl` (and `eval.jsonl`
/// when there is one); returns its path. An error, never a hang or a panic,
/// when it cannot.
pub fn training_curves(dir: &Path) -> Result<PathBuf> {
    let dir = dir.to_path_buf();
    bounded(TIME_LIMIT, move || draw_training_curves(&dir))
}

/// Runs `f` on its own thread: its result, or an error when it panics or
/// takes longer than `limit` (the thread is then left to itself; it ends
/// with the process).
fn bounded<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("plot".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .context("starting the plot thread")?;
    match rx.recv_timeout(limit) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            bail!("plotting took longer than {} s; given up", limit.as_secs())
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            bail!("plotting failed (a bug in the plot, not in the run)")
        }
    }
}

/// A value that can be drawn: finite, within ±[`LIMIT`].
fn drawable(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite()).map(|v| v.clamp(-LIMIT, LIMIT))
}

fn draw_training_curves(dir: &Path) -> Result<PathBuf> {
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
        .filter_map(|r| drawable(r["iteration"].as_f64()))
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
            .filter_map(|r| Some((drawable(r["iteration"].as_f64())?, drawable(f(r))?)))
            .collect()
    };
    // SFT iterations have no GRPO measurements (no `groups`, rewards or
    // rollout rates): their file is drawn as a loss curve.
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
            .filter_map(|r| Some((drawable(r["iteration"].as_f64())?, drawable(f(r))?)))
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
    let answers = eval_series(&|r| r["final_answer"].as_f64());
    if !answers.is_empty() {
        lines.push(Line {
            bold: true,
            markers: true,
            ..Line::new("final answer (multi-turn)", answers)
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

/// The y axis of a panel: finite, `lo < hi`, whatever its points hold.
fn y_range(panel: &Panel) -> (f64, f64) {
    let values = || {
        panel
            .lines
            .iter()
            .flat_map(|l| l.points.iter().filter_map(|p| drawable(Some(p.1))))
    };
    let (lo, hi) = if panel.unit_range {
        (0.0, values().fold(1.0f64, f64::max) * 1.05)
    } else {
        let (lo, hi) = values().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
            (lo.min(y), hi.max(y))
        });
        if lo.is_finite() {
            // A constant line gets a band around it, wide enough to be
            // representable at its magnitude.
            let pad = ((hi - lo) * 0.1)
                .max(hi.abs().max(lo.abs()) * 1e-3)
                .max(1e-3);
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
    if lo.is_finite() && hi.is_finite() && lo < hi {
        (lo, hi)
    } else {
        (0.0, 1.0)
    }
}

fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    panel: &Panel,
    x_max: f64,
) -> Result<()> {
    let (lo, hi) = y_range(panel);
    let x_max = drawable(Some(x_max)).filter(|&x| x > 0.0).unwrap_or(1.0);
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
        let points: Vec<(f64, f64)> = line
            .points
            .iter()
            .filter_map(|&(x, y)| Some((drawable(Some(x))?, drawable(Some(y))?)))
            .collect();
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(width),
            ))?
            .label(line.name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(width))
            });
        if line.markers {
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
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
        let multi_turn: Vec<Value> = [(0, 0.1), (3, 0.3)]
            .iter()
            .map(|&(i, a)| json!({"iteration": i, "exact_match": 0.4, "final_answer": a}))
            .collect();
        let answers = &super::panels(&rows, &multi_turn)[1].lines[1];
        assert_eq!(answers.name, "final answer (multi-turn)");
        assert_eq!(answers.points, [(0.0, 0.1), (3.0, 0.3)]);
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
    fn sft_panels_draw_the_loss_and_the_answer_length_without_rollouts() {
        // What an SFT iteration writes: no rewards, rollouts or groups.
        let rows: Vec<Value> = (1..=3)
            .map(|i| {
                json!({"iteration": i, "iterations": 3, "loss": 2.0 / i as f64,
                       "grad_norm": 1.0, "learning_rate": 1e-5,
                       "completion_length": 12.0, "train_tokens_per_s": 100.0,
                       "step_s": 0.5, "peak_memory_bytes": 1000, "skipped": false})
            })
            .collect();
        let panels = panels(&rows, &[]);
        let titles: Vec<&str> = panels.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Training loss",
                "Held-out exact match (validation; 0 = before training)",
                "Answer length (tokens)"
            ]
        );
        assert_eq!(panels[0].lines[0].points.len(), 3);
    }

    /// Metrics a diverged run (or a hand-edited file) can hold: values
    /// serde wrote for NaN/inf (`null`), strings, lines that are not JSON
    /// (`NaN`), values at the edge of f64 whose sums and spans overflow, a
    /// huge constant, and series that are absent or empty. Plotting each
    /// must return (a picture or an error), not loop in plotters' key-point
    /// computation or panic.
    #[test]
    fn non_finite_empty_and_extreme_metrics_never_hang_the_plot() {
        let grpo = |loss: &str, reward: &str, kl: &str, length: &str| {
            format!(
                r#"{{"iteration":1,"loss":{loss},"mean_reward":{reward},"groups":1,"zero_variance_groups":1,"rewards":[["tool_call_exact",{reward}]],"completion_length":{length},"parseable_fraction":{reward},"truncated_fraction":{reward},"clip_fraction":{reward},"kl":{kl}}}"#
            )
        };
        let sft = |loss: &str, length: &str| {
            format!(r#"{{"iteration":1,"loss":{loss},"groups":0,"completion_length":{length}}}"#)
        };
        let both = |line: String| {
            format!(
                "{line}\n{}\n",
                line.replace(r#""iteration":1"#, r#""iteration":2"#)
            )
        };
        let cases: Vec<(&str, String, &str)> = vec![
            (
                "all null, GRPO",
                both(grpo("null", "null", "null", "null")),
                "",
            ),
            ("all null, SFT", both(sft("null", "null")), ""),
            (
                "NaN literals and strings",
                format!(
                    "{{\"iteration\":1,\"loss\":NaN}}\n{}\n",
                    sft(r#""NaN""#, r#""inf""#)
                ),
                r#"{"iteration":0,"exact_match":null,"by_kind":{"single":{"exact_match":"NaN"}}}"#,
            ),
            (
                "sums and spans that overflow, GRPO",
                format!(
                    "{}\n{}\n",
                    grpo("1.7e308", "1.7e308", "1.7e308", "1.7e308"),
                    grpo("-1.7e308", "1.7e308", "1.7e308", "-1.7e308")
                        .replace(r#""iteration":1"#, r#""iteration":2"#)
                ),
                r#"{"iteration":2,"exact_match":1.7e308}"#,
            ),
            (
                "spans that overflow, SFT",
                format!(
                    "{}\n{}\n",
                    sft("1.7e308", "1e300"),
                    sft("-1.7e308", "-1e300").replace(r#""iteration":1"#, r#""iteration":2"#)
                ),
                "",
            ),
            ("a huge constant", both(sft("1e20", "1e20")), ""),
            (
                "one row, nothing else",
                r#"{"iteration":1}"#.to_string(),
                "",
            ),
            (
                "a huge iteration",
                sft("1.0", "1.0").replace(r#""iteration":1"#, r#""iteration":1.7e308"#),
                "",
            ),
            ("no rows", "not json\n".to_string(), ""),
        ];
        for (what, metrics, evals) in cases {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("metrics.jsonl"), metrics).unwrap();
            if !evals.is_empty() {
                std::fs::write(dir.path().join("eval.jsonl"), evals).unwrap();
            }
            match training_curves(dir.path()) {
                Ok(path) => assert!(path.is_file(), "{what}: no {}", path.display()),
                Err(e) => eprintln!("{what}: {e:#}"),
            }
        }
    }

    #[test]
    fn every_y_axis_is_finite_and_not_empty() {
        let panel = |unit_range: bool, ys: &[f64]| Panel {
            title: String::new(),
            lines: vec![Line::new(
                "y",
                ys.iter().enumerate().map(|(i, &y)| (i as f64, y)).collect(),
            )],
            unit_range,
        };
        for unit_range in [false, true] {
            for ys in [
                &[][..],
                &[f64::NAN, f64::INFINITY, f64::NEG_INFINITY],
                &[f64::MAX, -f64::MAX],
                &[1e20, 1e20],
                &[0.5, f64::NAN, 0.7],
                &[-3.0],
            ] {
                let (lo, hi) = y_range(&panel(unit_range, ys));
                assert!(
                    lo.is_finite() && hi.is_finite() && lo < hi,
                    "{ys:?}: {lo}..{hi}"
                );
            }
        }
    }

    #[test]
    fn a_plot_that_panics_or_hangs_is_an_error_not_a_stuck_run() {
        let panicked = bounded(Duration::from_secs(10), || -> Result<()> {
            panic!("a bug in plotting")
        });
        assert!(panicked.is_err());
        let hung = bounded(Duration::from_millis(50), || -> Result<()> {
            std::thread::sleep(Duration::from_secs(3600));
            Ok(())
        });
        assert!(hung.unwrap_err().to_string().contains("given up"));
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
