//! A Hugging Face Hub on 127.0.0.1 for the download tests: it serves model
//! directories through the Hub's file API, as hf-hub (and Python
//! huggingface_hub) expect it, and records what it was asked.
//!
//! - `GET /api/models/ORG/NAME[/revision/REV][?blobs=true]`: the listing,
//!   `{"id", "sha", "siblings": [{"rfilename", "size"}]}` (sizes only with
//!   `blobs=true`, as the Hub does); 404 for an unknown repo, 401 for a
//!   private one asked without its token.
//! - `GET|HEAD /ORG/NAME/resolve/REV/FILE`: the file, with `x-repo-commit`,
//!   `etag`, `content-length`, and for a `Range: bytes=A-B` request a 206
//!   with `content-range: bytes A-B/SIZE`. Safetensors files are stored as
//!   LFS files are on the Hub: a 302 to `/cdn/ETAG` carrying
//!   `x-linked-etag` and `x-linked-size`, and the bytes come from there.
//!
//! Loopback only, a thread per connection, `Connection: close` on every
//! answer; the server stops when dropped, and by itself after
//! [`LIFETIME`] whatever happens to the test.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The longest a server lives.
pub const LIFETIME: Duration = Duration::from_secs(120);

/// A repo the server serves.
#[derive(Clone)]
pub struct ServedRepo {
    /// `ORG/NAME`.
    pub id: String,
    /// The commit `main` points to.
    pub sha: String,
    /// Repo path → contents.
    pub files: BTreeMap<String, Vec<u8>>,
    /// A private repo answers only requests with `Authorization: Bearer TOKEN`.
    pub token: Option<String>,
}

impl ServedRepo {
    /// Every file of a directory (not recursive), under `id`.
    pub fn from_dir(id: &str, sha: &str, dir: &Path) -> Self {
        let mut files = BTreeMap::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                let name = path.file_name().unwrap().to_str().unwrap().to_string();
                files.insert(name, std::fs::read(&path).unwrap());
            }
        }
        Self {
            id: id.to_string(),
            sha: sha.to_string(),
            files,
            token: None,
        }
    }
}

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub authorization: Option<String>,
}

struct State {
    repos: Vec<ServedRepo>,
    log: Mutex<Vec<Received>>,
    addr: SocketAddr,
}

/// A running server.
pub struct FakeHub {
    state: Arc<State>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeHub {
    /// Serves `repos` on a free port of 127.0.0.1.
    pub fn start(repos: Vec<ServedRepo>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let state = Arc::new(State {
            repos,
            log: Mutex::new(Vec::new()),
            addr: listener.local_addr().unwrap(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                let deadline = Instant::now() + LIFETIME;
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let state = state.clone();
                            std::thread::spawn(move || serve(&state, stream));
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(_) => break,
                    }
                }
            })
        };
        Self {
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// The base URL, for `HF_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.state.addr)
    }

    /// What was asked so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.log.lock().unwrap().clone()
    }

    /// Stops listening: later connections are refused.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Response {
    status: &'static str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn new(status: &'static str) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn header(mut self, name: &str, value: impl ToString) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    fn json(self, value: serde_json::Value) -> Self {
        let mut r = self.header("content-type", "application/json");
        r.body = value.to_string().into_bytes();
        r
    }

    fn error(status: &'static str, code: &str, message: &str) -> Self {
        Self::new(status)
            .header("x-error-code", code)
            .header("x-error-message", message)
            .json(serde_json::json!({ "error": message }))
    }
}

fn serve(state: &State, mut stream: TcpStream) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let target = first.next().unwrap_or("").to_string();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let authorization = headers.get("authorization").cloned();
    state.log.lock().unwrap().push(Received {
        method: method.clone(),
        target: target.clone(),
        authorization: authorization.clone(),
    });

    let response = route(
        state,
        &target,
        authorization.as_deref(),
        headers.get("range"),
    );
    let mut out = format!("HTTP/1.1 {}\r\n", response.status);
    for (name, value) in &response.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        response.body.len()
    ));
    let _ = stream.write_all(out.as_bytes());
    if method != "HEAD" {
        let _ = stream.write_all(&response.body);
    }
    let _ = stream.flush();
}

fn route(state: &State, target: &str, auth: Option<&str>, range: Option<&String>) -> Response {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let allowed = |repo: &ServedRepo| match &repo.token {
        None => true,
        Some(token) => auth == Some(format!("Bearer {token}").as_str()),
    };
    let find = |id: &str| state.repos.iter().find(|r| r.id == id && allowed(r));

    if let Some(rest) = path.strip_prefix("/api/models/") {
        let id = rest.split("/revision/").next().unwrap_or(rest);
        return match find(id) {
            Some(repo) => {
                let blobs = query.split('&').any(|kv| kv == "blobs=true");
                let siblings: Vec<serde_json::Value> = repo
                    .files
                    .iter()
                    .map(|(name, bytes)| {
                        if blobs {
                            serde_json::json!({ "rfilename": name, "size": bytes.len() })
                        } else {
                            serde_json::json!({ "rfilename": name })
                        }
                    })
                    .collect();
                Response::new("200 OK").json(serde_json::json!({
                    "id": repo.id, "modelId": repo.id, "sha": repo.sha,
                    "private": repo.token.is_some(), "siblings": siblings,
                }))
            }
            // The Hub does not tell a private repo from a missing one.
            None if state.repos.iter().any(|r| r.id == id) => Response::error(
                "401 Unauthorized",
                "RepoNotFound",
                "Invalid credentials in Authorization header",
            ),
            None => Response::error("404 Not Found", "RepoNotFound", "Repository not found"),
        };
    }

    if let Some(etag) = path.strip_prefix("/cdn/") {
        for repo in &state.repos {
            for bytes in repo.files.values() {
                if lfs_etag(bytes) == etag {
                    return ranged(Response::new("200 OK"), bytes, range);
                }
            }
        }
        return Response::error("404 Not Found", "EntryNotFound", "No such object");
    }

    // /ORG/NAME/resolve/REV/FILE
    let parts: Vec<&str> = path.trim_start_matches('/').splitn(5, '/').collect();
    if let [org, name, "resolve", rev, file] = parts[..] {
        let id = format!("{org}/{name}");
        let Some(repo) = find(&id) else {
            return Response::error("404 Not Found", "RepoNotFound", "Repository not found");
        };
        if rev != "main" && rev != repo.sha {
            return Response::error("404 Not Found", "RevisionNotFound", "Invalid rev id");
        }
        let Some(bytes) = repo.files.get(file) else {
            return Response::error("404 Not Found", "EntryNotFound", "Entry not found");
        };
        let response = Response::new("200 OK").header("x-repo-commit", &repo.sha);
        if file.ends_with(".safetensors") {
            let etag = lfs_etag(bytes);
            return Response::new("302 Found")
                .header("x-repo-commit", &repo.sha)
                .header("etag", format!("\"{}\"", git_etag(file.as_bytes())))
                .header("x-linked-etag", format!("\"{etag}\""))
                .header("x-linked-size", bytes.len())
                .header("location", format!("http://{}/cdn/{etag}", state.addr));
        }
        return ranged(
            response.header("etag", format!("\"{}\"", git_etag(bytes))),
            bytes,
            range,
        );
    }
    Response::error("404 Not Found", "EntryNotFound", "Not a Hub path")
}

/// The whole file, or the part `Range: bytes=A-[B]` asks for.
fn ranged(response: Response, bytes: &[u8], range: Option<&String>) -> Response {
    let response = response.header("accept-ranges", "bytes");
    let len = bytes.len();
    let Some(spec) = range.and_then(|r| r.strip_prefix("bytes=")) else {
        let mut r = response;
        r.body = bytes.to_vec();
        return r;
    };
    let (a, b) = spec.split_once('-').unwrap_or((spec, ""));
    let start: usize = a.parse().unwrap_or(0);
    let end: usize = b
        .parse()
        .map_or(len.saturating_sub(1), |e: usize| e.min(len - 1));
    if start >= len {
        let mut r = Response::new("416 Range Not Satisfiable")
            .header("content-range", format!("bytes */{len}"));
        r.headers.extend(response.headers);
        return r;
    }
    let mut r = Response {
        status: "206 Partial Content",
        ..response
    }
    .header("content-range", format!("bytes {start}-{end}/{len}"));
    r.body = bytes[start..=end].to_vec();
    r
}

/// A 40-hex-digit stand-in for a git blob id (FNV-1a, not SHA-1: the client
/// only uses it as a name).
fn git_etag(bytes: &[u8]) -> String {
    (0..3u64)
        .map(|seed| format!("{:016x}", fnv(bytes, seed)))
        .collect::<String>()[..40]
        .to_string()
}

/// A 64-hex-digit stand-in for an LFS object's SHA-256.
fn lfs_etag(bytes: &[u8]) -> String {
    (10..14u64)
        .map(|seed| format!("{:016x}", fnv(bytes, seed)))
        .collect()
}

fn fnv(bytes: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
