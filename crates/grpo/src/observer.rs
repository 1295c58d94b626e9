//! What the trainer tells the outside world; the CLI's progress display,
//! log and Weights & Biases bridge implement it. The trainer never prints.

use std::path::Path;

use crate::eval::EvalReport;
use crate::metrics::IterationMetrics;

/// Facts about a run, known once it is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// Iterations already done (non-zero when resuming).
    pub start_iteration: usize,
    /// Total iterations.
    pub iterations: usize,
    /// Trainable parameters.
    pub trainable_parameters: usize,
    /// All parameters (packed quantized weights count as stored).
    pub total_parameters: usize,
    /// Training examples.
    pub train_examples: usize,
    /// Validation examples scored each time.
    pub val_examples: usize,
    /// Longest training prompt, in tokens.
    pub max_prompt_tokens: usize,
    /// The checkpoint resumed from.
    pub resumed_from: Option<std::path::PathBuf>,
}

/// Receives the events of a run. Every method has an empty default.
pub trait Observer {
    /// Before the first iteration.
    fn on_start(&mut self, _info: &RunInfo) {}
    /// After each iteration.
    fn on_iteration(&mut self, _metrics: &IterationMetrics) {}
    /// After each validation.
    fn on_eval(&mut self, _iteration: usize, _report: &EvalReport) {}
    /// After a checkpoint is written.
    fn on_checkpoint(&mut self, _iteration: usize, _dir: &Path) {}
    /// When training looks stuck in a way users often miss.
    fn on_warning(&mut self, _message: &str) {}
}
