//! What one iteration measured, the guide's report lines, and
//! `metrics.jsonl`.
//!
//! The field names of [`IterationMetrics`] are the keys of `metrics.jsonl`: a
//! public interface, kept stable.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
pub use crate::grpo_metrics::GrpoMetrics;

/// One iteration's measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterationMetrics {
    /// Iteration number, from 1.
    pub iteration: usize,
    /// Total iterations of the run.
    pub iterations: usize,
    /// The loss of the last update on this batch.
    pub loss: f32,
    /// What a GRPO iteration measured of its rollouts and its update;
    /// `None` (and absent from `metrics.jsonl`) for supervised
    /// fine-tuning, which samples nothing and has no rewards.
    #[serde(flatten)]
    pub grpo: Option<GrpoMetrics>,
    /// Global gradient norm before clipping.
    pub grad_norm: f32,
    /// Learning rate of the last update.
    pub learning_rate: f32,
    /// Mean completion length in tokens (of the reference answers, for
    /// supervised fine-tuning).
    pub completion_length: f32,
    /// Trained tokens (prompt and completion) per second.
    pub train_tokens_per_s: f32,
    /// Seconds for the whole iteration (`step_s` in the logs of earlier
    /// versions).
    #[serde(alias = "step_s")]
    pub iteration_s: f32,
    /// Peak memory in bytes so far, as MLX reports it.
    pub peak_memory_bytes: u64,
    /// Whether the update was skipped (non-finite loss or gradient).
    pub skipped: bool,
    /// What the training strategies did (keys present only when in use).
    #[serde(flatten)]
    pub strategy: StrategyMetrics,
    /// Data-parallel measurements (keys present only on several ranks).
    #[serde(flatten)]
    pub parallel: ParallelMetrics,
}

/// What a data-parallel run adds to an iteration's measurements; `None`
/// (and absent from `metrics.jsonl`) in a run of one process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParallelMetrics {
    /// Processes (ranks) that shared the batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranks: Option<usize>,
    /// Seconds this iteration spent in the gradient all-sum with every rank
    /// in step (rank 0's clock): the communication itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allreduce_s: Option<f32>,
    /// Seconds rank 0 waited, gradient ready, for the slowest rank to
    /// finish its rollout and backward pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_s: Option<f32>,
}

/// The measurements of the training strategies; each is `None` (and absent
/// from `metrics.jsonl`) when its strategy is off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StrategyMetrics {
    /// Training phase in force, from 1 (with `phases`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<usize>,
    /// Fraction of the reference answer given as scaffold (with
    /// `--curriculum-enabled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaffold_ratio: Option<f32>,
    /// Completions continued by two-phase recovery (with
    /// `--two-phase-samples-per-group` >= 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered: Option<usize>,
    /// Fraction of completions that opened with a closed reasoning block
    /// (with `--enforce-thinking`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_fraction: Option<f32>,
    /// Groups sampled this iteration, the extra rounds of dynamic sampling
    /// included, for the `groups` trained on (with `--dynamic-sampling`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled_groups: Option<usize>,
    /// Mean turns of the model per completion (with `--max-turns` above 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turns: Option<f32>,
    /// Tool calls made over the batch's completions, all turns (with
    /// `--max-turns` above 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<usize>,
    /// Tool calls that came back as an error: an unknown tool, arguments
    /// that do not fit, the tool's own error, a timeout (with
    /// `--max-turns` above 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_errors: Option<usize>,
}

impl StrategyMetrics {
    /// The report line, when any strategy is in use.
    fn report(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(p) = self.phase {
            parts.push(format!("phase {p}"));
        }
        if let Some(r) = self.scaffold_ratio {
            parts.push(format!("scaffold ratio {r:.2}"));
        }
        if let Some(n) = self.recovered {
            parts.push(format!("recovered {n}"));
        }
        if let Some(f) = self.thinking_fraction {
            parts.push(format!("{:.0}% reasoned", 100.0 * f));
        }
        if let Some(n) = self.sampled_groups {
            parts.push(format!("dynamic sampling: {n} groups sampled"));
        }
        if let Some(t) = self.turns {
            parts.push(format!("{t:.2} turns"));
        }
        if let (Some(calls), Some(errors)) = (self.tool_calls, self.tool_errors) {
            parts.push(format!("{calls} tool calls, {errors} failed"));
        }
        (!parts.is_empty()).then(|| format!("  {}", parts.join(" | ")))
    }
}

impl IterationMetrics {
    /// The guide's report: `Iteration 100/1000 | Loss: 1.234 | Mean Reward:
    /// 0.342`, one indented line per reward function, then the other
    /// measurements.
    pub fn report(&self) -> String {
        let Some(g) = &self.grpo else {
            // Supervised fine-tuning: no rewards.
            return format!(
                "Iteration {}/{} | Loss: {:.3} | grad norm: {:.3} | lr: {:.2e} | train {:.0} tok/s | {:.2}s/it",
                self.iteration, self.iterations, self.loss, self.grad_norm, self.learning_rate, self.train_tokens_per_s, self.iteration_s
            );
        };
        let mut s = format!(
            "Iteration {}/{} | Loss: {:.3} | Mean Reward: {:.3}\n",
            self.iteration, self.iterations, self.loss, g.mean_reward
        );
        for (name, value) in &g.rewards {
            match value {
                Some(v) => {
                    let _ = writeln!(s, "  {name}: {v:.3}");
                }
                None => {
                    let _ = writeln!(s, "  {name}: n/a");
                }
            }
        }
        let kl =
            g.kl.map_or_else(|| "off".to_string(), |k| format!("{k:.4}"));
        let entropy = g
            .entropy
            .map_or_else(String::new, |e| format!(" | entropy: {e:.3}"));
        let _ = writeln!(
            s,
            "  kl: {kl} | clip: {:.3}{entropy} | grad norm: {:.3} | lr: {:.2e}",
            g.clip_fraction, self.grad_norm, self.learning_rate
        );
        let _ = write!(
            s,
            "  completion: {:.1} tok, {:.0}% truncated, {:.0}% parseable | zero-variance groups: {}/{} | rollout {:.0} tok/s, train {:.0} tok/s | {:.2}s/it | peak mem {:.0} MB",
            self.completion_length,
            100.0 * g.truncated_fraction,
            100.0 * g.parseable_fraction,
            g.zero_variance_groups,
            g.groups,
            g.rollout_tokens_per_s,
            self.train_tokens_per_s,
            self.iteration_s,
            self.peak_memory_bytes as f64 / 1e6,
        );
        if let Some(line) = self.strategy.report() {
            s.push('\n');
            s.push_str(&line);
        }
        if self.skipped {
            s.push_str("\n  update skipped: non-finite loss or gradient");
        }
        s
    }
}

/// Appends one JSON object per line to a file, flushing each line so that a
/// crash loses at most the line being written.
#[derive(Debug)]
pub struct JsonlLog {
    path: PathBuf,
    /// `None`: a log that writes nothing (a rank other than 0).
    file: Option<std::fs::File>,
}

impl JsonlLog {
    /// Opens `path` for appending (a resumed run continues the file).
    pub fn append(path: &Path) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(Error::io("opening", path))?;
        Ok(Self {
            path: path.to_path_buf(),
            file: Some(file),
        })
    }

    /// A log that writes nothing: the ranks of a data-parallel run other
    /// than rank 0, which writes the run's files.
    pub fn discard(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            file: None,
        }
    }

    /// Writes `value` as one line.
    pub fn write<T: Serialize>(&mut self, value: &T) -> Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        let mut line = serde_json::to_string(value).map_err(|source| Error::Json {
            path: self.path.clone(),
            source,
        })?;
        line.push('\n');
        file.write_all(line.as_bytes())
            .and_then(|()| file.flush())
            .map_err(Error::io("writing", &self.path))
    }
}

/// Drops the lines of `path` whose `iteration` is above `last`: after a
/// resume, the iterations the crash lost are redone and logged again.
pub fn truncate_after(path: &Path, last: usize) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let text = std::fs::read_to_string(path).map_err(Error::io("reading", path))?;
    let kept: String = text
        .lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v.get("iteration").and_then(|i| i.as_u64()))
                .is_some_and(|i| i as usize <= last)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(path, kept).map_err(Error::io("writing", path))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn entropy_is_reported_and_logged_when_measured() {
        let m = sample();
        assert!(m.report().contains("| entropy: 1.500 |"), "{}", m.report());
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["entropy"], 1.5);
        let unmeasured = with_grpo(sample(), |g| g.entropy = None);
        assert!(!unmeasured.report().contains("entropy"));
        // Lines written before the metric existed still read.
        let mut old = serde_json::to_value(&m).unwrap();
        old.as_object_mut().unwrap().remove("entropy");
        let read: IterationMetrics = serde_json::from_value(old).unwrap();
        assert_eq!(read.grpo.unwrap().entropy, None);
    }

    /// `m` with its GRPO measurements changed by `f`.
    pub(crate) fn with_grpo(
        mut m: IterationMetrics,
        f: impl FnOnce(&mut GrpoMetrics),
    ) -> IterationMetrics {
        f(m.grpo.as_mut().expect("a GRPO sample"));
        m
    }

    #[test]
    fn sft_iterations_log_no_grpo_measurements() {
        let sft = IterationMetrics {
            grpo: None,
            ..sample()
        };
        let json = serde_json::to_value(&sft).unwrap();
        for key in [
            "mean_reward",
            "reward_std",
            "rewards",
            "kl",
            "clip_fraction",
            "ratio_mean",
            "entropy",
            "truncated_fraction",
            "parseable_fraction",
            "zero_variance_groups",
            "groups",
            "rollout_tokens_per_s",
        ] {
            assert!(json.get(key).is_none(), "{key} in {json}");
        }
        assert_eq!(json["loss"], serde_json::json!(sft.loss));
        assert_eq!(
            serde_json::from_value::<IterationMetrics>(json).unwrap(),
            sft
        );
        assert!(sft
            .report()
            .starts_with("Iteration 100/1000 | Loss: 1.234 | grad norm"));
        // A GRPO line reads back whole.
        let grpo = serde_json::to_value(sample()).unwrap();
        assert_eq!(
            serde_json::from_value::<IterationMetrics>(grpo).unwrap(),
            sample()
        );
    }

    pub(crate) fn sample() -> IterationMetrics {
        IterationMetrics {
            iteration: 100,
            iterations: 1000,
            loss: 1.2344,
            grpo: Some(GrpoMetrics {
                mean_reward: 0.342,
                reward_std: 0.2,
                rewards: vec![
                    ("tool_call_exact".into(), Some(0.125)),
                    ("tool_call_function".into(), Some(0.625)),
                ],
                kl: Some(0.01),
                clip_fraction: 0.0,
                ratio_mean: 1.0,
                entropy: Some(1.5),
                truncated_fraction: 0.0,
                parseable_fraction: 0.9,
                zero_variance_groups: 1,
                groups: 4,
                rollout_tokens_per_s: 1000.0,
            }),
            grad_norm: 0.5,
            learning_rate: 1e-5,
            completion_length: 12.5,
            train_tokens_per_s: 2000.0,
            iteration_s: 1.5,
            peak_memory_bytes: 100_000_000,
            skipped: false,
            strategy: StrategyMetrics::default(),
            parallel: ParallelMetrics::default(),
        }
    }

    #[test]
    fn report_opens_with_the_guides_lines() {
        let r = sample().report();
        let lines: Vec<&str> = r.lines().collect();
        assert_eq!(
            lines[0],
            "Iteration 100/1000 | Loss: 1.234 | Mean Reward: 0.342"
        );
        assert_eq!(lines[1], "  tool_call_exact: 0.125");
        assert_eq!(lines[2], "  tool_call_function: 0.625");
    }

    #[test]
    fn strategy_metrics_appear_only_when_in_use() {
        let plain = serde_json::to_value(sample()).unwrap();
        for key in [
            "phase",
            "scaffold_ratio",
            "recovered",
            "thinking_fraction",
            "turns",
            "tool_calls",
            "tool_errors",
        ] {
            assert!(plain.get(key).is_none(), "{key}");
        }
        assert!(!sample().report().contains("phase"));
        let m = IterationMetrics {
            strategy: StrategyMetrics {
                phase: Some(2),
                scaffold_ratio: Some(0.5),
                recovered: Some(3),
                thinking_fraction: None,
                sampled_groups: Some(12),
                ..StrategyMetrics::default()
            },
            ..sample()
        };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["phase"], 2);
        assert_eq!(v["scaffold_ratio"], 0.5);
        assert_eq!(v["sampled_groups"], 12);
        assert_eq!(v["recovered"], 3);
        assert_eq!(serde_json::from_value::<IterationMetrics>(v).unwrap(), m);
        assert!(m.report().ends_with(
            "  phase 2 | scaffold ratio 0.50 | recovered 3 | dynamic sampling: 12 groups sampled"
        ));
    }

    #[test]
    fn resumed_logs_drop_lost_iterations() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let mut log = JsonlLog::append(&path).unwrap();
        for i in 1..=5 {
            log.write(&IterationMetrics {
                iteration: i,
                ..sample()
            })
            .unwrap();
        }
        truncate_after(&path, 3).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
    }

    #[test]
    fn tool_use_metrics_are_written_and_reported_when_multi_turn() {
        let m = IterationMetrics {
            strategy: StrategyMetrics {
                turns: Some(1.5),
                tool_calls: Some(12),
                tool_errors: Some(2),
                ..StrategyMetrics::default()
            },
            ..sample()
        };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(
            (v["turns"].as_f64(), v["tool_calls"].as_u64()),
            (Some(1.5), Some(12))
        );
        assert_eq!(v["tool_errors"], 2);
        let back: IterationMetrics = serde_json::from_value(v).unwrap();
        assert_eq!(back, m);
        assert!(
            m.report().contains("1.50 turns | 12 tool calls, 2 failed"),
            "{}",
            m.report()
        );
    }
}
