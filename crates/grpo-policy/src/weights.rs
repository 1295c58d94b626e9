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
            let loaded = Array::load_safetensors(file).map_err(|e| Error::Safetensors {
                path: file.clone(),
                message: e.to_string(),
            })?;
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
    // MLX appends `.safetensors` to names that do not end with it.
    let tmp = path.with_extension("tmp.safetensors");
    let metadata = HashMap::from([("format".to_string(), "mlx".to_string())]);
    Array::save_safetensors(tensors, &metadata, &tmp).map_err(|e| Error::Safetensors {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
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
