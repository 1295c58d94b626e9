//! The error type of grpo-policy.

use std::path::PathBuf;

/// What can go wrong while loading or using the policy.
///
/// Every variant that comes from a file names the file, so a user can see
/// which part of a model directory to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- Files ---------------------------------------------------------------
    /// A file the model directory must have is not there.
    #[error("missing {path}: {what}")]
    MissingFile {
        /// The file looked for.
        path: PathBuf,
        /// What the file is for and where it usually comes from.
        what: &'static str,
    },

    /// A file could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },

    /// A JSON file is not valid JSON.
    #[error("malformed JSON in {path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// Where and why parsing failed.
        source: serde_json::Error,
    },

    /// A field of a JSON file has the wrong type or an impossible value.
    #[error("invalid `{field}` in {path}: expected {expected}, got {got}")]
    InvalidField {
        /// The file.
        path: PathBuf,
        /// The field, as a dotted path (`added_tokens_decoder.151643.content`).
        field: String,
        /// What the field may hold.
        expected: &'static str,
        /// The value found, as JSON.
        got: String,
    },

    // --- Tokenizer -----------------------------------------------------------
    /// `tokenizer.json` could not be parsed by the `tokenizers` library.
    #[error("cannot load tokenizer {path}: {source}")]
    TokenizerFile {
        /// The `tokenizer.json` file.
        path: PathBuf,
        /// The `tokenizers` error.
        source: tokenizers::Error,
    },

    /// A token declared in `tokenizer_config.json` has an id there that
    /// differs from the id `tokenizer.json` gives it.
    #[error(
        "token `{token}` has id {declared} in {path} but id {actual} in tokenizer.json \
         (the two files come from different tokenizers)"
    )]
    TokenIdMismatch {
        /// The `tokenizer_config.json` file.
        path: PathBuf,
        /// The token text.
        token: String,
        /// The id `tokenizer_config.json` declares.
        declared: u32,
        /// The id the tokenizer assigns.
        actual: u32,
    },

    /// A token a tokenizer layout names is not in the vocabulary.
    #[error("the {role} `{token}` is not in the tokenizer's vocabulary")]
    UnknownToken {
        /// What the token is for (`eos_token`, `pad_token`, …).
        role: &'static str,
        /// The token text.
        token: String,
    },

    /// Text could not be turned into token ids.
    #[error("cannot encode text: {source}")]
    Encode {
        /// The `tokenizers` error.
        source: tokenizers::Error,
    },

    /// Token ids could not be turned back into text.
    #[error("cannot decode token ids: {source}")]
    Decode {
        /// The `tokenizers` error (typically an id outside the vocabulary).
        source: tokenizers::Error,
    },

    /// Training a tokenizer failed or was asked for something impossible.
    #[error("cannot train a BPE tokenizer: {reason}")]
    Train {
        /// What went wrong.
        reason: String,
    },

    // --- Chat template -------------------------------------------------------
    /// The tokenizer has no chat template, so chat messages cannot be turned
    /// into a prompt.
    #[error(
        "no chat template in {dir} (looked for chat_template.jinja and `chat_template` in \
         tokenizer_config.json); encode a plain prompt instead"
    )]
    NoChatTemplate {
        /// The model directory.
        dir: PathBuf,
    },

    /// The tokenizer has several named chat templates and the one asked for
    /// (or `default`) is not among them.
    #[error("no chat template named `{name}` (known: {})", known.join(", "))]
    UnknownChatTemplate {
        /// The name asked for.
        name: String,
        /// The names the tokenizer has.
        known: Vec<String>,
    },

    /// A chat template is not valid Jinja.
    #[error("chat template `{name}` ({origin}) does not compile: {source:#}")]
    TemplateSyntax {
        /// The template's name (`default`, `tool_use`, or a file name).
        name: String,
        /// Where the template came from: a file, or `inline`.
        origin: String,
        /// The Jinja error, with line information.
        source: minijinja::Error,
    },

    /// Rendering a chat template failed: the template raised an exception
    /// (`raise_exception`) or used a value in a way it does not support.
    #[error("chat template `{name}` failed to render: {source:#}")]
    TemplateRender {
        /// The template's name.
        name: String,
        /// The Jinja error; for `raise_exception` its message is the template's.
        source: minijinja::Error,
    },

    /// A chat message or tool is not a JSON object, or the conversation is
    /// empty.
    #[error("invalid chat input: {what}")]
    InvalidChat {
        /// Which message or tool is wrong, and how.
        what: String,
    },

    // --- Model ---------------------------------------------------------------
    /// None of the files that can hold something a directory needs exists.
    #[error("{dir}: no {what} (looked for {looked_for})")]
    MissingFiles {
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

    /// A model name is neither a directory nor a Hugging Face repo id.
    #[error(
        "model `{model}` not found: there is no such directory, and it is not a Hugging Face \
         repo id (ORG/NAME)"
    )]
    ModelNotFound {
        /// The name given.
        model: String,
    },

    // --- Hugging Face Hub ----------------------------------------------------
    /// Offline mode (`HF_HUB_OFFLINE`) and the model is not in the cache.
    #[error(
        "model `{model}` is not in the Hugging Face cache ({}) and HF_HUB_OFFLINE is set, so it \
         is not downloaded: unset HF_HUB_OFFLINE to download it, or download it on a machine \
         with a network (`hf download {model}`, or `huggingface-cli download {model}` with an \
         older huggingface_hub) and copy that cache here",
        cache.display()
    )]
    HubOffline {
        /// The repo id.
        model: String,
        /// The cache looked in.
        cache: PathBuf,
    },

    /// The Hub did not answer: no network, a wrong `HF_ENDPOINT`, a proxy.
    #[error(
        "cannot reach the Hugging Face Hub at {endpoint} to download `{model}` ({reason}): check \
         the network connection and HF_ENDPOINT; or download the model on a machine with a \
         network (`hf download {model}`, or `huggingface-cli download {model}` with an older \
         huggingface_hub), copy that cache here and set HF_HUB_OFFLINE=1"
    )]
    HubUnreachable {
        /// The repo id.
        model: String,
        /// The Hub's URL.
        endpoint: String,
        /// What failed, as the HTTP client tells it.
        reason: String,
    },

    /// The Hub has no such repo, or not one the token may see.
    #[error(
        "model repo `{model}` not found on {endpoint}: check the name; a private or gated repo \
         needs an access token (set HF_TOKEN, or log in with `hf auth login`)"
    )]
    HubRepoNotFound {
        /// The repo id.
        model: String,
        /// The Hub's URL.
        endpoint: String,
    },

    /// The repo exists but its files may not be read with the token given.
    #[error(
        "access to `{model}` on {endpoint} is denied: a gated model needs its terms accepted on \
         its page, and a token of that account in HF_TOKEN (or `hf auth login`)"
    )]
    HubAccessDenied {
        /// The repo id.
        model: String,
        /// The Hub's URL.
        endpoint: String,
    },

    /// The repo lacks what a model directory needs.
    #[error(
        "the repo `{model}` has no {what}: it is not a model this program loads (it needs \
         config.json and safetensors weights)"
    )]
    HubIncomplete {
        /// The repo id.
        model: String,
        /// What is missing.
        what: &'static str,
    },

    /// The Hub refused a request, or answered in a way that is not the Hub's.
    #[error("downloading `{model}` failed: {reason}")]
    HubRequest {
        /// The repo id.
        model: String,
        /// What happened, with the endpoint.
        reason: String,
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

    /// An output path exists and may not be replaced.
    #[error("{path} already exists: {hint}")]
    OutputExists {
        /// The output path.
        path: PathBuf,
        /// What to do about it.
        hint: &'static str,
    },

    /// A GGUF file cannot be imported.
    #[error("{path}: {message}")]
    Gguf {
        /// The GGUF file.
        path: PathBuf,
        /// What is wrong, naming the key, tensor or type concerned.
        message: String,
    },

    /// Joining the group of a data-parallel run, or a collective
    /// operation on it, failed.
    #[error("distributed training: {message}")]
    Distributed {
        /// What failed and what to check.
        message: String,
    },

    /// An MLX operation failed.
    #[error("mlx: {}", mlx_message(.0))]
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

/// MLX's message without the source locations that mlx-rs and mlx-c attach
/// to it (`… at /rustc/…/ops.rs:12`, `… at …/mlx-c/mlx/c/io.cpp:18`): they
/// mean nothing to a user. Use this, not the exception's `Display`, for any
/// message that may reach one.
pub fn mlx_message(e: &mlx_rs::error::Exception) -> String {
    strip_locations(e.what())
}

/// [`mlx_message`] of an MLX file operation's error.
pub fn mlx_io_message(e: &mlx_rs::error::IoError) -> String {
    match e {
        mlx_rs::error::IoError::Exception(e) => mlx_message(e),
        other => strip_locations(&other.to_string()),
    }
}

/// `text` without trailing ` at FILE:LINE` parts.
pub fn strip_locations(text: &str) -> String {
    let mut text = text.trim_end();
    while let Some(at) = text.rfind(" at ") {
        let loc = &text[at + 4..];
        let is_location = loc.rsplit_once(':').is_some_and(|(file, line)| {
            !line.is_empty()
                && line.bytes().all(|b| b.is_ascii_digit() || b == b':')
                && (file.contains('/') || file.contains('\\') || file.contains('.'))
        });
        if !is_location {
            break;
        }
        text = text[..at].trim_end();
    }
    text.to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_locations_are_stripped() {
        assert_eq!(
            strip_locations("[write] Unable to write 10 bytes to file. at /home/u/.cargo/registry/src/x/mlx-sys-0.7.0/src/mlx-c/mlx/c/io.cpp:40"),
            "[write] Unable to write 10 bytes to file."
        );
        assert_eq!(
            strip_locations("bad at /rustc/abc/library/core/src/ops.rs:12:5"),
            "bad"
        );
        assert_eq!(strip_locations("look at me"), "look at me");
        assert_eq!(strip_locations("at 3:4 pm"), "at 3:4 pm");
        let e = mlx_rs::error::Exception::custom("[load] broken at mlx/c/io.cpp:18");
        let shown = Error::Mlx(e).to_string();
        assert_eq!(shown, "mlx: [load] broken");
    }
}
