//! Training a small byte-level BPE tokenizer, and writing it as a Hugging Face
//! tokenizer directory, for the project's own fixture models.
//!
//! The pipeline is Qwen2's (NFC, Qwen's pre-tokenizer regex, byte-level
//! mapping and decoder), so that transformers' `Qwen2Tokenizer`, which
//! rebuilds that pipeline from the vocabulary and merges, tokenizes exactly as
//! the `tokenizer.json` we write does.

use std::path::Path;

use serde_json::{json, Map, Value as Json};
use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::models::TrainerWrapper;
use tokenizers::normalizers::unicode::NFC;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, SplitDelimiterBehavior};

use crate::error::{Error, Result};

/// ChatML's special tokens in Qwen's order: `<|endoftext|>` (padding),
/// `<|im_start|>`, `<|im_end|>` (end of turn and EOS).
pub const CHATML_SPECIAL_TOKENS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// A ChatML chat template with tool calling in Qwen2.5's format: tool
/// schemas inside `<tools></tools>` in the system turn, calls as
/// `<tool_call>{"name": …, "arguments": …}</tool_call>`, results as
/// `<tool_response>` blocks in a user turn.
pub const CHATML_TOOLS_TEMPLATE: &str = include_str!("chatml_tools.jinja");

/// Qwen2's pre-tokenizer split: contractions, letter runs with one leading
/// non-letter, single digits, punctuation runs, newlines, spaces.
const QWEN2_PRETOKENIZE_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The 256 byte symbols every byte-level vocabulary starts from.
const BYTE_ALPHABET_SIZE: usize = 256;

/// Trains a byte-level BPE tokenizer on `texts`.
///
/// `vocab_size` counts everything: the 256 byte symbols, the learned merges
/// and `special_tokens`, which take the last ids (as in Qwen, where
/// `<|endoftext|>` follows the merges). A corpus too small to learn enough
/// merges gives a smaller vocabulary; read the final size from
/// `get_vocab_size(true)`. Training is deterministic.
pub fn train_bpe(
    texts: impl Iterator<Item = String> + Send,
    vocab_size: usize,
    special_tokens: &[&str],
) -> Result<tokenizers::Tokenizer> {
    let minimum = BYTE_ALPHABET_SIZE + special_tokens.len();
    if vocab_size < minimum {
        return Err(Error::Train {
            reason: format!(
                "vocab_size {vocab_size} is too small: the byte alphabet and {} special tokens need {minimum}",
                special_tokens.len()
            ),
        });
    }
    let train_error = |source: tokenizers::Error| Error::Train {
        reason: source.to_string(),
    };

    let mut tokenizer = tokenizers::Tokenizer::new(BPE::default());
    tokenizer.with_normalizer(Some(NFC));
    let split = Split::new(
        SplitPattern::Regex(QWEN2_PRETOKENIZE_REGEX.into()),
        SplitDelimiterBehavior::Isolated,
        false,
    )
    .map_err(train_error)?;
    tokenizer.with_pre_tokenizer(Some(Sequence::new(vec![
        split.into(),
        ByteLevel::new(false, false, false).into(),
    ])));
    tokenizer.with_decoder(Some(ByteLevel::new(false, false, false)));
    tokenizer.with_post_processor(Some(ByteLevel::new(false, false, false)));

    let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
        .vocab_size(vocab_size - special_tokens.len())
        .min_frequency(0)
        .show_progress(false)
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .build()
        .into();
    tokenizer.train(&mut trainer, texts).map_err(train_error)?;

    let specials: Vec<AddedToken> = special_tokens
        .iter()
        .map(|t| AddedToken::from(t.to_string(), true).normalized(false))
        .collect();
    tokenizer.add_special_tokens(&specials);
    Ok(tokenizer)
}

/// What `tokenizer_config.json` declares besides the vocabulary.
#[derive(Debug, Clone)]
pub struct TokenizerLayout<'a> {
    /// The Jinja chat template.
    pub chat_template: &'a str,
    /// The token that ends a turn and a generation.
    pub eos_token: &'a str,
    /// The padding token.
    pub pad_token: &'a str,
    /// A token the template writes first, if any (Qwen has none).
    pub bos_token: Option<&'a str>,
    /// The longest input the model accepts, in tokens.
    pub model_max_length: usize,
}

impl Default for TokenizerLayout<'_> {
    /// Qwen2.5's layout: [`CHATML_TOOLS_TEMPLATE`], EOS `<|im_end|>`, padding
    /// `<|endoftext|>`, no BOS.
    fn default() -> Self {
        TokenizerLayout {
            chat_template: CHATML_TOOLS_TEMPLATE,
            eos_token: "<|im_end|>",
            pad_token: "<|endoftext|>",
            bos_token: None,
            model_max_length: 32768,
        }
    }
}

/// Writes `tokenizer.json` and `tokenizer_config.json` into `dir` (created
/// if needed) so that `Tokenizer::from_dir`, transformers'
/// `AutoTokenizer.from_pretrained` and `mlx_lm` load them.
///
/// The config names `Qwen2Tokenizer`, lists every added token in
/// `added_tokens_decoder` (transformers' Qwen2 class reads added tokens only
/// from there), and is written with sorted keys as transformers saves it.
///
/// # Errors
/// [`Error::UnknownToken`] when a token of `layout` is not in the vocabulary;
/// [`Error::Io`] when a file cannot be written.
pub fn write_tokenizer_dir(
    tokenizer: &tokenizers::Tokenizer,
    dir: &Path,
    layout: &TokenizerLayout<'_>,
) -> Result<()> {
    let named = [
        ("eos_token", Some(layout.eos_token)),
        ("pad_token", Some(layout.pad_token)),
        ("bos_token", layout.bos_token),
    ];
    for (role, token) in named {
        if let Some(token) = token {
            if tokenizer.token_to_id(token).is_none() {
                return Err(Error::UnknownToken {
                    role,
                    token: token.to_owned(),
                });
            }
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;

    let tokenizer_path = dir.join("tokenizer.json");
    let text = tokenizer
        .to_string(true)
        .map_err(|source| Error::TokenizerFile {
            path: tokenizer_path.clone(),
            source,
        })?;
    write_file(&tokenizer_path, &text)?;

    let mut added: Vec<(u32, AddedToken)> =
        tokenizer.get_added_tokens_decoder().into_iter().collect();
    added.sort_by_key(|(id, _)| *id);
    let mut decoder = Map::new();
    for (id, token) in &added {
        decoder.insert(
            id.to_string(),
            json!({
                "content": token.content,
                "lstrip": token.lstrip,
                "normalized": token.normalized,
                "rstrip": token.rstrip,
                "single_word": token.single_word,
                "special": token.special,
            }),
        );
    }
    let extra: Vec<&str> = added
        .iter()
        .filter(|(_, t)| {
            t.special
                && t.content != layout.pad_token
                && Some(t.content.as_str()) != layout.bos_token
        })
        .map(|(_, t)| t.content.as_str())
        .collect();
    let config = json!({
        "add_bos_token": false,
        "add_prefix_space": false,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": extra,
        "bos_token": layout.bos_token,
        "chat_template": layout.chat_template,
        "clean_up_tokenization_spaces": false,
        "eos_token": layout.eos_token,
        "errors": "replace",
        "model_max_length": layout.model_max_length,
        "pad_token": layout.pad_token,
        "split_special_tokens": false,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": Json::Null,
    });
    let text = serde_json::to_string_pretty(&config).expect("a JSON value always serializes");
    write_file(&dir.join("tokenizer_config.json"), &(text + "\n"))
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> impl Iterator<Item = String> + Send {
        [
            "the cat sat on the mat",
            "the dog sat on the log",
            "cats and dogs",
        ]
        .into_iter()
        .cycle()
        .take(30)
        .map(String::from)
    }

    #[test]
    fn specials_take_the_last_ids_and_encode_whole() {
        let tok = train_bpe(corpus(), 300, &CHATML_SPECIAL_TOKENS).unwrap();
        let size = tok.get_vocab_size(true) as u32;
        assert_eq!(tok.token_to_id("<|endoftext|>"), Some(size - 3));
        assert_eq!(tok.token_to_id("<|im_end|>"), Some(size - 1));
        let ids = tok
            .encode("<|im_start|>the cat<|im_end|>", false)
            .unwrap()
            .get_ids()
            .to_vec();
        assert_eq!(ids.first(), Some(&(size - 2)));
        assert_eq!(ids.last(), Some(&(size - 1)));
        assert_eq!(tok.decode(&ids, true).unwrap(), "the cat");
    }

    #[test]
    fn merges_are_learned_and_bytes_cover_any_text() {
        let tok = train_bpe(corpus(), 300, &[]).unwrap();
        // " sat" is frequent enough to become one token.
        assert!(tok.token_to_id("Ġsat").is_some());
        let text = "unseen ✓ ünïcödé\n\ttabs";
        let ids = tok.encode(text, false).unwrap().get_ids().to_vec();
        assert_eq!(tok.decode(&ids, false).unwrap(), text);
    }

    #[test]
    fn too_small_vocabularies_are_rejected() {
        let err = train_bpe(corpus(), 257, &CHATML_SPECIAL_TOKENS).unwrap_err();
        assert!(err.to_string().contains("need 259"), "{err}");
    }

    #[test]
    fn layout_tokens_must_exist() {
        let tok = train_bpe(corpus(), 300, &["<|endoftext|>"]).unwrap();
        let dir = std::env::temp_dir().join("grpo-policy-layout-tokens-must-exist");
        let err = write_tokenizer_dir(&tok, &dir, &TokenizerLayout::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the eos_token `<|im_end|>` is not in the tokenizer's vocabulary"
        );
    }
}
