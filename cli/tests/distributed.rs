//! Data-parallel training on loopback: two processes joined by MLX's ring
//! backend (a hostfile with 127.0.0.1 twice, the environment `mlx.launch`
//! sets up) train the embedded model as one process does with the combined
//! batch cut into the same two shards; a checkpoint of two ranks does not
//! resume on one; and a rank that dies ends the other with an error while
//! the last checkpoint stays intact.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The longest a run may take; past it the test kills it and fails
/// instead of hanging the suite.
const DEADLINE: Duration = Duration::from_secs(300);

/// A short GRPO run of the embedded model and its settings: 2 iterations
/// of 4 prompts from `data`, no validation.
fn train_args(data: &Path, adapters: &Path) -> Vec<String> {
    [
        "train",
        "--iters",
        "2",
        "--batch-size",
        "4",
        "--group-size",
        "4",
        "--max-completion-length",
        "16",
        "--log-rollouts-every",
        "0",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        "--data".to_string(),
        data.display().to_string(),
        "--adapter-path".to_string(),
        adapters.display().to_string(),
    ])
    .collect()
}

/// The first 16 examples of the fixture's validation split, as a training
/// file in `dir`: loading and tokenizing stay quick in every process.
fn small_data(dir: &Path) -> PathBuf {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tool-calling/valid.jsonl");
    let text = std::fs::read_to_string(fixture).unwrap();
    let lines: Vec<&str> = text.lines().take(16).collect();
    let path = dir.join("train.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn mlx_grpo(args: &[String]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mlx-grpo"));
    c.args(args)
        .env_remove("MLX_RANK")
        .env_remove("MLX_HOSTFILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Starts ranks 0 and 1 of a loopback ring, rank `r` with `args(r)`.
fn start_ranks(dir: &Path, args: impl Fn(usize) -> Vec<String>) -> Vec<Child> {
    let hostfile = dir.join("hosts.json");
    write_hostfile(&hostfile, 2);
    (0..2)
        .map(|rank| {
            mlx_grpo(&args(rank))
                .env("MLX_RANK", rank.to_string())
                .env("MLX_HOSTFILE", &hostfile)
                .spawn()
                .unwrap()
        })
        .collect()
}

#[test]
fn two_ranks_match_one_process_with_the_combined_batch_and_resume_only_on_two() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let ranks_dir = |r: usize| dir.path().join(format!("rank{r}"));
    let children = start_ranks(dir.path(), |r| train_args(&data, &ranks_dir(r)));
    let outputs: Vec<Output> = children.into_iter().map(wait_bounded).collect();
    for (rank, out) in outputs.iter().enumerate() {
        assert!(out.status.success(), "rank {rank} failed:\n{}", text(out));
    }
    let one = dir.path().join("one");
    let mut args = train_args(&data, &one);
    args.extend(["--rollout-shards".into(), "2".into()]);
    let single = wait_bounded(mlx_grpo(&args).spawn().unwrap());
    assert!(
        single.status.success(),
        "one process failed:\n{}",
        text(&single)
    );

    // Rank 0 wrote the run; rank 1, given a path of its own, wrote nothing.
    assert!(!ranks_dir(1).exists(), "rank 1 wrote files");
    let distributed = metrics(&ranks_dir(0));
    let alone = metrics(&one);
    assert_eq!(distributed.len(), 2);
    assert_eq!(alone.len(), 2);
    for (d, a) in distributed.iter().zip(&alone) {
        assert_eq!(d["ranks"], 2, "{d}");
        assert!(a.get("ranks").is_none(), "{a}");
        assert!(d["allreduce_s"].as_f64().unwrap() >= 0.0, "{d}");
        assert!(d["wait_s"].as_f64().unwrap() >= 0.0, "{d}");
        assert_eq!(d["groups"], 4);
        assert_eq!(d["zero_variance_groups"], a["zero_variance_groups"]);
        for key in [
            "loss",
            "mean_reward",
            "reward_std",
            "grad_norm",
            "completion_length",
        ] {
            let (x, y) = (d[key].as_f64().unwrap(), a[key].as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
                "iteration {}: {key} {x} on two ranks, {y} in one process",
                d["iteration"]
            );
        }
        assert_eq!(d["rewards"], a["rewards"], "iteration {}", d["iteration"]);
    }

    // Both ranks held the same parameters at each checkpoint.
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(ranks_dir(0).join("checkpoints/iteration-2/trainer_state.json"))
            .unwrap(),
    )
    .unwrap();
    let fingerprints = state["parameter_fingerprints"].as_array().unwrap();
    assert_eq!(fingerprints.len(), 2, "{state}");
    assert_eq!(fingerprints[0], fingerprints[1], "{state}");
    assert_eq!(state["ranks"], 2);

    // The run resumes on two processes only.
    let mut resume = train_args(&data, &ranks_dir(0));
    resume[2] = "3".into(); // --iters
    resume.push("--resume".into());
    let refused = wait_bounded(mlx_grpo(&resume).spawn().unwrap());
    assert!(!refused.status.success());
    let message = text(&refused);
    assert!(
        message.contains("written by a run on 2 processes and this one has 1 process"),
        "{message}"
    );
    assert!(message.contains("mlx.launch"), "{message}");
}

#[test]
fn a_rank_that_dies_ends_the_other_with_an_error_and_the_checkpoint_stays() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let run = dir.path().join("run");
    let long = |_: usize| {
        let mut args = train_args(&data, &run);
        args[2] = "1000".into(); // --iters
        args.extend(["--save-every".into(), "1".into()]);
        args
    };
    let mut children = start_ranks(dir.path(), long);
    let checkpoint = run.join("checkpoints/iteration-2");
    let start = Instant::now();
    while !checkpoint.join("trainer_state.json").is_file() {
        if start.elapsed() > DEADLINE {
            children.iter_mut().for_each(|c| drop(c.kill()));
            panic!("no checkpoint iteration-2 after {DEADLINE:?}");
        }
        if let Some(status) = children[0].try_wait().unwrap() {
            let out = children.remove(0).wait_with_output().unwrap();
            panic!("rank 0 ended early ({status}):\n{}", text(&out));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut victim = children.pop().unwrap();
    victim.kill().unwrap();
    let _ = victim.wait();

    let survivor = wait_bounded(children.pop().unwrap());
    assert!(!survivor.status.success(), "{}", text(&survivor));
    let message = text(&survivor);
    assert!(message.contains("rank 0 of 2 failed in"), "{message}");
    assert!(
        message.contains("another rank probably stopped or crashed"),
        "{message}"
    );
    assert!(message.contains("--resume"), "{message}");

    // The newest checkpoint is complete: its state names its own step.
    let latest = grpo::checkpoint::latest(&run.join("checkpoints"))
        .unwrap()
        .expect("a checkpoint");
    let state = grpo::checkpoint::TrainerState::read(&latest).unwrap();
    assert_eq!(latest, checkpoint_dir(&run, state.iteration));
    assert!(state.iteration >= 2);
    assert!(latest.join("adapters.safetensors").is_file());
    assert!(latest.join("optimizer.safetensors").is_file());
}

fn checkpoint_dir(run: &Path, iteration: u64) -> PathBuf {
    run.join("checkpoints")
        .join(format!("iteration-{iteration}"))
}

/// The lines of `dir/metrics.jsonl`.
fn metrics(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// A ring hostfile of `ranks` loopback addresses on ports free just now.
fn write_hostfile(path: &Path, ranks: usize) {
    let listeners: Vec<TcpListener> = (0..ranks)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let hosts: Vec<Vec<String>> = listeners
        .iter()
        .map(|l| vec![l.local_addr().unwrap().to_string()])
        .collect();
    drop(listeners);
    std::fs::write(path, serde_json::to_string(&hosts).unwrap()).unwrap();
}

/// `child`'s output once it exits; killed (and the test failed) past
/// [`DEADLINE`]. Output is read as it comes, so a full pipe cannot stall it.
fn wait_bounded(child: Child) -> Output {
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &id.to_string()]).status();
            panic!("process {id} still ran after {DEADLINE:?}");
        }
    }
}
