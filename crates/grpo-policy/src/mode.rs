//! How a forward pass runs: with or without adapters, with or without dropout.

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
}

impl Mode {
    /// Inference with adapters applied and no dropout.
    pub fn inference() -> Self {
        Self {
            adapters: true,
            dropout_key: None,
        }
    }

    /// The base model: adapters skipped, no dropout.
    pub fn reference() -> Self {
        Self {
            adapters: false,
            dropout_key: None,
        }
    }

    /// Training: adapters applied, and adapter dropout (where configured)
    /// drawn from `key`, so that a step is reproducible.
    pub fn training(key: Array) -> Self {
        Self {
            adapters: true,
            dropout_key: Some(RefCell::new(key)),
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
