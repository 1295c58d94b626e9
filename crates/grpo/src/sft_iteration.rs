//! One supervised fine-tuning iteration: the mean negative log-likelihood of
//! the reference answers' tokens given their prompts (prompt tokens carry no
//! loss), the warm start that makes a model call tools sometimes, so that
//! GRPO's groups have successes to learn from.

use std::time::Instant;

use grpo_policy::batch::PromptBatch;
use grpo_policy::logprobs::{completion_logprobs, CompletionBatch};
use grpo_policy::mlx_rs;
use grpo_policy::mode::Mode;

use crate::error::Result;
use crate::metrics::{IterationMetrics, ParallelMetrics};
use crate::parts::Parts;
use crate::streams::{key_for, Stream};

/// SFT iteration `iteration` (from 1) on `batch_size` examples; on several
/// ranks, each takes an equal share of them and the gradients are averaged.
pub(crate) fn iteration(p: &mut Parts<'_>, iteration: usize) -> Result<IterationMetrics> {
    let start = Instant::now();
    let global = p.sampler.next_batch(p.config.batch_size);
    let share = global.len() / p.dp.ranks();
    let rank = p.dp.rank();
    let batch = &global[rank * share..(rank + 1) * share];
    let targets = p
        .train
        .targets
        .as_ref()
        .expect("SFT runs prepare answer targets");
    let prompts: Vec<Vec<u32>> = batch.iter().map(|&i| p.train.prompts[i].clone()).collect();
    let answers: Vec<Vec<u32>> = batch.iter().map(|&i| targets[i].clone()).collect();
    let prompt_batch = PromptBatch::new(&prompts)?;
    let completions = CompletionBatch::new(&answers);
    let tokens: usize = answers.iter().map(Vec::len).sum();
    let step = iteration - 1;
    let lr = p.schedule.lr_at(step);
    let dropout = key_for(p.config.seed, Stream::Dropout, step as u64)?;
    let grad_checkpoint = p.config.grad_checkpoint;
    let (outputs, grads) = p.learner.value_and_grad(&mut p.policy.model, |m| {
        let mode = Mode::training(dropout.clone()).with_grad_checkpoint(grad_checkpoint);
        let lp = completion_logprobs(m, &prompt_batch, &completions, 1, 1.0, &mode)?;
        let nll = lp
            .multiply(&completions.mask)?
            .sum(None)?
            .negative()?
            .divide(completions.mask.sum(None)?)?;
        Ok(vec![nll])
    })?;
    let (grads, allreduce) = p.dp.mean_over_ranks(grads)?;
    let outputs = if p.dp.is_distributed() {
        let loss = outputs[0].item_exact::<f32>();
        let all = p.dp.sum(&[loss], "reducing the loss")?[0];
        vec![mlx_rs::Array::from_f32(all / p.dp.ranks() as f32)]
    } else {
        outputs
    };
    let applied = p.learner.apply(&mut p.policy.model, &grads, &outputs, lr)?;
    let elapsed = start.elapsed().as_secs_f32();
    let prompt_tokens: usize = prompts.iter().map(Vec::len).sum();
    Ok(IterationMetrics {
        iteration,
        iterations: p.config.iters,
        loss: outputs[0].item_exact::<f32>(),
        grpo: None,
        grad_norm: applied.grad_norm,
        learning_rate: lr,
        completion_length: tokens as f32 / answers.len().max(1) as f32,
        train_tokens_per_s: (prompt_tokens + tokens) as f32 / elapsed.max(1e-6),
        iteration_s: elapsed,
        peak_memory_bytes: mlx_rs::memory::peak_memory()? as u64,
        skipped: applied.skipped,
        strategy: Default::default(),
        parallel: if p.dp.is_distributed() {
            ParallelMetrics {
                ranks: Some(p.dp.ranks()),
                allreduce_s: Some(allreduce.all_sum.as_secs_f32()),
                wait_s: Some(allreduce.wait.as_secs_f32()),
            }
        } else {
            ParallelMetrics::default()
        },
    })
}
