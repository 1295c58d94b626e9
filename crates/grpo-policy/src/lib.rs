//! The policy that mlx-grpo trains: a causal language model in
//! [mlx-rs](https://github.com/oxiglade/mlx-rs), loaded from a Hugging Face
//! or MLX checkpoint, with LoRA/DoRA adapters in mlx-lm's format, batched
//! group generation and per-token log-probabilities.

#![deny(missing_docs)]

pub mod adapters;
pub mod batch;
pub mod blas;
pub mod cache;
pub mod config;
pub mod distributed;
pub mod embedding;
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
pub mod sample;
pub mod template;
pub mod tokenizer;
pub mod weights;

pub use error::{Error, Result};
pub use mlx_rs;
pub use template::{ChatContext, ChatTemplate, ChatTemplates};
pub use tokenizer::{ChatOptions, Tokenizer};
