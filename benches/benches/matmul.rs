//! Matmul throughput through mlx-rs, in GFLOP/s.
//!
//! On Linux this shows whether the fast BLAS is in use: OpenBLAS (linked by
//! scripts/setup) against the reference BLAS bundled in the MLX wheel, which
//! runs when `MLX_GRPO_REFERENCE_BLAS=1` is set... see docs/mlx-on-linux.md.
//! It also times the decode-shaped products of SmolLM2-135M (8 rows against
//! each of its projection matrices, `x W^T` as the model computes them), in
//! GB/s of weight read: decoding is bound by reading the weights, so this is
//! the figure to compare across BLAS settings (`OPENBLAS_NUM_THREADS`,
//! `OPENBLAS_CORETYPE`).
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

/// `rows × in` times `[out, in]^T` for one block's seven projections, 30
/// blocks deep (distinct matrices, as decoding reads them): seconds per
/// step and GB/s of weights read.
fn decode_shaped(rows: i32, reps: u32) -> (f64, f64) {
    let shapes = [
        (576, 576),
        (192, 576),
        (192, 576),
        (576, 576),
        (1536, 576),
        (1536, 576),
        (576, 1536),
    ];
    let mut weights = Vec::new();
    for _ in 0..30 {
        for &(out, inp) in &shapes {
            weights.push(random::normal::<f32>(&[out, inp], None, None, None).unwrap());
        }
    }
    eval(&weights).unwrap();
    let x576 = random::normal::<f32>(&[rows, 576], None, None, None).unwrap();
    let x1536 = random::normal::<f32>(&[rows, 1536], None, None, None).unwrap();
    let step = || {
        let outs: Vec<Array> = weights
            .iter()
            .map(|w| {
                let x = if w.shape()[1] == 576 { &x576 } else { &x1536 };
                x.matmul(w.t()).unwrap()
            })
            .collect();
        eval(&outs).unwrap();
    };
    step();
    let start = Instant::now();
    for _ in 0..reps {
        step();
    }
    let secs = start.elapsed().as_secs_f64() / f64::from(reps);
    let bytes: usize = weights.iter().map(|w| w.size() * 4).sum();
    (secs, bytes as f64 / secs / 1e9)
}

/// One SmolLM2 MLP-sized matrix (`[1536, 576]`) quantized as the 4-bit
/// checkpoint is (4 bits, groups of 32): milliseconds per product of `rows`
/// rows through MLX's quantized matmul, and through dequantizing the matrix
/// and a dense matmul.
fn quantized(rows: i32, reps: u32) -> (f64, f64) {
    let w = random::normal::<f32>(&[1536, 576], None, None, None).unwrap();
    let (q, scales, biases) = mlx_rs::ops::quantize(&w, 32, 4).unwrap();
    let x = random::normal::<f32>(&[rows, 576], None, None, None).unwrap();
    eval([&q, &scales, &biases, &x]).unwrap();
    let qmm = || mlx_rs::ops::quantized_matmul(&x, &q, &scales, &biases, true, 32, 4).unwrap();
    let deq = || {
        let d = mlx_rs::ops::dequantize(&q, &scales, &biases, 32, 4).unwrap();
        x.matmul(d.t()).unwrap()
    };
    let time = |f: &dyn Fn() -> Array| {
        eval([&f()]).unwrap();
        let start = Instant::now();
        for _ in 0..reps {
            eval([&f()]).unwrap();
        }
        start.elapsed().as_secs_f64() * 1e3 / f64::from(reps)
    };
    (time(&qmm), time(&deq))
}

fn main() {
    for (n, reps) in [(256, 50), (1024, 10), (2048, 4)] {
        println!("matmul f32 {n}x{n}: {:.1} GFLOP/s", gflops(n, reps));
    }
    for rows in [1, 8, 32] {
        let (secs, gbs) = decode_shaped(rows, 10);
        println!(
            "decode-shaped, {rows} rows × SmolLM2's 210 projections: {:.1} ms per step, {gbs:.1} GB/s of weights",
            secs * 1e3
        );
    }
    for rows in [1, 8, 64, 512] {
        let (qmm, deq) = quantized(rows, 5);
        println!(
            "4-bit [1536, 576], {rows} rows: quantized_matmul {qmm:.2} ms, dequantize + matmul {deq:.2} ms"
        );
    }
}
