//! The tokenizer stored in GGUF metadata → `tokenizer.json` and
//! `tokenizer_config.json`.
//!
//! GGUF keeps a byte-level BPE tokenizer (`tokenizer.ggml.model = gpt2`) as
//! its vocabulary (`tokens`, in id order), `merges`, each token's type
//! (control tokens are the specials), and the *name* of the
//! pre-tokenizer (`tokenizer.ggml.pre`) whose split rules llama.cpp knows.
//! Each supported name is written as the pre-tokenizer of the model's
//! original `tokenizer.json`, so that ids equal the original's.

use serde_json::{json, Map, Value};

use super::metadata::Metadata;
use crate::error::Result;

/// GGUF token types (llama.cpp's `llama_token_type`).
const CONTROL: i32 = 3;
const USER_DEFINED: i32 = 4;

/// The split rule of Llama 3's tokenizer (`llama-bpe`).
const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// The split rule of Qwen2's tokenizer (`qwen2`): single digits.
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The `tokenizer.ggml.pre` names that convert.
pub const SUPPORTED_PRE_TOKENIZERS: &[&str] = &[
    "default",
    "gpt-2",
    "gpt2",
    "smollm",
    "qwen2",
    "llama-bpe",
    "llama3",
];

/// The files of the converted tokenizer.
pub(crate) struct TokenizerFiles {
    pub tokenizer_json: Value,
    pub tokenizer_config: Value,
    pub generation_config: Value,
}

fn byte_level(trim_offsets: bool, use_regex: bool) -> Value {
    json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": trim_offsets, "use_regex": use_regex})
}

fn split(pattern: &str) -> Value {
    json!({"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": false})
}

/// The pre-tokenizer of a `tokenizer.ggml.pre` name, as the original
/// `tokenizer.json` has it.
fn pre_tokenizer(name: &str) -> Option<Value> {
    Some(match name {
        "default" | "gpt-2" | "gpt2" => byte_level(true, true),
        "smollm" => json!({"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true},
            byte_level(true, true),
        ]}),
        "qwen2" => {
            json!({"type": "Sequence", "pretokenizers": [split(QWEN2_SPLIT), byte_level(false, false)]})
        }
        "llama-bpe" | "llama3" => {
            json!({"type": "Sequence", "pretokenizers": [split(LLAMA3_SPLIT), byte_level(true, false)]})
        }
        _ => return None,
    })
}

/// Builds the tokenizer files from the metadata.
pub(crate) fn convert(meta: &Metadata<'_>, context_length: Option<i64>) -> Result<TokenizerFiles> {
    let model = meta.require_string("tokenizer.ggml.model")?;
    if model != "gpt2" {
        return Err(meta.error(format!(
            "tokenizer.ggml.model `{model}` is not supported (supported: gpt2, the byte-level BPE of Llama 3, Qwen2 and SmolLM)"
        )));
    }
    let pre_name = meta
        .string("tokenizer.ggml.pre")?
        .unwrap_or_else(|| "default".into());
    let pre = pre_tokenizer(&pre_name).ok_or_else(|| {
        meta.error(format!(
            "tokenizer.ggml.pre `{pre_name}` is not supported (supported: {})",
            SUPPORTED_PRE_TOKENIZERS.join(", ")
        ))
    })?;
    let tokens = meta
        .strings("tokenizer.ggml.tokens")?
        .ok_or_else(|| meta.error("no metadata `tokenizer.ggml.tokens`"))?;
    let merges = meta
        .strings("tokenizer.ggml.merges")?
        .ok_or_else(|| meta.error("no metadata `tokenizer.ggml.merges`"))?;
    let types = meta
        .ints("tokenizer.ggml.token_type")?
        .unwrap_or_else(|| vec![1; tokens.len()]);
    if types.len() != tokens.len() {
        return Err(meta.error(format!(
            "tokenizer.ggml.token_type has {} entries for {} tokens",
            types.len(),
            tokens.len()
        )));
    }

    let mut vocab = Map::new();
    for (id, token) in tokens.iter().enumerate() {
        vocab.insert(token.clone(), json!(id));
    }
    let mut added = Vec::new();
    let mut decoder = Map::new();
    for (id, (token, &kind)) in tokens.iter().zip(&types).enumerate() {
        if kind == CONTROL || kind == USER_DEFINED {
            let special = kind == CONTROL;
            added.push(json!({
                "id": id, "content": token, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": special,
            }));
            decoder.insert(
                id.to_string(),
                json!({
                    "content": token, "lstrip": false, "normalized": false,
                    "rstrip": false, "single_word": false, "special": special,
                }),
            );
        }
    }

    let token_of = |key: &str| -> Result<Option<(u32, String)>> {
        match meta.int(key)? {
            None => Ok(None),
            Some(id) => tokens
                .get(id as usize)
                .map(|t| Some((id as u32, t.clone())))
                .ok_or_else(|| {
                    meta.error(format!(
                        "metadata `{key}` is {id}, past the {} tokens",
                        tokens.len()
                    ))
                }),
        }
    };
    let bos = token_of("tokenizer.ggml.bos_token_id")?;
    let eos = token_of("tokenizer.ggml.eos_token_id")?;
    let eot = token_of("tokenizer.ggml.eot_token_id")?;
    let pad = token_of("tokenizer.ggml.padding_token_id")?;
    let unk = token_of("tokenizer.ggml.unknown_token_id")?;
    let add_bos = meta.flag("tokenizer.ggml.add_bos_token")?.unwrap_or(false) && bos.is_some();

    let post_processor = match (&bos, add_bos) {
        (Some((id, text)), true) => json!({
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": text, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [
                {"SpecialToken": {"id": text, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": text, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}},
            ],
            "special_tokens": {text.clone(): {"id": text, "ids": [id], "tokens": [text]}},
        }),
        _ => Value::Null,
    };
    let merges: Vec<Value> = merges.into_iter().map(Value::String).collect();
    let tokenizer_json = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre,
        "post_processor": post_processor,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
            "ignore_merges": false, "vocab": vocab, "merges": merges,
        },
    });

    let text = |t: &Option<(u32, String)>| t.as_ref().map(|(_, s)| json!(s)).unwrap_or(Value::Null);
    let mut config = Map::new();
    config.insert("add_bos_token".into(), json!(add_bos));
    config.insert("add_eos_token".into(), json!(false));
    config.insert("add_prefix_space".into(), json!(false));
    config.insert("added_tokens_decoder".into(), Value::Object(decoder));
    config.insert("bos_token".into(), text(&bos));
    if let Some(template) = meta.string("tokenizer.chat_template")? {
        config.insert("chat_template".into(), json!(template));
    }
    config.insert("clean_up_tokenization_spaces".into(), json!(false));
    config.insert("eos_token".into(), text(&eos));
    if let Some(n) = context_length {
        config.insert("model_max_length".into(), json!(n));
    }
    config.insert("pad_token".into(), text(&pad));
    config.insert("tokenizer_class".into(), json!("PreTrainedTokenizerFast"));
    config.insert("unk_token".into(), text(&unk));

    // End-of-turn tokens stop generation too (Llama 3's <|eot_id|>).
    let mut stop: Vec<u32> = eos.iter().chain(&eot).map(|(id, _)| *id).collect();
    stop.dedup();
    let mut generation = Map::new();
    if let Some((id, _)) = &bos {
        generation.insert("bos_token_id".into(), json!(id));
    }
    generation.insert(
        "eos_token_id".into(),
        if stop.len() == 1 {
            json!(stop[0])
        } else {
            json!(stop)
        },
    );
    if let Some((id, _)) = &pad {
        generation.insert("pad_token_id".into(), json!(id));
    }

    Ok(TokenizerFiles {
        tokenizer_json,
        tokenizer_config: Value::Object(config),
        generation_config: Value::Object(generation),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_pre_tokenizer_loads_in_tokenizers() {
        for name in SUPPORTED_PRE_TOKENIZERS {
            let pre = pre_tokenizer(name).unwrap();
            let json = json!({
                "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
                "normalizer": null, "pre_tokenizer": pre, "post_processor": null, "decoder": null,
                "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
            });
            tokenizers::Tokenizer::from_bytes(json.to_string().as_bytes())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        assert!(pre_tokenizer("falcon").is_none());
    }
}
