//! Reading checkpoint tensors, with strict accounting of every name.
//!
//! mlx-rs's own loaders skip tensors they do not recognise and say nothing of
//! parameters left unloaded, which turns a wrong checkpoint into a silently
//! random model. Here the model is *built from* a [`WeightMap`]: each layer
//! takes its tensors out by name, and [`WeightMap::finish`] fails with the
//! names that were missing, left over or of the wrong shape.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use mlx_rs::{Array, Dtype};

use crate::error::{Error, Result};

/// Checkpoint tensors by name, consumed while a model is built.
#[derive(Debug)]
pub struct WeightMap {
    source: PathBuf,
    tensors: HashMap<String, Array>,
    missing: Vec<String>,
    wrong_shape: Vec<String>,
}

impl WeightMap {
    /// Reads every safetensors file of a Hugging Face-layout model directory:
    /// the shards named by `model.safetensors.index.json` if it exists, else
    /// `model.safetensors`, else every `model*.safetensors` (as mlx-lm does).
    pub fn load_dir(dir: &Path) -> Result<Self> {
        let files = weight_files(dir)?;
        let mut tensors = HashMap::new();
        for file in &files {
            let loaded = Array::load_safetensors(file).map_err(|e| unreadable(file, &e))?;
            tensors.extend(loaded);
        }
        Ok(Self::from_tensors(dir, tensors))
    }

    /// Wraps tensors that are already in memory; `source` names them in errors.
    pub fn from_tensors(source: impl Into<PathBuf>, tensors: HashMap<String, Array>) -> Self {
        Self {
            source: source.into(),
            tensors,
            missing: Vec::new(),
            wrong_shape: Vec::new(),
        }
    }

    /// Whether a tensor of this name is (still) present.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// Drops a tensor the architecture knowingly ignores (see each model's
    /// `sanitize`).
    pub fn discard(&mut self, name: &str) {
        self.tensors.remove(name);
    }

    /// Drops every tensor whose name satisfies `pred`.
    pub fn discard_where(&mut self, pred: impl Fn(&str) -> bool) {
        self.tensors.retain(|k, _| !pred(k));
    }

    /// Takes a required tensor. When it is missing or has another shape than
    /// `shape` (if given), the problem is recorded for [`finish`](Self::finish)
    /// and a zero placeholder is returned so that building can go on and
    /// report every problem at once.
    pub fn take(&mut self, name: &str, shape: Option<&[i32]>) -> Result<Array> {
        match self.tensors.remove(name) {
            Some(a) => {
                if let Some(want) = shape {
                    if a.shape() != want {
                        self.wrong_shape
                            .push(format!("{name}: expected {want:?}, found {:?}", a.shape()));
                    }
                }
                Ok(a)
            }
            None => {
                self.missing.push(name.to_string());
                Ok(Array::zeros::<f32>(shape.unwrap_or(&[1]))?)
            }
        }
    }

    /// Takes a tensor that may be absent (a bias, say).
    pub fn take_optional(&mut self, name: &str) -> Option<Array> {
        self.tensors.remove(name)
    }

    /// The dtype of some floating-point tensor still in the map, used as the
    /// model's compute dtype.
    pub fn float_dtype(&self) -> Option<Dtype> {
        let mut names: Vec<&String> = self.tensors.keys().collect();
        names.sort();
        names.into_iter().find_map(|n| {
            let dt = self.tensors[n].dtype();
            matches!(dt, Dtype::Float32 | Dtype::Float16 | Dtype::Bfloat16).then_some(dt)
        })
    }

    /// Fails unless every required tensor was found with the right shape and
    /// none is left over.
    pub fn finish(self) -> Result<()> {
        let mut unexpected: Vec<String> = self.tensors.into_keys().collect();
        unexpected.sort();
        if self.missing.is_empty() && unexpected.is_empty() && self.wrong_shape.is_empty() {
            return Ok(());
        }
        Err(Error::WeightMismatch {
            dir: self.source,
            missing: self.missing,
            unexpected,
            wrong_shape: self.wrong_shape,
        })
    }
}

/// Writes tensors to a safetensors file, marked `format: mlx` as mlx-lm
/// writes them. The file appears whole or not at all: it is written next to
/// its final name and renamed into place.
pub fn save_safetensors<'a>(
    path: &Path,
    tensors: impl IntoIterator<Item = (&'a str, &'a Array)>,
) -> Result<()> {
    let metadata = HashMap::from([("format".to_string(), "mlx".to_string())]);
    save_safetensors_with(path, tensors, &metadata)
}

/// [`save_safetensors`] with the caller's metadata. A failed write (a full
/// disk, above all) is an [`Error::Safetensors`] that says what happened in
/// words, without MLX's source locations; no partial file is left.
pub fn save_safetensors_with<'a>(
    path: &Path,
    tensors: impl IntoIterator<Item = (&'a str, &'a Array)>,
    metadata: &HashMap<String, String>,
) -> Result<()> {
    // MLX appends `.safetensors` to names that do not end with it.
    let tmp = path.with_extension("tmp.safetensors");
    if let Err(e) = Array::save_safetensors(tensors, metadata, &tmp) {
        let message = if disk_full(&tmp) {
            "no space left on device".to_string()
        } else {
            format!("cannot write: {}", crate::error::mlx_io_message(&e))
        };
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Safetensors {
            path: path.to_path_buf(),
            message,
        });
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Whether writing to `file` fails for lack of space. MLX's write error
/// says only that bytes could not be written, so after one, more bytes are
/// appended to the same file (on the same filesystem) and synced.
fn disk_full(file: &Path) -> bool {
    use std::io::Write as _;
    let probe = std::fs::OpenOptions::new()
        .append(true)
        .open(file)
        .and_then(|mut f| {
            f.write_all(&vec![0u8; 1 << 20])?;
            f.sync_all()
        });
    matches!(probe, Err(e) if e.kind() == std::io::ErrorKind::StorageFull)
}

/// The error of a safetensors file MLX cannot read: a truncated or damaged
/// file, said in words, without MLX's source locations.
pub fn unreadable(path: &Path, e: &mlx_rs::error::IoError) -> Error {
    let why = crate::error::mlx_io_message(e);
    let message = match std::fs::metadata(path) {
        Ok(m) if m.is_file() => format!(
            "not a complete safetensors file ({} bytes): it is truncated or damaged; copy or download it again ({why})",
            m.len()
        ),
        _ => format!("cannot be read: the file is missing or unreadable ({why})"),
    };
    Error::Safetensors {
        path: path.to_path_buf(),
        message,
    }
}

/// The safetensors files of a model directory, in a stable order.
pub fn weight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index = dir.join("model.safetensors.index.json");
    if index.is_file() {
        let text = std::fs::read_to_string(&index).map_err(|e| Error::io(&index, e))?;
        let parsed: IndexFile = serde_json::from_str(&text).map_err(|source| Error::Json {
            path: index.clone(),
            source,
        })?;
        let mut shards: Vec<String> = parsed.weight_map.into_values().collect();
        shards.sort();
        shards.dedup();
        let files: Vec<PathBuf> = shards.iter().map(|s| dir.join(s)).collect();
        if let Some(absent) = files.iter().find(|f| !f.is_file()) {
            return Err(Error::MissingFiles {
                dir: dir.to_path_buf(),
                what: "shard named by model.safetensors.index.json",
                looked_for: absent.display().to_string(),
            });
        }
        return Ok(files);
    }
    let single = dir.join("model.safetensors");
    if single.is_file() {
        return Ok(vec![single]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("model") && n.ends_with(".safetensors"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::MissingFiles {
            dir: dir.to_path_buf(),
            what: "model weights",
            looked_for: "model.safetensors, model.safetensors.index.json, model-*.safetensors"
                .into(),
        });
    }
    Ok(files)
}

#[derive(serde::Deserialize)]
struct IndexFile {
    weight_map: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_truncated_file_is_named_in_words_without_source_paths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let a = Array::from_slice(&[1.0f32; 64], &[8, 8]);
        save_safetensors(&path, [("w", &a)]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        for cut in [4, 20, bytes.len() - 16] {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let err = WeightMap::load_dir(dir.path())
                .and_then(|mut w| {
                    // MLX may read lazily: the data is touched here.
                    let t = w.take("w", None)?;
                    t.eval()?;
                    Ok(())
                })
                .unwrap_err()
                .to_string();
            assert!(!err.contains(".cpp") && !err.contains(".rs:"), "{err}");
            assert!(
                err.contains("truncated") || err.contains("mlx:"),
                "cut {cut}: {err}"
            );
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_is_said_in_words() {
        // /dev/full fails every write with ENOSPC, like a full disk.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("adapters.safetensors");
        std::os::unix::fs::symlink("/dev/full", path.with_extension("tmp.safetensors")).unwrap();
        let a = Array::from_slice(&[1.0f32; 64], &[8, 8]);
        let err = save_safetensors(&path, [("w", &a)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("no space left on device"), "{err}");
        assert!(!err.contains(".cpp") && !err.contains(".rs:"), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn finish_reports_missing_unexpected_and_wrong_shape() {
        let mut tensors = HashMap::new();
        tensors.insert("a".to_string(), Array::zeros::<f32>(&[2, 3]).unwrap());
        tensors.insert("b".to_string(), Array::zeros::<f32>(&[2]).unwrap());
        tensors.insert("extra".to_string(), Array::zeros::<f32>(&[1]).unwrap());
        let mut map = WeightMap::from_tensors("ckpt", tensors);
        map.take("a", Some(&[2, 3])).unwrap();
        map.take("b", Some(&[3])).unwrap();
        map.take("c", Some(&[4])).unwrap();
        let err = map.finish().unwrap_err().to_string();
        assert!(err.contains("missing c"), "{err}");
        assert!(err.contains("unexpected extra"), "{err}");
        assert!(err.contains("b: expected [3], found [2]"), "{err}");
    }

    #[test]
    fn complete_map_finishes_cleanly() {
        let mut tensors = HashMap::new();
        tensors.insert("w".to_string(), Array::zeros::<f32>(&[2]).unwrap());
        let mut map = WeightMap::from_tensors("ckpt", tensors);
        map.take("w", Some(&[2])).unwrap();
        map.finish().unwrap();
    }
}
