//! grpo-policy's integration tests, in one binary (every test binary links
//! libmlx, and linking dominates their build time).

mod adapters;
mod architectures;
mod common;
mod continuation;
mod distributed;
mod entropy;
mod generation;
mod gguf;
mod grad_checkpoint;
mod hub;
mod parity;
mod smoke;
mod smollm2;
mod tokenizer;
