//! Where one GRPO step goes on a real model: SmolLM2-135M-Instruct
//! (`scripts/get-model smollm2`), the workload of issue 16 (2 prompts ×
//! group 4 × 64 tokens, T 0.7, top-p 0.95, top-k 20, LoRA r8 on q/k/v/o of
//! every block, β 0.1), split into prefill, decode (per token: the blocks'
//! matmuls, the rest of the blocks, the output head, sampling), reward
//! scoring, the reference log-prob pass, the policy's forward + backward and
//! the optimizer step. Each phase is evaluated on its own and timed in wall
//! and CPU seconds (this process's user + system time, which a shared
//! machine disturbs less than wall time), with MLX's peak memory.
//!
//! `cargo bench -p grpo-benches --bench step_breakdown [-- MODEL_DIR]`
//! (default `models/smollm2-135m-instruct`; the 4-bit one is
//! `models/smollm2-135m-instruct-4bit`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use grpo::loss::{grpo_loss, LossInputs};
use grpo::optimizer::{clip_grad_norm, AdamW};
use grpo::tasks::TaskSet;
use grpo::update;
use grpo_benches::{cpu_s, root, smollm2_workload};
use grpo_dataset::{load, LoadOptions};
use grpo_policy::adapters;
use grpo_policy::batch::PromptBatch;
use grpo_policy::generate::{generate, GenerateOptions, Generation};
use grpo_policy::logprobs::{completion_logprobs, CompletionBatch};
use grpo_policy::mask::AttentionMask;
use grpo_policy::mode::Mode;
use grpo_policy::policy::Policy;
use grpo_policy::sample::Sampler;
use grpo_rewards::Reference;
use mlx_rs::{memory, ops::indexing::IndexOp, random, transforms::eval, Array};

// The shape of `smollm2_workload`, which the phases are timed at.
const BATCH: usize = 2;
const GROUP: usize = 4;
const TOKENS: usize = 64;
const REPEATS: usize = 3;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Peak resident set size of this process so far, in bytes.
fn rss_peak() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Wall and CPU seconds and MLX peak bytes of one phase.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    wall: f64,
    cpu: f64,
    peak: usize,
}

/// Runs `f` `REPEATS` times (after one warm-up run) and keeps the run with
/// the median wall time.
fn measure<T>(mut f: impl FnMut() -> BenchResult<T>) -> BenchResult<(Cost, T)> {
    f()?;
    let mut runs = Vec::new();
    for _ in 0..REPEATS {
        memory::reset_peak_memory()?;
        let (w, c) = (Instant::now(), cpu_s());
        let out = f()?;
        let cost = Cost {
            wall: w.elapsed().as_secs_f64(),
            cpu: cpu_s() - c,
            peak: memory::peak_memory()?,
        };
        runs.push((cost, out));
    }
    runs.sort_by(|a, b| a.0.wall.total_cmp(&b.0.wall));
    Ok(runs.swap_remove(REPEATS / 2))
}

fn line(what: &str, c: Cost, per: Option<(f64, &str)>) {
    let per = per.map_or(String::new(), |(n, unit)| {
        format!(
            " | {:7.2} ms wall / {:7.2} ms CPU per {unit}",
            c.wall * 1e3 / n,
            c.cpu * 1e3 / n
        )
    });
    println!(
        "  {what:<34} {:7.3} s wall {:7.3} s CPU | MLX peak {:6.0} MB{per}",
        c.wall,
        c.cpu,
        c.peak as f64 / 1e6
    );
}

fn main() -> BenchResult<()> {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("models/smollm2-135m-instruct"));
    if !dir.join("config.json").exists() {
        println!(
            "{} is not there (scripts/get-model smollm2); nothing to measure",
            dir.display()
        );
        return Ok(());
    }
    let out = tempfile::tempdir()?;
    let config = smollm2_workload(out.path());
    let mut policy = Policy::load(dir.to_str().unwrap())?;
    policy.add_adapters(&config.adapter_config(), config.seed)?;
    let data = load(
        &grpo_dataset::split_file(&root().join("fixtures/tool-calling"), "train"),
        &LoadOptions::default(),
    )?
    .examples;
    let tasks = TaskSet::prepare(&policy, &data[..BATCH], "bench data")?;
    let prompts = tasks.prompts.clone();
    let references: Vec<&Reference> = tasks
        .references
        .iter()
        .flat_map(|r| std::iter::repeat_n(r, GROUP))
        .collect();
    let sampler = config.sampler();
    let model = &policy.model;
    let lens: Vec<usize> = prompts.iter().map(Vec::len).collect();
    println!(
        "{}: {BATCH} prompts ({lens:?} tokens) × group {GROUP} × {TOKENS} tokens, sampler {sampler:?}; \
         median of {REPEATS} after a warm-up, each phase evaluated alone",
        dir.display()
    );

    // Generation, every row running the full budget (no end-of-sequence
    // token), so the per-token figures count 8 rows throughout.
    let gen = |max_tokens: usize, sampler: Sampler| {
        let opts = GenerateOptions {
            group_size: GROUP,
            max_tokens,
            sampler,
            eos: &[],
            stop: None,
        };
        let g = generate(model, &prompts, &opts, &random::key(0)?, &Mode::inference())?;
        Ok::<Generation, Box<dyn std::error::Error>>(g)
    };
    // `STEP_BREAKDOWN_PROFILE=generate|reference|train`: that phase alone,
    // in a loop, for a profiler.
    let profile = std::env::var("STEP_BREAKDOWN_PROFILE").unwrap_or_default();
    if profile == "generate" {
        for _ in 0..3 {
            let start = Instant::now();
            let g = gen(TOKENS, sampler)?;
            let wall = start.elapsed().as_secs_f64();
            let tokens = g.total_tokens() as f64;
            println!("rollout: {wall:.3} s, {:.1} tok/s", tokens / wall);
        }
        return Ok(());
    }
    let (prefill, _) = if profile.is_empty() {
        measure(|| gen(1, sampler).map(drop))?
    } else {
        (Cost::default(), ())
    };
    let (full, generation) = if profile.is_empty() {
        measure(|| gen(TOKENS, sampler))?
    } else {
        (Cost::default(), gen(TOKENS, sampler)?)
    };
    let decode = Cost {
        wall: full.wall - prefill.wall,
        cpu: full.cpu - prefill.cpu,
        peak: full.peak,
    };
    let rows = (BATCH * GROUP) as f64;
    println!("generation ({} rows):", BATCH * GROUP);
    line("prefill + first token", prefill, None);
    line(
        &format!("decode, {} more tokens", TOKENS - 1),
        decode,
        Some(((TOKENS - 1) as f64, "step")),
    );
    println!(
        "  rollout: {:.0} tok/s ({:.2} s for {} tokens)",
        generation.total_tokens() as f64 / full.wall,
        full.wall,
        generation.total_tokens()
    );
    if profile.is_empty() {
        let (greedy, _) = measure(|| gen(TOKENS, Sampler::greedy()))?;
        line("greedy, whole generation", greedy, None);
        // One decode step taken apart, at 8 rows after the prompts.
        decode_parts(&policy, &prompts, sampler)?;
    }

    // Reward scoring of what was generated.
    let rewards = config.rewards()?;
    let (scoring, _) = measure(|| {
        let texts = policy.decode(&generation.tokens)?;
        Ok(rewards.score_batch(&texts, &references)?)
    })?;
    line("decode text + score rewards", scoring, None);

    // The training half.
    let prompt_batch = PromptBatch::new(&prompts)?;
    let completions = CompletionBatch::new(&generation.tokens);
    let positions = (BATCH * GROUP * TOKENS) as f64;
    let reference_pass = || {
        let lp = completion_logprobs(
            model,
            &prompt_batch,
            &completions,
            GROUP,
            config.temperature,
            &Mode::reference(),
        )?;
        eval([&lp])?;
        Ok(lp)
    };
    if profile == "reference" {
        for _ in 0..4 {
            reference_pass()?;
        }
        return Ok(());
    }
    let (reference, ref_lp) = measure(reference_pass)?;
    println!("training ({} completion positions):", positions);
    line(
        "reference log-probs (forward)",
        reference,
        Some((rows, "row")),
    );
    let advantages = Array::from_slice(&[1.0f32, -1.0, 0.5, -0.5, 0.0, 1.0, -1.0, 0.0], &[8]);
    let trainable: Vec<String> = adapters::trainable(model, &config.adapter_config())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let loss_config = config.loss_config();
    let mut model = policy.model.clone();
    let mut train_pass = |checkpointed: bool| {
        let (outputs, grads) = update::value_and_grad(&mut model, &trainable, |m| {
            let mode = Mode::training(random::key(1)?).with_grad_checkpoint(checkpointed);
            let lp = completion_logprobs(
                m,
                &prompt_batch,
                &completions,
                GROUP,
                config.temperature,
                &mode,
            )?;
            let out = grpo_loss(
                &LossInputs {
                    logprobs: &lp,
                    old_logprobs: None,
                    ref_logprobs: Some(&ref_lp),
                    advantages: &advantages,
                    mask: &completions.mask,
                    total_tokens: None,
                },
                &loss_config,
            )?;
            Ok(out.into_arrays())
        })?;
        eval(outputs.iter().chain(grads.values()))?;
        Ok::<_, Box<dyn std::error::Error>>(grads)
    };
    let (fwd_bwd, grads) = measure(|| train_pass(false))?;
    line(
        "policy forward + backward + loss",
        fwd_bwd,
        Some((rows, "row")),
    );
    let (checkpointed, _) = measure(|| train_pass(true))?;
    line(
        "  the same, --grad-checkpoint",
        checkpointed,
        Some((rows, "row")),
    );
    let mut optimizer = AdamW::new(config.adamw());
    let (opt, _) = measure(|| {
        let (clipped, norm) = clip_grad_norm(&grads, config.max_grad_norm)?;
        let current = grpo_policy::params::named_parameters(&model);
        let trained: BTreeMap<String, Array> = grads
            .keys()
            .map(|k| (k.clone(), current[k].clone()))
            .collect();
        let updated = optimizer.update(&trained, &clipped, 1e-5)?;
        eval(
            updated
                .values()
                .chain(optimizer.state_arrays())
                .chain([&norm]),
        )?;
        Ok(())
    })?;
    line("clip + AdamW", opt, None);
    println!(
        "total of the phases: {:.2} s wall, {:.2} s CPU; process peak RSS {:.0} MB",
        full.wall + scoring.wall + reference.wall + fwd_bwd.wall + opt.wall,
        full.cpu + scoring.cpu + reference.cpu + fwd_bwd.cpu + opt.cpu,
        rss_peak() as f64 / 1e6
    );
    Ok(())
}

/// One decode step of the 8-row batch, taken apart: the blocks (matmuls,
/// attention, cache update, norms), the output head, the sampler; and the
/// blocks' projections alone, and the sampler's variants.
fn decode_parts(policy: &Policy, prompts: &[Vec<u32>], sampler: Sampler) -> BenchResult<()> {
    let model = &policy.model;
    let rows = prompts.len() * GROUP;
    let repeated: Vec<Vec<u32>> = prompts
        .iter()
        .flat_map(|p| std::iter::repeat_n(p.clone(), GROUP))
        .collect();
    let batch = PromptBatch::new(&repeated)?;
    let steps = TOKENS - 1;
    let mut cache = model.new_cache();
    let mask = AttentionMask::padded_causal(&batch.pads, 0, batch.len());
    let h = model.hidden(&batch.tokens, &mut cache, &mask, &Mode::inference())?;
    eval(cache.iter().flat_map(|c| c.arrays()).chain([&h]))?;
    let base_cache = cache;
    let tokens = Array::from_slice(&vec![42u32; rows], &[rows as i32, 1]);
    let key = random::key(3)?;

    // Blocks only (hidden states of one new position per row).
    let mut build = 0.0;
    let (blocks, _) = measure(|| {
        let mut cache = base_cache.clone();
        build = 0.0;
        for _ in 0..steps {
            let t = Instant::now();
            let mask = AttentionMask::padded_causal(&batch.pads, cache[0].len(), 1);
            let h = model.hidden(&tokens, &mut cache, &mask, &Mode::inference())?;
            build += t.elapsed().as_secs_f64();
            eval(cache.iter().flat_map(|c| c.arrays()).chain([&h]))?;
        }
        Ok(())
    })?;
    let hidden = {
        let mut cache = base_cache.clone();
        let mask = AttentionMask::padded_causal(&batch.pads, cache[0].len(), 1);
        let h = model
            .hidden(&tokens, &mut cache, &mask, &Mode::inference())?
            .index((.., 0, ..));
        eval([&h])?;
        h
    };
    let (head, logits) = measure(|| {
        let mut l = None;
        for _ in 0..steps {
            let logits = model.logits(&hidden)?;
            eval([&logits])?;
            l = Some(logits);
        }
        Ok(l.expect("at least one step"))
    })?;
    let sample_with = |s: Sampler| {
        measure(|| {
            for _ in 0..steps {
                let (t, lp) = s.sample(&logits, &key)?;
                eval([&t, &lp])?;
            }
            Ok(())
        })
        .map(|(c, _)| c)
    };
    let per = Some((steps as f64, "step"));
    println!("one decode step of {rows} rows, each part evaluated alone ({steps} steps):");
    line("blocks (30 layers)", blocks, per);
    println!(
        "    of which building the graph on the host: {:.2} ms per step",
        build * 1e3 / steps as f64
    );
    // The blocks' projections alone, on a [rows, 1, hidden] input.
    let x = random::normal::<f32>(
        &[rows as i32, 1, model.config().hidden_size],
        0.0,
        1.0,
        &key,
    )?;
    let mlp_x = random::normal::<f32>(
        &[rows as i32, 1, model.config().intermediate_size],
        0.0,
        1.0,
        &key,
    )?;
    let attn_width = model.config().num_attention_heads * model.config().head_dim;
    let o_x = random::normal::<f32>(&[rows as i32, 1, attn_width], 0.0, 1.0, &key)?;
    let mode = Mode::inference();
    let (proj, _) = measure(|| {
        for _ in 0..steps {
            let mut outs = Vec::new();
            for layer in &model.layers {
                let a = &layer.self_attn;
                let m = &layer.mlp;
                outs.push(a.q_proj.forward(&x, &mode)?);
                outs.push(a.k_proj.forward(&x, &mode)?);
                outs.push(a.v_proj.forward(&x, &mode)?);
                outs.push(a.o_proj.forward(&o_x, &mode)?);
                outs.push(m.gate_proj.forward(&x, &mode)?);
                outs.push(m.up_proj.forward(&x, &mode)?);
                outs.push(m.down_proj.forward(&mlp_x, &mode)?);
            }
            eval(&outs)?;
        }
        Ok(())
    })?;
    line("  the 210 projections alone", proj, per);
    // The cache writes alone: one new position per row into every layer.
    let kv = random::normal::<f32>(
        &[
            rows as i32,
            model.config().num_key_value_heads,
            1,
            model.config().head_dim,
        ],
        0.0,
        1.0,
        &key,
    )?;
    let (writes, _) = measure(|| {
        let mut cache = base_cache.clone();
        for _ in 0..steps {
            let mut outs = Vec::new();
            for c in cache.iter_mut() {
                let (k, v) = c.update_and_fetch(&kv, &kv)?;
                outs.push(k);
                outs.push(v);
            }
            eval(&outs)?;
        }
        Ok(())
    })?;
    line("  the 60 cache writes alone", writes, per);
    line("output head (tied embedding)", head, per);
    line(&format!("sampler {sampler:?}"), sample_with(sampler)?, per);
    for (name, s) in [
        ("  greedy", Sampler::greedy()),
        ("  temperature only", Sampler::with_temperature(0.7)),
        (
            "  top-k 20 only",
            Sampler {
                top_k: 20,
                ..Sampler::with_temperature(0.7)
            },
        ),
        (
            "  top-p 0.95 only",
            Sampler {
                top_p: 0.95,
                ..Sampler::with_temperature(0.7)
            },
        ),
    ] {
        line(name, sample_with(s)?, per);
    }
    Ok(())
}
