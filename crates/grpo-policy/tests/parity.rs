//! The same checkpoint gives the same logits here and in Python mlx-lm.

use std::process::Command;

use grpo_policy::config::TransformerConfig;
use grpo_policy::mask::AttentionMask;
use grpo_policy::mlx_rs::{ops::indexing::IndexOp, Array};
use grpo_policy::mode::Mode;
use grpo_policy::models::transformer::Transformer;

use crate::common::{max_abs_diff, tiny_config, to_vec, venv_python};

/// Logits from `mlx_lm.utils.load_model(dir)` for `ids`, flattened.
fn mlx_lm_logits(dir: &std::path::Path, ids: &[i32]) -> Vec<f32> {
    let script = r#"
import json, sys
from pathlib import Path
import mlx.core as mx
from mlx_lm.utils import load_model
model, _ = load_model(Path(sys.argv[1]))
ids = mx.array([json.loads(sys.argv[2])])
print(json.dumps(model(ids)[0].astype(mx.float32).tolist()))
"#;
    let out = Command::new(venv_python())
        .args(["-c", script])
        .arg(dir)
        .arg(serde_json::to_string(ids).unwrap())
        .output()
        .expect("run the venv's python (scripts/setup makes it)");
    assert!(
        out.status.success(),
        "mlx-lm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Vec<f32>> = serde_json::from_slice(&out.stdout).unwrap();
    rows.concat()
}

#[test]
fn logits_match_python_mlx_lm() {
    for arch in ["qwen2", "qwen3", "llama", "mistral"] {
        let config = TransformerConfig::from_json(&tiny_config(arch)).unwrap();
        let m = Transformer::random(config, 7).unwrap();
        let dir = tempfile::tempdir().unwrap();
        m.save(dir.path(), &tiny_config(arch)).unwrap();
        let ids = [1, 5, 9, 100, 27, 3, 64, 2];
        let mut cache = m.new_cache();
        let mask = AttentionMask::padded_causal(&[0], 0, ids.len() as i32);
        let ours = m
            .forward(
                &Array::from_slice(&ids, &[1, 8]),
                &mut cache,
                &mask,
                &Mode::inference(),
            )
            .unwrap()
            .index(0);
        let theirs = mlx_lm_logits(dir.path(), &ids);
        let d = max_abs_diff(&to_vec(&ours), &theirs);
        assert!(d <= 1e-4, "{arch}: logits differ from mlx-lm by {d}");
    }
}
