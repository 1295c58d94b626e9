//! The Berkeley Function Calling Leaderboard (BFCL): its data directory,
//! its single-turn categories, and its scoring of model outputs, so that a
//! model can be evaluated on the leaderboard's own files and the numbers
//! set beside the leaderboard's.
//!
//! - [`DataDir::scan`] finds the categories of a BFCL data directory
//!   (`BFCL_v4_<category>.json` with `possible_answer/BFCL_v4_<category>.json`;
//!   `BFCL_v3_…` too); [`read_category`] reads one into [`Entry`]s;
//!   [`convert_dir`] converts them all to this crate's records.
//! - [`score`] checks one output as BFCL does ([`Outcome`]): the AST
//!   categories against their possible answers, irrelevance as "no call
//!   decoded", relevance as "some call decoded"; [`Judged::new`] does it
//!   for an [`Entry`] (its line of the per-example JSONL).
//! - [`Summary`] turns per-category counts ([`CategoryScore`]) into the
//!   leaderboard's averages.
//! - [`template_tools`] gives the functions in the shape chat templates
//!   take as `tools`.
//!
//! The formulas, and where this departs from BFCL, are in `docs/bfcl.md`.

mod category;
mod entry;
mod judged;
mod layout;
mod score;
mod summary;
mod tools;

use std::path::Path;

pub use category::{Category, Check, Language, Shape};
pub use entry::Entry;
pub use judged::Judged;
pub use layout::{answers_beside, parse_file_name, CategoryFile, DataDir, ANSWER_DIR};
pub use score::{score, Outcome};
pub use summary::{Average, CategoryScore, Summary};
pub use tools::template_tools;

use crate::convert::Converted;
use crate::error::Result;
use crate::prompt::JsonStyle;

/// Reads one category's questions (with its possible answers) into
/// entries, in file order. Relevance records are kept, with an empty
/// answer: their category says how they are scored.
///
/// # Errors
///
/// [`Error::Read`](crate::Error::Read) or
/// [`Error::BadSource`](crate::Error::BadSource) when a file cannot be read
/// as BFCL's.
pub fn read_category(file: &CategoryFile, style: JsonStyle) -> Result<Vec<Entry>> {
    crate::convert::bfcl_entries(&file.questions, file.answers.as_deref(), style, true)
}

/// Converts every category of a BFCL data directory, for training or
/// `mlx-grpo eval --data`. Relevance records are rejected there: no
/// `answer` can say "any call is right".
///
/// # Errors
///
/// As [`DataDir::scan`] and [`read_category`].
pub fn convert_dir(dir: &Path, style: JsonStyle) -> Result<(DataDir, Vec<Converted>)> {
    let found = DataDir::scan(dir)?;
    let converted = found
        .files
        .iter()
        .map(|f| {
            crate::convert::bfcl_entries(&f.questions, f.answers.as_deref(), style, false)
                .map(Entry::collect)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((found, converted))
}
