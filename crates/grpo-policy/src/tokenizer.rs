//! The tokenizer of a Hugging Face model directory, with its chat template and
//! end-of-sequence ids.
//!
//! [`Tokenizer::from_dir`] reads what Python `transformers` and `mlx_lm` read:
//!
//! - `tokenizer.json`: the `tokenizers` pipeline (required);
//! - `tokenizer_config.json`: special tokens (strings or `{"content": …}`
//!   objects), `added_tokens_decoder`, and `chat_template` as a string or as a
//!   list of named templates (required);
//! - `chat_template.jinja` and `additional_chat_templates/*.jinja`: templates
//!   saved by recent transformers, which take priority over the config's;
//! - `generation_config.json` and `config.json`: `eos_token_id`, an int or a
//!   list (optional).
//!
//! Chat prompts are tokenized as `apply_chat_template(..., tokenize=True)`
//! does: the template renders the text, including the special tokens it
//! writes (such as `bos_token`), and that text is encoded with
//! `add_special_tokens=False`, so a BOS is never added a second time; special
//! tokens in the text are recognised as single ids.
//!
//! # Example
//!
//! Train a tiny tokenizer, write it in Hugging Face layout, load it back and
//! encode a chat prompt:
//!
//! ```
//! use grpo_policy::tokenizer::{train_bpe, write_tokenizer_dir, TokenizerLayout, CHATML_SPECIAL_TOKENS};
//! use grpo_policy::Tokenizer;
//! use serde_json::json;
//!
//! let corpus = ["the weather in Paris is sunny", "call the weather tool"].map(String::from);
//! let trained = train_bpe(corpus.into_iter(), 300, &CHATML_SPECIAL_TOKENS)?;
//! let dir = std::env::temp_dir().join(format!("grpo-policy-doc-{}", std::process::id()));
//! write_tokenizer_dir(&trained, &dir, &TokenizerLayout::default())?;
//!
//! let tokenizer = Tokenizer::from_dir(&dir)?;
//! let messages = [json!({"role": "user", "content": "Weather in Paris?"})];
//! let prompt = tokenizer.apply_chat_template(&messages, None, true)?;
//! assert_eq!(prompt, "<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n");
//!
//! let ids = tokenizer.encode_chat(&messages, None, true)?;
//! let im_start = tokenizer.token_to_id("<|im_start|>").unwrap();
//! assert_eq!(ids[0], im_start);
//! assert_eq!(tokenizer.decode(&ids, false)?, prompt);
//! assert_eq!(tokenizer.eos_token_ids(), [tokenizer.token_to_id("<|im_end|>").unwrap()]);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod training;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};
use crate::template::{ChatContext, ChatTemplates};
use config::{
    add_declared_tokens, add_missing_special_tokens, load_templates, named_special_tokens,
    read_json_object, token_ids,
};

pub use training::{
    train_bpe, write_tokenizer_dir, TokenizerLayout, CHATML_SPECIAL_TOKENS, CHATML_TOOLS_TEMPLATE,
};

/// Options of a chat render beyond the messages.
#[derive(Debug, Clone, Default)]
pub struct ChatOptions<'a> {
    /// Tool schemas for templates that support tool calling.
    pub tools: Option<&'a [Json]>,
    /// Retrieval documents for templates that support them.
    pub documents: Option<&'a [Json]>,
    /// Append the header that opens an assistant turn (for generation).
    pub add_generation_prompt: bool,
    /// A template by name, when the tokenizer has several.
    pub template_name: Option<&'a str>,
    /// Extra template variables (`enable_thinking`, `date_string`, …); they
    /// override the special tokens of the same name, as in transformers.
    pub variables: Map<String, Json>,
}

/// A tokenizer loaded from a model directory.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    dir: PathBuf,
    templates: ChatTemplates,
    special_tokens: Map<String, Json>,
    eos_token_ids: Vec<u32>,
    bos_token_id: Option<u32>,
    pad_token_id: Option<u32>,
}

impl Tokenizer {
    /// Loads the tokenizer files of a Hugging Face model directory.
    ///
    /// # Errors
    /// A missing `tokenizer.json` or `tokenizer_config.json`, a file that is
    /// not valid JSON, a field of the wrong type, a chat template that does
    /// not compile, or a token whose id in `tokenizer_config.json` differs
    /// from `tokenizer.json`'s; each names the file.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let tokenizer_path = dir.join("tokenizer.json");
        if !tokenizer_path.is_file() {
            return Err(Error::MissingFile {
                path: tokenizer_path,
                what: "the tokenizer (download the model's tokenizer files with `huggingface-cli download`)",
            });
        }
        let mut inner = tokenizers::Tokenizer::from_file(&tokenizer_path).map_err(|source| {
            Error::TokenizerFile {
                path: tokenizer_path.clone(),
                source,
            }
        })?;

        let config_path = dir.join("tokenizer_config.json");
        let config = read_json_object(&config_path)?.ok_or_else(|| Error::MissingFile {
            path: config_path.clone(),
            what: "the tokenizer configuration (special tokens and chat template)",
        })?;

        add_declared_tokens(&mut inner, &config, &config_path)?;
        let special_tokens = named_special_tokens(&config, &config_path)?;
        add_missing_special_tokens(&mut inner, &special_tokens, &config, &config_path)?;
        let templates = load_templates(&dir, &config, &config_path)?;

        let id_of = |name: &str| {
            special_tokens
                .get(name)
                .and_then(Json::as_str)
                .and_then(|t| inner.token_to_id(t))
        };
        let mut eos_token_ids: Vec<u32> = id_of("eos_token").into_iter().collect();
        let generation_path = dir.join("generation_config.json");
        let generation = read_json_object(&generation_path)?;
        let model_path = dir.join("config.json");
        let model = read_json_object(&model_path)?;
        for (file, path) in [(&generation, &generation_path), (&model, &model_path)] {
            if let Some(file) = file {
                for id in token_ids(file, "eos_token_id", path)? {
                    if !eos_token_ids.contains(&id) {
                        eos_token_ids.push(id);
                    }
                }
            }
        }
        let pad_token_id = match id_of("pad_token") {
            Some(id) => Some(id),
            None => match &generation {
                Some(file) => token_ids(file, "pad_token_id", &generation_path)?
                    .first()
                    .copied(),
                None => None,
            },
        };
        let bos_token_id = id_of("bos_token");
        Ok(Tokenizer {
            inner,
            dir,
            templates,
            special_tokens,
            eos_token_ids,
            bos_token_id,
            pad_token_id,
        })
    }

    /// The underlying `tokenizers` tokenizer, with the added tokens of
    /// `tokenizer_config.json` applied.
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }

    /// Tokenizes `text`; `add_special_tokens` applies the tokenizer's
    /// post-processor (e.g. a Llama BOS). Special tokens written in the text
    /// are always recognised.
    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode_fast(text, add_special_tokens)
            .map_err(|source| Error::Encode { source })?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Tokenizes several texts, in parallel.
    pub fn encode_batch(&self, texts: &[&str], add_special_tokens: bool) -> Result<Vec<Vec<u32>>> {
        let encodings = self
            .inner
            .encode_batch_fast(texts.to_vec(), add_special_tokens)
            .map_err(|source| Error::Encode { source })?;
        Ok(encodings.iter().map(|e| e.get_ids().to_vec()).collect())
    }

    /// A prompt for a model without a chat template: the text with the
    /// tokenizer's own special tokens added, as `mlx_lm` encodes raw prompts.
    pub fn encode_plain(&self, text: &str) -> Result<Vec<u32>> {
        self.encode(text, true)
    }

    /// Turns ids back into text; `skip_special_tokens` drops tokens marked
    /// special (`<|im_end|>`, …).
    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String> {
        self.inner
            .decode(ids, skip_special_tokens)
            .map_err(|source| Error::Decode { source })
    }

    /// Decodes several id lists, in parallel.
    pub fn decode_batch(&self, ids: &[&[u32]], skip_special_tokens: bool) -> Result<Vec<String>> {
        self.inner
            .decode_batch(ids, skip_special_tokens)
            .map_err(|source| Error::Decode { source })
    }

    /// The ids that end a generation: the tokenizer's `eos_token`, then
    /// `generation_config.json`'s and `config.json`'s `eos_token_id`, without
    /// duplicates.
    pub fn eos_token_ids(&self) -> &[u32] {
        &self.eos_token_ids
    }

    /// The padding id: `pad_token`, else `generation_config.json`'s
    /// `pad_token_id`.
    pub fn pad_token_id(&self) -> Option<u32> {
        self.pad_token_id
    }

    /// The id of `bos_token`, if the tokenizer has one.
    pub fn bos_token_id(&self) -> Option<u32> {
        self.bos_token_id
    }

    /// The id of a token, base or added.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The number of ids the tokenizer can produce, added tokens included.
    /// The model's embedding table may be larger (Qwen pads it).
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The named special tokens (`bos_token`, `eos_token`, …) as the chat
    /// template sees them.
    pub fn special_tokens(&self) -> &Map<String, Json> {
        &self.special_tokens
    }

    /// The chat templates (none, one, or several by name).
    pub fn chat_templates(&self) -> &ChatTemplates {
        &self.templates
    }

    /// Whether chat messages can be rendered.
    pub fn has_chat_template(&self) -> bool {
        !self.templates.is_empty()
    }

    /// Renders messages with the chat template, as transformers'
    /// `apply_chat_template(messages, tools=tools, add_generation_prompt=…,
    /// tokenize=False)`.
    pub fn apply_chat_template(
        &self,
        messages: &[Json],
        tools: Option<&[Json]>,
        add_generation_prompt: bool,
    ) -> Result<String> {
        self.render_chat(
            messages,
            &ChatOptions {
                tools,
                add_generation_prompt,
                ..ChatOptions::default()
            },
        )
    }

    /// [`apply_chat_template`](Self::apply_chat_template) with every option.
    pub fn render_chat(&self, messages: &[Json], options: &ChatOptions<'_>) -> Result<String> {
        let template = self
            .templates
            .select(options.template_name, options.tools.is_some())?
            .ok_or_else(|| Error::NoChatTemplate {
                dir: self.dir.clone(),
            })?;
        let mut variables = self.special_tokens.clone();
        variables.extend(
            options
                .variables
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        template.render(&ChatContext {
            messages,
            tools: options.tools,
            documents: options.documents,
            add_generation_prompt: options.add_generation_prompt,
            variables,
        })
    }

    /// The token ids of a chat prompt, equal to transformers'
    /// `apply_chat_template(..., tokenize=True)`.
    pub fn encode_chat(
        &self,
        messages: &[Json],
        tools: Option<&[Json]>,
        add_generation_prompt: bool,
    ) -> Result<Vec<u32>> {
        self.encode(
            &self.apply_chat_template(messages, tools, add_generation_prompt)?,
            false,
        )
    }

    /// [`encode_chat`](Self::encode_chat) with every option.
    pub fn encode_chat_with(
        &self,
        messages: &[Json],
        options: &ChatOptions<'_>,
    ) -> Result<Vec<u32>> {
        self.encode(&self.render_chat(messages, options)?, false)
    }
}
