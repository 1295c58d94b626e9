//! Models from the Hugging Face Hub: a repo id (`ORG/NAME`) becomes a model
//! directory in the local Hugging Face cache, downloaded when it is not there.
//!
//! The cache is the one Python `huggingface_hub` (and so `transformers` and
//! `mlx_lm`) uses, in its layout, so that a model downloaded by either tool is
//! found by the other and stored once:
//!
//! ```text
//! $HF_HUB_CACHE/models--ORG--NAME/
//!   blobs/<etag>                 the files' contents
//!   snapshots/<commit>/<file>    links to the blobs, as the repo names them
//!   refs/main                    the commit `main` pointed to
//! ```
//!
//! The HTTP side, the blob store and the links are [hf-hub]'s (the Hub's own
//! Rust client, blocking `ureq` flavour): requests as the Hub expects them,
//! redirects to its storage, partial downloads resumed from their `.part`
//! file. This module adds what a training run needs around it:
//!
//! - **Only the files the loader reads**: `config.json`, the tokenizer files,
//!   chat templates and the safetensors weights (one file, or the shards
//!   `model.safetensors.index.json` names), chosen from the repo's file
//!   listing; a repo's PyTorch, GGUF or ONNX copies are not downloaded.
//! - **The cache first**: a snapshot that already has every file the loader
//!   needs is used without asking the Hub, so a cached model works offline
//!   and starts without a network round trip.
//! - **Python's environment variables** ([`HubSettings::from_env`]): hf-hub
//!   reads `HF_HOME` and `HF_ENDPOINT` only; `HF_HUB_CACHE`, `HF_TOKEN`,
//!   `HF_TOKEN_PATH` and `HF_HUB_OFFLINE` are read here and passed to it.
//! - **Failing fast, with what to do**: the first request has a short time
//!   limit, so a machine without a network (or a wrong `HF_ENDPOINT`) fails in
//!   seconds, not after minutes of retries; offline mode never opens a
//!   connection; every failure says what to do next ([`Error`]).
//!
//! Progress goes to a [`DownloadProgress`]: the library draws nothing itself
//! beyond the plain [`StderrProgress`] that
//! [`resolve_model`](crate::policy::resolve_model) uses by default.
//!
//! [hf-hub]: https://github.com/huggingface/hf-hub

mod files;
mod progress;
mod settings;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use hf_hub::api::sync::{ApiBuilder, ApiError, ApiRepo};
use hf_hub::{Cache, Repo};

use crate::error::{Error, Result};

pub use progress::{human_bytes, DownloadProgress, StderrProgress};
pub use settings::{HubSettings, DEFAULT_ENDPOINT, DEFAULT_TIMEOUT};

/// The Hugging Face Hub as seen from this machine: an endpoint, a cache, a
/// token, and whether the network may be used.
#[derive(Debug, Clone)]
pub struct Hub {
    settings: HubSettings,
}

/// The repo's file listing: `GET /api/models/ORG/NAME/revision/main`.
#[derive(Debug, serde::Deserialize)]
struct Listing {
    /// The commit `main` points to: the snapshot's name.
    sha: String,
    siblings: Vec<Sibling>,
}

#[derive(Debug, serde::Deserialize)]
struct Sibling {
    rfilename: String,
    /// Present when the listing is asked for with `blobs=true`.
    #[serde(default)]
    size: Option<u64>,
}

impl Hub {
    /// The Hub with these settings.
    pub fn new(settings: HubSettings) -> Self {
        Self { settings }
    }

    /// The Hub as Python `huggingface_hub` would see it in this process (see
    /// [`HubSettings::from_env`]).
    pub fn from_env() -> Self {
        Self::new(HubSettings::from_env())
    }

    /// The settings in use.
    pub fn settings(&self) -> &HubSettings {
        &self.settings
    }

    /// The cache folder of a repo, `models--ORG--NAME`, whether it exists or
    /// not.
    pub fn repo_dir(&self, model: &str) -> PathBuf {
        self.settings
            .cache_dir
            .join(Repo::model(model.to_string()).folder_name())
    }

    /// The snapshot of `model` in the cache: the one `refs/main` names, else
    /// the newest; `None` when there is none. Its files are not checked.
    pub fn cached(&self, model: &str) -> Option<PathBuf> {
        if !is_repo_id(model) {
            return None;
        }
        let repo = self.repo_dir(model);
        let snapshots = repo.join("snapshots");
        if let Ok(rev) = std::fs::read_to_string(repo.join("refs/main")) {
            let dir = snapshots.join(rev.trim());
            if !rev.trim().is_empty() && dir.is_dir() {
                return Some(dir);
            }
        }
        std::fs::read_dir(&snapshots)
            .ok()?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
            .map(|e| e.path())
    }

    /// The model directory for a repo id: a cached snapshot when it has every
    /// file the loader needs (or, offline, whatever snapshot there is), else
    /// a fresh download into the cache.
    ///
    /// # Errors
    /// [`Error::ModelNotFound`] for a name that is not a repo id,
    /// [`Error::HubOffline`] offline without a snapshot, and the errors of
    /// [`download`](Self::download).
    pub fn resolve(&self, model: &str, progress: &mut dyn DownloadProgress) -> Result<PathBuf> {
        if !is_repo_id(model) {
            return Err(Error::ModelNotFound {
                model: model.to_string(),
            });
        }
        if let Some(dir) = self.cached(model) {
            if self.settings.offline || files::is_complete(&dir) {
                return Ok(dir);
            }
        }
        if self.settings.offline {
            return Err(Error::HubOffline {
                model: model.to_string(),
                cache: self.settings.cache_dir.clone(),
            });
        }
        self.download(model, progress)
    }

    /// Downloads the files of `model` that the loader reads (those not yet in
    /// the snapshot of `main`'s commit) and returns the snapshot directory.
    ///
    /// # Errors
    /// [`Error::HubOffline`] in offline mode; [`Error::HubUnreachable`] when
    /// the endpoint does not answer within the settings' timeout;
    /// [`Error::HubRepoNotFound`] / [`Error::HubAccessDenied`] for a repo
    /// that does not exist or is private or gated; [`Error::HubIncomplete`]
    /// for a repo that is not a model this crate loads;
    /// [`Error::HubRequest`] for other refusals.
    pub fn download(&self, model: &str, progress: &mut dyn DownloadProgress) -> Result<PathBuf> {
        if !is_repo_id(model) {
            return Err(Error::ModelNotFound {
                model: model.to_string(),
            });
        }
        if self.settings.offline {
            return Err(Error::HubOffline {
                model: model.to_string(),
                cache: self.settings.cache_dir.clone(),
            });
        }
        let api = ApiBuilder::from_cache(Cache::new(self.settings.cache_dir.clone()))
            .with_endpoint(self.settings.endpoint.clone())
            .with_token(self.settings.token.clone())
            .with_progress(false)
            .with_retries(0)
            .with_user_agent("mlx-grpo", env!("CARGO_PKG_VERSION"))
            .build()
            .map_err(|e| self.request_error(model, &e.to_string()))?;
        let repo = api.repo(Repo::model(model.to_string()));
        let listing = self.listing(model, &repo)?;
        let sizes: std::collections::BTreeMap<&str, Option<u64>> = listing
            .siblings
            .iter()
            .map(|s| (s.rfilename.as_str(), s.size))
            .collect();
        let names: BTreeSet<String> = listing
            .siblings
            .iter()
            .map(|s| s.rfilename.clone())
            .filter(|name| files::is_safe(name))
            .collect();

        let snapshot = self.repo_dir(model).join("snapshots").join(&listing.sha);
        let fetch = |file: &str, progress: &mut dyn DownloadProgress| -> Result<()> {
            if snapshot.join(file).is_file() {
                return Ok(());
            }
            let bridge = progress::Bridge {
                inner: progress,
                started: false,
            };
            let path = repo
                .download_with_progress(file, bridge)
                .map_err(|e| self.download_error(model, file, e))?;
            if path != snapshot.join(file) {
                return Err(self.request_error(
                    model,
                    &format!(
                        "the repo changed while it was downloaded (commit {} listed, {} served); \
                         run again",
                        listing.sha,
                        path.parent()
                            .and_then(Path::file_name)
                            .map_or(String::new(), |n| n.to_string_lossy().into_owned())
                    ),
                ));
            }
            remove_lock(&path);
            Ok(())
        };

        let plan = files::plan(model, &names)?;
        let mut todo = plan.files;
        if plan.sharded {
            // The index names the shards: it comes first, unreported (a few
            // kilobytes), so that the report can count every file.
            fetch(files::INDEX, &mut ())?;
            todo.extend(files::shards(model, &snapshot.join(files::INDEX), &names)?);
        }
        todo.retain(|f| !snapshot.join(f).is_file());
        if !todo.is_empty() {
            let bytes: Option<u64> = todo
                .iter()
                .map(|f| sizes.get(f.as_str()).copied().flatten())
                .sum();
            progress.started(model, todo.len(), bytes);
            for file in &todo {
                fetch(file, progress)?;
            }
        }
        Cache::new(self.settings.cache_dir.clone())
            .model(model.to_string())
            .create_ref(&listing.sha)
            .map_err(|e| Error::io(self.repo_dir(model).join("refs/main"), e))?;
        if !todo.is_empty() {
            progress.finished(&snapshot);
        }
        Ok(snapshot)
    }

    /// The repo's commit and files. The one request made before any file is
    /// downloaded, so it carries the short time limit that makes an
    /// unreachable Hub fail at once.
    fn listing(&self, model: &str, repo: &ApiRepo) -> Result<Listing> {
        let response = repo
            .info_request()
            .query("blobs", "true")
            .timeout(self.settings.timeout)
            .call()
            .map_err(|e| self.listing_error(model, e))?;
        let text = response
            .into_string()
            .map_err(|e| self.unreachable(model, e.to_string()))?;
        let listing: Listing = serde_json::from_str(&text).map_err(|e| {
            self.request_error(
                model,
                &format!("the file listing is not the Hub's JSON ({e}); is HF_ENDPOINT a Hub?"),
            )
        })?;
        if !files::is_safe(&listing.sha) {
            return Err(self.request_error(model, "the file listing has no usable commit id"));
        }
        Ok(listing)
    }

    fn listing_error(&self, model: &str, err: ureq::Error) -> Error {
        match err {
            // The Hub answers 401 for a repo that does not exist (or that the
            // token may not see), so as not to tell private repos apart.
            ureq::Error::Status(401 | 404, _) => Error::HubRepoNotFound {
                model: model.to_string(),
                endpoint: self.settings.endpoint.clone(),
            },
            ureq::Error::Status(403, _) => self.denied(model),
            ureq::Error::Status(code, response) => {
                self.request_error(model, &status_reason(code, response))
            }
            ureq::Error::Transport(_) => self.unreachable(model, transport_reason(&err)),
        }
    }

    fn download_error(&self, model: &str, file: &str, err: ApiError) -> Error {
        match err {
            ApiError::RequestError(err) => match *err {
                // A file of a listed repo that may not be read: a gated repo
                // whose terms the token's user has not accepted.
                ureq::Error::Status(401 | 403, _) => self.denied(model),
                ureq::Error::Status(code, response) => {
                    self.request_error(model, &format!("{file}: {}", status_reason(code, response)))
                }
                ureq::Error::Transport(_) => {
                    let reason = format!("while downloading {file}: {}", transport_reason(&err));
                    self.unreachable(model, reason)
                }
            },
            ApiError::MissingHeader(header) | ApiError::InvalidHeader(header) => self
                .request_error(
                    model,
                    &format!(
                        "the answer for {file} lacks a valid `{header}` header, which the Hub \
                         sends; is HF_ENDPOINT a Hub?"
                    ),
                ),
            ApiError::IoError(source) => Error::Io {
                path: self.repo_dir(model),
                source,
            },
            ApiError::LockAcquisition(lock) => self.request_error(
                model,
                &format!(
                    "another process is downloading {file} into the same cache (lock {}); \
                     wait for it, or remove the lock if none is",
                    lock.display()
                ),
            ),
            other => self.request_error(model, &format!("{file}: {other}")),
        }
    }

    fn unreachable(&self, model: &str, reason: String) -> Error {
        Error::HubUnreachable {
            model: model.to_string(),
            endpoint: self.settings.endpoint.clone(),
            reason,
        }
    }

    fn denied(&self, model: &str) -> Error {
        Error::HubAccessDenied {
            model: model.to_string(),
            endpoint: self.settings.endpoint.clone(),
        }
    }

    fn request_error(&self, model: &str, reason: &str) -> Error {
        Error::HubRequest {
            model: model.to_string(),
            reason: format!("{} ({})", reason, self.settings.endpoint),
        }
    }
}

/// Whether `name` is a Hub repo id, `ORG/NAME`, by `huggingface_hub`'s rules:
/// letters, digits, `-`, `_` and `.`, each part starting and ending with a
/// letter, digit or `_`, no `--` or `..`, 96 characters at most. (Anything
/// else never reaches the cache, where the name becomes a folder.)
pub fn is_repo_id(name: &str) -> bool {
    let part_ok = |p: &str| {
        let edge = |c: char| c.is_ascii_alphanumeric() || c == '_';
        p.chars().next().is_some_and(edge)
            && p.chars().last().is_some_and(edge)
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    name.len() <= 96
        && !name.contains("--")
        && !name.contains("..")
        && name
            .split_once('/')
            .is_some_and(|(org, repo)| part_ok(org) && part_ok(repo))
}

/// hf-hub leaves `blobs/<etag>.lock` next to each blob; Python keeps its
/// locks elsewhere (`.locks/`), so they are removed once the file is in
/// place, leaving the layout Python writes.
fn remove_lock(snapshot_file: &Path) {
    if let Ok(blob) = std::fs::canonicalize(snapshot_file) {
        let _ = std::fs::remove_file(blob.with_extension("lock"));
    }
}

/// `HTTP 500: the Hub's message`, from a refused request.
fn status_reason(code: u16, response: ureq::Response) -> String {
    // The Hub explains refusals in a JSON `error` field or in this header.
    let header = response.header("x-error-message").map(str::to_string);
    let body = response.into_string().unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .or(header);
    match message {
        Some(m) => format!("HTTP {code}: {m}"),
        None => format!("HTTP {code}"),
    }
}

/// What went wrong on the way to the server, without its URL (the message
/// names the endpoint already).
fn transport_reason(err: &ureq::Error) -> String {
    let ureq::Error::Transport(transport) = err else {
        return err.to_string();
    };
    let mut reason = transport.kind().to_string();
    if let Some(message) = transport.message() {
        reason.push_str(": ");
        reason.push_str(message);
    }
    if let Some(source) = std::error::Error::source(err) {
        reason.push_str(": ");
        reason.push_str(&source.to_string());
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_ids_follow_huggingface_hub() {
        for ok in [
            "org/tiny",
            "mlx-community/Qwen2.5-0.5B-Instruct-4bit",
            "a_b/c.d",
        ] {
            assert!(is_repo_id(ok), "{ok}");
        }
        for bad in [
            "tiny",
            "org/",
            "/abs/path",
            "./org/x",
            "org/../x",
            "a/b/c",
            "org/-x",
            "org/x.",
            "a--b/c",
            "org/na me",
        ] {
            assert!(!is_repo_id(bad), "{bad}");
        }
    }

    #[test]
    fn offline_never_downloads() {
        let cache = tempfile::tempdir().unwrap();
        // An endpoint nothing listens on: offline must not even try it.
        let hub = Hub::new(HubSettings::new(cache.path(), "http://127.0.0.1:1").with_offline(true));
        let err = hub.resolve("org/absent", &mut ()).unwrap_err();
        assert!(matches!(err, Error::HubOffline { .. }), "{err}");
        let err = hub.download("org/absent", &mut ()).unwrap_err();
        assert!(matches!(err, Error::HubOffline { .. }), "{err}");
    }

    #[test]
    fn cached_prefers_refs_main() {
        let cache = tempfile::tempdir().unwrap();
        let hub = Hub::new(HubSettings::new(cache.path(), DEFAULT_ENDPOINT));
        let repo = hub.repo_dir("org/tiny");
        assert_eq!(repo, cache.path().join("models--org--tiny"));
        assert_eq!(hub.cached("org/tiny"), None);
        std::fs::create_dir_all(repo.join("snapshots/old")).unwrap();
        assert_eq!(hub.cached("org/tiny"), Some(repo.join("snapshots/old")));
        std::fs::create_dir_all(repo.join("snapshots/main1")).unwrap();
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs/main"), "main1").unwrap();
        assert_eq!(hub.cached("org/tiny"), Some(repo.join("snapshots/main1")));
    }
}
