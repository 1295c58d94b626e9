//! Gradient checkpointing changes memory, never results: the loss and every
//! gradient agree with and without it (LoRA with dropout, a full fine-tune
//! parameter set, a 4-bit base), and a forward + backward pass peaks lower.

use std::collections::BTreeMap;

use grpo_policy::adapters::{self, AdapterConfig};
use grpo_policy::batch::PromptBatch;
use grpo_policy::config::TransformerConfig;
use grpo_policy::logprobs::{completion_logprobs, CompletionBatch};
use grpo_policy::mlx_rs::{
    error::Exception, memory, ops, random, transforms, transforms::value_and_grad_with_argnums,
    Array,
};
use grpo_policy::mode::Mode;
use grpo_policy::models::transformer::Transformer;
use grpo_policy::params;

use crate::common::{max_abs_diff, tiny_config, to_vec};

fn model(seed: u64) -> Transformer {
    let config = TransformerConfig::from_json(&tiny_config("qwen2")).unwrap();
    Transformer::random(config, seed).unwrap()
}

/// LoRA with dropout on every projection of every layer, `lora_b` made
/// non-zero so that every adapter parameter gets a gradient.
fn adapted(mut m: Transformer) -> Transformer {
    let mut config = AdapterConfig::lora(-1, 4);
    config.lora_parameters.keys = None;
    config.lora_parameters.dropout = 0.2;
    adapters::apply(&mut m, &config, 3).unwrap();
    let mut key = random::key(9).unwrap();
    let mut values = BTreeMap::new();
    for (name, a) in params::select(&m, |n| n.ends_with("lora_b")) {
        let (next, sub) = random::split(&key, 2).unwrap();
        key = next;
        values.insert(
            name,
            random::normal::<f32>(a.shape(), 0.0, 0.05, &sub).unwrap(),
        );
    }
    assert!(params::assign(&mut m, &values).is_empty());
    m
}

/// A GRPO-shaped loss: the masked sum of completion log-probabilities, the
/// prompts run once with a cache and repeated for a group of 2.
fn loss(m: &Transformer, mode: &Mode) -> grpo_policy::Result<Array> {
    let prompts = vec![vec![5, 9, 14, 2], vec![3, 1, 4, 1, 5, 9, 2, 6], vec![77, 7]];
    let completions = vec![
        vec![1, 2, 3],
        vec![4, 5],
        vec![6, 7, 8, 9],
        vec![10],
        vec![11, 12, 13],
        vec![14, 15, 16],
    ];
    let batch = PromptBatch::new(&prompts)?;
    let completions = CompletionBatch::new(&completions);
    let lp = completion_logprobs(m, &batch, &completions, 2, 0.8, mode)?;
    Ok(lp.multiply(&completions.mask)?.sum(None)?)
}

/// The loss and its gradients with respect to the parameters `names`
/// selects, under a training mode from a fixed key.
fn loss_and_grads(
    m: &Transformer,
    names: impl Fn(&str) -> bool,
    checkpoint: bool,
) -> (f32, BTreeMap<String, Vec<f32>>) {
    let selected = params::select(m, names);
    assert!(!selected.is_empty());
    let keys: Vec<String> = selected.iter().map(|(n, _)| n.clone()).collect();
    let values: Vec<Array> = selected.into_iter().map(|(_, a)| a).collect();
    let f = |args: &[Array]| -> Result<Vec<Array>, Exception> {
        let mut m = m.clone();
        let assigned = keys.iter().cloned().zip(args.iter().cloned()).collect();
        assert!(params::assign(&mut m, &assigned).is_empty());
        let mode = Mode::training(random::key(17).unwrap()).with_grad_checkpoint(checkpoint);
        let l = loss(&m, &mode).map_err(|e| Exception::custom(e.to_string()))?;
        Ok(vec![l])
    };
    let (value, grads) = value_and_grad_with_argnums(f, &all_args(&values))(&values).unwrap();
    transforms::eval(value.iter().chain(&grads)).unwrap();
    assert_eq!(grads.len(), keys.len());
    let grads = keys.into_iter().zip(grads.iter().map(flat)).collect();
    (value[0].item_exact::<f32>(), grads)
}

/// Host copy of an array of any layout (gradients can be strided views).
fn flat(a: &Array) -> Vec<f32> {
    to_vec(&a.reshape(&[-1]).unwrap())
}

/// Every argument's position, to differentiate with respect to all.
fn all_args(values: &[Array]) -> Vec<i32> {
    (0..values.len() as i32).collect()
}

fn assert_same(plain: (f32, BTreeMap<String, Vec<f32>>), ckpt: (f32, BTreeMap<String, Vec<f32>>)) {
    assert!(
        (plain.0 - ckpt.0).abs() <= 1e-5 * plain.0.abs().max(1.0),
        "loss {} vs {}",
        plain.0,
        ckpt.0
    );
    assert_eq!(plain.1.len(), ckpt.1.len());
    for (name, g) in &plain.1 {
        assert!(g.iter().any(|v| *v != 0.0), "{name} has no gradient");
        let scale = g.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = max_abs_diff(g, &ckpt.1[name]);
        assert!(
            d <= 1e-5 * scale.max(1.0),
            "{name}: gradients differ by {d}"
        );
    }
}

#[test]
fn lora_gradients_with_dropout_are_unchanged_by_checkpointing() {
    let m = adapted(model(1));
    let trainable = |n: &str| n.ends_with("lora_a") || n.ends_with("lora_b");
    assert_same(
        loss_and_grads(&m, trainable, false),
        loss_and_grads(&m, trainable, true),
    );
}

#[test]
fn full_fine_tune_gradients_are_unchanged_by_checkpointing() {
    // Weights, biases and norms of the layers, plus the (tied) embedding
    // that is used outside them.
    let m = model(2);
    let all = |n: &str| {
        n.contains("layers.1.") || n.contains("embed_tokens") || n.contains("layers.0.self_attn")
    };
    assert_same(
        loss_and_grads(&m, all, false),
        loss_and_grads(&m, all, true),
    );
}

#[test]
fn qlora_on_a_4_bit_base_checkpoints() {
    // Quantize the projections of a saved model and load it back.
    let dense = model(4);
    let dir = tempfile::tempdir().unwrap();
    let mut config = tiny_config("qwen2");
    dense.save(dir.path(), &config).unwrap();
    let path = dir.path().join("model.safetensors");
    let mut tensors = Array::load_safetensors(&path).unwrap();
    transforms::eval(tensors.values()).unwrap(); // read before overwriting
    let names: Vec<String> = tensors
        .keys()
        .filter(|n| n.ends_with("proj.weight"))
        .cloned()
        .collect();
    for name in names {
        let (q, s, b) = ops::quantize(&tensors[&name], 32, 4).unwrap();
        let base = name.trim_end_matches(".weight").to_string();
        tensors.insert(name, q);
        tensors.insert(format!("{base}.scales"), s);
        tensors.insert(format!("{base}.biases"), b);
    }
    config["quantization"] = serde_json::json!({"group_size": 32, "bits": 4});
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    Array::save_safetensors(&tensors, None, &path).unwrap();
    let m = adapted(Transformer::load(dir.path()).unwrap());
    assert!(m.layers[0].self_attn.q_proj.is_quantized());

    let trainable = |n: &str| n.ends_with("lora_a") || n.ends_with("lora_b");
    assert_same(
        loss_and_grads(&m, trainable, false),
        loss_and_grads(&m, trainable, true),
    );
}

#[test]
fn checkpointing_lowers_the_peak_memory_of_a_backward_pass() {
    // Long enough sequences that activations dominate the weights.
    let json = serde_json::json!({
        "model_type": "qwen2", "hidden_size": 64, "num_hidden_layers": 8,
        "intermediate_size": 256, "num_attention_heads": 4, "num_key_value_heads": 2,
        "rms_norm_eps": 1e-6, "vocab_size": 128, "tie_word_embeddings": true,
    });
    let m = adapted(Transformer::random(TransformerConfig::from_json(&json).unwrap(), 5).unwrap());
    let peak = |checkpoint: bool| {
        let prompts: Vec<Vec<u32>> = (0..4)
            .map(|p| (0..96).map(|i| (i * 7 + p) % 128).collect())
            .collect();
        let completions: Vec<Vec<u32>> = (0..16)
            .map(|r| (0..64).map(|i| (i * 3 + r) % 128).collect())
            .collect();
        let batch = PromptBatch::new(&prompts).unwrap();
        let completions = CompletionBatch::new(&completions);
        let trainable = params::select(&m, |n| n.ends_with("lora_a") || n.ends_with("lora_b"));
        let keys: Vec<String> = trainable.iter().map(|(n, _)| n.clone()).collect();
        let values: Vec<Array> = trainable.into_iter().map(|(_, a)| a).collect();
        let f = |args: &[Array]| -> Result<Vec<Array>, Exception> {
            let mut m = m.clone();
            params::assign(
                &mut m,
                &keys.iter().cloned().zip(args.iter().cloned()).collect(),
            );
            let mode = Mode::inference().with_grad_checkpoint(checkpoint);
            let lp = completion_logprobs(&m, &batch, &completions, 4, 1.0, &mode)
                .map_err(|e| Exception::custom(e.to_string()))?;
            Ok(vec![lp.multiply(&completions.mask)?.sum(None)?])
        };
        memory::clear_cache().unwrap();
        memory::reset_peak_memory().unwrap();
        let (value, grads) = value_and_grad_with_argnums(f, &all_args(&values))(&values).unwrap();
        transforms::eval(value.iter().chain(&grads)).unwrap();
        memory::peak_memory().unwrap()
    };
    let (plain, checkpointed) = (peak(false), peak(true));
    // Eight layers' activations against one layer's: well over a quarter
    // saved (a margin for the other tests running in this process).
    assert!(
        checkpointed * 4 < plain * 3,
        "peak memory {checkpointed} bytes checkpointed, {plain} bytes plain"
    );
}
