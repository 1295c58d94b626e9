//! The tool-calling JSONL format of mlx-grpo: typed records, loading with
//! precise errors, splits and epochs, converters from popular data sets,
//! and a synthetic task generator.
//!
//! A data set is one JSON object per line (optionally gzip-compressed), in
//! the shape of the user's guide:
//!
//! ```json
//! {"prompt": "You are a helpful assistant with access to the following functions. Use them if required.\n\n[…]\n\nWhat are the factorials of 5 and 7?",
//!  "answer": "calculate_factorial(n=5)\ncalculate_factorial(n=7)",
//!  "type": "tool_call", "ground_truth": "calculate_factorial", "ground_truth_text": "calculate_factorial",
//!  "possible_boxed_answers": ["reverse_words", "calculate_factorial", "get_range"],
//!  "is_multi_answer": false, "confidence": 1.0, "source": "tool_calling"}
//! ```
//!
//! Only `prompt` and `answer` are required; an empty `answer` means no listed
//! function applies. Four optional extensions are understood: `tools` (the
//! function list as JSON objects, when it is not only in the prompt),
//! `possible_answers` (allowed values per parameter, in the Berkeley
//! Function Calling Leaderboard form `[{"fn": {"param": [v1, v2]}}]`),
//! `messages` (the conversation of a multi-turn task, OpenAI chat shape;
//! when it ends with a `tool` message the record is an answering turn and
//! its `answer` is the reply in words, see [`Example::is_answer_turn`]) and
//! `final_answer` (what the model should answer last, after reading its
//! tools' results: a string matched after normalising case, punctuation and
//! spaces; a number matched numerically; or `{"value": "22.63", "match":
//! "exact" | "normalized" | "numeric", "tolerance": 0.01}`, see
//! [`grpo_rewards::FinalAnswer`]).
//! Any other field is kept in [`Example::extra`] and written back unchanged.
//!
//! # Overview
//!
//! - [`Example`] is one record; [`load`] reads and validates a whole file
//!   into a [`Loaded`] (records plus a [`LoadReport`]); [`reader::open`]
//!   streams records one at a time.
//! - [`validate()`] checks one record and returns a [`Defect`]; placed in a
//!   file it becomes an [`Issue`] (`path:line: field `f`: what is wrong`).
//! - [`EpochCursor`] hands out batches of indices, reshuffled every epoch
//!   from a seed, and serializes for resuming; [`split()`] makes
//!   train/valid/test sets; [`find_duplicates`] reports repeated prompts.
//! - [`prompt`] builds and reads the guide's prompt shape.
//! - [`convert`] turns xLAM, Glaive, Hermes/OpenAI-style chats and BFCL
//!   files into this format; [`synth`] generates tasks.
//! - [`bfcl`] reads a Berkeley Function Calling Leaderboard data directory
//!   and scores model outputs as the leaderboard does.
//!
//! # Example: generate, write, load
//!
//! ```
//! use grpo_dataset::{load, synth, write_jsonl, EpochCursor, LoadOptions};
//!
//! let examples = synth::generate(&synth::SynthConfig { n: 20, seed: 7, ..Default::default() })?;
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("train.jsonl");
//! write_jsonl(&path, &examples)?;
//!
//! let loaded = load(&path, &LoadOptions::default())?;
//! assert_eq!(loaded.examples.len(), 20);
//! assert_eq!(loaded.report.skipped_total(), 0);
//! // Tools were read back out of the prompt text.
//! assert!(loaded.examples[0].tools.is_some());
//!
//! let mut cursor = EpochCursor::new(loaded.examples.len(), 42);
//! let batch = cursor.next_batch(4);
//! assert_eq!(batch.len(), 4);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Example: a bad record names its file, line and field
//!
//! ```
//! use grpo_dataset::{load, LoadOptions, Error};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("bad.jsonl");
//! std::fs::write(&path, "{\"prompt\": \"p\", \"answer\": \"f(x=1)\", \"confidence\": 2}\n")?;
//!
//! let err = load(&path, &LoadOptions { strict: true, ..Default::default() }).unwrap_err();
//! assert!(matches!(err, Error::Invalid { .. }));
//! assert!(err.to_string().contains("bad.jsonl:1: field `confidence`"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod answer;
pub mod bfcl;
pub mod call_syntax;
pub mod convert;
mod decode;
mod duplicates;
mod error;
mod issue;
mod load;
pub mod prompt;
pub mod reader;
mod record;
mod rng;
mod split;
pub mod stats;
pub mod synth;
mod validate;
mod writer;

pub use duplicates::{find_duplicates, Duplicate};
pub use error::{Error, Result};
pub use issue::{Defect, Issue, IssueKind};
pub use load::{load, Brief, LoadOptions, LoadReport, Loaded};
pub use record::{Example, Message, TOOL_CALL_TYPE};
pub use split::{shuffled_indices, split, EpochCursor, Splits};
pub use validate::validate;
pub use writer::{split_file, write_jsonl, write_parts, write_splits, SplitCounts};

/// The JSON type of a value, for messages.
pub(crate) fn json_type_name(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}
