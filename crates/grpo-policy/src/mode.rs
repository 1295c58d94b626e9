//! How a forward pass runs: with or without adapters, with or without
//! dropout, with or without gradient checkpointing.

use std::cell::RefCell;

use mlx_rs::{random, Array};

use crate::error::Result;

/// Options threaded through every layer of a forward pass.
///
/// The GRPO reference policy is the same model run with
/// [`Mode::reference`]: adapters are skipped, so it costs no second copy of
/// the weights.
#[derive(Debug)]
pub struct Mode {
    adapters: bool,
    dropout_key: Option<RefCell<Array>>,
    grad_checkpoint: bool,
}

impl Mode {
    /// Inference with adapters applied and no dropout.
    pub fn inference() -> Self {
        Self {
            adapters: true,
            dropout_key: None,
            grad_checkpoint: false,
        }
    }

    /// The base model: adapters skipped, no dropout.
    pub fn reference() -> Self {
        Self {
            adapters: false,
            dropout_key: None,
            grad_checkpoint: false,
        }
    }

    /// Training: adapters applied, and adapter dropout (where configured)
    /// drawn from `key`, so that a step is reproducible.
    pub fn training(key: Array) -> Self {
        Self {
            adapters: true,
            dropout_key: Some(RefCell::new(key)),
            grad_checkpoint: false,
        }
    }

    /// The same mode with gradient checkpointing on or off
    /// (`--grad-checkpoint`): each decoder layer then keeps no activations
    /// for the backward pass and recomputes them there, trading about one
    /// more forward pass for the memory of all layers' activations (see
    /// [`grad_checkpoint`](crate::grad_checkpoint)). Values and gradients are
    /// unchanged.
    pub fn with_grad_checkpoint(mut self, on: bool) -> Self {
        self.grad_checkpoint = on;
        self
    }

    /// Whether decoder layers run checkpointed.
    pub fn grad_checkpoint(&self) -> bool {
        self.grad_checkpoint
    }

    /// A mode that replays a layer: the given adapters setting and dropout
    /// key, no checkpointing (the layer is already inside one).
    pub(crate) fn replay(adapters: bool, dropout_key: Option<Array>) -> Self {
        Self {
            adapters,
            dropout_key: dropout_key.map(RefCell::new),
            grad_checkpoint: false,
        }
    }

    /// The key the next dropout mask is drawn from, when training.
    pub(crate) fn dropout_key(&self) -> Option<Array> {
        self.dropout_key.as_ref().map(|k| k.borrow().clone())
    }

    /// Moves the dropout key on to `key` (where a replayed layer left it);
    /// nothing when not training.
    pub(crate) fn set_dropout_key(&self, key: Array) {
        if let Some(cell) = &self.dropout_key {
            *cell.borrow_mut() = key;
        }
    }

    /// Whether adapters are applied.
    pub fn adapters(&self) -> bool {
        self.adapters
    }

    /// Inverted dropout with probability `p` when training, else `x` itself.
    pub(crate) fn dropout(&self, x: &Array, p: f32) -> Result<Array> {
        let Some(cell) = &self.dropout_key else {
            return Ok(x.clone());
        };
        if p <= 0.0 {
            return Ok(x.clone());
        }
        let mut key = cell.borrow_mut();
        let (next, sub) = random::split(&*key, 2)?;
        *key = next;
        let keep = random::bernoulli(&Array::from_f32(1.0 - p), x.shape(), &sub)?;
        let scaled = x.multiply(Array::from_f32(1.0 / (1.0 - p)))?;
        Ok(mlx_rs::ops::select(
            &keep,
            &scaled,
            Array::from_f32(0.0).as_dtype(x.dtype())?,
        )?)
    }
}
