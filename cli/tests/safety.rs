//! Never destroy a user's files, never hang, never crash: the binary on the
//! fixture model under bad input and interruption.
//!
//! Each test reproduces one case of issue 15 and fails on the code before
//! its fix.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mlx-grpo"))
}

fn mlx_grpo(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn fixture_model() -> PathBuf {
    fixtures().join("tiny-tool-caller")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The first `n` records of the fixture test split, as a data file.
fn small_data(dir: &Path, n: usize) -> PathBuf {
    let text = std::fs::read_to_string(fixtures().join("tool-calling/test.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().take(n).collect();
    let path = dir.join("small.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// A quick training command on the fixture model; `extra` is appended.
fn train_args(data: &Path, adapters: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "train",
        "--model",
        s(&fixture_model()),
        "--data",
        s(data),
        "--adapter-path",
        s(adapters),
        "--batch-size",
        "1",
        "--group-size",
        "2",
        "--max-completion-length",
        "8",
        "--beta",
        "0",
        "--steps-per-report",
        "1",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

fn run_ok(args: &[String]) -> Output {
    let out = bin().args(args).output().expect("the binary runs");
    assert!(out.status.success(), "{args:?} failed:\n{}", text(&out));
    out
}

/// A one-iteration run made once per test binary: its adapters and
/// checkpoint (never modified by the tests that use it).
fn trained() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = tempfile::tempdir().unwrap().keep();
        let data = small_data(&root, 8);
        let adapters = root.join("run");
        run_ok(&train_args(&data, &adapters, &["--iters", "1"]));
        assert!(adapters.join("adapters.safetensors").is_file());
        adapters
    })
}

/// Every file of `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

#[test]
fn fuse_refuses_to_write_over_its_own_model_or_adapters() {
    let root = tempfile::tempdir().unwrap();
    let model = root.path().join("m");
    copy_dir(&fixture_model(), &model);
    let before = snapshot(&model);
    let adapters = trained();
    for extra in [&[][..], &["--force"][..]] {
        let mut args = vec![
            "fuse",
            "--model",
            s(&model),
            "--adapter-path",
            s(adapters),
            "--save-path",
            s(&model),
        ];
        args.extend_from_slice(extra);
        let out = mlx_grpo(&args);
        assert!(!out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("model directory"), "{}", text(&out));
        assert_eq!(snapshot(&model), before, "the model was changed");
    }
    // Nor the adapters' directory, nor a directory inside the model.
    let before_adapters = snapshot(adapters);
    for save in [adapters.to_path_buf(), model.join("fused")] {
        let out = mlx_grpo(&[
            "fuse",
            "--model",
            s(&model),
            "--adapter-path",
            s(adapters),
            "--save-path",
            s(&save),
            "--force",
        ]);
        assert!(!out.status.success(), "{}", text(&out));
    }
    assert_eq!(snapshot(adapters), before_adapters);
    assert_eq!(snapshot(&model), before);
}

#[test]
fn fuse_into_an_existing_directory_needs_force_and_then_replaces_it() {
    let root = tempfile::tempdir().unwrap();
    let out_dir = root.path().join("fused");
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::write(out_dir.join("notes.txt"), "mine").unwrap();
    let fuse = |extra: &[&str]| {
        let mut args = vec![
            "fuse",
            "--adapter-path",
            s(trained()),
            "--save-path",
            s(&out_dir),
        ];
        args.extend_from_slice(extra);
        mlx_grpo(&args)
    };
    let out = fuse(&[]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("--force"), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(out_dir.join("notes.txt")).unwrap(),
        "mine"
    );

    let out = fuse(&["--force"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !out_dir.join("notes.txt").exists(),
        "old files are not mixed in"
    );
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        let len = std::fs::metadata(out_dir.join(f)).unwrap().len();
        assert!(len > 0, "{f} is empty");
    }
    // Nothing left beside it: no staging or old directory.
    let names: Vec<_> = std::fs::read_dir(root.path()).unwrap().collect();
    assert_eq!(names.len(), 1);
}

#[test]
fn data_convert_that_converts_nothing_leaves_the_output_alone() {
    let root = tempfile::tempdir().unwrap();
    // A file in the guide's format, not xlam's: nothing converts.
    let guide = small_data(root.path(), 3);
    let existing = root.path().join("out.jsonl");
    std::fs::write(&existing, "keep\n").unwrap();
    let out = mlx_grpo(&["data", "convert", "--from", "xlam", s(&guide), s(&existing)]);
    assert!(!out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep\n");

    let new = root.path().join("new.jsonl");
    let out = mlx_grpo(&["data", "convert", "--from", "xlam", s(&guide), s(&new)]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(!new.exists(), "an empty file was left behind");
}

#[test]
fn init_model_refuses_an_existing_model_directory_without_force() {
    let root = tempfile::tempdir().unwrap();
    let data = small_data(root.path(), 20);
    let out_dir = root.path().join("model");
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::write(out_dir.join("model.safetensors"), "my weights").unwrap();
    let init = |extra: &[&str]| {
        let mut args = vec![
            "init-model",
            "--data",
            s(&data),
            "--out",
            s(&out_dir),
            "--vocab-size",
            "300",
            "--hidden-size",
            "32",
            "--num-layers",
            "1",
            "--intermediate-size",
            "64",
        ];
        args.extend_from_slice(extra);
        mlx_grpo(&args)
    };
    let out = init(&[]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("--force"), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(out_dir.join("model.safetensors")).unwrap(),
        "my weights"
    );
    let out = init(&["--force"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(out_dir.join("config.json").is_file());
    assert!(
        std::fs::metadata(out_dir.join("model.safetensors"))
            .unwrap()
            .len()
            > 100
    );
}

/// A long run, started with stdout and stderr read by threads; the channel
/// receives every stdout line.
fn spawn_long_run(
    root: &Path,
) -> (
    Child,
    mpsc::Receiver<String>,
    std::thread::JoinHandle<String>,
) {
    let data = small_data(root, 8);
    let args = train_args(
        &data,
        &root.join("run"),
        &["--iters", "100000", "--save-every", "100000"],
    );
    let mut child = bin()
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let stderr = child.stderr.take().unwrap();
    let err = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    (child, rx, err)
}

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name} failed");
}

/// Waits for the exit status; kills the process and fails after `limit`.
fn wait_bounded(child: &mut Child, limit: Duration, what: &str) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?} (hung)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until a stdout line contains `needle`; fails after `limit`.
fn wait_for_line(rx: &mpsc::Receiver<String>, needle: &str, limit: Duration) -> Vec<String> {
    let start = Instant::now();
    let mut seen = Vec::new();
    while start.elapsed() < limit {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            let found = line.contains(needle);
            seen.push(line);
            if found {
                return seen;
            }
        }
    }
    panic!("no line with {needle:?} within {limit:?}: {seen:?}");
}

#[test]
fn a_second_ctrl_c_exits_at_once_with_130_and_never_hangs_or_crashes() {
    // Mid-iteration (the first report line seen), while loading, and right
    // after starting: the moments the issue saw hangs and segfaults at.
    for delay in [None, Some(1300), Some(300)] {
        let root = tempfile::tempdir().unwrap();
        let (mut child, rx, err) = spawn_long_run(root.path());
        match delay {
            None => {
                wait_for_line(&rx, "Iteration", Duration::from_secs(120));
            }
            Some(ms) => std::thread::sleep(Duration::from_millis(ms)),
        }
        signal(&child, "INT");
        std::thread::sleep(Duration::from_millis(50));
        signal(&child, "INT");
        let status = wait_bounded(&mut child, Duration::from_secs(30), "double Ctrl-C");
        let stderr = err.join().unwrap();
        // The process has ended, so its standard output is closed and this
        // ends too.
        let stdout: Vec<String> = rx.iter().collect();
        assert_eq!(status.code(), Some(130), "{delay:?}: {status:?}\n{stderr}");
        // Either the second Ctrl-C ended it, or the first one had already
        // finished the run cleanly (it can, before the first iteration)
        // by the time the second arrived.
        let stopped_cleanly = stdout
            .iter()
            .any(|l| l.contains("Interrupted after iteration"));
        assert!(
            stderr.contains("the last checkpoint is intact") || stopped_cleanly,
            "{delay:?}: {stderr}\n{stdout:?}"
        );
    }
}

#[test]
fn sigterm_saves_a_checkpoint_and_exits_like_the_first_ctrl_c() {
    let root = tempfile::tempdir().unwrap();
    let (mut child, rx, err) = spawn_long_run(root.path());
    wait_for_line(&rx, "Iteration", Duration::from_secs(120));
    signal(&child, "TERM");
    let status = wait_bounded(&mut child, Duration::from_secs(120), "SIGTERM");
    let stdout: Vec<String> = rx.try_iter().collect();
    let stderr = err.join().unwrap();
    assert_eq!(status.code(), Some(130), "{status:?}\n{stderr}");
    assert!(
        stdout.iter().any(|l| l.contains("checkpoint saved")),
        "{stdout:?}\n{stderr}"
    );
    assert!(root.path().join("run/checkpoints/latest").is_file());
}

#[test]
fn resume_refuses_changed_fixed_settings_and_notes_the_others() {
    let root = tempfile::tempdir().unwrap();
    let run = root.path().join("run");
    copy_dir(trained(), &run);
    copy_dir(&trained().join("checkpoints"), &run.join("checkpoints"));
    for d in std::fs::read_dir(trained().join("checkpoints")).unwrap() {
        let d = d.unwrap().path();
        if d.is_dir() {
            copy_dir(&d, &run.join("checkpoints").join(d.file_name().unwrap()));
        }
    }
    // The data path is part of the settings: the same file as the first run.
    let data = trained().parent().unwrap().join("small.jsonl");
    let before = snapshot(&run);
    for (flags, says) in [
        (&["--lora-rank", "4"][..], "lora_rank: 8 → 4"),
        (
            &["--train-type", "dora"][..],
            "train_type: \"lora\" → \"dora\"",
        ),
    ] {
        let mut extra = vec!["--iters", "2", "--resume"];
        extra.extend_from_slice(flags);
        let out = bin()
            .args(train_args(&data, &run, &extra))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{}", text(&out));
        assert!(text(&out).contains(says), "{}", text(&out));
        assert_eq!(snapshot(&run), before);
    }
    let out = run_ok(&train_args(&data, &run, &["--iters", "2", "--resume"]));
    let log = text(&out);
    assert!(log.contains("iters: 1 → 2"), "{log}");
    assert!(log.contains("Iteration 2/2"), "{log}");
}

#[test]
fn train_into_an_existing_run_needs_resume_or_force() {
    let root = tempfile::tempdir().unwrap();
    let run = root.path().join("run");
    let data = small_data(root.path(), 8);
    run_ok(&train_args(&data, &run, &["--iters", "1"]));
    let marker = run.join("checkpoints/iteration-1/old-run.txt");
    std::fs::write(&marker, "old").unwrap();
    let metrics = std::fs::read(run.join("metrics.jsonl")).unwrap();

    let out = bin()
        .args(train_args(&data, &run, &["--iters", "1"]))
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    let err = text(&out);
    assert!(err.contains("--resume") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(run.join("metrics.jsonl")).unwrap(), metrics);
    assert!(marker.is_file());

    run_ok(&train_args(&data, &run, &["--iters", "1", "--force"]));
    assert!(
        !marker.exists(),
        "old checkpoints are not mixed with new ones"
    );
    assert!(run.join("checkpoints/iteration-1").is_dir());
}

#[test]
fn list_and_negative_flags_parse_wherever_they_stand() {
    let out = mlx_grpo(&[
        "train",
        "--model",
        "m",
        "--data",
        "absent.jsonl",
        "--reward-functions",
        "tool_call_exact",
        "tool_call_function",
        "tool_call_format",
        "--reward-weights",
        "1",
        "2",
        "3",
        "--adapter-path",
        "out-not-created",
    ]);
    let err = text(&out);
    assert!(!out.status.success());
    assert!(!err.contains("invalid value"), "{err}");
    assert!(err.contains("absent.jsonl"), "{err}");

    let out = mlx_grpo(&[
        "train",
        "--model",
        "m",
        "--data",
        "absent.jsonl",
        "--learning-rate",
        "-1e-5",
    ]);
    let err = text(&out);
    assert!(!err.contains("unexpected argument"), "{err}");
    assert!(err.contains("learning_rate"), "{err}");
}

#[test]
fn a_learning_rate_of_zero_is_refused() {
    let out = mlx_grpo(&[
        "train",
        "--model",
        "m",
        "--data",
        "d.jsonl",
        "--learning-rate",
        "0",
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("learning_rate"), "{}", text(&out));
}

#[test]
fn an_adapter_path_that_is_a_file_is_named_as_such() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("adapters");
    std::fs::write(&file, "x").unwrap();
    let data = small_data(root.path(), 2);
    let out = mlx_grpo(&[
        "train",
        "--model",
        s(&fixture_model()),
        "--data",
        s(&data),
        "--adapter-path",
        s(&file),
    ]);
    assert!(!out.status.success());
    let err = text(&out);
    assert!(err.contains("is a file"), "{err}");
    assert!(!err.contains("File exists"), "{err}");
}

#[test]
fn config_file_errors_name_the_file_the_setting_and_the_type() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("run.yaml");
    for (yaml, says) in [
        ("learning_rate: .nan\n", "`learning_rate` is .nan"),
        ("learning_rate: fast\n", "expected f32"),
        ("temperature: ~\n", "`temperature`"),
        ("group_size: 4\ngroup_size: 8\n", "duplicate"),
    ] {
        std::fs::write(&config, yaml).unwrap();
        let out = mlx_grpo(&[
            "train",
            "--model",
            "m",
            "--data",
            "d.jsonl",
            "--config",
            s(&config),
        ]);
        assert!(!out.status.success());
        let err = text(&out);
        assert!(
            err.contains("run.yaml") && err.contains(says),
            "{yaml}: {err}"
        );
    }
}

#[test]
fn a_byte_order_mark_is_not_a_broken_record() {
    let root = tempfile::tempdir().unwrap();
    let data = small_data(root.path(), 2);
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(std::fs::read(&data).unwrap());
    std::fs::write(&data, bytes).unwrap();
    let out = mlx_grpo(&["data", "validate", s(&data)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("2 valid records, 0 skipped"),
        "{}",
        text(&out)
    );
}

/// `train_args` on another model directory.
fn train_args_on(model: &Path, data: &Path, adapters: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = train_args(data, adapters, extra);
    args[2] = s(model).to_string();
    args
}

/// The fixture model with `max_position_embeddings` set to `context`.
fn model_with_context(dir: &Path, context: u64) -> PathBuf {
    let model = dir.join("model");
    copy_dir(&fixture_model(), &model);
    let path = model.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["max_position_embeddings"] = context.into();
    std::fs::write(&path, config.to_string()).unwrap();
    model
}

/// The first 8 records of the test split, then the first one again with
/// its question repeated `repeat` times (the 9th line).
fn data_with_a_long_prompt(dir: &Path, repeat: usize) -> PathBuf {
    let path = small_data(dir, 8);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut long: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let prompt = long["prompt"].as_str().unwrap().to_string();
    long["prompt"] = (prompt + &" Please check the word level.".repeat(repeat)).into();
    let path = dir.join("long.jsonl");
    std::fs::write(&path, format!("{text}{long}\n")).unwrap();
    path
}

/// Runs to the end, failing after `limit` (an old binary hung on these).
fn run_bounded(args: &[String], limit: Duration) -> (std::process::ExitStatus, String, String) {
    let mut child = bin()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let read = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = read(Box::new(child.stdout.take().unwrap()));
    let err = read(Box::new(child.stderr.take().unwrap()));
    let status = wait_bounded(&mut child, limit, &format!("{args:?}"));
    (status, out.join().unwrap(), err.join().unwrap())
}

/// "longest prompt N tokens" of the start banner.
fn longest_prompt(stdout: &str) -> usize {
    let at = stdout.find("longest prompt ").expect("the banner") + "longest prompt ".len();
    stdout[at..].split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn skipped_training_records_are_named_on_stderr_with_a_pointer_to_data_validate() {
    let root = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(small_data(root.path(), 8)).unwrap();
    // A broken record after each good one but the last: lines 2, 4, …, 14.
    let mut lines = Vec::new();
    for (i, line) in good.lines().enumerate() {
        lines.push(line.to_string());
        if i < 7 {
            lines.push(format!("{{broken {i}"));
        }
    }
    let data = root.path().join("bad.jsonl");
    std::fs::write(&data, lines.join("\n") + "\n").unwrap();
    let out = run_ok(&train_args(
        &data,
        &root.path().join("run"),
        &["--iters", "1"],
    ));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in [2, 4, 6, 8, 10] {
        assert!(
            stderr.contains(&format!("bad.jsonl:{line}: not a JSON object")),
            "line {line}:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("bad.jsonl:12:"),
        "the first 5 only:\n{stderr}"
    );
    assert!(stderr.contains("and 2 more"), "{stderr}");
    assert!(
        stderr.contains(&format!("mlx-grpo data validate {}", s(&data))),
        "{stderr}"
    );
    assert!(
        !stdout.contains("bad.jsonl:"),
        "records on stdout:\n{stdout}"
    );
    assert!(stdout.contains("8 training examples"), "{stdout}");
}

#[test]
fn prompts_over_the_context_or_the_limit_are_skipped_with_their_reason_or_cut() {
    let root = tempfile::tempdir().unwrap();
    // The fixture prompts have at most 225 tokens; the 9th has about 750.
    let model = model_with_context(root.path(), 300);
    let data = data_with_a_long_prompt(root.path(), 100);
    let run = root.path().join("run");
    let args = |extra: &[&str]| {
        let mut e = vec!["--iters", "1", "--force"];
        e.extend_from_slice(extra);
        train_args_on(&model, &data, &run, &e)
    };

    let (status, stdout, stderr) = run_bounded(&args(&[]), Duration::from_secs(300));
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("8 training examples"), "{stdout}");
    assert!(
        stderr.contains("long.jsonl:9: field `prompt`: is"),
        "{stderr}"
    );
    assert!(
        stderr.contains("over the model's context of 300 tokens")
            && stderr.contains("max_completion_length 8"),
        "{stderr}"
    );
    assert!(stderr.contains("prompt_too_long: 1"), "{stderr}");

    // Cut instead: 9 examples, none over 300 - 8 tokens.
    let (status, stdout, stderr) =
        run_bounded(&args(&["--truncate-prompts"]), Duration::from_secs(300));
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("9 training examples"), "{stdout}");
    assert!(longest_prompt(&stdout) <= 292, "{stdout}");
    assert!(stderr.contains("1 prompt cut"), "{stderr}");

    // --max-prompt-length, and the same setting from a --config file.
    let (status, stdout, stderr) = run_bounded(
        &args(&["--max-prompt-length", "200"]),
        Duration::from_secs(300),
    );
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("over --max-prompt-length 200"), "{stderr}");
    assert!(longest_prompt(&stdout) <= 200, "{stdout}");
    let config = root.path().join("run.yaml");
    std::fs::write(&config, "max_prompt_length: 200\n").unwrap();
    let (status, stdout, stderr) =
        run_bounded(&args(&["--config", s(&config)]), Duration::from_secs(300));
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("over --max-prompt-length 200"), "{stderr}");
    assert!(stdout.contains("max_prompt_length: 200"), "{stdout}");
}

#[test]
fn a_huge_prompt_is_skipped_without_tokenizing_all_of_it() {
    let root = tempfile::tempdir().unwrap();
    // About 10 MB of prompt on the 4,096-token fixture model.
    let data = data_with_a_long_prompt(root.path(), 360_000);
    let args = train_args(&data, &root.path().join("run"), &["--iters", "1"]);
    let (status, stdout, stderr) = run_bounded(&args, Duration::from_secs(120));
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("8 training examples"), "{stdout}");
    assert!(
        stderr.contains("long.jsonl:9: field `prompt`: is at least")
            && stderr.contains("context of 4096 tokens"),
        "{stderr}"
    );
}

#[test]
fn a_batch_that_cannot_fit_in_memory_is_refused_before_allocating() {
    if !(cfg!(target_os = "linux") || cfg!(target_os = "macos")) {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    // A context large enough for 50 M-token completions: 128 of them need
    // tens of terabytes of key/value cache.
    let model = model_with_context(root.path(), 100_000_000);
    let data = small_data(root.path(), 8);
    let mut args = train_args_on(&model, &data, &root.path().join("run"), &["--iters", "1"]);
    let set = |args: &mut Vec<String>, flag: &str, value: &str| {
        let at = args.iter().position(|a| a == flag).unwrap();
        args[at + 1] = value.to_string();
    };
    set(&mut args, "--batch-size", "8");
    set(&mut args, "--group-size", "16");
    set(&mut args, "--max-completion-length", "50000000");
    let (status, stdout, stderr) = run_bounded(&args, Duration::from_secs(120));
    assert!(!status.success(), "{stdout}\n{stderr}");
    assert_eq!(status.code(), Some(1), "an error, not a crash: {stderr}");
    for says in [
        "needs at least",
        "this machine has",
        "--batch-size",
        "--max-completion-length",
    ] {
        assert!(stderr.contains(says), "{says}: {stderr}");
    }
    assert!(
        !root.path().join("run/checkpoints").exists(),
        "refused before the run started"
    );
}
