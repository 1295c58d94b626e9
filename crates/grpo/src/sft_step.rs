//! One supervised fine-tuning iteration: the mean negative log-likelihood of
//! the reference answers' tokens given their prompts (prompt tokens carry no
//! loss), the warm start that makes a model call tools sometimes, so that
//! GRPO's groups have successes to learn from.

use std::time::Instant;

use grpo_policy::adapters;
use grpo_policy::batch::PromptBatch;
use grpo_policy::logprobs::{completion_logprobs, CompletionBatch};
use grpo_policy::mlx_rs;
use grpo_policy::mode::Mode;

use crate::error::Result;
use crate::metrics::{ParallelMetrics, StepMetrics};
use crate::trainer::{key_for, Stream, Trainer};
use crate::update;

impl Trainer {
    /// One SFT iteration on `batch_size` examples; on several ranks, each
    /// takes an equal share of them and the gradients are averaged.
    pub(crate) fn sft_iteration(&mut self) -> Result<StepMetrics> {
        let start = Instant::now();
        let iteration = self.done + 1;
        let global = self.sampler.next_batch(self.config.batch_size);
        let share = global.len() / self.dp.ranks();
        let rank = self.dp.rank();
        let batch = &global[rank * share..(rank + 1) * share];
        let targets = self
            .train
            .targets
            .as_ref()
            .expect("SFT runs prepare answer targets");
        let prompts: Vec<Vec<u32>> = batch
            .iter()
            .map(|&i| self.train.prompts[i].clone())
            .collect();
        let answers: Vec<Vec<u32>> = batch.iter().map(|&i| targets[i].clone()).collect();
        let prompt_batch = PromptBatch::new(&prompts)?;
        let completions = CompletionBatch::new(&answers);
        let tokens: usize = answers.iter().map(Vec::len).sum();
        let trainable: Vec<String> = adapters::trainable(&self.policy.model, &self.adapter_config)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let step = iteration - 1;
        let lr = self.config.sft_schedule().lr_at(step);
        let dropout = key_for(self.config.seed, Stream::Dropout, step as u64)?;
        let grad_checkpoint = self.config.grad_checkpoint;
        let (outputs, grads) = update::value_and_grad(&mut self.policy.model, &trainable, |m| {
            let mode = Mode::training(dropout.clone()).with_grad_checkpoint(grad_checkpoint);
            let lp = completion_logprobs(m, &prompt_batch, &completions, 1, 1.0, &mode)?;
            let nll = lp
                .multiply(&completions.mask)?
                .sum(None)?
                .negative()?
                .divide(completions.mask.sum(None)?)?;
            Ok(vec![nll])
        })?;
        let (grads, allreduce) = self.dp.mean_over_ranks(grads)?;
        let outputs = if self.dp.is_distributed() {
            let loss = outputs[0].item_exact::<f32>();
            let all = self.dp.sum(&[loss], "reducing the loss")?[0];
            vec![mlx_rs::Array::from_f32(all / self.dp.ranks() as f32)]
        } else {
            outputs
        };
        let applied = update::apply(
            &mut self.policy.model,
            &mut self.optimizer,
            &grads,
            &outputs,
            self.config.max_grad_norm,
            lr,
        )?;
        let elapsed = start.elapsed().as_secs_f32();
        let prompt_tokens: usize = prompts.iter().map(Vec::len).sum();
        Ok(StepMetrics {
            iteration,
            iterations: self.config.iters,
            loss: outputs[0].item_exact::<f32>(),
            grpo: None,
            grad_norm: applied.grad_norm,
            learning_rate: lr,
            completion_length: tokens as f32 / answers.len().max(1) as f32,
            train_tokens_per_s: (prompt_tokens + tokens) as f32 / elapsed.max(1e-6),
            step_s: elapsed,
            peak_memory_bytes: mlx_rs::memory::peak_memory()? as u64,
            skipped: applied.skipped,
            strategy: Default::default(),
            parallel: if self.dp.is_distributed() {
                ParallelMetrics {
                    ranks: Some(self.dp.ranks()),
                    allreduce_s: Some(allreduce.all_sum.as_secs_f32()),
                    wait_s: Some(allreduce.wait.as_secs_f32()),
                }
            } else {
                ParallelMetrics::default()
            },
        })
    }
}
