//! Writing records as JSONL (gzip when the name ends in `.gz`).

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::error::{Error, Result};
use crate::record::Example;
use crate::split::{split, Splits};

/// Writes `examples`, one JSON object per line, and returns how many.
///
/// The file is written beside its final name and renamed into place at
/// the end, so a failed write never leaves a truncated data set behind.
/// A name ending in `.gz` is gzip-compressed.
///
/// # Errors
///
/// [`Error::Write`] when the file cannot be created or written.
pub fn write_jsonl<'a>(
    path: &Path,
    examples: impl IntoIterator<Item = &'a Example>,
) -> Result<usize> {
    let tmp = temp_name(path);
    let wrap = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    let result = (|| {
        let file = File::create(&tmp)?;
        let count = if path.extension().is_some_and(|e| e == "gz") {
            let (encoder, count) =
                write_records(GzEncoder::new(file, Compression::default()), examples)?;
            // `finish` writes the gzip trailer and reports its errors,
            // which dropping the encoder would swallow.
            encoder.finish()?;
            count
        } else {
            write_records(file, examples)?.1
        };
        fs::rename(&tmp, path)?;
        Ok(count)
    })();
    if result.is_err() {
        // Best effort: the temporary file is useless after a failure.
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(wrap)
}

/// How many records each split file received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitCounts {
    /// Records in `train.jsonl`.
    pub train: usize,
    /// Records in `valid.jsonl`.
    pub valid: usize,
    /// Records in `test.jsonl`.
    pub test: usize,
}

/// Splits `examples` (see [`split`]) and writes `train.jsonl`,
/// `valid.jsonl` and `test.jsonl` into `dir`, creating it if needed.
///
/// # Errors
///
/// [`Error::BadConfig`] for bad fractions; [`Error::Write`] when the
/// directory or a file cannot be written.
pub fn write_splits(
    dir: &Path,
    examples: Vec<Example>,
    valid: f64,
    test: f64,
    seed: u64,
) -> Result<SplitCounts> {
    write_parts(dir, &split(examples, valid, test, seed)?)
}

/// Writes `parts` as `train.jsonl`, `valid.jsonl` and `test.jsonl` into
/// `dir`, creating it if needed: [`write_splits`] for splits made (or
/// extended) by the caller.
///
/// # Errors
///
/// [`Error::Write`] when the directory or a file cannot be written.
pub fn write_parts(dir: &Path, parts: &Splits) -> Result<SplitCounts> {
    fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.to_owned(),
        source,
    })?;
    Ok(SplitCounts {
        train: write_jsonl(&dir.join("train.jsonl"), &parts.train)?,
        valid: write_jsonl(&dir.join("valid.jsonl"), &parts.valid)?,
        test: write_jsonl(&dir.join("test.jsonl"), &parts.test)?,
    })
}

/// The file of split `name` (`train`, `valid`, `test`) in `dir`:
/// `NAME.jsonl`, or `NAME.jsonl.gz` where only that exists (large splits
/// are often shipped compressed; [`load`](crate::load) reads both).
///
/// ```
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("train.jsonl.gz"), b"")?;
/// assert!(grpo_dataset::split_file(dir.path(), "train").ends_with("train.jsonl.gz"));
/// assert!(grpo_dataset::split_file(dir.path(), "test").ends_with("test.jsonl"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn split_file(dir: &Path, name: &str) -> std::path::PathBuf {
    let plain = dir.join(format!("{name}.jsonl"));
    let gz = dir.join(format!("{name}.jsonl.gz"));
    if !plain.exists() && gz.exists() {
        gz
    } else {
        plain
    }
}

/// Writes the records through a buffer and hands the sink back.
///
/// The buffer sits in front of the sink: serde_json writes many small
/// pieces, and each write into a gzip encoder costs a full buffer pass.
fn write_records<'a, W: Write>(
    sink: W,
    examples: impl IntoIterator<Item = &'a Example>,
) -> std::io::Result<(W, usize)> {
    let mut out = BufWriter::with_capacity(1 << 16, sink);
    let mut count = 0;
    for ex in examples {
        serde_json::to_writer(&mut out, ex)?;
        out.write_all(b"\n")?;
        count += 1;
    }
    let sink = out
        .into_inner()
        .map_err(std::io::IntoInnerError::into_error)?;
    Ok((sink, count))
}

fn temp_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{load, LoadOptions};

    #[test]
    fn round_trips_plain_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let mut ex = Example {
            prompt: "p".into(),
            answer: String::new(),
            ..Example::default()
        };
        ex.extra.insert("kind".into(), "irrelevance".into());
        for name in ["a.jsonl", "a.jsonl.gz"] {
            let path = dir.path().join(name);
            assert_eq!(write_jsonl(&path, [&ex, &ex]).unwrap(), 2);
            let loaded = load(&path, &LoadOptions::default()).unwrap();
            assert_eq!(loaded.examples, vec![ex.clone(), ex.clone()]);
        }
        assert!(!dir.path().join("a.jsonl.partial").exists());
    }

    #[test]
    fn unwritable_path_is_an_error_naming_it() {
        let err = write_jsonl(Path::new("/nonexistent-dir/x.jsonl"), []).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent-dir/x.jsonl"),
            "{err}"
        );
    }
}
