//! Reading the configuration files of a model directory: JSON objects,
//! special tokens in their several spellings, added tokens, and chat
//! templates, each error naming its file and field.

use std::path::Path;

use serde_json::{Map, Value as Json};
use tokenizers::AddedToken;

use crate::error::{Error, Result};
use crate::template::{ChatTemplate, ChatTemplates, DEFAULT_TEMPLATE_NAME};

/// The named special tokens transformers passes to every chat template.
const NAMED_SPECIAL_TOKENS: [&str; 7] = [
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
];

/// Reads a JSON object; `Ok(None)` when the file does not exist.
pub(super) fn read_json_object(path: &Path) -> Result<Option<Map<String, Json>>> {
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    match serde_json::from_str(&text).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })? {
        Json::Object(map) => Ok(Some(map)),
        other => Err(invalid(path, "(top level)", "a JSON object", &other)),
    }
}

fn invalid(path: &Path, field: &str, expected: &'static str, got: &Json) -> Error {
    let mut got = got.to_string();
    if got.len() > 80 {
        let cut = (0..=80)
            .rev()
            .find(|&i| got.is_char_boundary(i))
            .unwrap_or(0);
        got.truncate(cut);
        got.push('…');
    }
    Error::InvalidField {
        path: path.to_path_buf(),
        field: field.to_owned(),
        expected,
        got,
    }
}

/// A token given as `"<s>"` or `{"content": "<s>", ...}`; `None` for null.
fn token_text(value: &Json, path: &Path, field: &str) -> Result<Option<String>> {
    match value {
        Json::Null => Ok(None),
        Json::String(text) => Ok(Some(text.clone())),
        Json::Object(map) => match map.get("content") {
            Some(Json::String(text)) => Ok(Some(text.clone())),
            _ => Err(invalid(
                path,
                field,
                "a string, null, or an object with a string `content`",
                value,
            )),
        },
        _ => Err(invalid(
            path,
            field,
            "a string, null, or an object with a string `content`",
            value,
        )),
    }
}

/// `eos_token_id`-style fields: an int, a list of ints, or null.
pub(super) fn token_ids(file: &Map<String, Json>, field: &str, path: &Path) -> Result<Vec<u32>> {
    let as_id = |v: &Json| v.as_u64().and_then(|id| u32::try_from(id).ok());
    let expected = "a token id, a list of token ids, or null";
    match file.get(field) {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .map(|v| as_id(v).ok_or_else(|| invalid(path, field, expected, v)))
            .collect(),
        Some(v) => as_id(v)
            .map(|id| vec![id])
            .ok_or_else(|| invalid(path, field, expected, v)),
    }
}

/// Adds the entries of `added_tokens_decoder` that `tokenizer.json` lacks,
/// and checks that every entry has the id it declares.
pub(super) fn add_declared_tokens(
    inner: &mut tokenizers::Tokenizer,
    config: &Map<String, Json>,
    path: &Path,
) -> Result<()> {
    let Some(decoder) = config.get("added_tokens_decoder") else {
        return Ok(());
    };
    let Json::Object(decoder) = decoder else {
        return Err(invalid(
            path,
            "added_tokens_decoder",
            "an object from token id to token",
            decoder,
        ));
    };
    let mut entries = Vec::with_capacity(decoder.len());
    for (id, entry) in decoder {
        let field = format!("added_tokens_decoder.{id}");
        let declared: u32 = id
            .parse()
            .map_err(|_| invalid(path, &field, "a token id as key", &Json::String(id.clone())))?;
        let Some(content) = token_text(entry, path, &field)? else {
            continue;
        };
        let flag =
            |name: &str, default: bool| entry.get(name).and_then(Json::as_bool).unwrap_or(default);
        let special = flag("special", false);
        let token = AddedToken::from(content, special)
            .single_word(flag("single_word", false))
            .lstrip(flag("lstrip", false))
            .rstrip(flag("rstrip", false))
            .normalized(flag("normalized", !special));
        entries.push((declared, token));
    }
    // transformers adds the missing ones in id order.
    entries.sort_by_key(|(id, _)| *id);
    for (declared, token) in entries {
        let actual = match inner.token_to_id(&token.content) {
            Some(id) => id,
            None => {
                inner.add_tokens(std::slice::from_ref(&token));
                inner.token_to_id(&token.content).unwrap_or(u32::MAX)
            }
        };
        if actual != declared {
            return Err(Error::TokenIdMismatch {
                path: path.to_path_buf(),
                token: token.content,
                declared,
                actual,
            });
        }
    }
    Ok(())
}

/// The special tokens transformers puts in `special_tokens_map` (and so in
/// the template's variables): the standard names plus any other `*_token`
/// string field.
pub(super) fn named_special_tokens(
    config: &Map<String, Json>,
    path: &Path,
) -> Result<Map<String, Json>> {
    let mut tokens = Map::new();
    for name in NAMED_SPECIAL_TOKENS {
        if let Some(value) = config.get(name) {
            if let Some(text) = token_text(value, path, name)? {
                tokens.insert(name.to_owned(), Json::String(text));
            }
        }
    }
    for (name, value) in config {
        let is_token = value.is_string() || value.get("content").is_some_and(Json::is_string);
        if name.ends_with("_token") && is_token && !tokens.contains_key(name) {
            if let Some(text) = token_text(value, path, name)? {
                tokens.insert(name.clone(), Json::String(text));
            }
        }
    }
    Ok(tokens)
}

/// transformers makes sure every named and extra special token exists,
/// appending the ones the vocabulary lacks.
pub(super) fn add_missing_special_tokens(
    inner: &mut tokenizers::Tokenizer,
    named: &Map<String, Json>,
    config: &Map<String, Json>,
    path: &Path,
) -> Result<()> {
    let mut wanted: Vec<String> = named
        .values()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    for field in ["additional_special_tokens", "extra_special_tokens"] {
        match config.get(field) {
            None | Some(Json::Null) => {}
            Some(Json::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    wanted.extend(token_text(item, path, &format!("{field}.{i}"))?);
                }
            }
            Some(Json::Object(map)) => {
                for (name, item) in map {
                    wanted.extend(token_text(item, path, &format!("{field}.{name}"))?);
                }
            }
            Some(other) => return Err(invalid(path, field, "a list of tokens", other)),
        }
    }
    for token in wanted {
        if inner.token_to_id(&token).is_none() {
            inner.add_tokens(&[AddedToken::from(token, true).normalized(false)]);
        }
    }
    Ok(())
}

/// Chat templates from `chat_template.jinja` and
/// `additional_chat_templates/`, else from `tokenizer_config.json`.
pub(super) fn load_templates(
    dir: &Path,
    config: &Map<String, Json>,
    config_path: &Path,
) -> Result<ChatTemplates> {
    let mut from_files = Vec::new();
    let main = dir.join("chat_template.jinja");
    if main.is_file() {
        from_files.push((DEFAULT_TEMPLATE_NAME.to_owned(), main));
    }
    let extra_dir = dir.join("additional_chat_templates");
    if extra_dir.is_dir() {
        let entries = std::fs::read_dir(&extra_dir).map_err(|source| Error::Io {
            path: extra_dir.clone(),
            source,
        })?;
        let mut extra = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|source| Error::Io {
                    path: extra_dir.clone(),
                    source,
                })?
                .path();
            if path.extension().is_some_and(|e| e == "jinja") {
                if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                    extra.push((stem.to_owned(), path.clone()));
                }
            }
        }
        extra.sort();
        from_files.extend(extra);
    }
    if !from_files.is_empty() {
        let templates = from_files
            .into_iter()
            .map(|(name, path)| {
                let source = std::fs::read_to_string(&path).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
                ChatTemplate::from_origin(name, source, &path)
            })
            .collect::<Result<_>>()?;
        return Ok(ChatTemplates::new(templates));
    }

    let field = "chat_template";
    let templates = match config.get(field) {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::String(source)) => vec![ChatTemplate::from_origin(
            DEFAULT_TEMPLATE_NAME,
            source.clone(),
            config_path,
        )?],
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let name = item.get("name").and_then(Json::as_str);
                let source = item.get("template").and_then(Json::as_str);
                match (name, source) {
                    (Some(name), Some(source)) => {
                        ChatTemplate::from_origin(name, source, config_path)
                    }
                    _ => Err(invalid(
                        config_path,
                        &format!("{field}.{i}"),
                        "an object with string `name` and `template`",
                        item,
                    )),
                }
            })
            .collect::<Result<_>>()?,
        Some(other) => {
            return Err(invalid(
                config_path,
                field,
                "a template string or a list of {name, template} objects",
                other,
            ))
        }
    };
    Ok(ChatTemplates::new(templates))
}
