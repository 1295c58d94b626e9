//! grpo-policy's integration tests, in one binary (every test binary links
//! libmlx, and linking dominates their build time).

mod architectures;
mod common;
mod parity;
mod smoke;
