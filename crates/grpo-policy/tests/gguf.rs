//! The GGUF importer on GGUF files written here, as llama.cpp's converter
//! writes them (llama.cpp names, Q/K rows permuted for Llama, the tokenizer
//! in the metadata): the imported model computes what the original did.

use std::path::Path;

use grpo_policy::config::TransformerConfig;
use grpo_policy::gguf::{import_gguf, GgufDtype};
use grpo_policy::mask::AttentionMask;
use grpo_policy::mlx_rs::io::GgufFile;
use grpo_policy::mlx_rs::Array;
use grpo_policy::mode::Mode;
use grpo_policy::models::transformer::Transformer;
use grpo_policy::params::named_parameters;
use grpo_policy::Tokenizer;
use serde_json::{json, Value};

use crate::common::{max_abs_diff, tiny_config, to_vec};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/tiny-tool-caller"
);

fn logits(m: &Transformer, ids: &[i32]) -> Vec<f32> {
    let mut cache = m.new_cache();
    let mask = AttentionMask::padded_causal(&[0], 0, ids.len() as i32);
    let out = m
        .forward(
            &Array::from_slice(ids, &[1, ids.len() as i32]),
            &mut cache,
            &mask,
            &Mode::inference(),
        )
        .unwrap();
    to_vec(&out)
}

/// transformers' name → llama.cpp's, as `convert_hf_to_gguf.py` maps them.
fn gguf_name(hf: &str) -> String {
    let fixed = [
        ("model.embed_tokens.weight", "token_embd.weight"),
        ("model.norm.weight", "output_norm.weight"),
        ("lm_head.weight", "output.weight"),
    ];
    if let Some((_, g)) = fixed.iter().find(|(h, _)| *h == hf) {
        return g.to_string();
    }
    let rest = hf.strip_prefix("model.layers.").unwrap();
    let (layer, part) = rest.split_once('.').unwrap();
    let part = [
        ("input_layernorm", "attn_norm"),
        ("post_attention_layernorm", "ffn_norm"),
        ("self_attn.q_proj", "attn_q"),
        ("self_attn.k_proj", "attn_k"),
        ("self_attn.v_proj", "attn_v"),
        ("self_attn.o_proj", "attn_output"),
        ("mlp.gate_proj", "ffn_gate"),
        ("mlp.up_proj", "ffn_up"),
        ("mlp.down_proj", "ffn_down"),
    ]
    .iter()
    .fold(part.to_string(), |p, (h, g)| p.replace(h, g));
    format!("blk.{layer}.{part}")
}

/// llama.cpp's `permute` of Q/K rows for its rotary layout.
fn permute(a: &Array, heads: i32) -> Array {
    let shape = a.shape().to_vec();
    let mut split = vec![heads, 2, shape[0] / heads / 2];
    split.extend_from_slice(&shape[1..]);
    a.reshape(&split)
        .unwrap()
        .swap_axes(1, 2)
        .unwrap()
        .reshape(&shape)
        .unwrap()
}

fn scalar_u32(v: i64) -> Array {
    Array::from_slice(&[v as u32], &[])
}

/// Writes `model` as llama.cpp would: `arch` metadata, tensors renamed (and
/// permuted for llama), the tokenizer of `tokenizer_dir` as gpt2 BPE.
fn write_gguf(
    path: &Path,
    arch: &str,
    model: &Transformer,
    config: &Value,
    tokenizer_dir: &Path,
    pre: &str,
) {
    let mut f = GgufFile::new().unwrap();
    let c = model.config();
    let meta =
        |f: &mut GgufFile, k: &str, v: Array| f.insert_metadata(format!("{arch}.{k}"), v).unwrap();
    f.insert_metadata("general.architecture", arch).unwrap();
    f.insert_metadata("general.name", "test model").unwrap();
    meta(
        &mut f,
        "block_count",
        scalar_u32(c.num_hidden_layers as i64),
    );
    meta(&mut f, "embedding_length", scalar_u32(c.hidden_size as i64));
    meta(
        &mut f,
        "feed_forward_length",
        scalar_u32(c.intermediate_size as i64),
    );
    meta(
        &mut f,
        "attention.head_count",
        scalar_u32(c.num_attention_heads as i64),
    );
    meta(
        &mut f,
        "attention.head_count_kv",
        scalar_u32(c.num_key_value_heads as i64),
    );
    meta(&mut f, "context_length", scalar_u32(512));
    meta(&mut f, "vocab_size", scalar_u32(c.vocab_size as i64));
    meta(
        &mut f,
        "rope.freq_base",
        Array::from_f32(config["rope_theta"].as_f64().unwrap() as f32),
    );
    meta(
        &mut f,
        "attention.layer_norm_rms_epsilon",
        Array::from_f32(config["rms_norm_eps"].as_f64().unwrap() as f32),
    );

    let tok: Value = serde_json::from_str(
        &std::fs::read_to_string(tokenizer_dir.join("tokenizer.json")).unwrap(),
    )
    .unwrap();
    let vocab = tok["model"]["vocab"].as_object().unwrap();
    // GGUF lists every token, added ones included, in id order.
    let added = tok["added_tokens"].as_array().unwrap();
    let len = vocab
        .values()
        .chain(added.iter().map(|a| &a["id"]))
        .map(|id| id.as_u64().unwrap() as usize + 1)
        .max()
        .unwrap();
    let mut tokens = vec![String::new(); len];
    let mut types = vec![1i32; len];
    for (t, id) in vocab {
        tokens[id.as_u64().unwrap() as usize] = t.clone();
    }
    for a in added {
        let id = a["id"].as_u64().unwrap() as usize;
        tokens[id] = a["content"].as_str().unwrap().to_string();
        types[id] = if a["special"] == true { 3 } else { 4 };
    }
    let merges: Vec<String> = tok["model"]["merges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| match m {
            Value::String(s) => s.clone(),
            Value::Array(pair) => format!(
                "{} {}",
                pair[0].as_str().unwrap(),
                pair[1].as_str().unwrap()
            ),
            other => panic!("merge {other}"),
        })
        .collect();
    let config_file: Value = serde_json::from_str(
        &std::fs::read_to_string(tokenizer_dir.join("tokenizer_config.json")).unwrap(),
    )
    .unwrap();
    let id_of = |name: &str| {
        let text = config_file[name].as_str().unwrap();
        scalar_u32(tokens.iter().position(|t| t == text).unwrap() as i64)
    };
    let (eos, pad) = (id_of("eos_token"), id_of("pad_token"));
    f.insert_metadata("tokenizer.ggml.model", "gpt2").unwrap();
    f.insert_metadata("tokenizer.ggml.pre", pre).unwrap();
    f.insert_metadata("tokenizer.ggml.tokens", tokens).unwrap();
    f.insert_metadata("tokenizer.ggml.merges", merges).unwrap();
    f.insert_metadata(
        "tokenizer.ggml.token_type",
        Array::from_slice(&types, &[types.len() as i32]),
    )
    .unwrap();
    f.insert_metadata("tokenizer.ggml.eos_token_id", eos)
        .unwrap();
    f.insert_metadata("tokenizer.ggml.padding_token_id", pad)
        .unwrap();
    f.insert_metadata(
        "tokenizer.chat_template",
        config_file["chat_template"].as_str().unwrap(),
    )
    .unwrap();

    for (name, a) in named_parameters(model) {
        let a = if arch == "llama" && name.contains("q_proj") {
            permute(&a, c.num_attention_heads)
        } else if arch == "llama" && name.contains("k_proj") {
            permute(&a, c.num_key_value_heads)
        } else {
            a.clone()
        };
        f.insert_array(gguf_name(&name), &a).unwrap();
    }
    f.save(path).unwrap();
}

/// The embedded Qwen2 model, written as a GGUF and imported again, gives
/// the same logits, token ids and chat prompts as the original directory.
#[test]
fn qwen2_fixture_round_trips_through_gguf() {
    let fixture = Path::new(FIXTURE);
    let original = Transformer::load(fixture).unwrap();
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join("config.json")).unwrap())
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("tiny.gguf");
    write_gguf(&gguf, "qwen2", &original, &config, fixture, "qwen2");

    let out = dir.path().join("imported");
    let report = import_gguf(&gguf, &out, GgufDtype::F32, false).unwrap();
    assert_eq!(report.architecture, "qwen2");
    assert_eq!(report.quantized_modules, 0);
    let imported = Transformer::load(&out).unwrap();
    let ids = [5, 17, 300, 42, 1000, 7, 99, 3];
    let d = max_abs_diff(&logits(&original, &ids), &logits(&imported, &ids));
    assert!(d <= 1e-6, "logits differ by {d}");

    let (a, b) = (
        Tokenizer::from_dir(fixture).unwrap(),
        Tokenizer::from_dir(&out).unwrap(),
    );
    let messages = [
        json!({"role": "user", "content": "Weather in Paris, 21 degrees? get_weather(city=\"Paris\")"}),
    ];
    assert_eq!(
        a.encode_chat(&messages, None, true).unwrap(),
        b.encode_chat(&messages, None, true).unwrap()
    );
    assert_eq!(a.eos_token_ids(), b.eos_token_ids());

    let err = import_gguf(&gguf, &out, GgufDtype::F32, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    import_gguf(&gguf, &out, GgufDtype::F16, true).unwrap();
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["torch_dtype"], "float16");
    Transformer::load(&out).unwrap();
}

/// A Llama model whose Q and K rows llama.cpp permuted imports with the
/// rows back in place: the logits are the original's.
#[test]
fn llama_rotary_permutation_is_undone() {
    let fixture = Path::new(FIXTURE);
    let mut config = tiny_config("llama");
    config["rope_scaling"] = Value::Null;
    let model = Transformer::random(TransformerConfig::from_json(&config).unwrap(), 3).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("llama.gguf");
    write_gguf(&gguf, "llama", &model, &config, fixture, "qwen2");
    let out = dir.path().join("imported");
    import_gguf(&gguf, &out, GgufDtype::F32, false).unwrap();
    let imported = Transformer::load(&out).unwrap();
    let ids = [1, 5, 9, 100, 27, 3, 64, 2];
    let d = max_abs_diff(&logits(&model, &ids), &logits(&imported, &ids));
    assert!(d <= 1e-5, "logits differ by {d}");
}

/// What cannot be imported is named: the architecture, the tokenizer, the
/// file.
#[test]
fn unsupported_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");

    let gguf = dir.path().join("falcon.gguf");
    let mut f = GgufFile::new().unwrap();
    f.insert_metadata("general.architecture", "falcon").unwrap();
    f.insert_array("token_embd.weight", &Array::zeros::<f32>(&[4, 4]).unwrap())
        .unwrap();
    f.save(&gguf).unwrap();
    let err = import_gguf(&gguf, &out, GgufDtype::Keep, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("falcon") && err.contains("llama, qwen2, qwen3"),
        "{err}"
    );
    assert!(err.contains("falcon.gguf"), "{err}");
    assert!(!out.exists(), "nothing is written for a failed import");

    let gguf = dir.path().join("spm.gguf");
    let mut f = GgufFile::new().unwrap();
    f.insert_metadata("general.architecture", "llama").unwrap();
    for (k, v) in [
        ("block_count", 1),
        ("embedding_length", 8),
        ("feed_forward_length", 8),
        ("attention.head_count", 2),
    ] {
        f.insert_metadata(format!("llama.{k}"), scalar_u32(v))
            .unwrap();
    }
    f.insert_metadata(
        "llama.attention.layer_norm_rms_epsilon",
        Array::from_f32(1e-5),
    )
    .unwrap();
    f.insert_metadata("tokenizer.ggml.model", "llama").unwrap();
    f.insert_array("output_norm.weight", &Array::ones::<f32>(&[8]).unwrap())
        .unwrap();
    f.save(&gguf).unwrap();
    let err = import_gguf(&gguf, &out, GgufDtype::Keep, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("tokenizer.ggml.model `llama`"), "{err}");

    let missing = dir.path().join("absent.gguf");
    let err = import_gguf(&missing, &out, GgufDtype::Keep, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("absent.gguf"), "{err}");
}
