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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimizer::AdamWConfig;
    use grpo_policy::config::TransformerConfig;

    fn tiny() -> Transformer {
        let config = serde_json::json!({
            "model_type": "qwen2", "hidden_size": 32, "num_hidden_layers": 1,
            "intermediate_size": 64, "num_attention_heads": 2, "num_key_value_heads": 1,
            "rms_norm_eps": 1e-6, "vocab_size": 16
        });
        Transformer::random(TransformerConfig::from_json(&config).unwrap(), 0).unwrap()
    }

    #[test]
    fn non_finite_gradients_skip_the_update_and_leave_everything_untouched() {
        let mut model = tiny();
        let name = "model.norm.weight".to_string();
        let before = params::named_parameters(&model)[&name].clone();
        let mut opt = AdamW::new(AdamWConfig::default());
        let grads = BTreeMap::from([(name.clone(), Array::from_slice(&[f32::NAN; 32], &[32]))]);
        let applied = apply(
            &mut model,
            &mut opt,
            &grads,
            &[Array::from_f32(1.0)],
            1.0,
            0.1,
        )
        .unwrap();
        assert!(applied.skipped);
        assert_eq!(opt.step(), 0);
        let after = params::named_parameters(&model)[&name].clone();
        assert_eq!(before.as_slice::<f32>(), after.as_slice::<f32>());

        let grads = BTreeMap::from([(name.clone(), Array::from_slice(&[1.0f32; 32], &[32]))]);
        let applied = apply(
            &mut model,
            &mut opt,
            &grads,
            &[Array::from_f32(1.0)],
            1.0,
            0.1,
        )
        .unwrap();
        assert!(!applied.skipped);
        assert_eq!(opt.step(), 1);
    }

    #[test]
    fn gradients_flow_to_exactly_the_named_parameters() {
        let mut model = tiny();
        let names = vec![
            "model.layers.0.mlp.up_proj.weight".to_string(),
            "model.norm.weight".to_string(),
        ];
        let x = Array::from_slice(&[1u32, 2, 3], &[1, 3]);
        let (values, grads) = value_and_grad(&mut model, &names, |m| {
            let mut cache = m.new_cache();
            let mask = grpo_policy::mask::AttentionMask::padded_causal(&[0], 0, 3);
            let y = m.forward(&x, &mut cache, &mask, &grpo_policy::mode::Mode::inference())?;
            Ok(vec![y.square()?.mean(None)?])
        })
        .unwrap();
        assert_eq!(grads.keys().cloned().collect::<Vec<_>>(), names);
        assert!(values[0].item_exact::<f32>() > 0.0);
        let g = grads[&names[0]]
            .abs()
            .unwrap()
            .sum(None)
            .unwrap()
            .item_exact::<f32>();
        assert!(g > 0.0, "the MLP weight got no gradient");
    }
}
