//! `mlx-grpo init-model`: a new, randomly initialised Qwen2-architecture
//! model with a byte-level BPE tokenizer trained on a data set, in Hugging
//! Face layout (Python mlx-lm and transformers load it too).
//!
//! This is how the embedded tiny model starts (`scripts/make-fixture`); it is
//! also a quick way to get a model small enough to try ideas on a CPU.

use std::process::ExitCode;

use anyhow::{Context, Result};
use grpo_dataset::{load, LoadOptions};
use grpo_policy::config::TransformerConfig;
use grpo_policy::models::transformer::Transformer;
use grpo_policy::output_dir::OutputDir;
use grpo_policy::tokenizer::{
    train_bpe, write_tokenizer_dir, TokenizerLayout, CHATML_SPECIAL_TOKENS,
};
use serde_json::json;

use crate::args::InitModelArgs;

/// Trains the tokenizer, writes the tokenizer files, `config.json`,
/// `generation_config.json` and random weights, into a temporary directory
/// renamed to `--out` at the end; an existing non-empty `--out` needs
/// `--force`.
pub fn run(args: InitModelArgs) -> Result<ExitCode> {
    let out = OutputDir::create(&args.out, args.force)?;
    let loaded =
        load(&args.data, &LoadOptions::default()).context("loading the tokenizer corpus")?;
    let texts: Vec<String> = loaded
        .examples
        .iter()
        .flat_map(|e| [e.prompt.clone(), e.answer.clone()])
        .collect();
    let tokenizer = train_bpe(texts.into_iter(), args.vocab_size, &CHATML_SPECIAL_TOKENS)?;
    write_tokenizer_dir(&tokenizer, out.path(), &TokenizerLayout::default())?;
    let vocab = tokenizer.get_vocab_size(true);
    let id = |t: &str| {
        tokenizer
            .token_to_id(t)
            .expect("the ChatML special tokens were added")
    };
    let (eos, pad) = (id("<|im_end|>"), id("<|endoftext|>"));

    let config = json!({
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "hidden_size": args.hidden_size,
        "num_hidden_layers": args.num_layers,
        "num_attention_heads": args.num_heads,
        "num_key_value_heads": args.num_kv_heads,
        "intermediate_size": args.intermediate_size,
        "vocab_size": vocab,
        "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0,
        "tie_word_embeddings": true,
        "hidden_act": "silu",
        "torch_dtype": "float32",
        "bos_token_id": null,
        "eos_token_id": eos,
        "pad_token_id": pad,
    });
    let model = Transformer::random(TransformerConfig::from_json(&config)?, args.seed)?;
    model.save(out.path(), &config)?;
    let generation = json!({"eos_token_id": [eos], "pad_token_id": pad});
    std::fs::write(
        out.path().join("generation_config.json"),
        serde_json::to_string_pretty(&generation)? + "\n",
    )?;
    let written = out.commit()?;
    let params = grpo_policy::params::count(&model);
    println!(
        "Wrote {} ({:.2}M parameters, vocabulary {vocab}, tokenizer trained on {} examples)",
        written.display(),
        params as f64 / 1e6,
        loaded.examples.len()
    );
    Ok(ExitCode::SUCCESS)
}
