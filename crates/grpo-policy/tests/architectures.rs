//! Every architecture at toy size, with random weights: shapes, cached
//! against uncached decoding, padded against unpadded batches, save/load
//! round trips, quantized checkpoints, and load errors.

use grpo_policy::config::TransformerConfig;
use grpo_policy::mask::AttentionMask;
use grpo_policy::mlx_rs::{ops, ops::indexing::IndexOp, Array};
use grpo_policy::mode::Mode;
use grpo_policy::models::transformer::Transformer;

use crate::common::{max_abs_diff, tiny_config, to_vec};

const ARCHS: [&str; 4] = ["qwen2", "qwen3", "llama", "mistral"];

fn model(arch: &str, seed: u64) -> Transformer {
    let config = TransformerConfig::from_json(&tiny_config(arch)).unwrap();
    Transformer::random(config, seed).unwrap()
}

fn tokens(ids: &[i32]) -> Array {
    Array::from_slice(ids, &[1, ids.len() as i32])
}

/// Logits of one unpadded sequence, no cache: `[l, vocab]`.
fn full_logits(m: &Transformer, ids: &[i32]) -> Array {
    let mut cache = m.new_cache();
    let mask = AttentionMask::padded_causal(&[0], 0, ids.len() as i32);
    m.forward(&tokens(ids), &mut cache, &mask, &Mode::inference())
        .unwrap()
        .index(0)
}

#[test]
fn logits_have_batch_length_vocab_shape() {
    for arch in ARCHS {
        let m = model(arch, 1);
        let x = Array::from_slice(&[1, 2, 3, 4, 5, 6], &[2, 3]);
        let mut cache = m.new_cache();
        let mask = AttentionMask::padded_causal(&[0, 0], 0, 3);
        let y = m
            .forward(&x, &mut cache, &mask, &Mode::inference())
            .unwrap();
        assert_eq!(y.shape(), &[2, 3, 128], "{arch}");
        assert!(to_vec(&y).iter().all(|v| v.is_finite()), "{arch}");
    }
}

#[test]
fn cached_decoding_matches_one_full_pass() {
    let ids = [5, 17, 99, 3, 42, 7, 64];
    for arch in ARCHS {
        let m = model(arch, 2);
        let full = full_logits(&m, &ids);
        let mut cache = m.new_cache();
        let (prefix, rest) = ids.split_at(4);
        let mode = Mode::inference();
        let mask = AttentionMask::padded_causal(&[0], 0, 4);
        let mut steps = vec![m
            .forward(&tokens(prefix), &mut cache, &mask, &mode)
            .unwrap()
            .index(0)];
        for &t in rest {
            let mask = AttentionMask::padded_causal(&[0], cache[0].len(), 1);
            steps.push(
                m.forward(&tokens(&[t]), &mut cache, &mask, &mode)
                    .unwrap()
                    .index(0),
            );
        }
        let incremental = ops::concatenate(&steps, 0).unwrap();
        let diff = max_abs_diff(&to_vec(&full), &to_vec(&incremental));
        assert!(
            diff < 1e-4,
            "{arch}: cached and full logits differ by {diff}"
        );
    }
}

#[test]
fn left_padding_does_not_change_real_positions() {
    let short = [11, 12, 13];
    let long = [21, 22, 23, 24, 25, 26];
    for arch in ARCHS {
        let m = model(arch, 3);
        let pad = 0;
        let batch = Array::from_slice(&[&[pad, pad, pad][..], &short, &long].concat(), &[2, 6]);
        let mut cache = m.new_cache();
        let mask = AttentionMask::padded_causal(&[3, 0], 0, 6);
        let y = m
            .forward(&batch, &mut cache, &mask, &Mode::inference())
            .unwrap();
        let short_padded = y.index((0, 3..6));
        let d1 = max_abs_diff(&to_vec(&short_padded), &to_vec(&full_logits(&m, &short)));
        let d2 = max_abs_diff(&to_vec(&y.index(1)), &to_vec(&full_logits(&m, &long)));
        assert!(
            d1 < 1e-4 && d2 < 1e-4,
            "{arch}: padded rows differ by {d1}, {d2}"
        );

        // A decode step after the padded prefill sees the same context too.
        let step = Array::from_slice(&[7, 7], &[2, 1]);
        let mask = AttentionMask::padded_causal(&[3, 0], 6, 1);
        let next = m
            .forward(&step, &mut cache, &mask, &Mode::inference())
            .unwrap();
        let want = full_logits(&m, &[&short[..], &[7]].concat()).index(3);
        let d3 = max_abs_diff(&to_vec(&next.index((0, 0))), &to_vec(&want));
        assert!(d3 < 1e-4, "{arch}: decode after padding differs by {d3}");
    }
}

#[test]
fn saved_model_loads_back_identically() {
    for arch in ARCHS {
        let m = model(arch, 4);
        let dir = tempfile::tempdir().unwrap();
        m.save(dir.path(), &tiny_config(arch)).unwrap();
        let loaded = Transformer::load(dir.path()).unwrap();
        let ids = [1, 2, 3, 4];
        let d = max_abs_diff(
            &to_vec(&full_logits(&m, &ids)),
            &to_vec(&full_logits(&loaded, &ids)),
        );
        assert_eq!(d, 0.0, "{arch}");
    }
}

#[test]
fn missing_and_unknown_tensors_are_named() {
    let m = model("qwen2", 5);
    let dir = tempfile::tempdir().unwrap();
    m.save(dir.path(), &tiny_config("qwen2")).unwrap();
    let path = dir.path().join("model.safetensors");
    let mut tensors = Array::load_safetensors(&path).unwrap();
    grpo_policy::mlx_rs::transforms::eval(tensors.values()).unwrap();
    tensors.remove("model.layers.1.mlp.up_proj.weight");
    tensors.insert(
        "model.layers.1.mlp.extra.weight".into(),
        Array::from_f32(1.0),
    );
    Array::save_safetensors(&tensors, None, &path).unwrap();
    let err = Transformer::load(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("missing model.layers.1.mlp.up_proj.weight"),
        "{err}"
    );
    assert!(
        err.contains("unexpected model.layers.1.mlp.extra.weight"),
        "{err}"
    );
}

#[test]
fn unsupported_model_type_lists_supported_ones() {
    let err = TransformerConfig::from_json(&serde_json::json!({"model_type": "gpt2"}))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "unsupported model_type `gpt2` (supported: qwen2, qwen3, llama, mistral)"
    );
}

#[test]
fn missing_weights_name_the_directory_and_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        tiny_config("qwen2").to_string(),
    )
    .unwrap();
    let err = Transformer::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("no model weights"), "{err}");
    assert!(err.contains("model.safetensors"), "{err}");
}

/// A 4-bit checkpoint (weights, scales, biases per projection and for the
/// embedding, as `mlx_lm.convert -q` writes) runs through quantized matmuls
/// and agrees with the same weights dequantized.
#[test]
fn quantized_checkpoint_matches_its_dequantized_weights() {
    let m = model("qwen2", 6);
    let dir = tempfile::tempdir().unwrap();
    let mut config = tiny_config("qwen2");
    m.save(dir.path(), &config).unwrap();
    let path = dir.path().join("model.safetensors");
    let dense = Array::load_safetensors(&path).unwrap();
    grpo_policy::mlx_rs::transforms::eval(dense.values()).unwrap();
    let (mut quantized, mut dequantized) = (dense.clone(), dense.clone());
    for (name, w) in &dense {
        let is_matrix = name.ends_with("proj.weight") || name.ends_with("embed_tokens.weight");
        if !is_matrix {
            continue;
        }
        let base = name.trim_end_matches(".weight");
        let (q, s, b) = ops::quantize(w, 32, 4).unwrap();
        dequantized.insert(name.clone(), ops::dequantize(&q, &s, &b, 32, 4).unwrap());
        quantized.insert(name.clone(), q);
        quantized.insert(format!("{base}.scales"), s);
        quantized.insert(format!("{base}.biases"), b);
    }
    Array::save_safetensors(&dequantized, None, &path).unwrap();
    let reference = Transformer::load(dir.path()).unwrap();

    config["quantization"] = serde_json::json!({"group_size": 32, "bits": 4});
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    Array::save_safetensors(&quantized, None, &path).unwrap();
    let q = Transformer::load(dir.path()).unwrap();

    let ids = [3, 1, 4, 1, 5, 9, 2, 6];
    let d = max_abs_diff(
        &to_vec(&full_logits(&reference, &ids)),
        &to_vec(&full_logits(&q, &ids)),
    );
    assert!(d < 1e-3, "quantized and dequantized logits differ by {d}");
}
