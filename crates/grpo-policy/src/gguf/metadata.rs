//! Typed reads of a GGUF file's metadata, each naming the key when it is
//! missing or of the wrong kind.

use std::path::{Path, PathBuf};

use mlx_rs::io::{GgufFile, GgufMetadataValue};
use mlx_rs::Dtype;

use crate::error::{Error, Result};

/// The metadata of a loaded GGUF file.
pub(crate) struct Metadata<'a> {
    file: &'a GgufFile,
    path: PathBuf,
}

impl<'a> Metadata<'a> {
    pub(crate) fn new(file: &'a GgufFile, path: &Path) -> Self {
        Self {
            file,
            path: path.to_path_buf(),
        }
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> Error {
        Error::Gguf {
            path: self.path.clone(),
            message: message.into(),
        }
    }

    fn value(&self, key: &str) -> Result<Option<GgufMetadataValue>> {
        self.file
            .get_metadata(key)
            .map_err(|e| self.error(format!("reading metadata `{key}`: {e}")))
    }

    fn wrong_kind(&self, key: &str, expected: &str) -> Error {
        self.error(format!("metadata `{key}` is not {expected}"))
    }

    /// A string value.
    pub(crate) fn string(&self, key: &str) -> Result<Option<String>> {
        match self.value(key)? {
            None => Ok(None),
            Some(GgufMetadataValue::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.wrong_kind(key, "a string")),
        }
    }

    /// A required string value.
    pub(crate) fn require_string(&self, key: &str) -> Result<String> {
        self.string(key)?
            .ok_or_else(|| self.error(format!("no metadata `{key}`")))
    }

    /// A list of strings (the vocabulary, the merges).
    pub(crate) fn strings(&self, key: &str) -> Result<Option<Vec<String>>> {
        match self.value(key)? {
            None => Ok(None),
            Some(GgufMetadataValue::Strings(s)) => Ok(Some(s)),
            Some(_) => Err(self.wrong_kind(key, "a list of strings")),
        }
    }

    /// A numeric value as `f64` (GGUF stores sizes as u32/u64, constants
    /// as f32).
    pub(crate) fn number(&self, key: &str) -> Result<Option<f64>> {
        match self.value(key)? {
            None => Ok(None),
            Some(GgufMetadataValue::Array(a)) if a.size() == 1 => {
                let v = a
                    .try_item_cast::<f64>()
                    .map_err(|e| self.error(format!("reading metadata `{key}`: {e}")))?;
                Ok(Some(v))
            }
            Some(_) => Err(self.wrong_kind(key, "a number")),
        }
    }

    /// A required non-negative integer.
    pub(crate) fn require_int(&self, key: &str) -> Result<i64> {
        self.int(key)?
            .ok_or_else(|| self.error(format!("no metadata `{key}`")))
    }

    /// A non-negative integer.
    pub(crate) fn int(&self, key: &str) -> Result<Option<i64>> {
        match self.number(key)? {
            None => Ok(None),
            Some(v) if v >= 0.0 && v.fract() == 0.0 => Ok(Some(v as i64)),
            Some(v) => Err(self.error(format!(
                "metadata `{key}` should be a non-negative integer, found {v}"
            ))),
        }
    }

    /// A float constant, rounded to the `f32` it was stored as (so that
    /// `1e-5` is written as `1e-05`, not `9.999999747378752e-06`).
    pub(crate) fn float(&self, key: &str) -> Result<Option<f64>> {
        Ok(self
            .number(key)?
            .map(|v| (v as f32).to_string().parse().unwrap_or(v)))
    }

    /// A boolean flag.
    pub(crate) fn flag(&self, key: &str) -> Result<Option<bool>> {
        Ok(self.number(key)?.map(|v| v != 0.0))
    }

    /// A list of integers (token types).
    pub(crate) fn ints(&self, key: &str) -> Result<Option<Vec<i32>>> {
        match self.value(key)? {
            None => Ok(None),
            Some(GgufMetadataValue::Array(a)) => {
                let a = a
                    .as_dtype(Dtype::Int32)
                    .map_err(|e| self.error(format!("reading metadata `{key}`: {e}")))?;
                Ok(Some(a.as_slice::<i32>().to_vec()))
            }
            Some(_) => Err(self.wrong_kind(key, "a list of integers")),
        }
    }
}
