//! One record of a BFCL question file, converted or not.

use super::Category;
use crate::convert::{Converted, Rejected};
use crate::record::Example;

/// One BFCL question, in file order: its id and category (when it has
/// them) and the converted example, or why it could not be converted.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Where it is: `file:line`, or `file:[index]` for a JSON list.
    pub location: String,
    /// Its BFCL id.
    pub id: Option<String>,
    /// Its category, from the id or else from the file name.
    pub category: Option<Category>,
    /// The example, or why the record could not be converted.
    pub example: Result<Example, String>,
}

impl Entry {
    /// The entries as a [`Converted`]: examples, and rejections with their
    /// reasons.
    pub fn collect(entries: Vec<Entry>) -> Converted {
        let mut out = Converted {
            read: entries.len(),
            ..Converted::default()
        };
        for e in entries {
            match e.example {
                Ok(ex) => out.examples.push(ex),
                Err(reason) => out.rejected.push(Rejected {
                    location: e.location,
                    reason,
                }),
            }
        }
        out
    }
}
