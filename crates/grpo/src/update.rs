//! Differentiating a loss of the model with respect to its trainable
//! parameters, and applying one optimizer update.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use grpo_policy::mlx_rs::{error::Exception, transforms, Array};
use grpo_policy::models::transformer::Transformer;
use grpo_policy::params;

use crate::error::Result;
use crate::optimizer::{clip_grad_norm, AdamW};

/// `f(model)`'s outputs and the gradient of the first one (a scalar loss)
/// with respect to every parameter named in `trainable`; the other outputs
/// are auxiliary values (metrics), not differentiated.
pub fn value_and_grad(
    model: &mut Transformer,
    trainable: &[String],
    mut f: impl FnMut(&Transformer) -> Result<Vec<Array>>,
) -> Result<(Vec<Array>, BTreeMap<String, Array>)> {
    let current = params::named_parameters(model);
    let originals: BTreeMap<String, Array> = trainable
        .iter()
        .map(|name| (name.clone(), current[name].clone()))
        .collect();
    let inputs: HashMap<Rc<str>, Array> = originals
        .iter()
        .map(|(name, a)| (Rc::from(name.as_str()), a.clone()))
        .collect();
    let closure = |traced: HashMap<Rc<str>, Array>, (): ()| -> Result<Vec<Array>, Exception> {
        let values: BTreeMap<String, Array> = traced
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        params::assign(model, &values);
        Ok(f(model)?)
    };
    let result = transforms::keyed_value_and_grad(closure)(inputs, ());
    // The transform left its traced copies in the model; put the values back.
    params::assign(model, &originals);
    let (values, grads) = result?;
    Ok((
        values,
        grads.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    ))
}

/// What one update did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Applied {
    /// Gradient norm before clipping.
    pub grad_norm: f32,
    /// Whether the update was skipped because the loss or the gradient was
    /// not finite.
    pub skipped: bool,
}

/// Clips `grads`, takes an AdamW step at `lr`, writes the new values into
/// `model`, and evaluates parameters, moments and `outputs` together. A
/// non-finite loss or gradient norm leaves model and optimizer untouched.
pub fn apply(
    model: &mut Transformer,
    optimizer: &mut AdamW,
    grads: &BTreeMap<String, Array>,
    outputs: &[Array],
    max_grad_norm: f32,
    lr: f32,
) -> Result<Applied> {
    let (clipped, norm) = clip_grad_norm(grads, max_grad_norm)?;
    transforms::eval(outputs.iter().chain([&norm]))?;
    let grad_norm = norm.item_exact::<f32>();
    let loss = outputs[0].item_exact::<f32>();
    if !grad_norm.is_finite() || !loss.is_finite() {
        return Ok(Applied {
            grad_norm,
            skipped: true,
        });
    }
    let current = params::named_parameters(model);
    let trained: BTreeMap<String, Array> = grads
        .keys()
        .map(|k| (k.clone(), current[k].clone()))
        .collect();
    let updated = optimizer.update(&trained, &clipped, lr)?;
    transforms::eval(updated.values().chain(optimizer.state_arrays()))?;
    params::assign(model, &updated);
    Ok(Applied {
        grad_norm,
        skipped: false,
    })
}
