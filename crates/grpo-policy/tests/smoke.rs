//! MLX is linked, runs, and differentiates: a matmul and a nonlinearity whose
//! value and gradient are worked out by hand.

use grpo_policy::mlx_rs::{array, error::Exception, ops, transforms::value_and_grad, Array};

#[test]
fn matmul_tanh_value_and_grad_match_hand_computed() {
    // f(w) = sum(tanh(x @ w)) with x = [[1, 2], [3, -1]], w = [[0.5], [0.25]]:
    //   x @ w = [[1.0], [1.25]]
    //   f     = tanh(1.0) + tanh(1.25)
    //   df/dw = x^T @ (1 - tanh^2(x @ w))
    let x = array!([[1.0f32, 2.0], [3.0, -1.0]]);
    let f = move |args: &[Array]| -> Result<Vec<Array>, Exception> {
        Ok(vec![ops::sum(&ops::tanh(&x.matmul(&args[0])?)?, None)?])
    };
    let w = array!([[0.5f32], [0.25]]);
    let (value, grad) = value_and_grad(f)(&[w]).unwrap();

    let (t1, t2) = (1.0f32.tanh(), 1.25f32.tanh());
    let (d1, d2) = (1.0 - t1 * t1, 1.0 - t2 * t2);
    let expected_grad = [1.0 * d1 + 3.0 * d2, 2.0 * d1 - d2];

    assert!((value[0].item_exact::<f32>() - (t1 + t2)).abs() < 1e-6);
    assert_eq!(grad[0].shape(), &[2, 1]);
    for (got, want) in grad[0].as_slice::<f32>().iter().zip(expected_grad) {
        assert!((got - want).abs() < 1e-6, "gradient {got} != {want}");
    }
}

/// scripts/setup links OpenBLAS into every binary so that MLX's matmuls do not
/// run on the reference BLAS bundled in the MLX wheel (15-30x slower).
#[cfg(target_os = "linux")]
#[test]
fn linux_binaries_load_openblas() {
    // Force MLX to run a matmul so the BLAS is surely loaded.
    let a = Array::ones::<f32>(&[4, 4]).unwrap();
    let _ = a.matmul(&a).unwrap().sum(None).unwrap().item_exact::<f32>();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(
        maps.lines().any(|l| l.contains("openblas")),
        "OpenBLAS is not loaded; re-run scripts/setup"
    );
}
