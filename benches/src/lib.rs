//! Benchmarks of mlx-grpo; see `benches/`.
