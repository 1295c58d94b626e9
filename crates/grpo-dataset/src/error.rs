//! The errors of this crate.

use std::io;
use std::path::PathBuf;

use crate::issue::Issue;

/// Everything that can go wrong while reading, validating, converting or
/// generating data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// A file or directory could not be created or written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// A bad record in strict mode, where the first one stops loading.
    #[error("{issue} (strict mode stops at the first bad record)")]
    Invalid {
        /// The record and what is wrong with it.
        issue: Box<Issue>,
    },
    /// The file holds no record at all.
    #[error("{} has no records (expected one JSON object per line)", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// Every record of the file is bad.
    #[error("{} has no valid record: all {skipped} records were skipped; the first: {first}", path.display())]
    NoValidRecord {
        /// The file.
        path: PathBuf,
        /// How many records were skipped.
        skipped: usize,
        /// The first bad record.
        first: Box<Issue>,
    },
    /// A source file of a converter is not in the shape of its format.
    #[error("{} is not a {format} file: {reason}", path.display())]
    BadSource {
        /// The file.
        path: PathBuf,
        /// The format it was read as.
        format: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A configuration value is out of its allowed range.
    #[error("invalid {name} {value}: expected {allowed}")]
    BadConfig {
        /// The setting.
        name: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
