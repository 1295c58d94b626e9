//! The source formats of `mlx-grpo data convert`.

use clap::ValueEnum;
use grpo_dataset::convert::Format;

/// Source formats, as named on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FromFormat {
    /// Salesforce xlam-function-calling-60k (JSON list or JSONL).
    Xlam,
    /// glaiveai glaive-function-calling-v2.
    Glaive,
    /// NousResearch hermes-function-calling-v1, ShareGPT or OpenAI chats.
    Hermes,
    /// Berkeley Function Calling Leaderboard: a question file (its
    /// answers from --answers, or possible_answer/ beside it; irrelevance
    /// needs none) or a whole data directory.
    Bfcl,
}

impl From<FromFormat> for Format {
    fn from(f: FromFormat) -> Self {
        match f {
            FromFormat::Xlam => Format::Xlam,
            FromFormat::Glaive => Format::Glaive,
            FromFormat::Hermes => Format::Hermes,
            FromFormat::Bfcl => Format::Bfcl,
        }
    }
}
