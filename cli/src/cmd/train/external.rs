//! Rewards computed outside the process: the functions of a TRL-style
//! Python file (`--reward-file`, run by the embedded worker script
//! `reward_worker.py`) or any program speaking the same line protocol
//! (`--reward-command`). One long-lived worker per run serves every
//! function, one JSON request per batch and function; each function is a
//! [`BatchReward`] registered with grpo-rewards, so that the trainer's
//! `RewardSet` scores it beside the built-in rewards.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use grpo_rewards::{BatchReward, Reference, KNOWN_REWARDS};
use serde_json::{json, Map, Value};

use grpo::reward_errors::RewardErrors;

/// The worker that runs `--reward-file`, kept as a readable file.
pub const WORKER_SCRIPT: &str = include_str!("../../reward_worker.py");

/// How to start the worker.
#[derive(Debug, Clone)]
struct Spec {
    program: PathBuf,
    args: Vec<String>,
    /// What the worker runs, for messages.
    what: String,
}

/// A started worker.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<std::io::Result<String>>,
}

/// Why a request got no answer.
enum Failure {
    /// The worker exited or closed its output.
    Died(String),
    TimedOut,
}

impl Worker {
    fn start(spec: &Spec) -> Result<Self> {
        let mut child = Command::new(&spec.program)
            .args(&spec.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting the reward worker ({})", spec.what))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            child,
            stdin,
            lines,
        })
    }

    /// The next line of output that is JSON (other lines are passed to
    /// standard error), within `timeout`.
    fn read(&mut self, timeout: Duration) -> std::result::Result<Value, Failure> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(Ok(line)) => match serde_json::from_str::<Value>(&line) {
                    Ok(v) if v.is_object() => return Ok(v),
                    _ => eprintln!("reward worker: {line}"),
                },
                Ok(Err(e)) => return Err(Failure::Died(format!("reading its output: {e}"))),
                Err(RecvTimeoutError::Timeout) => return Err(Failure::TimedOut),
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
                    return Err(Failure::Died(format!("it exited ({status})")));
                }
            }
        }
    }

    fn ask(&mut self, request: &Value, timeout: Duration) -> std::result::Result<Value, Failure> {
        let mut line = request.to_string();
        line.push('\n');
        if let Err(e) = self
            .stdin
            .write_all(line.as_bytes())
            .and_then(|()| self.stdin.flush())
        {
            return Err(Failure::Died(format!("writing to it: {e}")));
        }
        self.read(timeout)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The worker of a run, shared by its reward functions.
pub struct External {
    spec: Spec,
    worker: Mutex<Option<Worker>>,
    timeout: Duration,
    errors: RewardErrors,
    functions: Vec<String>,
    restarts: AtomicUsize,
    skipped: AtomicUsize,
}

impl External {
    /// The functions the worker serves.
    pub fn functions(&self) -> &[String] {
        &self.functions
    }

    /// Batches skipped after an error (`--reward-errors skip`).
    pub fn skipped(&self) -> usize {
        self.skipped.load(Ordering::Relaxed)
    }

    /// Starts the worker and reads the functions it serves; a load error
    /// (the file's traceback) is the error.
    fn start(spec: Spec, timeout: Duration, errors: RewardErrors) -> Result<Self> {
        let mut worker = Worker::start(&spec)?;
        let hello = match worker.read(timeout) {
            Ok(v) => v,
            Err(Failure::TimedOut) => {
                bail!(
                    "the reward worker ({}) did not start within {timeout:?} (--reward-timeout)",
                    spec.what
                )
            }
            Err(Failure::Died(why)) => {
                bail!(
                    "the reward worker ({}) stopped before it was ready: {why}",
                    spec.what
                )
            }
        };
        if let Some(e) = hello.get("error") {
            bail!(
                "loading the rewards of {} failed:\n{}",
                spec.what,
                e.as_str()
                    .map_or_else(|| e.to_string(), str::to_owned)
                    .trim_end()
            );
        }
        let functions: Vec<String> = hello
            .get("functions")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .with_context(|| {
                format!(
                    "the reward worker ({}) answered {hello} at start; expected {{\"functions\": [names]}}",
                    spec.what
                )
            })?;
        Ok(Self {
            spec,
            worker: Mutex::new(Some(worker)),
            timeout,
            errors,
            functions,
            restarts: AtomicUsize::new(0),
            skipped: AtomicUsize::new(0),
        })
    }

    /// Sends one request, restarting a worker that died once per run.
    fn ask(&self, function: &str, request: &Value) -> std::result::Result<Value, Skippable> {
        let mut slot = self.worker.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if slot.is_none() {
                let mut w =
                    Worker::start(&self.spec).map_err(|e| Skippable::No(format!("{e:#}")))?;
                // The restarted worker's greeting.
                match w.read(self.timeout) {
                    Ok(v) if v.get("functions").is_some() => {}
                    Ok(v) => {
                        return Err(Skippable::No(format!(
                            "the restarted reward worker answered {v}"
                        )))
                    }
                    Err(_) => {
                        return Err(Skippable::No(
                            "the restarted reward worker did not start".into(),
                        ))
                    }
                }
                *slot = Some(w);
            }
            let worker = slot.as_mut().expect("started above");
            match worker.ask(request, self.timeout) {
                Ok(v) => return Ok(v),
                Err(Failure::TimedOut) => {
                    worker.stop();
                    *slot = None;
                    return Err(Skippable::Yes(format!(
                        "no answer within {}s (--reward-timeout); the worker was stopped",
                        self.timeout.as_secs_f64()
                    )));
                }
                Err(Failure::Died(why)) => {
                    *slot = None;
                    if self.restarts.fetch_add(1, Ordering::Relaxed) >= 1 {
                        return Err(Skippable::No(format!(
                            "the reward worker ({}) died again ({why}); it was restarted once already",
                            self.spec.what
                        )));
                    }
                    eprintln!(
                        "warning: the reward worker ({}) died while scoring `{function}` ({why}); restarting it once",
                        self.spec.what
                    );
                }
            }
        }
    }
}

/// The worker of a run while the run holds it: dropping it stops the
/// worker (the registered rewards keep the rest alive, idle).
pub struct Running(Arc<External>);

impl Running {
    /// Batches skipped after an error (`--reward-errors skip`).
    pub fn skipped(&self) -> usize {
        self.0.skipped()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut slot = self.0.worker.lock().unwrap_or_else(|e| e.into_inner());
        *slot = None; // Worker::drop kills it
    }
}

/// One function of the worker, as a reward.
struct ExternalReward {
    name: String,
    external: Arc<External>,
}

impl BatchReward for ExternalReward {
    fn score_batch(
        &self,
        completions: &[&str],
        references: &[&Reference],
    ) -> std::result::Result<Vec<Option<f32>>, String> {
        self.score(completions, None, references)
    }

    fn score_batch_with_ids(
        &self,
        completions: &[&str],
        completion_ids: &[&[u32]],
        references: &[&Reference],
    ) -> std::result::Result<Vec<Option<f32>>, String> {
        self.score(completions, Some(completion_ids), references)
    }
}

impl ExternalReward {
    /// One request for the batch; `completion_ids` go to the worker as
    /// lists of ints (`null` when the caller has none).
    fn score(
        &self,
        completions: &[&str],
        completion_ids: Option<&[&[u32]]>,
        references: &[&Reference],
    ) -> std::result::Result<Vec<Option<f32>>, String> {
        let request = request(&self.name, completions, completion_ids, references);
        let outcome = self
            .external
            .ask(&self.name, &request)
            .and_then(|answer| read_scores(&answer, references));
        match outcome {
            Ok(scores) => Ok(scores),
            Err(e) if self.external.errors == RewardErrors::Skip && e.skippable() => {
                let n = self.external.skipped.fetch_add(1, Ordering::Relaxed) + 1;
                eprintln!(
                    "warning: reward `{}` failed on this batch, scored as not applicable ({n} skipped so far, --reward-errors skip): {}",
                    self.name,
                    e.message()
                );
                Ok(vec![None; completions.len()])
            }
            Err(e) => Err(e.message().to_owned()),
        }
    }
}

/// A failure, and whether `--reward-errors skip` may skip it (an exception
/// or a hung worker may be; a wrong answer is a bug in the reward).
enum Skippable {
    Yes(String),
    No(String),
}

impl Skippable {
    fn skippable(&self) -> bool {
        matches!(self, Skippable::Yes(_))
    }
    fn message(&self) -> &str {
        match self {
            Skippable::Yes(m) | Skippable::No(m) => m,
        }
    }
}

/// The request for one function and batch: completions, their token ids,
/// prompts, and every data set column as a list, one item per completion.
fn request(
    function: &str,
    completions: &[&str],
    completion_ids: Option<&[&[u32]]>,
    references: &[&Reference],
) -> Value {
    let rows: Vec<Option<&Map<String, Value>>> = references.iter().map(|r| r.row()).collect();
    let mut names: Vec<&str> = Vec::new();
    for row in rows.iter().flatten() {
        for k in row.keys() {
            if !names.contains(&k.as_str()) {
                names.push(k);
            }
        }
    }
    let column = |name: &str| -> Value {
        rows.iter()
            .map(|r| r.and_then(|r| r.get(name)).cloned().unwrap_or(Value::Null))
            .collect()
    };
    let columns: Map<String, Value> = names
        .iter()
        .filter(|n| !matches!(**n, "completions" | "prompts" | "completion_ids"))
        .map(|n| ((*n).to_owned(), column(n)))
        .collect();
    json!({
        "function": function,
        "completions": completions,
        "prompts": column("prompt"),
        "completion_ids": completion_ids,
        "columns": columns,
    })
}

/// The scores of an answer: numbers or nulls, one per completion.
fn read_scores(
    answer: &Value,
    references: &[&Reference],
) -> std::result::Result<Vec<Option<f32>>, Skippable> {
    let n = references.len();
    if let Some(e) = answer.get("error") {
        let text = e.as_str().map_or_else(|| e.to_string(), str::to_owned);
        if answer.get("kind").and_then(Value::as_str) == Some("value") {
            return Err(Skippable::No(text));
        }
        let row = answer.get("row").and_then(Value::as_u64);
        let at = row.map_or_else(
            || "on this batch".to_owned(),
            |r| {
                let record = references
                    .get(r as usize)
                    .and_then(|r| r.row())
                    .map(describe_row)
                    .unwrap_or_default();
                format!("on completion {r} of the batch{record}")
            },
        );
        return Err(Skippable::Yes(format!(
            "raised an exception {at}:\n{}",
            text.trim_end()
        )));
    }
    let Some(scores) = answer.get("scores").and_then(Value::as_array) else {
        return Err(Skippable::No(format!(
            "the worker answered {answer}; expected {{\"scores\": [...]}} or {{\"error\": ...}}"
        )));
    };
    if scores.len() != n {
        return Err(Skippable::No(format!(
            "returned {} scores for {n} completions",
            scores.len()
        )));
    }
    scores
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Null => Ok(None),
            Value::Number(x) => match x.as_f64() {
                Some(x) if x.is_finite() => Ok(Some(x as f32)),
                _ => Err(Skippable::No(format!(
                    "score {i} is {x}, not a finite number"
                ))),
            },
            other => Err(Skippable::No(format!(
                "score {i} is {other}, not a number or None"
            ))),
        })
        .collect()
}

/// The data set record of a row, for messages: its id, or its answer.
fn describe_row(row: &Map<String, Value>) -> String {
    let text = |k: &str| row.get(k).and_then(Value::as_str);
    match (text("id"), text("answer")) {
        (Some(id), _) => format!(" (record `{id}`)"),
        (None, Some(answer)) => format!(" (record with answer `{answer}`)"),
        (None, None) => String::new(),
    }
}

/// The Python that runs `--reward-file`: `--reward-python`, else the
/// project's `.venv/bin/python` (in the current directory or one above),
/// else `python3`.
fn python(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Ok(dir) = std::env::current_dir() {
        for d in dir.ancestors() {
            let p = d.join(".venv/bin/python");
            if p.is_file() {
                return p;
            }
        }
    }
    PathBuf::from("python3")
}

/// The settings of external rewards.
pub struct Options<'a> {
    pub file: Option<&'a Path>,
    pub python: Option<&'a Path>,
    pub command: Option<&'a str>,
    pub timeout: Duration,
    pub errors: RewardErrors,
}

/// Starts the worker (when a file or command is given), registers its
/// functions as rewards, and checks that every name in `names` is a
/// built-in reward or one of them. Call before the model loads.
pub fn start(options: &Options<'_>, names: &[String]) -> Result<Option<Running>> {
    let spec = match (options.file, options.command) {
        (Some(_), Some(_)) => bail!("give --reward-file or --reward-command, not both"),
        (Some(file), None) => {
            if !file.is_file() {
                bail!("--reward-file {}: no such file", file.display());
            }
            let program = python(options.python);
            Some(Spec {
                what: format!("{} {}", program.display(), file.display()),
                program,
                args: vec![
                    "-c".into(),
                    WORKER_SCRIPT.into(),
                    file.display().to_string(),
                ],
            })
        }
        (None, Some(command)) => Some(Spec {
            program: "sh".into(),
            args: vec!["-c".into(), format!("exec {command}")],
            what: command.to_owned(),
        }),
        (None, None) => None,
    };
    let external = match spec {
        Some(spec) => {
            let ext = Arc::new(External::start(spec, options.timeout, options.errors)?);
            for f in ext.functions() {
                if KNOWN_REWARDS.contains(&f.as_str()) {
                    continue; // a built-in name keeps its meaning
                }
                grpo_rewards::register_batch_reward(
                    f.clone(),
                    ExternalReward {
                        name: f.clone(),
                        external: ext.clone(),
                    },
                )?;
            }
            Some(ext)
        }
        None => None,
    };
    let served: &[String] = external.as_ref().map_or(&[], |e| e.functions());
    for name in names {
        if KNOWN_REWARDS.contains(&name.as_str()) || served.contains(name) {
            continue;
        }
        let theirs = match (options.file, options.command) {
            (Some(f), _) => format!("functions of {}: {}", f.display(), list(served)),
            (_, Some(c)) => format!("functions of `{c}`: {}", list(served)),
            _ => "no --reward-file or --reward-command given".to_owned(),
        };
        bail!(
            "unknown reward `{name}` (built-in: {}; {theirs})",
            KNOWN_REWARDS.join(", ")
        );
    }
    Ok(external.map(Running))
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
