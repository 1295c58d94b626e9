//! The policy that mlx-grpo trains: a causal language model in
//! [mlx-rs](https://github.com/oxiglade/mlx-rs).

#![deny(missing_docs)]

pub use mlx_rs;
