//! Group generation throughput (generated tokens per second, prefill
//! included) for 8 prompts × 8 samples × up to 64 tokens on a fixture-sized
//! random Qwen2 model, side by side with Python mlx-lm's `BatchGenerator` on
//! the same model, prompts, sampling settings and token budget, in one run.
//!
//! Two workloads: no end-of-sequence token, so every row runs 64 tokens; and
//! a set of end-of-sequence ids that random sampling hits now and then, so
//! rows stop at varied lengths (each side draws its own tokens, so the totals
//! differ; the throughput counts what each generated).
//!
//! The Python side runs `benches/python/generate_mlx_lm.py` with the
//! project's venv interpreter; on Linux it is given the BLAS this binary
//! uses (see [`blas_preload`]), so that both run the same matmul code. Set
//! `MLX_GRPO_BENCH_NO_PYTHON=1` to time the Rust side alone.
//!
//! `cargo bench -p grpo-benches --bench generate`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use grpo_policy::config::TransformerConfig;
use grpo_policy::generate::{generate, GenerateOptions};
use grpo_policy::mode::Mode;
use grpo_policy::models::transformer::Transformer;
use grpo_policy::sample::Sampler;
use mlx_rs::random;
use serde_json::{json, Value};

const PROMPTS: usize = 8;
const GROUP: usize = 8;
const MAX_TOKENS: usize = 64;
const VOCAB: u32 = 2048;
const TEMPERATURE: f32 = 1.0;
const REPEATS: usize = 7;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

fn config_json() -> Value {
    json!({
        "model_type": "qwen2",
        "hidden_size": 256,
        "num_hidden_layers": 4,
        "intermediate_size": 768,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-6,
        "vocab_size": VOCAB,
        "max_position_embeddings": 1024,
        "rope_theta": 1000000.0,
        "tie_word_embeddings": true,
    })
}

/// Eight prompts of 150 to 250 tokens, from a fixed linear congruential
/// sequence (no token 0: it is the pad id).
fn prompts() -> Vec<Vec<u32>> {
    let mut state = 0x2545_f491_u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as u32
    };
    (0..PROMPTS)
        .map(|_| {
            let len = 150 + next() % 101;
            (0..len).map(|_| 1 + next() % (VOCAB - 1)).collect()
        })
        .collect()
}

/// End-of-sequence ids for the stopping workload: 1 in 64 of the
/// vocabulary, so that a near-uniform sampler stops about a third of the
/// rows within 64 tokens, at varied lengths.
fn eos_ids() -> Vec<u32> {
    (0..VOCAB / 64).map(|i| 7 + i * 64).collect()
}

/// One timed run: generated tokens and wall-clock seconds.
#[derive(Clone, Copy)]
struct Run {
    tokens: usize,
    wall: f64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.tokens as f64 / self.wall
    }
}

fn time_rust(
    model: &Transformer,
    prompts: &[Vec<u32>],
    eos: &[u32],
    max_tokens: usize,
) -> BenchResult<Vec<Run>> {
    let opts = GenerateOptions {
        group_size: GROUP,
        max_tokens,
        sampler: Sampler::with_temperature(TEMPERATURE),
        eos,
        stop: None,
    };
    let mode = Mode::inference();
    let mut runs = Vec::with_capacity(REPEATS);
    for rep in 0..=REPEATS {
        let key = random::key(rep as u64)?;
        let start = Instant::now();
        let g = generate(model, prompts, &opts, &key, &mode)?;
        let run = Run {
            tokens: g.total_tokens(),
            wall: start.elapsed().as_secs_f64(),
        };
        if rep > 0 {
            runs.push(run); // run 0 is the warm-up
        }
    }
    Ok(runs)
}

/// The shared BLAS library this process has mapped, when it is not one
/// bundled with the MLX wheel: scripts/setup links OpenBLAS into Rust
/// binaries, and Python must load the same one for a like-for-like timing.
fn blas_preload() -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.contains("blas") && !p.contains("mlx"))
        .map(PathBuf::from)
}

fn time_mlx_lm(python: &Path, model_dir: &Path, job: &Value) -> BenchResult<(Value, Vec<Run>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let job_path = model_dir.join("job.json");
    std::fs::write(&job_path, job.to_string())?;
    let mut cmd = Command::new(python);
    cmd.arg(root.join("python/generate_mlx_lm.py"))
        .arg("--model")
        .arg(model_dir)
        .arg("--job")
        .arg(&job_path)
        .arg("--repeats")
        .arg(REPEATS.to_string());
    if let Some(blas) = blas_preload() {
        cmd.env("LD_PRELOAD", blas);
    }
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let report: Value = serde_json::from_slice(&out.stdout)?;
    let runs = report["runs"]
        .as_array()
        .ok_or("no runs in the mlx-lm report")?
        .iter()
        .map(|r| Run {
            tokens: r["tokens"].as_u64().unwrap_or(0) as usize,
            wall: r["seconds"].as_f64().unwrap_or(f64::NAN),
        })
        .collect();
    Ok((report, runs))
}

/// The median and the best run by throughput. Other load on the machine
/// only slows a run down, so the best is the steadier figure where the
/// machine is shared; the median is the typical one.
fn summary(runs: &[Run]) -> (Run, Run) {
    let mut sorted = runs.to_vec();
    sorted.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
    (sorted[sorted.len() / 2], sorted[sorted.len() - 1])
}

fn main() -> BenchResult<()> {
    let config = config_json();
    let model = Transformer::random(TransformerConfig::from_json(&config)?, 0)?;
    let dir = tempfile::tempdir()?;
    model.save(dir.path(), &config)?;
    let prompts = prompts();
    let lens: Vec<usize> = prompts.iter().map(Vec::len).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv/bin/python");
    let with_python = python.exists() && std::env::var_os("MLX_GRPO_BENCH_NO_PYTHON").is_none();

    println!(
        "group generation: {PROMPTS} prompts (lengths {lens:?}) x {GROUP} samples x up to \
         {MAX_TOKENS} tokens, temperature {TEMPERATURE}; qwen2 hidden 256, 4 layers, vocab {VOCAB}, f32"
    );
    println!(
        "device {:?}; {REPEATS} runs after a warm-up; tokens/s = generated tokens / wall time, \
         prefill included",
        mlx_rs::Device::default()
    );
    if let Some(blas) = blas_preload() {
        println!(
            "BLAS: {} (Python given the same through LD_PRELOAD)",
            blas.display()
        );
    }

    // Prefill alone (plus one sampled token), to split the time.
    let (prefill, fastest) = summary(&time_rust(&model, &prompts, &[], 1)?);
    println!(
        "rust    prefill + 1 token: median {:.1} ms, best {:.1} ms",
        prefill.wall * 1e3,
        fastest.wall * 1e3
    );
    println!(
        "{:<16}{:>16} {:>14} {:>8} {:>16}",
        "", "tokens/s median", "tokens/s best", "tokens", "median wall ms"
    );
    for (name, eos) in [("no eos", Vec::new()), ("eos", eos_ids())] {
        let rust = summary(&time_rust(&model, &prompts, &eos, MAX_TOKENS)?);
        let row = |who: &str, (median, best): (Run, Run)| {
            println!(
                "{name:<7} {who:<8}{:>16.1} {:>14.1} {:>8} {:>16.1}",
                median.rate(),
                best.rate(),
                median.tokens,
                median.wall * 1e3
            );
        };
        row("rust", rust);
        if !with_python {
            continue;
        }
        let job = json!({
            "prompts": prompts,
            "group": GROUP,
            "max_tokens": MAX_TOKENS,
            "temperature": TEMPERATURE,
            "eos": eos,
        });
        match time_mlx_lm(&python, dir.path(), &job) {
            Ok((report, runs)) => {
                let py = summary(&runs);
                row("mlx-lm", py);
                println!(
                    "{name:<7} {:<8}{:>15.2}x {:>13.2}x   (mlx-lm {}, {})",
                    "ratio",
                    rust.0.rate() / py.0.rate(),
                    rust.1.rate() / py.1.rate(),
                    report["mlx_lm"].as_str().unwrap_or("?"),
                    report["device"].as_str().unwrap_or("?"),
                );
            }
            Err(e) => println!("{name:<7} mlx-lm  skipped: {e}"),
        }
    }
    Ok(())
}
