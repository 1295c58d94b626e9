//! Adapters: applied to the right projections, neutral at initialisation,
//! saved and loaded in mlx-lm's format, and loaded by Python mlx-lm.

use std::collections::BTreeMap;
use std::process::Command;

use grpo_policy::adapters::{self, AdapterConfig, FineTuneType};
use grpo_policy::config::TransformerConfig;
use grpo_policy::mask::AttentionMask;
use grpo_policy::mlx_rs::{ops::indexing::IndexOp, random, Array};
use grpo_policy::mode::Mode;
use grpo_policy::models::transformer::Transformer;
use grpo_policy::params;

use crate::common::{max_abs_diff, tiny_config, to_vec, venv_python};

const IDS: [u32; 6] = [4, 8, 15, 16, 23, 42];

fn logits(m: &Transformer, mode: &Mode) -> Vec<f32> {
    let mut cache = m.new_cache();
    let mask = AttentionMask::padded_causal(&[0], 0, IDS.len() as i32);
    let x = Array::from_slice(&IDS, &[1, IDS.len() as i32]);
    to_vec(&m.forward(&x, &mut cache, &mask, mode).unwrap().index(0))
}

fn base() -> Transformer {
    let config = TransformerConfig::from_json(&tiny_config("qwen2")).unwrap();
    Transformer::random(config, 21).unwrap()
}

/// Gives every `lora_b` random values so that the adapter changes the output.
fn perturb(m: &mut Transformer) {
    let mut key = random::key(5).unwrap();
    let mut values = BTreeMap::new();
    for (name, a) in params::select(m, |n| n.ends_with("lora_b")) {
        let (next, sub) = random::split(&key, 2).unwrap();
        key = next;
        values.insert(
            name,
            random::normal::<f32>(a.shape(), 0.0, 0.01, &sub).unwrap(),
        );
    }
    assert!(params::assign(m, &values).is_empty());
}

#[test]
fn lora_targets_the_last_layers_with_mlx_lm_names() {
    let mut m = base();
    let mut config = AdapterConfig::lora(1, 4);
    config.lora_parameters.keys = Some(vec!["self_attn.q_proj".into(), "mlp.down_proj".into()]);
    adapters::apply(&mut m, &config, 0).unwrap();
    let names: Vec<String> = adapters::trainable(&m, &config)
        .into_iter()
        .map(|(n, a)| format!("{n} {:?}", a.shape()))
        .collect();
    assert_eq!(
        names,
        [
            "model.layers.1.mlp.down_proj.lora_a [96, 4]",
            "model.layers.1.mlp.down_proj.lora_b [4, 64]",
            "model.layers.1.self_attn.q_proj.lora_a [64, 4]",
            "model.layers.1.self_attn.q_proj.lora_b [4, 64]",
        ]
    );
    let all = params::named_parameters(&m);
    assert!(all.contains_key("model.layers.1.self_attn.q_proj.linear.weight"));
    assert!(all.contains_key("model.layers.1.self_attn.q_proj.linear.bias"));
    assert!(all.contains_key("model.layers.0.self_attn.q_proj.weight"));
}

#[test]
fn fresh_adapters_leave_the_model_unchanged_and_reference_mode_skips_them() {
    let plain = logits(&base(), &Mode::inference());
    for kind in [FineTuneType::Lora, FineTuneType::Dora] {
        let mut m = base();
        let mut config = AdapterConfig::lora(-1, 4);
        config.fine_tune_type = kind;
        adapters::apply(&mut m, &config, 1).unwrap();
        assert!(
            max_abs_diff(&plain, &logits(&m, &Mode::inference())) < 1e-5,
            "{kind:?}"
        );
        perturb(&mut m);
        assert!(
            max_abs_diff(&plain, &logits(&m, &Mode::inference())) > 1e-4,
            "{kind:?}"
        );
        assert!(
            max_abs_diff(&plain, &logits(&m, &Mode::reference())) < 1e-6,
            "{kind:?}"
        );
    }
}

#[test]
fn saved_adapters_load_back_and_fuse_to_the_same_model() {
    for kind in [FineTuneType::Lora, FineTuneType::Dora, FineTuneType::Full] {
        let mut m = base();
        let mut config = AdapterConfig::lora(2, 4);
        config.fine_tune_type = kind;
        adapters::apply(&mut m, &config, 1).unwrap();
        perturb(&mut m);
        let want = logits(&m, &Mode::inference());
        let dir = tempfile::tempdir().unwrap();
        adapters::save(dir.path(), &m, &config).unwrap();

        let mut loaded = base();
        let read = adapters::load(dir.path(), &mut loaded).unwrap();
        assert_eq!(read, config);
        assert_eq!(
            max_abs_diff(&want, &logits(&loaded, &Mode::inference())),
            0.0,
            "{kind:?}"
        );

        adapters::fuse(&mut loaded, false).unwrap();
        assert!(params::select(&loaded, |n| n.contains("lora")).is_empty());
        assert!(
            max_abs_diff(&want, &logits(&loaded, &Mode::inference())) < 1e-4,
            "{kind:?}"
        );
    }
}

#[test]
fn adapters_that_do_not_fit_the_model_are_rejected_by_name() {
    let mut m = base();
    let config = AdapterConfig::lora(1, 4);
    adapters::apply(&mut m, &config, 1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    adapters::save(dir.path(), &m, &config).unwrap();
    // Another rank in the config than in the file.
    let mut other = config.clone();
    other.lora_parameters.rank = 8;
    std::fs::write(
        dir.path().join("adapter_config.json"),
        serde_json::to_string(&other).unwrap(),
    )
    .unwrap();
    let err = adapters::load(dir.path(), &mut base())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("model.layers.1.self_attn.q_proj.lora_a: expected [64, 8], found [64, 4]"),
        "{err}"
    );

    let mut bad = config.clone();
    bad.lora_parameters.keys = Some(vec!["self_attn.qkv".into()]);
    let err = adapters::apply(&mut base(), &bad, 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown projection `self_attn.qkv`"), "{err}");
}

/// Python `mlx_lm.load(model, adapter_path=...)` gives the logits computed here.
#[test]
fn python_mlx_lm_loads_the_adapters() {
    for kind in [FineTuneType::Lora, FineTuneType::Dora] {
        let model_dir = tempfile::tempdir().unwrap();
        base()
            .save(model_dir.path(), &tiny_config("qwen2"))
            .unwrap();
        let mut m = Transformer::load(model_dir.path()).unwrap();
        let mut config = AdapterConfig::lora(1, 4);
        config.fine_tune_type = kind;
        adapters::apply(&mut m, &config, 2).unwrap();
        perturb(&mut m);
        let adapter_dir = tempfile::tempdir().unwrap();
        adapters::save(adapter_dir.path(), &m, &config).unwrap();

        let script = r#"
import json, sys
from pathlib import Path
import mlx.core as mx
from mlx_lm.utils import load_model
from mlx_lm.tuner.utils import load_adapters
model, _ = load_model(Path(sys.argv[1]))
model = load_adapters(model, sys.argv[2])
ids = mx.array([json.loads(sys.argv[3])])
print(json.dumps(model(ids)[0].astype(mx.float32).tolist()))
"#;
        let out = Command::new(venv_python())
            .args(["-c", script])
            .arg(model_dir.path())
            .arg(adapter_dir.path())
            .arg(serde_json::to_string(&IDS).unwrap())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: Vec<Vec<f32>> = serde_json::from_slice(&out.stdout).unwrap();
        let d = max_abs_diff(&logits(&m, &Mode::inference()), &theirs.concat());
        assert!(
            d <= 1e-4,
            "{kind:?}: mlx-lm with our adapter differs by {d}"
        );
    }
}
