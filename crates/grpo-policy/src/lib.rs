//! The policy that mlx-grpo trains: a causal language model in
//! [mlx-rs](https://github.com/oxiglade/mlx-rs), loaded from a Hugging Face
//! or MLX checkpoint, with LoRA/DoRA adapters in mlx-lm's format, batched
//! group generation and per-token log-probabilities.
//!
//! GRPO needs three things of a model: sample a group of completions per
//! prompt fast, score the log-probability of given completions with
//! gradients, and save what it learned where the rest of the ecosystem can
//! load it. This crate does those on MLX, and nothing of GRPO itself (the
//! loss, advantages and trainer are in the `grpo` crate).
//!
//! # Overview
//!
//! - [`policy::Policy`]: a model directory ([`models::transformer::Transformer`]:
//!   Llama (SmolLM2 among them), Qwen2, Qwen3; float or MLX-quantized
//!   weights) with its [`Tokenizer`] and chat template ([`ChatTemplate`],
//!   rendered with minijinja as transformers does). [`policy::resolve_model`]
//!   takes a path or a Hugging Face repo id ([`hub`]: the local cache, then a
//!   download); [`gguf`] imports llama.cpp files.
//! - [`adapters`]: LoRA and DoRA layers (or full fine-tuning), saved and
//!   loaded as mlx-lm's `adapters.safetensors` + `adapter_config.json`.
//! - [`generate`]: batched generation of `group_size` completions per
//!   prompt, the prompt's KV cache computed once and repeated for the group
//!   ([`cache`], [`mask`]); [`sample::Sampler`] for temperature, top-k,
//!   top-p and min-p. Randomness comes from the key alone, so a seed
//!   reproduces a batch.
//! - [`logprobs`]: `log p(token | prefix)` of given completions in the same
//!   prompt-shared layout, differentiable, for the loss; [`entropy`] of the
//!   policy at the sampled positions; [`grad_checkpoint`] to trade time for
//!   memory.
//! - [`params`]: parameters by name, to differentiate and update them;
//!   [`weights`] reads and writes safetensors (temporary file, then rename).
//! - [`blas`]: the CPU backend's BLAS threading, which decoding sets to one
//!   thread (decode-shaped products lose time to more).
//!
//! # Example: a group of completions and their log-probabilities
//!
//! ```
//! use grpo_policy::batch::PromptBatch;
//! use grpo_policy::logprobs::{completion_logprobs, CompletionBatch};
//! use grpo_policy::mlx_rs::random;
//! use grpo_policy::mode::Mode;
//! use grpo_policy::policy::Policy;
//! use grpo_policy::sample::Sampler;
//!
//! let model = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/tiny-tool-caller");
//! let policy = Policy::load(model)?;
//! let prompt = policy.prompt_tokens("What is 5 factorial? Functions: [calculate_factorial(n)]")?;
//!
//! // Four completions of one prompt at temperature 0.7, reproducible by key.
//! let key = random::key(0)?;
//! let group = policy.generate(&[prompt.clone()], 4, 24, Sampler::with_temperature(0.7), &key)?;
//! assert_eq!(group.tokens.len(), 4);
//! println!("{:?}", policy.decode(&group.tokens)?);
//!
//! // Their per-token log-probabilities under the model, as the loss takes them.
//! let prompts = PromptBatch::new(&[prompt])?;
//! let completions = CompletionBatch::new(&group.tokens);
//! let logp = completion_logprobs(&policy.model, &prompts, &completions, 4, 0.7, &Mode::inference())?;
//! assert_eq!(logp.shape()[0], 4);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

pub mod adapters;
pub mod batch;
pub mod blas;
pub mod cache;
pub mod config;
pub mod distributed;
pub mod embedding;
pub mod entropy;
pub mod error;
pub mod generate;
pub mod gguf;
pub mod grad_checkpoint;
pub mod hub;
pub mod linear;
pub mod logprobs;
pub mod mask;
pub mod mode;
pub mod models;
pub mod norm;
pub mod output_dir;
pub mod params;
pub mod policy;
pub mod rope;
pub mod row_cache;
pub mod sample;
pub mod template;
pub mod tokenizer;
pub mod weights;

pub use error::{Error, Result};
pub use mlx_rs;
pub use template::{ChatContext, ChatTemplate, ChatTemplates};
pub use tokenizer::{ChatOptions, Tokenizer};
