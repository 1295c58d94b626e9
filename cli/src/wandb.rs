//! `--wandb-project`: the run's metrics, also sent to Weights & Biases
//! through its Python package (in the project's `.venv`, or any
//! `python3` that has it). Offline mode when the service cannot be reached;
//! nothing in training depends on it.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

use anyhow::{bail, Context, Result};
use grpo::config::TrainConfig;
use grpo::eval::EvalReport;
use grpo::metrics::IterationMetrics;
use grpo::observer::Observer;
use serde_json::json;

const BRIDGE: &str = r#"
import json, os, socket, sys
import wandb
project, config = sys.argv[1], json.loads(sys.argv[2])
mode = os.environ.get("WANDB_MODE")
if mode is None:
    try:
        socket.create_connection(("api.wandb.ai", 443), timeout=3).close()
        mode = "online"
    except OSError:
        mode = "offline"
run = wandb.init(project=project, config=config, mode=mode)
print(f"wandb: logging to {project} ({mode}, {run.dir})", file=sys.stderr, flush=True)
for line in sys.stdin:
    record = json.loads(line)
    step = record.pop("_step")
    wandb.log(record, step=step)
run.finish()
"#;

/// A running bridge process.
pub struct Wandb {
    child: Child,
    stdin: Option<ChildStdin>,
}

/// The Python interpreter to use: `$MLX_GRPO_PYTHON`, the project's venv,
/// else `python3`.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("MLX_GRPO_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = crate::embedded::fixtures().join("../.venv/bin/python");
    if venv.is_file() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// Fails with what to install when `wandb` does not import, before any work
/// starts.
pub fn check() -> Result<()> {
    let py = python();
    let check = Command::new(&py)
        .args(["-c", "import wandb"])
        .output()
        .with_context(|| format!("running {}", py.display()))?;
    if !check.status.success() {
        bail!(
            "--wandb-project needs the wandb Python package: run `{} -m pip install wandb` (or drop --wandb-project)",
            py.display()
        );
    }
    Ok(())
}

impl Wandb {
    /// Starts the bridge (after [`check`]).
    pub fn start(project: &str, config: &TrainConfig) -> Result<Self> {
        let py = python();
        let mut child = Command::new(&py)
            .args(["-u", "-c", BRIDGE, project])
            .arg(serde_json::to_string(config)?)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", py.display()))?;
        let stdin = child.stdin.take();
        Ok(Self { child, stdin })
    }

    fn send(&mut self, record: serde_json::Value) {
        let broken = match &mut self.stdin {
            Some(stdin) => writeln!(stdin, "{record}").is_err(),
            None => false,
        };
        if broken {
            eprintln!("warning: the wandb bridge stopped; training goes on without it");
            self.stdin = None;
        }
    }

    /// Closes the stream and waits for the upload to finish.
    pub fn finish(mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

impl Observer for Wandb {
    fn on_iteration(&mut self, m: &IterationMetrics) {
        let mut record = serde_json::to_value(m).unwrap_or_default();
        if let Some(obj) = record.as_object_mut() {
            obj.remove("rewards");
            let rewards = m.grpo.as_ref().map_or(&[][..], |g| &g.rewards[..]);
            for (name, value) in rewards {
                if let Some(value) = value {
                    obj.insert(format!("rewards/{name}"), json!(value));
                }
            }
            obj.insert("_step".into(), json!(m.iteration));
        }
        self.send(record);
    }

    fn on_eval(&mut self, iteration: usize, r: &EvalReport) {
        self.send(json!({
            "_step": iteration,
            "val/exact_match": r.all.exact_rate(),
            "val/function": r.all.function_rate(),
            "val/params": r.all.params_rate(),
            "val/parse_rate": r.all.parse_rate(),
        }));
    }
}
