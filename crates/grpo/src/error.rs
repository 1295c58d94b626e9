//! The error type of the `grpo` crate.

use std::path::PathBuf;

use mlx_rs::error::{ConversionError, Exception};

/// Result alias of the `grpo` crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the algorithm pieces of GRPO.
///
/// Variants carry what their message needs: the offending value, what is
/// allowed, and the file involved.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Rewards cannot be split into groups of the given size.
    #[error(
        "{rows} rewards do not split into groups of {group_size} \
         (need a group size of at least 1 that divides the number of rewards)"
    )]
    GroupSize {
        /// Number of rewards passed.
        rows: usize,
        /// Completions per prompt.
        group_size: usize,
    },

    /// A reward is NaN or infinite, so no advantage can be derived from it.
    #[error("reward of row {row} is {value} (rewards must be finite numbers)")]
    NonFiniteReward {
        /// Row of the reward (`prompt * group_size + j`).
        row: usize,
        /// The offending value.
        value: f32,
    },

    /// A hyper-parameter is outside its allowed range.
    #[error("invalid {field} = {value} (allowed: {allowed})")]
    InvalidParameter {
        /// Name of the hyper-parameter, spelled as in the configuration.
        field: &'static str,
        /// The offending value.
        value: f64,
        /// The allowed range, in words.
        allowed: &'static str,
    },

    /// A tensor passed to the loss does not have the shape it must have.
    #[error("`{input}` has shape {got:?} (expected {expected})")]
    Shape {
        /// Name of the input (`logprobs`, `mask`, ...).
        input: &'static str,
        /// The shape it must have, in words and numbers.
        expected: String,
        /// The shape it has.
        got: Vec<i32>,
    },

    /// A tensor passed to the loss is not in float32.
    #[error("`{input}` has dtype {got:?} (expected float32: log-probs and losses are computed in float32)")]
    Dtype {
        /// Name of the input.
        input: &'static str,
        /// Its dtype.
        got: mlx_rs::Dtype,
    },

    /// A KL penalty is asked for but no reference log-probs were given.
    #[error("beta = {beta} needs `ref_logprobs` (pass the reference policy's log-probs, or set beta to 0)")]
    MissingRefLogprobs {
        /// The KL coefficient.
        beta: f32,
    },

    /// An unknown loss type name.
    #[error("unknown loss type `{name}` (known: {known})")]
    UnknownLossType {
        /// The name given.
        name: String,
        /// The known names, comma separated.
        known: &'static str,
    },

    /// A filesystem operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`creating`, `renaming`, ...).
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// A JSON file could not be written or read.
    #[error("JSON in {path}: {source}")]
    Json {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },

    /// A checkpoint directory does not have the expected shape.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The checkpoint root or directory involved.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A checkpoint could not be written; the previous one is untouched.
    #[error(
        "{} while writing checkpoint iteration-{iteration}; {} (free some space or fix the cause, then continue with --resume)",
        if *disk_full { "no space left on device".to_string() } else { format!("failed ({message})") },
        match intact {
            Some(dir) => format!("{} is intact", dir.file_name().unwrap_or_default().to_string_lossy()),
            None => "no earlier checkpoint exists".to_string(),
        }
    )]
    CheckpointWrite {
        /// The iterations of the checkpoint being saved.
        iteration: u64,
        /// The newest complete checkpoint, which resuming will use.
        intact: Option<PathBuf>,
        /// Whether the cause is a full disk.
        disk_full: bool,
        /// What failed.
        message: String,
    },

    /// Gradients were passed for other parameters than the optimizer updates.
    #[error("gradients do not match the trained parameters (no gradient for: {})", missing.join(", "))]
    GradientMismatch {
        /// Parameters without a gradient.
        missing: Vec<String>,
    },

    /// A setting that is not a number is invalid.
    #[error("invalid {field}: {message}")]
    InvalidConfig {
        /// The setting, spelled as in the configuration.
        field: &'static str,
        /// What is wrong and what is allowed.
        message: String,
    },

    /// The data cannot be trained on: no examples, or an example whose
    /// expected answer does not parse.
    #[error("{what}: {message}")]
    InvalidData {
        /// Which data (`training data`, `validation data`).
        what: &'static str,
        /// What is wrong, naming the example, and the fix.
        message: String,
    },

    /// Training diverged: several updates in a row had a non-finite loss or
    /// gradient, and were skipped.
    #[error(
        "{updates} updates in a row had a non-finite loss or gradient (iteration {iteration}); \
         lower --learning-rate or --max-grad-norm, or check the data; the last checkpoint is intact"
    )]
    Diverged {
        /// Skipped updates in a row.
        updates: usize,
        /// The iteration of the last one.
        iteration: usize,
    },

    /// The ranks of a data-parallel run disagree, or lost each other.
    #[error("distributed training: {message}")]
    Distributed {
        /// What happened and what to do.
        message: String,
    },

    /// The reward functions could not be resolved.
    #[error(transparent)]
    Rewards(#[from] grpo_rewards::Error),

    /// A custom reward failed during the run, which stopped with a
    /// checkpoint of the last complete iteration so that `--resume` goes on
    /// from there once the reward is fixed.
    #[error(
        "{reward}\nthe run stopped in iteration {iteration}; the state after iteration {done} is saved in {}: fix the reward, then continue with the same command and --resume",
        checkpoint.display()
    )]
    RewardStopped {
        /// What the reward said (its name, the row, the traceback).
        reward: grpo_rewards::Error,
        /// The iteration whose rollouts it was scoring.
        iteration: usize,
        /// Iterations complete, which the checkpoint holds.
        done: usize,
        /// The checkpoint written.
        checkpoint: PathBuf,
    },

    /// The training or validation data could not be loaded.
    #[error(transparent)]
    Dataset(#[from] grpo_dataset::Error),

    /// The model, tokenizer or adapters failed.
    #[error(transparent)]
    Policy(#[from] grpo_policy::Error),

    /// A tool server of a multi-turn rollout could not be started or
    /// stopped for good (calls the model got wrong are not errors: they go
    /// back to it as the tool's text).
    #[error(transparent)]
    Tools(#[from] grpo_tools::Error),

    /// MLX failed.
    #[error("mlx: {}", grpo_policy::error::mlx_message(.0))]
    Mlx(#[from] Exception),

    /// A scalar could not be read out of an MLX array.
    #[error("reading an mlx scalar: {0}")]
    Conversion(#[from] ConversionError),
}

impl Error {
    /// An [`Error::Io`] for `path`, built as `.map_err(Error::io("creating", &path))`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}

/// Lets the loss run inside the closures of `mlx_rs::nn::value_and_grad`,
/// which must fail with an [`Exception`]: an MLX failure is passed through
/// unchanged, any other error becomes an exception carrying its message.
impl From<Error> for Exception {
    #[track_caller]
    fn from(error: Error) -> Self {
        match error {
            Error::Mlx(exception) => exception,
            other => Exception::custom(other.to_string()),
        }
    }
}
