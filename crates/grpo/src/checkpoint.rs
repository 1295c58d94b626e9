//! Crash-safe checkpoint directories.
//!
//! A checkpoint root holds one directory per saved iteration and a marker
//! naming the newest one. `iteration-N` is the checkpoint after N
//! iterations (rollout batches), not N optimizer steps: GRPO takes
//! `num_iterations` optimizer steps per iteration. Checkpoints of earlier
//! versions, named `step-N` for the same count, are still found and resumed.
//!
//! ```text
//! root/
//!   iteration-200/      complete checkpoints, never modified after rename
//!   iteration-300/
//!   iteration-400.tmp/  a save in progress, or the leftover of a crash
//!   latest              "iteration-300\n": the checkpoint to resume from
//! ```
//!
//! [`save`] writes everything into `iteration-N.tmp/`, fsyncs every file and
//! the directory, renames it to `iteration-N/`, then repoints `latest` by writing
//! `latest.tmp` and renaming it over `latest`. A rename within one directory
//! is atomic on POSIX filesystems, so a kill at any moment leaves either the
//! previous checkpoint or the new one as `latest`, each complete. Leftover
//! `*.tmp` entries are ignored by [`latest`] and removed by the next [`save`].
//! A root has one writer at a time: the trainer that owns it.
//!
//! What goes into a checkpoint is the caller's business (adapters, optimizer
//! state); [`TrainerState`] is the small JSON file with the iteration, seed
//! and data position that lets a run continue where it stopped.

use std::fs::{self, File};
use std::io::Write;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Name of the marker file that names the newest complete checkpoint.
pub const LATEST_MARKER: &str = "latest";

/// Name of the [`TrainerState`] file inside a checkpoint directory.
pub const TRAINER_STATE_FILE: &str = "trainer_state.json";

const PREFIX: &str = "iteration-";
/// The prefix of the checkpoints of earlier versions (the same count).
const LEGACY_PREFIX: &str = "step-";
const TMP_SUFFIX: &str = ".tmp";

/// A complete checkpoint directory found under a root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Checkpoint {
    /// The iterations done when it was saved (its `iteration-N` name).
    pub iteration: u64,
    /// Its directory, `root/iteration-N` (`root/step-N` from an earlier
    /// version).
    pub path: PathBuf,
}

/// Saves the checkpoint after `iteration` iterations under `root` and
/// returns its directory.
///
/// `write` fills the temporary directory it is given; it must not keep
/// handles open after returning. Once it returns `Ok`, the files are synced,
/// the directory is renamed to `iteration-N/` (replacing an older save of
/// the same iteration), `latest` is repointed, and complete checkpoints
/// beyond the `keep_last` newest are removed (`None` keeps all). The
/// checkpoint just written is never removed, even if a stale one with a
/// higher iteration exists.
///
/// # Errors
///
/// [`Error::CheckpointWrite`] when `write`, or syncing what it wrote, fails:
/// the temporary directory is removed, `latest` is untouched, and the
/// message says whether the disk is full and which checkpoint is intact.
/// An [`Error::Io`] naming the path when a rename fails.
///
/// # Example
///
/// ```
/// use grpo::checkpoint::{self, TrainerState};
///
/// let root = tempfile::tempdir()?;
/// let state = TrainerState {
///     iteration: 10,
///     seed: 0,
///     data_cursor: serde_json::json!({ "epoch": 0, "position": 40 }),
///     config: serde_json::json!({ "learning_rate": 1e-5 }),
///     extra: Default::default(),
/// };
/// let dir = checkpoint::save(root.path(), 10, None, |tmp| state.write(tmp))?;
/// assert_eq!(checkpoint::latest(root.path())?, Some(dir.clone()));
/// assert_eq!(TrainerState::read(&dir)?, state);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save<F, E>(
    root: &Path,
    iteration: u64,
    keep_last: Option<NonZeroUsize>,
    write: F,
) -> Result<PathBuf, E>
where
    F: FnOnce(&Path) -> Result<(), E>,
    E: From<Error> + std::fmt::Display,
{
    fs::create_dir_all(root).map_err(Error::io("creating", root))?;
    let name = format!("{PREFIX}{iteration}");
    let tmp = root.join(format!("{name}{TMP_SUFFIX}"));
    let dir = root.join(&name);

    remove_leftovers(root)?;
    // A failure from here on says which checkpoint is still intact.
    let failed = |message: String| -> E {
        let _ = fs::remove_dir_all(&tmp);
        let lower = message.to_lowercase();
        E::from(Error::CheckpointWrite {
            iteration,
            intact: latest(root).ok().flatten(),
            disk_full: lower.contains("no space left on device")
                || lower.contains("disk quota exceeded"),
            message,
        })
    };
    fs::create_dir(&tmp)
        .map_err(Error::io("creating", &tmp))
        .map_err(|e| failed(e.to_string()))?;
    if let Err(error) = write(&tmp) {
        // Best effort: a leftover is harmless and cleaned by the next save.
        return Err(failed(error.to_string()));
    }
    sync_tree(&tmp).map_err(|e| failed(e.to_string()))?;

    if dir.exists() {
        // Same iteration saved again (e.g. an interrupt right after a resume).
        // Move the old one aside under a `.tmp` name first: a crash between
        // the two renames leaves the older checkpoints and `latest` falls
        // back to the newest complete one.
        let stale = root.join(format!("{name}.replaced{TMP_SUFFIX}"));
        fs::rename(&dir, &stale).map_err(Error::io("renaming", &dir))?;
        fs::rename(&tmp, &dir).map_err(Error::io("renaming", &tmp))?;
        fs::remove_dir_all(&stale).map_err(Error::io("removing", &stale))?;
    } else {
        fs::rename(&tmp, &dir).map_err(Error::io("renaming", &tmp))?;
    }
    // An earlier version's checkpoint of the same iteration, replaced by
    // this one (once `latest` no longer names it).
    let legacy = root.join(format!("{LEGACY_PREFIX}{iteration}"));

    sync_dir(root)?;

    write_atomic(&root.join(LATEST_MARKER), format!("{name}\n").as_bytes())
        .map_err(|e| failed(e.to_string()))?;

    if legacy.is_dir() {
        fs::remove_dir_all(&legacy).map_err(Error::io("removing", &legacy))?;
    }
    if let Some(keep_last) = keep_last {
        let others: Vec<Checkpoint> = list(root)?
            .into_iter()
            .filter(|c| c.iteration != iteration)
            .collect();
        let excess = others.len().saturating_sub(keep_last.get() - 1);
        for old in &others[..excess] {
            fs::remove_dir_all(&old.path).map_err(Error::io("removing", &old.path))?;
        }
    }
    Ok(dir)
}

/// The checkpoint to resume from: the one `latest` names, or, when the
/// marker is missing or names a directory that is gone, the complete
/// checkpoint with the most iterations. `None` when there is none (or no
/// root).
///
/// # Errors
///
/// [`Error::Io`] when the root cannot be read, [`Error::Checkpoint`] when the
/// marker holds something other than a checkpoint's name.
pub fn latest(root: &Path) -> Result<Option<PathBuf>> {
    let marker = root.join(LATEST_MARKER);
    match fs::read_to_string(&marker) {
        Ok(text) => {
            let name = text.trim();
            if parse_name(name).is_none() {
                return Err(Error::Checkpoint {
                    path: marker,
                    reason: format!("marker holds `{name}` (expected a name like `iteration-100`)"),
                });
            }
            let dir = root.join(name);
            if dir.is_dir() {
                return Ok(Some(dir));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(Error::Io {
                action: "reading",
                path: marker,
                source,
            })
        }
    }
    Ok(list(root)?.pop().map(|c| c.path))
}

/// The complete checkpoints under `root`, fewest iterations first; empty when the
/// root does not exist. Temporary and unrelated entries are skipped.
///
/// # Errors
///
/// [`Error::Io`] when the root exists but cannot be read.
pub fn list(root: &Path) -> Result<Vec<Checkpoint>> {
    let entries = match fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::Io {
                action: "reading",
                path: root.into(),
                source,
            })
        }
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(Error::io("reading", root))?;
        let Some(iteration) = entry.file_name().to_str().and_then(parse_name) else {
            continue;
        };
        if entry.path().is_dir() {
            found.push(Checkpoint {
                iteration,
                path: entry.path(),
            });
        }
    }
    found.sort();
    Ok(found)
}

/// The iterations of a checkpoint directory name: N of `iteration-N`, or
/// of an earlier version's `step-N` (not of a `.tmp` name).
pub fn parse_name(name: &str) -> Option<u64> {
    let digits = name
        .strip_prefix(PREFIX)
        .or_else(|| name.strip_prefix(LEGACY_PREFIX))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Checks a run that resumes from the newest checkpoint under `root`
/// against the settings that checkpoint recorded: a change of a setting
/// that cannot change during a run ([`FIXED_ON_RESUME`]: the adapters'
/// shape, the data and its order) is an [`Error::Checkpoint`] listing every
/// such change; the other changes are returned for the caller to mention.
/// `Ok(None)` when there is no checkpoint (resuming then fails elsewhere,
/// saying so).
///
/// Call it before any work, where `--resume` is handled.
///
/// # Errors
///
/// [`Error::Checkpoint`] as above; [`Error::Io`] or [`Error::Json`] when the
/// checkpoint's state cannot be read.
///
/// [`FIXED_ON_RESUME`]: crate::config::FIXED_ON_RESUME
pub fn check_resume(
    root: &Path,
    config: &crate::config::TrainConfig,
) -> Result<Option<(PathBuf, Vec<crate::config::SettingChange>)>> {
    let Some(dir) = latest(root)? else {
        return Ok(None);
    };
    let state = TrainerState::read(&dir)?;
    let changes = config.compare_with_checkpoint(&state.config);
    changes.check(&dir)?;
    Ok(Some((dir, changes.allowed)))
}

/// Where training stands, saved as [`TRAINER_STATE_FILE`] in each checkpoint
/// so that a resumed run continues with the same iteration, randomness and
/// data.
/// No random key is stored: every key is derived from `seed` and the
/// iteration, so the seed restores the randomness.
///
/// Fields this version does not know are kept in [`extra`](Self::extra) and
/// written back, so older binaries do not drop newer state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Iterations completed (rollout batches, not optimizer steps). Read
    /// from `step` in the checkpoints of earlier versions.
    #[serde(alias = "step")]
    pub iteration: u64,
    /// The run's seed.
    pub seed: u64,
    /// The data loader's position, as the data crate serializes it.
    pub data_cursor: serde_json::Value,
    /// The resolved training configuration.
    pub config: serde_json::Value,
    /// Anything else the trainer records.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl TrainerState {
    /// Writes `dir/trainer_state.json` (atomically, by temp file and rename).
    ///
    /// # Errors
    ///
    /// [`Error::Json`] or [`Error::Io`] naming the file.
    pub fn write(&self, dir: &Path) -> Result<()> {
        write_json(&dir.join(TRAINER_STATE_FILE), self)
    }

    /// Reads `dir/trainer_state.json`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file is missing or unreadable, [`Error::Json`]
    /// when it is not a trainer state.
    pub fn read(dir: &Path) -> Result<Self> {
        read_json(&dir.join(TRAINER_STATE_FILE))
    }
}

/// Writes `value` as pretty JSON to `path` through `path.tmp` and a rename,
/// fsyncing the file and its directory.
///
/// # Errors
///
/// [`Error::Json`] or [`Error::Io`] naming the file.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|source| Error::Json {
        path: path.into(),
        source,
    })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Reads JSON from `path`.
///
/// # Errors
///
/// [`Error::Io`] or [`Error::Json`] naming the file.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = fs::read(path).map_err(Error::io("reading", path))?;
    serde_json::from_slice(&bytes).map_err(|source| Error::Json {
        path: path.into(),
        source,
    })
}

/// Writes `bytes` to `path` via a sibling temporary file and a rename, so
/// readers see the old content or the new one, never a torn file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(TMP_SUFFIX);
    let tmp = path.with_file_name(tmp_name);
    let mut file = File::create(&tmp).map_err(Error::io("creating", &tmp))?;
    file.write_all(bytes).map_err(Error::io("writing", &tmp))?;
    file.sync_all().map_err(Error::io("syncing", &tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(Error::io("renaming", &tmp))?;
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => sync_dir(Path::new(".")),
    }
}

/// Removes `*.tmp` entries left in `root` by an interrupted save.
fn remove_leftovers(root: &Path) -> Result<()> {
    for entry in fs::read_dir(root).map_err(Error::io("reading", root))? {
        let entry = entry.map_err(Error::io("reading", root))?;
        let is_leftover = entry.file_name().to_str().is_some_and(|n| {
            (n.starts_with(PREFIX) || n.starts_with(LEGACY_PREFIX)) && n.ends_with(TMP_SUFFIX)
        });
        if is_leftover {
            let path = entry.path();
            let removed = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            removed.map_err(Error::io("removing", &path))?;
        }
    }
    Ok(())
}

/// Fsyncs every file under `dir`, every subdirectory, and `dir` itself, so
/// that the rename that publishes `dir` cannot overtake its content.
fn sync_tree(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(Error::io("reading", dir))? {
        let entry = entry.map_err(Error::io("reading", dir))?;
        let path = entry.path();
        // The entry's own type: symbolic links are not followed, so a link
        // cycle cannot recurse forever.
        let kind = entry.file_type().map_err(Error::io("reading", &path))?;
        if kind.is_dir() {
            sync_tree(&path)?;
        } else if kind.is_file() {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(Error::io("syncing", &path))?;
        }
    }
    sync_dir(dir)
}

/// Fsyncs a directory so that renames and new entries in it are durable.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(Error::io("syncing", dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_name_accepts_only_complete_names() {
        assert_eq!(parse_name("iteration-0"), Some(0));
        assert_eq!(parse_name("iteration-1200"), Some(1200));
        assert_eq!(
            parse_name("step-1200"),
            Some(1200),
            "an earlier version's name"
        );
        for bad in [
            "iteration-",
            "iteration-12.tmp",
            "step-",
            "step-12.tmp",
            "step--1",
            "step-+1",
            "latest",
            "step-1a",
            "../step-1",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }
}
