//! Matmul throughput through mlx-rs, in GFLOP/s.
//!
//! On Linux this shows whether the fast BLAS is in use: OpenBLAS (linked by
//! scripts/setup) against the reference BLAS bundled in the MLX wheel, which
//! runs when `MLX_GRPO_REFERENCE_BLAS=1` is set... see docs/mlx-on-linux.md.
//!
//! `cargo bench -p grpo-benches --bench matmul`

use std::time::Instant;

use mlx_rs::{random, transforms::eval, Array};

fn gflops(n: i32, reps: u32) -> f64 {
    let a = random::normal::<f32>(&[n, n], None, None, None).unwrap();
    let b = random::normal::<f32>(&[n, n], None, None, None).unwrap();
    eval([&a, &b]).unwrap();
    // Warm-up: first calls pay for allocation and thread start.
    eval([&a.matmul(&b).unwrap()]).unwrap();
    let start = Instant::now();
    for _ in 0..reps {
        let c: Array = a.matmul(&b).unwrap();
        eval([&c]).unwrap();
    }
    let secs = start.elapsed().as_secs_f64() / f64::from(reps);
    2.0 * f64::from(n).powi(3) / secs / 1e9
}

fn main() {
    for (n, reps) in [(256, 50), (1024, 10), (2048, 4)] {
        println!("matmul f32 {n}x{n}: {:.1} GFLOP/s", gflops(n, reps));
    }
}
