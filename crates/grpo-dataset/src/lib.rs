//! The tool-calling JSONL format of mlx-grpo.

#![deny(missing_docs)]
