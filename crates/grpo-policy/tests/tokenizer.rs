//! The tokenizer and chat template against Python transformers and mlx_lm.
//!
//! Reference outputs come from `tests/data/tokenizer/parity.py`, run with the
//! project's `.venv/bin/python` (made by `scripts/setup`) on the same files.
//! The fixture tokenizer in `tests/data/tokenizer/fixture/` is trained by
//! `train_bpe` on `corpus.txt`; see that directory's README.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use grpo_policy::tokenizer::{
    train_bpe, write_tokenizer_dir, TokenizerLayout, CHATML_SPECIAL_TOKENS,
};
use grpo_policy::{ChatOptions, Error, Tokenizer};
use serde_json::{json, Map, Value as Json};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tokenizer");
const PYTHON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/python");
const FIXTURE_VOCAB_SIZE: usize = 512;

/// Runs parity.py with one JSON request and returns its JSON answer.
fn python(request: &Json) -> Json {
    let mut child = Command::new(PYTHON)
        .arg(format!("{DATA}/parity.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {PYTHON} (made by scripts/setup): {e}"));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin.write_all(request.to_string().as_bytes()).unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "parity.py failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("parity.py writes JSON")
}

fn read_json(path: impl AsRef<Path>) -> Json {
    let text = std::fs::read_to_string(path.as_ref()).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn fixture_dir() -> PathBuf {
    Path::new(DATA).join("fixture")
}

fn template(name: &str) -> String {
    std::fs::read_to_string(format!("{DATA}/templates/{name}.jinja")).unwrap()
}

/// A tokenizer directory holding the fixture's `tokenizer.json` and its
/// `tokenizer_config.json` as changed by `edit`.
fn tokenizer_dir(edit: impl FnOnce(&mut Map<String, Json>)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture_dir().join("tokenizer.json"),
        dir.path().join("tokenizer.json"),
    )
    .unwrap();
    let Json::Object(mut config) = read_json(fixture_dir().join("tokenizer_config.json")) else {
        panic!("tokenizer_config.json holds an object")
    };
    edit(&mut config);
    write(
        dir.path().join("tokenizer_config.json"),
        &Json::Object(config).to_string(),
    );
    dir
}

fn write(path: impl AsRef<Path>, text: &str) {
    std::fs::write(path, text).unwrap();
}

/// Renders and encodes every conversation of conversations.json in `dir`,
/// on both sides, and compares text and ids. Where transformers raises, the
/// Rust side must fail too. Returns how many cases rendered.
fn assert_chat_parity(dir: &Path, label: &str) -> usize {
    let data = read_json(format!("{DATA}/conversations.json"));
    let tools = data["tools"].as_array().unwrap();
    let mut cases = data["cases"].as_array().unwrap().clone();
    for case in &mut cases {
        if case.get("tools") == Some(&Json::Bool(true)) {
            case["tools"] = Json::Array(tools.clone());
        }
    }
    let answer = python(&json!({"mode": "chat", "dir": dir, "cases": cases}));
    let tokenizer = Tokenizer::from_dir(dir).unwrap();

    let mut rendered = 0;
    for (case, want) in cases.iter().zip(answer["results"].as_array().unwrap()) {
        let name = format!("{label}/{}", case["name"].as_str().unwrap());
        let messages = case["messages"].as_array().unwrap();
        let options = ChatOptions {
            tools: case
                .get("tools")
                .and_then(Json::as_array)
                .map(Vec::as_slice),
            add_generation_prompt: case["add_generation_prompt"].as_bool().unwrap(),
            variables: case
                .get("variables")
                .and_then(Json::as_object)
                .cloned()
                .unwrap_or_default(),
            ..ChatOptions::default()
        };
        let got = tokenizer.render_chat(messages, &options);
        if let Some(error) = want.get("error") {
            assert!(
                got.is_err(),
                "{name}: transformers raised {error} but Rust rendered {got:?}"
            );
            continue;
        }
        let got = got.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            got,
            want["text"].as_str().unwrap(),
            "{name}: rendered text differs"
        );
        let ids = tokenizer.encode_chat_with(messages, &options).unwrap();
        let want_ids: Vec<u32> = serde_json::from_value(want["ids"].clone()).unwrap();
        assert_eq!(ids, want_ids, "{name}: token ids differ");
        rendered += 1;
    }
    rendered
}

#[test]
fn fixture_template_matches_transformers() {
    // The fixture's own template (CHATML_TOOLS_TEMPLATE), loaded by
    // transformers' Qwen2Tokenizer class.
    assert_eq!(assert_chat_parity(&fixture_dir(), "fixture"), 8);
}

#[test]
fn qwen25_template_matches_transformers() {
    let dir = tokenizer_dir(|c| {
        c.insert("chat_template".into(), template("qwen2.5").into());
    });
    assert_eq!(assert_chat_parity(dir.path(), "qwen2.5"), 8);
}

#[test]
fn qwen3_template_matches_transformers() {
    let dir = tokenizer_dir(|c| {
        c.insert("chat_template".into(), template("qwen3").into());
    });
    assert_eq!(assert_chat_parity(dir.path(), "qwen3"), 8);
}

#[test]
fn chatml_minimal_template_matches_transformers() {
    let dir = tokenizer_dir(|c| {
        c.insert("chat_template".into(), template("chatml-minimal").into());
    });
    // The minimal template cannot render an assistant turn without content.
    assert_eq!(assert_chat_parity(dir.path(), "chatml-minimal"), 7);
}

/// Llama 3.1's template and special tokens on the fixture vocabulary: the
/// header tokens exist only in `added_tokens_decoder`, so both sides must
/// append them with the declared ids; transformers loads tokenizer.json
/// as-is here (no Qwen2 class).
#[test]
fn llama31_template_matches_transformers() {
    let dir = tokenizer_dir(|c| {
        let base = FIXTURE_VOCAB_SIZE;
        let decoder = c["added_tokens_decoder"].as_object_mut().unwrap();
        let llama = [
            "<|begin_of_text|>",
            "<|start_header_id|>",
            "<|end_header_id|>",
            "<|eot_id|>",
            "<|eom_id|>",
            "<|python_tag|>",
        ];
        for (i, token) in llama.iter().enumerate() {
            decoder.insert(
                (base + i).to_string(),
                json!({"content": token, "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true}),
            );
        }
        c.insert("chat_template".into(), template("llama3.1").into());
        c.insert("bos_token".into(), "<|begin_of_text|>".into());
        c.insert("eos_token".into(), "<|eot_id|>".into());
        c.insert("tokenizer_class".into(), "PreTrainedTokenizerFast".into());
    });
    let tokenizer = Tokenizer::from_dir(dir.path()).unwrap();
    assert_eq!(
        tokenizer.token_to_id("<|eot_id|>"),
        Some(FIXTURE_VOCAB_SIZE as u32 + 3)
    );
    assert_eq!(tokenizer.eos_token_ids(), &[FIXTURE_VOCAB_SIZE as u32 + 3]);
    // Parallel tool calls raise in this template, on both sides.
    assert_eq!(assert_chat_parity(dir.path(), "llama3.1"), 7);
}

#[test]
fn named_templates_pick_tool_use_when_tools_are_given() {
    let dir = tokenizer_dir(|c| {
        let list = json!([
            {"name": "default", "template": template("chatml-minimal")},
            {"name": "tool_use", "template": template("qwen2.5")},
        ]);
        c.insert("chat_template".into(), list);
    });
    let tokenizer = Tokenizer::from_dir(dir.path()).unwrap();
    assert_eq!(tokenizer.chat_templates().names(), ["default", "tool_use"]);
    assert_eq!(assert_chat_parity(dir.path(), "named"), 8);
}

#[test]
fn chat_template_jinja_file_wins_over_the_config() {
    let dir = tokenizer_dir(|c| {
        c.insert(
            "chat_template".into(),
            "{{ raise_exception('the config template was used') }}".into(),
        );
    });
    write(dir.path().join("chat_template.jinja"), &template("qwen3"));
    assert_eq!(assert_chat_parity(dir.path(), "jinja-file"), 8);
}

#[test]
fn jinja_snippets_render_as_in_transformers() {
    let snippets = read_json(format!("{DATA}/snippets.json"));
    let snippets = snippets.as_array().unwrap();
    let answer = python(&json!({"mode": "snippets", "cases": snippets}));
    for (snippet, want) in snippets.iter().zip(answer["results"].as_array().unwrap()) {
        let name = snippet["name"].as_str().unwrap();
        let mut variables = snippet["context"].as_object().unwrap().clone();
        let messages = variables.remove("messages").unwrap();
        let template =
            grpo_policy::ChatTemplate::new(name, snippet["template"].as_str().unwrap()).unwrap();
        let context = grpo_policy::ChatContext {
            messages: messages.as_array().unwrap(),
            variables,
            ..Default::default()
        };
        let got = template.render(&context);
        match want.get("text") {
            Some(text) => assert_eq!(got.as_deref().ok(), text.as_str(), "{name}: {got:?}"),
            None => assert!(
                got.is_err(),
                "{name}: transformers raised {} but Rust rendered {got:?}",
                want["error"]
            ),
        }
    }
}

fn corpus() -> impl Iterator<Item = String> + Send {
    let text = std::fs::read_to_string(format!("{DATA}/corpus.txt")).unwrap();
    text.split_inclusive('\n')
        .map(str::to_owned)
        .collect::<Vec<_>>()
        .into_iter()
}

/// The committed fixture is what `train_bpe` + `write_tokenizer_dir` make of
/// corpus.txt. `GRPO_REGENERATE_FIXTURES=1` rewrites it instead.
#[test]
fn fixture_is_reproducible_from_its_corpus() {
    let tokenizer = train_bpe(corpus(), FIXTURE_VOCAB_SIZE, &CHATML_SPECIAL_TOKENS).unwrap();
    assert_eq!(tokenizer.get_vocab_size(true), FIXTURE_VOCAB_SIZE);
    if std::env::var_os("GRPO_REGENERATE_FIXTURES").is_some() {
        write_tokenizer_dir(&tokenizer, &fixture_dir(), &TokenizerLayout::default()).unwrap();
    }
    let fresh = tempfile::tempdir().unwrap();
    write_tokenizer_dir(&tokenizer, fresh.path(), &TokenizerLayout::default()).unwrap();
    for file in ["tokenizer.json", "tokenizer_config.json"] {
        let committed = std::fs::read_to_string(fixture_dir().join(file)).unwrap();
        let written = std::fs::read_to_string(fresh.path().join(file)).unwrap();
        assert!(
            committed == written,
            "{file} differs from a fresh training run; see fixture/README.md"
        );
    }
}

/// Rust trains and writes a tokenizer directory; transformers and mlx_lm
/// load it and agree on ids, decoding, special ids and tool calling.
#[test]
fn written_tokenizer_loads_in_transformers_and_mlx_lm() {
    let dir = tempfile::tempdir().unwrap();
    let trained = train_bpe(corpus(), 400, &CHATML_SPECIAL_TOKENS).unwrap();
    write_tokenizer_dir(&trained, dir.path(), &TokenizerLayout::default()).unwrap();
    let texts = [
        "Hello, world! It's 21.5 °C in Zürich; 1e-5 ≠ 0.",
        "<|im_start|>user\nWhat's 2+2?<|im_end|>\n<|im_start|>assistant\n",
        "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"2+2\"}}\n</tool_call><|im_end|>",
        "  leading spaces\n\n\ttabs and   runs   of spaces   \r\n",
        "中文 日本語 한국어 🙂🙂 ÅÄÖ e\u{301}",
    ];
    let answer = python(&json!({"mode": "load", "dir": dir.path(), "texts": texts}));
    let tokenizer = Tokenizer::from_dir(dir.path()).unwrap();

    assert_eq!(answer["class"], "Qwen2Tokenizer");
    let plain: Vec<Vec<u32>> = texts
        .iter()
        .map(|t| tokenizer.encode(t, false).unwrap())
        .collect();
    assert_eq!(json!(plain), answer["plain"]);
    assert_eq!(json!(plain), answer["mlx_lm"]["plain"]);
    let with_special: Vec<Vec<u32>> = texts
        .iter()
        .map(|t| tokenizer.encode(t, true).unwrap())
        .collect();
    assert_eq!(json!(with_special), answer["with_special"]);
    let ids: Vec<&[u32]> = plain.iter().map(Vec::as_slice).collect();
    assert_eq!(
        json!(tokenizer.decode_batch(&ids, false).unwrap()),
        answer["decoded"]
    );
    assert_eq!(
        json!(tokenizer.decode_batch(&ids, true).unwrap()),
        answer["decoded_skip"]
    );

    assert_eq!(
        json!(tokenizer.eos_token_ids()),
        json!([answer["eos_token_id"]])
    );
    assert_eq!(
        json!(tokenizer.eos_token_ids()),
        answer["mlx_lm"]["eos_token_ids"]
    );
    assert_eq!(json!(tokenizer.pad_token_id()), answer["pad_token_id"]);
    assert_eq!(json!(tokenizer.bos_token_id()), answer["bos_token_id"]);
    assert_eq!(json!(tokenizer.vocab_size()), answer["vocab_size"]);
    assert_eq!(answer["mlx_lm"]["has_tool_calling"], true);
    assert_eq!(answer["mlx_lm"]["tool_call_start"], "<tool_call>");
}

#[test]
fn eos_ids_are_the_union_of_config_files_without_duplicates() {
    let dir = tokenizer_dir(|_| {});
    write(
        dir.path().join("generation_config.json"),
        r#"{"eos_token_id": [511, 509], "pad_token_id": 509}"#,
    );
    write(dir.path().join("config.json"), r#"{"eos_token_id": 7}"#);
    let tokenizer = Tokenizer::from_dir(dir.path()).unwrap();
    assert_eq!(tokenizer.eos_token_ids(), &[511, 509, 7]);
    assert_eq!(tokenizer.pad_token_id(), Some(509));
    assert!(!tokenizer.special_tokens().contains_key("bos_token"));
}

#[test]
fn plain_prompts_encode_without_a_chat_template() {
    let dir = tokenizer_dir(|c| {
        c.remove("chat_template");
    });
    let tokenizer = Tokenizer::from_dir(dir.path()).unwrap();
    assert!(!tokenizer.has_chat_template());
    let err = tokenizer
        .encode_chat(&[json!({"role": "user", "content": "hi"})], None, true)
        .unwrap_err();
    assert!(matches!(err, Error::NoChatTemplate { .. }), "{err}");
    let ids = tokenizer
        .encode_plain("Question: what is 2+2?\nAnswer:")
        .unwrap();
    assert_eq!(
        tokenizer.decode(&ids, false).unwrap(),
        "Question: what is 2+2?\nAnswer:"
    );
}

#[test]
fn missing_and_malformed_files_are_named() {
    let empty = tempfile::tempdir().unwrap();
    let err = Tokenizer::from_dir(empty.path()).unwrap_err();
    assert!(
        matches!(&err, Error::MissingFile { path, .. } if path.ends_with("tokenizer.json")),
        "{err}"
    );

    let dir = tokenizer_dir(|_| {});
    std::fs::remove_file(dir.path().join("tokenizer_config.json")).unwrap();
    let err = Tokenizer::from_dir(dir.path()).unwrap_err();
    assert!(err.to_string().contains("tokenizer_config.json"), "{err}");

    write(dir.path().join("tokenizer_config.json"), "{\"eos_token\": ");
    let err = Tokenizer::from_dir(dir.path()).unwrap_err();
    assert!(
        matches!(&err, Error::Json { path, .. } if path.ends_with("tokenizer_config.json")),
        "{err}"
    );

    let dir = tokenizer_dir(|_| {});
    write(dir.path().join("tokenizer.json"), "{\"model\": 3}");
    let err = Tokenizer::from_dir(dir.path()).unwrap_err();
    assert!(
        matches!(&err, Error::TokenizerFile { path, .. } if path.ends_with("tokenizer.json")),
        "{err}"
    );

    let dir = tokenizer_dir(|_| {});
    write(
        dir.path().join("generation_config.json"),
        r#"{"eos_token_id": "<|im_end|>"}"#,
    );
    let err = Tokenizer::from_dir(dir.path()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("generation_config.json") && message.contains("`eos_token_id`"),
        "{message}"
    );
}

#[test]
fn inconsistent_and_invalid_configs_are_rejected() {
    let dir = tokenizer_dir(|c| {
        let decoder = c["added_tokens_decoder"].as_object_mut().unwrap();
        let entry = decoder.remove("511").unwrap();
        decoder.insert("3".into(), entry);
    });
    let err = Tokenizer::from_dir(dir.path()).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::TokenIdMismatch {
                declared: 3,
                actual: 511,
                ..
            }
        ),
        "{err}"
    );

    let dir = tokenizer_dir(|c| {
        c.insert("eos_token".into(), json!(5));
    });
    let err = Tokenizer::from_dir(dir.path()).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidField { field, .. } if field == "eos_token"),
        "{err}"
    );

    let dir = tokenizer_dir(|c| {
        c.insert("chat_template".into(), "{% for m in messages %}".into());
    });
    let err = Tokenizer::from_dir(dir.path()).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, Error::TemplateSyntax { .. }) && message.contains("tokenizer_config.json"),
        "{message}"
    );
}

#[test]
fn special_tokens_may_be_objects_and_missing_ones_are_added() {
    let dir = tokenizer_dir(|c| {
        c.insert(
            "eos_token".into(),
            json!({"content": "<|im_end|>", "special": true}),
        );
        c.insert(
            "bos_token".into(),
            json!({"__type": "AddedToken", "content": "<|bos|>"}),
        );
    });
    let tokenizer = Tokenizer::from_dir(dir.path()).unwrap();
    assert_eq!(tokenizer.eos_token_ids(), &[511]);
    // `<|bos|>` is not in the vocabulary: it is appended, as transformers does.
    assert_eq!(tokenizer.bos_token_id(), Some(512));
    assert_eq!(tokenizer.vocab_size(), 513);
    assert_eq!(tokenizer.special_tokens()["bos_token"], "<|bos|>");
}
