//! Cost of the GRPO loss and its gradient with respect to the log-probs, at
//! the shapes a training step sees: `b` completions (batch × group) of up to
//! `t` tokens.
//!
//! This is the loss head alone, on log-probs already computed; the model's
//! forward and backward passes cost far more and are measured elsewhere. Each
//! timed call builds the graph, differentiates it and evaluates loss,
//! metrics and gradient, as the trainer does once per update.
//!
//! `cargo bench -p grpo-benches --bench loss`

use std::time::{Duration, Instant};

use grpo::loss::{grpo_loss, LossConfig, LossInputs, LossType};
use mlx_rs::{error::Exception, random, transforms, Array};

/// Inputs of one shape, generated from a fixed key.
struct Batch {
    logprobs: Array,
    old_logprobs: Array,
    ref_logprobs: Array,
    advantages: Array,
    mask: Array,
}

fn batch(b: i32, t: i32) -> Result<Batch, Exception> {
    let key = random::key(7)?;
    let (k1, rest) = random::split(&key, 2)?;
    let (k2, rest) = random::split(&rest, 2)?;
    let (k3, k4) = random::split(&rest, 2)?;
    let logprobs = random::uniform::<_, f32>(-4.0f32, -0.01, &[b, t], &k1)?;
    let old_logprobs = logprobs.add(random::normal::<f32>(&[b, t], 0.0, 0.1, &k2)?)?;
    let ref_logprobs = logprobs.add(random::normal::<f32>(&[b, t], 0.0, 0.3, &k3)?)?;
    let advantages = random::normal::<f32>(&[b], None, None, &k4)?;
    // Completions end at different lengths, between t/4 and t tokens.
    let mut mask = vec![0.0f32; (b * t) as usize];
    for row in 0..b {
        let len = t / 4 + (row * 7919) % (t - t / 4 + 1);
        for col in 0..len {
            mask[(row * t + col) as usize] = 1.0;
        }
    }
    let mask = Array::from_slice(&mask, &[b, t]);
    transforms::eval([&logprobs, &old_logprobs, &ref_logprobs, &advantages, &mask])?;
    Ok(Batch {
        logprobs,
        old_logprobs,
        ref_logprobs,
        advantages,
        mask,
    })
}

/// One loss + gradient + metrics evaluation.
fn step(batch: &Batch, config: &LossConfig, with_old: bool) -> Result<(), Exception> {
    let f = |args: &[Array]| -> Result<Vec<Array>, Exception> {
        let inputs = LossInputs {
            logprobs: &args[0],
            old_logprobs: with_old.then_some(&batch.old_logprobs),
            ref_logprobs: (config.beta > 0.0).then_some(&batch.ref_logprobs),
            advantages: &batch.advantages,
            mask: &batch.mask,
            total_tokens: None,
        };
        Ok(grpo_loss(&inputs, config)?.into_arrays())
    };
    let (values, grads) = transforms::value_and_grad(f)(std::slice::from_ref(&batch.logprobs))?;
    transforms::eval(values.iter().chain(&grads))
}

/// Median time per call over enough repetitions to fill about 0.3 s.
fn time(batch: &Batch, config: &LossConfig, with_old: bool) -> Result<Duration, Exception> {
    for _ in 0..3 {
        step(batch, config, with_old)?;
    }
    let probe = Instant::now();
    step(batch, config, with_old)?;
    let reps = (0.3 / probe.elapsed().as_secs_f64().max(1e-6)).clamp(10.0, 500.0) as usize;
    let mut samples = Vec::with_capacity(reps);
    for _ in 0..reps {
        let start = Instant::now();
        step(batch, config, with_old)?;
        samples.push(start.elapsed());
    }
    samples.sort();
    Ok(samples[reps / 2])
}

fn main() -> Result<(), Exception> {
    let variants = [
        (
            "grpo  beta=0   first update",
            LossConfig {
                beta: 0.0,
                ..LossConfig::default()
            },
            false,
        ),
        ("grpo  beta=0.1 old+ref", LossConfig::default(), true),
        (
            "dr_grpo beta=0.1 old+ref",
            LossConfig {
                loss_type: LossType::DrGrpo,
                ..LossConfig::default()
            },
            true,
        ),
    ];
    println!(
        "loss + grad + metrics, median per call (f32, {:?})",
        mlx_rs::Device::default()
    );
    for (b, t) in [(16, 64), (16, 256), (32, 128), (64, 64), (64, 256)] {
        let batch = batch(b, t)?;
        for (name, config, with_old) in &variants {
            let d = time(&batch, config, *with_old)?;
            let tokens_per_s = f64::from(b * t) / d.as_secs_f64();
            println!(
                "b={b:>2} t={t:>3} {name:<28} {:>8.1} us  {:>7.1} M tokens/s",
                d.as_secs_f64() * 1e6,
                tokens_per_s / 1e6
            );
        }
    }
    Ok(())
}
