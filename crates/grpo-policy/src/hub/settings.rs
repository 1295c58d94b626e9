//! Where the Hub is, where its cache is, who is asking, and whether the
//! network may be used: the environment variables Python `huggingface_hub`
//! reads, read the same way, so that both tools share one cache and one login.
//!
//! The values are gathered once into [`HubSettings`] instead of being read
//! wherever they are needed: environment variables are process-global, so a
//! caller (a test, a server) that wants other values passes them explicitly
//! with [`HubSettings::new`] and never races with another thread.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// The Hub that Python `huggingface_hub` talks to unless told otherwise.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// How long the first request to the Hub (the repo's file listing) may take,
/// connection included, before the Hub counts as unreachable. Short, so that
/// a machine without a network fails at once instead of hanging on a
/// download; the listing is a few kilobytes. `HF_HUB_ETAG_TIMEOUT` (seconds,
/// as in Python `huggingface_hub`) overrides it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// How to reach the Hugging Face Hub and where its downloads go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubSettings {
    /// The cache directory (`…/hub`) that holds `models--ORG--NAME` folders.
    pub cache_dir: PathBuf,
    /// The Hub's base URL, without a trailing `/`.
    pub endpoint: String,
    /// A user access token, sent as `Authorization: Bearer …`; needed for
    /// private and gated repos.
    pub token: Option<String>,
    /// Never use the network: a model is taken from the cache or not at all.
    pub offline: bool,
    /// The limit on the first request (see [`DEFAULT_TIMEOUT`]).
    pub timeout: Duration,
}

impl HubSettings {
    /// Settings for a cache directory and an endpoint, with no token, online,
    /// and the default timeout: the values are given, nothing is read from
    /// the environment.
    pub fn new(cache_dir: impl Into<PathBuf>, endpoint: impl Into<String>) -> Self {
        Self {
            cache_dir: cache_dir.into(),
            endpoint: endpoint.into().trim_end_matches('/').to_string(),
            token: None,
            offline: false,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The same settings with a token.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The same settings, offline or not.
    pub fn with_offline(mut self, offline: bool) -> Self {
        self.offline = offline;
        self
    }

    /// The same settings with another limit on the first request.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The settings Python `huggingface_hub` would use in this process.
    ///
    /// - cache: `HF_HUB_CACHE`, else `$HF_HOME/hub`; `HF_HOME` defaults to
    ///   `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`;
    /// - endpoint: `HF_ENDPOINT`, else [`DEFAULT_ENDPOINT`];
    /// - token: `HF_TOKEN`, else the file `HF_TOKEN_PATH`, else
    ///   `$HF_HOME/token` (what `hf auth login` writes);
    /// - offline: `HF_HUB_OFFLINE` set to `1`, `ON`, `YES` or `TRUE`;
    /// - timeout: `HF_HUB_ETAG_TIMEOUT` in seconds.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var_os(name))
    }

    /// [`from_env`](Self::from_env) with the variables looked up through
    /// `var`, so that the rules can be checked without touching the
    /// process's environment.
    pub fn from_lookup(var: impl Fn(&str) -> Option<OsString>) -> Self {
        let set = |name: &str| var(name).filter(|v| !v.is_empty());
        let text = |name: &str| set(name).and_then(|v| v.into_string().ok());

        let hf_home = set("HF_HOME").map(PathBuf::from).unwrap_or_else(|| {
            match set("XDG_CACHE_HOME") {
                Some(xdg) => PathBuf::from(xdg),
                None => home_dir(&var).join(".cache"),
            }
            .join("huggingface")
        });
        let cache_dir = set("HF_HUB_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| hf_home.join("hub"));
        let endpoint = text("HF_ENDPOINT").unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());

        let token_file = set("HF_TOKEN_PATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| hf_home.join("token"));
        let token = text("HF_TOKEN")
            .map(|t| t.trim().to_string())
            .or_else(|| {
                std::fs::read_to_string(token_file)
                    .ok()
                    .map(|t| t.trim().to_string())
            })
            .filter(|t| !t.is_empty());

        let offline = text("HF_HUB_OFFLINE").is_some_and(|v| is_true(&v));
        let timeout = text("HF_HUB_ETAG_TIMEOUT")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs_f64);

        Self {
            token,
            offline,
            timeout,
            ..Self::new(cache_dir, endpoint)
        }
    }
}

/// `huggingface_hub`'s reading of a boolean variable.
fn is_true(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_uppercase().as_str(),
        "1" | "ON" | "YES" | "TRUE"
    )
}

fn home_dir(var: &impl Fn(&str) -> Option<OsString>) -> PathBuf {
    var("HOME")
        .or_else(|| var("USERPROFILE"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn defaults_follow_huggingface_hub() {
        let s = HubSettings::from_lookup(lookup(&[("HOME", "/home/u")]));
        assert_eq!(s.cache_dir, PathBuf::from("/home/u/.cache/huggingface/hub"));
        assert_eq!(s.endpoint, DEFAULT_ENDPOINT);
        assert!(!s.offline);
        assert_eq!(s.timeout, DEFAULT_TIMEOUT);

        let s = HubSettings::from_lookup(lookup(&[("HOME", "/h"), ("XDG_CACHE_HOME", "/x")]));
        assert_eq!(s.cache_dir, PathBuf::from("/x/huggingface/hub"));
    }

    #[test]
    fn hub_cache_wins_over_hf_home() {
        let s = HubSettings::from_lookup(lookup(&[("HF_HOME", "/hf")]));
        assert_eq!(s.cache_dir, PathBuf::from("/hf/hub"));
        let s = HubSettings::from_lookup(lookup(&[("HF_HOME", "/hf"), ("HF_HUB_CACHE", "/c")]));
        assert_eq!(s.cache_dir, PathBuf::from("/c"));
    }

    #[test]
    fn endpoint_offline_and_timeout_are_read() {
        let s = HubSettings::from_lookup(lookup(&[
            ("HOME", "/h"),
            ("HF_ENDPOINT", "http://127.0.0.1:8080/"),
            ("HF_HUB_OFFLINE", "yes"),
            ("HF_HUB_ETAG_TIMEOUT", "1.5"),
        ]));
        assert_eq!(s.endpoint, "http://127.0.0.1:8080");
        assert!(s.offline);
        assert_eq!(s.timeout, Duration::from_millis(1500));
        for off in ["0", "false", "no", ""] {
            let s = HubSettings::from_lookup(lookup(&[("HOME", "/h"), ("HF_HUB_OFFLINE", off)]));
            assert!(!s.offline, "HF_HUB_OFFLINE={off}");
        }
    }

    #[test]
    fn token_comes_from_hf_token_then_the_token_file() {
        let home = tempfile::tempdir().unwrap();
        let home_str = home.path().to_str().unwrap();
        let none = HubSettings::from_lookup(lookup(&[("HF_HOME", home_str)]));
        assert_eq!(none.token, None);

        std::fs::write(home.path().join("token"), "hf_from_file\n").unwrap();
        let file = HubSettings::from_lookup(lookup(&[("HF_HOME", home_str)]));
        assert_eq!(file.token.as_deref(), Some("hf_from_file"));

        let env =
            HubSettings::from_lookup(lookup(&[("HF_HOME", home_str), ("HF_TOKEN", "hf_env")]));
        assert_eq!(env.token.as_deref(), Some("hf_env"));

        let elsewhere = home.path().join("elsewhere");
        std::fs::write(&elsewhere, "hf_path").unwrap();
        let path = HubSettings::from_lookup(lookup(&[
            ("HF_HOME", home_str),
            ("HF_TOKEN_PATH", elsewhere.to_str().unwrap()),
        ]));
        assert_eq!(path.token.as_deref(), Some("hf_path"));
    }
}
