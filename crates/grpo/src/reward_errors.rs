//! What a failing custom reward does to the run (`reward_errors`).

use serde::{Deserialize, Serialize};

/// What an exception or a timeout in a custom reward (`reward_file`,
/// `reward_command`) does. A wrong answer (a wrong number of scores, a
/// score that is not a number) always stops the run: it is a bug in the
/// reward, not bad luck on one batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum RewardErrors {
    /// Stop the run, with a checkpoint of the last complete iteration.
    #[default]
    Stop,
    /// Score the batch as not applicable for that reward, and count it.
    Skip,
}
