//! Models downloaded from a Hugging Face Hub: the tiny fixture model served
//! by a Hub on 127.0.0.1 ([`server`]), downloaded into a temporary cache,
//! loaded, and used again offline; and the failures a user meets (offline,
//! unreachable, private, missing), each quickly and with what to do.
//!
//! Every test passes its settings explicitly ([`HubSettings::new`]): the
//! environment is shared by the threads of this binary, and nothing here
//! reads or writes it. No test needs the internet.

mod server;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use grpo_policy::hub::{DownloadProgress, Hub, HubSettings};
use grpo_policy::policy::{resolve_model_with, Policy};
use grpo_policy::Error;

use server::{FakeHub, ServedRepo};

const SHA: &str = "4b1e0c1f2d3a4b5c6d7e8f9012345678abcdef01";

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/tiny-tool-caller")
}

/// The fixture model as the repo `org/tiny`, with the files a repo has and a
/// model directory does not need (README.md, training configs).
fn tiny_repo() -> ServedRepo {
    ServedRepo::from_dir("org/tiny", SHA, &fixture_dir())
}

/// The files of the fixture a download must bring.
const MODEL_FILES: [&str; 5] = [
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
];

fn hub(cache: &Path, server: &FakeHub) -> Hub {
    Hub::new(HubSettings::new(cache, server.endpoint()))
}

/// What a download reported.
#[derive(Default)]
struct Recorder {
    started: Option<(String, usize, Option<u64>)>,
    bytes: BTreeMap<String, (u64, u64)>,
    current: String,
    finished: usize,
    done: Option<PathBuf>,
}

impl DownloadProgress for Recorder {
    fn started(&mut self, model: &str, files: usize, bytes: Option<u64>) {
        self.started = Some((model.to_string(), files, bytes));
    }
    fn file_started(&mut self, name: &str, size: u64) {
        self.current = name.to_string();
        self.bytes.insert(name.to_string(), (size, 0));
    }
    fn advanced(&mut self, bytes: u64) {
        self.bytes.get_mut(&self.current).unwrap().1 += bytes;
    }
    fn file_finished(&mut self) {
        self.finished += 1;
    }
    fn finished(&mut self, dir: &Path) {
        self.done = Some(dir.to_path_buf());
    }
}

fn asked_for(server: &FakeHub, file: &str) -> bool {
    server
        .received()
        .iter()
        .any(|r| r.target.ends_with(&format!("/resolve/main/{file}")))
}

#[test]
fn a_repo_id_is_downloaded_into_the_standard_cache_and_loads() {
    let server = FakeHub::start(vec![tiny_repo()]);
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("hub");
    let hub = hub(&cache, &server);

    let mut progress = Recorder::default();
    let dir = resolve_model_with("org/tiny", &hub, &mut progress).unwrap();

    // Python huggingface_hub's layout: snapshots/<commit> of links into
    // blobs/, and refs/main naming the commit.
    let repo = cache.join("models--org--tiny");
    assert_eq!(dir, repo.join("snapshots").join(SHA));
    assert_eq!(
        std::fs::read_to_string(repo.join("refs/main")).unwrap(),
        SHA
    );
    let blobs = std::fs::canonicalize(repo.join("blobs")).unwrap();
    for file in MODEL_FILES {
        let link = dir.join(file);
        #[cfg(unix)]
        assert!(link.symlink_metadata().unwrap().is_symlink(), "{file}");
        let target = std::fs::canonicalize(&link).unwrap();
        assert_eq!(target.parent().unwrap(), blobs, "{file}");
        assert_eq!(
            std::fs::read(&link).unwrap(),
            std::fs::read(fixture_dir().join(file)).unwrap(),
            "{file}"
        );
    }
    let mut blob_names: Vec<String> = std::fs::read_dir(&blobs)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    blob_names.sort();
    assert_eq!(blob_names.len(), MODEL_FILES.len(), "{blob_names:?}");
    assert!(
        blob_names.iter().all(|n| !n.contains('.')),
        "no .lock or .part left: {blob_names:?}"
    );

    // The weights came as LFS files do on the Hub: through a redirect.
    assert!(server
        .received()
        .iter()
        .any(|r| r.target.starts_with("/cdn/")));

    // Only what the loader reads.
    for unneeded in ["README.md", "grpo.yaml", "sft.yaml"] {
        assert!(!dir.join(unneeded).exists(), "{unneeded}");
        assert!(!asked_for(&server, unneeded), "{unneeded}");
    }

    // The progress adds up.
    let total: u64 = MODEL_FILES
        .iter()
        .map(|f| std::fs::metadata(fixture_dir().join(f)).unwrap().len())
        .sum();
    assert_eq!(
        progress.started,
        Some(("org/tiny".to_string(), MODEL_FILES.len(), Some(total)))
    );
    assert_eq!(progress.finished, MODEL_FILES.len());
    for (file, (size, got)) in &progress.bytes {
        assert_eq!(size, got, "{file}");
    }
    assert_eq!(progress.done.as_deref(), Some(dir.as_path()));

    // The downloaded directory is a working model.
    let policy = Policy::load(dir.to_str().unwrap()).unwrap();
    let text = "get_weather(city='Paris')";
    let ids = policy.tokenizer.encode(text, false).unwrap();
    assert_eq!(policy.tokenizer.decode(&ids, false).unwrap(), text);

    // A complete snapshot is used without asking the Hub again.
    let before = server.received().len();
    let again = Policy::load_with("org/tiny", &hub, &mut ()).unwrap();
    assert_eq!(again.dir, dir);
    assert_eq!(server.received().len(), before);

    // A snapshot missing a file gets that file, and only it.
    std::fs::remove_file(dir.join("tokenizer.json")).unwrap();
    let mut progress = Recorder::default();
    assert_eq!(hub.resolve("org/tiny", &mut progress).unwrap(), dir);
    let size = std::fs::metadata(dir.join("tokenizer.json")).unwrap().len();
    assert_eq!(progress.started, Some(("org/tiny".into(), 1, Some(size))));
    let resolved: Vec<String> = server.received()[before..]
        .iter()
        .filter(|r| r.target.contains("/resolve/"))
        .map(|r| r.target.clone())
        .collect();
    assert!(
        resolved.iter().all(|t| t.ends_with("/tokenizer.json")),
        "{resolved:?}"
    );
}

#[test]
fn a_downloaded_model_is_used_offline_once_the_hub_is_gone() {
    let mut server = FakeHub::start(vec![tiny_repo()]);
    let cache = tempfile::tempdir().unwrap();
    let online = hub(cache.path(), &server);
    let dir = online.resolve("org/tiny", &mut ()).unwrap();
    server.stop();

    let offline = Hub::new(online.settings().clone().with_offline(true));
    assert_eq!(offline.resolve("org/tiny", &mut ()).unwrap(), dir);
    // Online, a complete snapshot does not need the Hub either.
    assert_eq!(online.resolve("org/tiny", &mut ()).unwrap(), dir);
    Policy::load_with("org/tiny", &offline, &mut ()).unwrap();
}

#[test]
fn offline_without_the_model_fails_at_once_and_says_what_to_do() {
    let server = FakeHub::start(vec![tiny_repo()]);
    let cache = tempfile::tempdir().unwrap();
    let offline = Hub::new(HubSettings::new(cache.path(), server.endpoint()).with_offline(true));

    let begun = Instant::now();
    let err = offline.resolve("org/tiny", &mut ()).unwrap_err();
    assert!(begun.elapsed() < Duration::from_secs(1));
    assert!(matches!(err, Error::HubOffline { .. }), "{err}");
    let message = err.to_string();
    for part in [
        "not in the Hugging Face cache",
        "HF_HUB_OFFLINE",
        "hf download org/tiny",
        "huggingface-cli download org/tiny",
    ] {
        assert!(message.contains(part), "{part:?} in {message}");
    }
    assert!(server.received().is_empty(), "offline asked the Hub");
}

fn assert_unreachable(err: &Error) {
    assert!(matches!(err, Error::HubUnreachable { .. }), "{err}");
    let message = err.to_string();
    for part in [
        "cannot reach the Hugging Face Hub",
        "HF_ENDPOINT",
        "HF_HUB_OFFLINE=1",
        "huggingface-cli download org/tiny",
    ] {
        assert!(message.contains(part), "{part:?} in {message}");
    }
    assert!(!message.contains(".rs"), "a source path in {message}");
}

#[test]
fn an_unreachable_hub_fails_within_seconds() {
    let cache = tempfile::tempdir().unwrap();

    // Nothing listens: the connection is refused.
    let refused = Hub::new(HubSettings::new(cache.path(), "http://127.0.0.1:1"));
    let begun = Instant::now();
    let err = refused.resolve("org/tiny", &mut ()).unwrap_err();
    assert!(
        begun.elapsed() < Duration::from_secs(5),
        "{:?}",
        begun.elapsed()
    );
    assert_unreachable(&err);

    // Something accepts connections and never answers (a black hole, a
    // stuck proxy): the time limit ends the wait.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let hub =
        Hub::new(HubSettings::new(cache.path(), endpoint).with_timeout(Duration::from_millis(500)));
    let begun = Instant::now();
    let err = hub.resolve("org/tiny", &mut ()).unwrap_err();
    assert!(
        begun.elapsed() < Duration::from_secs(5),
        "{:?}",
        begun.elapsed()
    );
    assert_unreachable(&err);
    drop(silent);

    assert!(!cache.path().join("models--org--tiny/snapshots").exists());
}

#[test]
fn the_token_is_sent_as_a_bearer_token() {
    let mut private = tiny_repo();
    private.id = "org/private".into();
    private.token = Some("hf_secret".into());
    let server = FakeHub::start(vec![private]);
    let cache = tempfile::tempdir().unwrap();

    let anonymous = hub(cache.path(), &server);
    let err = anonymous.resolve("org/private", &mut ()).unwrap_err();
    assert!(matches!(err, Error::HubRepoNotFound { .. }), "{err}");
    assert!(err.to_string().contains("HF_TOKEN"), "{err}");

    let with_token =
        Hub::new(HubSettings::new(cache.path(), server.endpoint()).with_token("hf_secret"));
    let dir = with_token.resolve("org/private", &mut ()).unwrap();
    assert!(dir.join("model.safetensors").is_file());
    let asked: Vec<_> = server
        .received()
        .into_iter()
        .filter(|r| r.authorization.is_some())
        .collect();
    assert!(!asked.is_empty());
    assert!(asked
        .iter()
        .any(|r| r.target.starts_with("/api/models/org/private")));
    assert!(asked
        .iter()
        .any(|r| r.target.contains("/resolve/main/config.json")));
    for r in &asked {
        assert_eq!(
            r.authorization.as_deref(),
            Some("Bearer hf_secret"),
            "{r:?}"
        );
        // hf-hub asks for files with ranged GETs (Python uses HEAD).
        assert_eq!(r.method, "GET", "{r:?}");
    }
}

#[test]
fn a_missing_repo_is_reported_as_not_found() {
    let server = FakeHub::start(vec![tiny_repo()]);
    let cache = tempfile::tempdir().unwrap();
    let err = hub(cache.path(), &server)
        .resolve("org/absent", &mut ())
        .unwrap_err();
    assert!(matches!(err, Error::HubRepoNotFound { .. }), "{err}");
    let message = err.to_string();
    for part in ["`org/absent` not found", "HF_TOKEN"] {
        assert!(message.contains(part), "{part:?} in {message}");
    }
    assert!(!cache.path().join("models--org--absent").exists());
}

#[test]
fn sharded_weights_are_downloaded_as_the_index_names_them() {
    // The fixture's weights as one shard of an index, next to a consolidated
    // copy (as Mistral repos have) that the loader does not read.
    let mut repo = tiny_repo();
    repo.id = "org/sharded".into();
    let weights = repo.files.remove("model.safetensors").unwrap();
    let header_len = u64::from_le_bytes(weights[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&weights[8..8 + header_len]).unwrap();
    let shard = "model-00001-of-00001.safetensors";
    let weight_map: serde_json::Map<String, serde_json::Value> = header
        .keys()
        .filter(|k| *k != "__metadata__")
        .map(|k| (k.clone(), shard.into()))
        .collect();
    let index = serde_json::json!({ "metadata": {}, "weight_map": weight_map });
    repo.files.insert(
        "model.safetensors.index.json".into(),
        index.to_string().into_bytes(),
    );
    repo.files.insert(shard.into(), weights.clone());
    repo.files
        .insert("consolidated.safetensors".into(), weights);
    let server = FakeHub::start(vec![repo]);
    let cache = tempfile::tempdir().unwrap();

    let mut progress = Recorder::default();
    let dir = hub(cache.path(), &server)
        .resolve("org/sharded", &mut progress)
        .unwrap();
    assert!(dir.join(shard).is_file());
    assert!(!asked_for(&server, "consolidated.safetensors"));
    // The report counts the shard (the index comes before it, unreported).
    let (_, files, _) = progress.started.unwrap();
    assert_eq!(files, 5);
    assert!(progress.bytes.contains_key(shard));
    Policy::load(dir.to_str().unwrap()).unwrap();
}
