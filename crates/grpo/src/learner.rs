//! What turns a loss into an update: the optimizer, the names of the
//! trainable parameters, and gradient clipping. Both objectives' iterations
//! differentiate through [`Learner::value_and_grad`] and update through
//! [`Learner::apply`], so neither repeats the optimizer's plumbing.

use std::collections::BTreeMap;
use std::path::Path;

use grpo_policy::adapters::{self, AdapterConfig};
use grpo_policy::mlx_rs::Array;
use grpo_policy::models::transformer::Transformer;

use crate::error::Result;
use crate::optimizer::AdamW;
use crate::update::{self, Applied};

/// The optimizer of a run and what it updates.
pub(crate) struct Learner {
    optimizer: AdamW,
    /// The parameters the run trains, fixed once the adapters are in place
    /// (all weights of a full fine-tune, the adapters of LoRA and DoRA).
    trainable: Vec<String>,
    max_grad_norm: f32,
}

impl Learner {
    /// A learner for `model` as set up by `adapter_config` (its adapters
    /// already added or restored).
    pub(crate) fn new(
        optimizer: AdamW,
        model: &Transformer,
        adapter_config: &AdapterConfig,
        max_grad_norm: f32,
    ) -> Self {
        let trainable = adapters::trainable(model, adapter_config)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        Self {
            optimizer,
            trainable,
            max_grad_norm,
        }
    }

    /// `f(model)`'s outputs and the gradient of the first (the loss) with
    /// respect to the trainable parameters.
    pub(crate) fn value_and_grad(
        &self,
        model: &mut Transformer,
        f: impl FnMut(&Transformer) -> Result<Vec<Array>>,
    ) -> Result<(Vec<Array>, BTreeMap<String, Array>)> {
        update::value_and_grad(model, &self.trainable, f)
    }

    /// Clips `grads` and takes one optimizer step at `lr`; `outputs` (the
    /// loss first) are evaluated with the update.
    pub(crate) fn apply(
        &mut self,
        model: &mut Transformer,
        grads: &BTreeMap<String, Array>,
        outputs: &[Array],
        lr: f32,
    ) -> Result<Applied> {
        update::apply(
            model,
            &mut self.optimizer,
            grads,
            outputs,
            self.max_grad_norm,
            lr,
        )
    }

    /// Writes the optimizer's state (moments, step, master weights).
    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        self.optimizer.save(path)
    }
}
