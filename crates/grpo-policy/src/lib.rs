//! The policy that mlx-grpo trains: a causal language model in
//! [mlx-rs](https://github.com/oxiglade/mlx-rs).

#![deny(missing_docs)]

pub mod error;
pub mod template;
pub mod tokenizer;

pub use error::{Error, Result};
pub use mlx_rs;
pub use template::{ChatContext, ChatTemplate, ChatTemplates};
pub use tokenizer::{ChatOptions, Tokenizer};
