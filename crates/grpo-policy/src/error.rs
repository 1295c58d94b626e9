//! The error type of grpo-policy.

use std::path::PathBuf;

/// Everything that can go wrong while loading, adapting or running a policy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A JSON file (config, index, adapter config) is malformed.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// A required file of a model directory is missing.
    #[error("{dir}: no {what} (looked for {looked_for})")]
    MissingFile {
        /// The model or adapter directory.
        dir: PathBuf,
        /// What was needed, in words.
        what: &'static str,
        /// The file names tried.
        looked_for: String,
    },
    /// `config.json` names an architecture this crate does not implement.
    #[error("unsupported model_type `{model_type}` (supported: {})", supported.join(", "))]
    UnsupportedModel {
        /// The `model_type` found.
        model_type: String,
        /// The supported ones.
        supported: &'static [&'static str],
    },
    /// A configuration value is outside what is allowed.
    #[error("{what}: {message}")]
    InvalidConfig {
        /// The file or option concerned.
        what: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// The checkpoint's tensors do not match the architecture.
    #[error(
        "{dir}: weights do not match the model: {}",
        describe_mismatch(missing, unexpected, wrong_shape)
    )]
    WeightMismatch {
        /// The model directory.
        dir: PathBuf,
        /// Parameters the model needs that the files lack.
        missing: Vec<String>,
        /// Tensors in the files that the model has no place for.
        unexpected: Vec<String>,
        /// `name: expected [..], found [..]`.
        wrong_shape: Vec<String>,
    },
    /// A safetensors file could not be read or written.
    #[error("{path}: {message}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// MLX's message.
        message: String,
    },
    /// An MLX operation failed.
    #[error("mlx: {0}")]
    Mlx(#[from] mlx_rs::error::Exception),
}

/// The result type of grpo-policy.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn describe_mismatch(missing: &[String], unexpected: &[String], wrong_shape: &[String]) -> String {
    const SHOW: usize = 8;
    let list = |names: &[String]| {
        let mut s = names
            .iter()
            .take(SHOW)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if names.len() > SHOW {
            s.push_str(&format!(", … ({} in all)", names.len()));
        }
        s
    };
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing {}", list(missing)));
    }
    if !unexpected.is_empty() {
        parts.push(format!("unexpected {}", list(unexpected)));
    }
    if !wrong_shape.is_empty() {
        parts.push(format!("wrong shape {}", list(wrong_shape)));
    }
    parts.join("; ")
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn config(what: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidConfig {
            what: what.into(),
            message: message.into(),
        }
    }
}
