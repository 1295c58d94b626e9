//! Tool-call parsing and scoring: the rewards of mlx-grpo.

#![deny(missing_docs)]
