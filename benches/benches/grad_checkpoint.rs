//! Peak memory and time of one forward + backward pass of the GRPO
//! log-probabilities, with and without gradient checkpointing, on the
//! fixture-sized random Qwen2 model with LoRA (rank 8, every projection of
//! every layer) at a training batch of 64 rows × 300 tokens: 8 prompts of
//! 200 tokens shared by groups of 8 completions of 100 tokens (as GRPO
//! runs it), and 64 rows of their own 200-token prompt (no sharing).
//!
//! `cargo bench -p grpo-benches --bench grad_checkpoint`

use std::time::Instant;

use grpo_policy::adapters::{self, AdapterConfig};
use grpo_policy::batch::PromptBatch;
use grpo_policy::config::TransformerConfig;
use grpo_policy::logprobs::{completion_logprobs, CompletionBatch};
use grpo_policy::mode::Mode;
use grpo_policy::models::transformer::Transformer;
use grpo_policy::params;
use mlx_rs::{error::Exception, memory, random, transforms, Array};
use serde_json::json;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

const PROMPT_TOKENS: u32 = 200;
const COMPLETION_TOKENS: u32 = 100;
const ROWS: u32 = 64;

fn model() -> BenchResult<Transformer> {
    let config = json!({
        "model_type": "qwen2", "hidden_size": 256, "num_hidden_layers": 4,
        "intermediate_size": 768, "num_attention_heads": 4, "num_key_value_heads": 2,
        "rms_norm_eps": 1e-6, "vocab_size": 2048, "rope_theta": 1000000.0,
        "tie_word_embeddings": true,
    });
    let mut m = Transformer::random(TransformerConfig::from_json(&config)?, 0)?;
    let mut lora = AdapterConfig::lora(-1, 8);
    lora.lora_parameters.keys = None;
    adapters::apply(&mut m, &lora, 1)?;
    Ok(m)
}

/// Token `i` of sequence `s`: a fixed pseudo-random id (0 is the pad id).
fn token(s: u32, i: u32) -> u32 {
    1 + (s.wrapping_mul(7919) ^ i.wrapping_mul(104_729)) % 2047
}

/// Peak bytes and seconds of one loss + gradient evaluation.
fn measure(m: &Transformer, group: usize, checkpoint: bool) -> BenchResult<(usize, f64)> {
    let prompts: Vec<Vec<u32>> = (0..ROWS / group as u32)
        .map(|p| (0..PROMPT_TOKENS).map(|i| token(p, i)).collect())
        .collect();
    let completions: Vec<Vec<u32>> = (0..ROWS)
        .map(|r| (0..COMPLETION_TOKENS).map(|i| token(1000 + r, i)).collect())
        .collect();
    let batch = PromptBatch::new(&prompts)?;
    let completions = CompletionBatch::new(&completions);
    let trainable = params::select(m, |n| n.ends_with("lora_a") || n.ends_with("lora_b"));
    let names: Vec<String> = trainable.iter().map(|(n, _)| n.clone()).collect();
    let values: Vec<Array> = trainable.into_iter().map(|(_, a)| a).collect();
    transforms::eval(&values)?;
    let f = |args: &[Array]| -> Result<Vec<Array>, Exception> {
        let mut m = m.clone();
        params::assign(
            &mut m,
            &names.iter().cloned().zip(args.iter().cloned()).collect(),
        );
        let mode = Mode::training(random::key(0)?).with_grad_checkpoint(checkpoint);
        let lp = completion_logprobs(&m, &batch, &completions, group, 1.0, &mode)
            .map_err(|e| Exception::custom(e.to_string()))?;
        Ok(vec![lp.multiply(&completions.mask)?.sum(None)?])
    };
    let argnums: Vec<i32> = (0..values.len() as i32).collect();
    memory::clear_cache()?;
    memory::reset_peak_memory()?;
    let start = Instant::now();
    let (loss, grads) = transforms::value_and_grad_with_argnums(f, &argnums)(&values)?;
    transforms::eval(loss.iter().chain(&grads))?;
    Ok((memory::peak_memory()?, start.elapsed().as_secs_f64()))
}

fn main() -> BenchResult<()> {
    let m = model()?;
    println!(
        "forward + backward of completion log-probs, LoRA r=8 on all projections, \
         qwen2 hidden 256 x 4 layers, vocab 2048, f32, {:?}",
        mlx_rs::Device::default()
    );
    println!(
        "{ROWS} rows x ({PROMPT_TOKENS} prompt + {COMPLETION_TOKENS} completion) tokens; \
         peak = MLX peak memory during the step"
    );
    for (name, group) in [
        ("group 8 (8 shared prompts)", 8),
        ("group 1 (64 prompts)", 1),
    ] {
        let mut peaks = Vec::new();
        for checkpoint in [false, true] {
            let (peak, secs) = measure(&m, group, checkpoint)?;
            peaks.push(peak);
            println!(
                "{name:<28} grad_checkpoint={checkpoint:<5}  peak {:>8.1} MiB  {:>7.2} s",
                peak as f64 / (1 << 20) as f64,
                secs
            );
        }
        println!(
            "{name:<28} checkpointed peak = {:.0}% of plain",
            100.0 * peaks[1] as f64 / peaks[0] as f64
        );
    }
    Ok(())
}
