//! A tiny policy and data set for trainer tests: a random 2-layer Qwen2
//! model over grpo-policy's 512-token test tokenizer, and synthetic tasks.

use std::path::{Path, PathBuf};

use grpo::config::TrainConfig;
use grpo_dataset::synth::{generate, SynthConfig};
use grpo_dataset::Example;
use grpo_policy::config::TransformerConfig;
use grpo_policy::models::transformer::Transformer;
use grpo_policy::policy::Policy;
use serde_json::json;

fn tokenizer_fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../grpo-policy/tests/data/tokenizer/fixture")
}

/// Writes a random tiny model with the test tokenizer into `dir`.
///
/// Pins the BLAS thread count first: the tests of this binary run models on
/// several threads at once, and the runs compared for exact equality must
/// not see another test's decoding change the count under them.
pub fn tiny_model(dir: &Path) -> Policy {
    grpo_policy::blas::pin_threads();
    let tok = tokenizer_fixture();
    for f in ["tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(tok.join(f), dir.join(f)).unwrap();
    }
    let tokenizer = grpo_policy::Tokenizer::from_dir(dir).unwrap();
    let config = json!({
        "model_type": "qwen2",
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "intermediate_size": 128,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-6,
        "vocab_size": tokenizer.vocab_size(),
        "tie_word_embeddings": true,
    });
    let model = Transformer::random(TransformerConfig::from_json(&config).unwrap(), 3).unwrap();
    model.save(dir, &config).unwrap();
    Policy::load(dir.to_str().unwrap()).unwrap()
}

/// Short synthetic tool-calling tasks (single calls, compact JSON).
pub fn tasks(n: usize) -> Vec<Example> {
    generate(&SynthConfig {
        n,
        seed: 5,
        mix: "single=1".parse().unwrap(),
        json_style: grpo_dataset::prompt::JsonStyle::Compact,
        ..SynthConfig::default()
    })
    .unwrap()
}

/// Settings for a few fast iterations writing into `out`.
pub fn quick_config(out: &Path) -> TrainConfig {
    TrainConfig {
        adapter_path: out.to_path_buf(),
        iters: 4,
        batch_size: 2,
        group_size: 4,
        max_completion_length: 8,
        learning_rate: 1e-2,
        temperature: 1.0,
        beta: 0.1,
        lora_layers: -1,
        lora_rank: 4,
        save_every: 2,
        steps_per_eval: 1000,
        log_rollouts_every: 1,
        reward_functions: vec!["tool_call_function".into(), "tool_call_parseable".into()],
        ..TrainConfig::default()
    }
}
