//! The policy facade: a model directory (or Hugging Face repo id) loaded
//! with its tokenizer and, optionally, adapters.

use std::path::{Path, PathBuf};

use mlx_rs::Array;
use serde_json::{json, Value};

use crate::adapters::{self, AdapterConfig};
use crate::error::{Error, Result};
use crate::generate::{continue_rows, generate, generate_continuable, GenerateOptions, Generation};
use crate::hub::{DownloadProgress, Hub, StderrProgress};
use crate::mode::Mode;
use crate::models::transformer::Transformer;
use crate::row_cache::RowCache;
use crate::tokenizer::Tokenizer;

/// A causal language model with its tokenizer.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The network.
    pub model: Transformer,
    /// Its tokenizer and chat template.
    pub tokenizer: Tokenizer,
    /// Where it was loaded from.
    pub dir: PathBuf,
    /// The adapters applied, if any.
    pub adapters: Option<AdapterConfig>,
}

impl Policy {
    /// Loads a model directory, or a Hugging Face repo id from the local
    /// cache or, when not there, the Hub (see [`resolve_model`]).
    pub fn load(model: &str) -> Result<Self> {
        Self::load_from_dir(resolve_model(model)?)
    }

    /// [`load`](Self::load) with explicit Hub settings and progress
    /// reporting (see [`resolve_model_with`]).
    pub fn load_with(model: &str, hub: &Hub, progress: &mut dyn DownloadProgress) -> Result<Self> {
        Self::load_from_dir(resolve_model_with(model, hub, progress)?)
    }

    fn load_from_dir(dir: PathBuf) -> Result<Self> {
        Ok(Self {
            model: Transformer::load(&dir)?,
            tokenizer: Tokenizer::from_dir(&dir)?,
            dir,
            adapters: None,
        })
    }

    /// Adds fresh adapters (or, for full fine-tuning, nothing).
    pub fn add_adapters(&mut self, config: &AdapterConfig, seed: u64) -> Result<()> {
        adapters::apply(&mut self.model, config, seed)?;
        self.adapters = Some(config.clone());
        Ok(())
    }

    /// Applies the adapters saved in `dir` (by mlx-grpo or mlx-lm).
    pub fn load_adapters(&mut self, dir: &Path) -> Result<()> {
        self.adapters = Some(adapters::load(dir, &mut self.model)?);
        Ok(())
    }

    /// The token ids of a prompt, as the model should see it: a user turn
    /// through the chat template when the tokenizer has one (as mlx-lm's
    /// training does), else the plain text.
    pub fn prompt_tokens(&self, prompt: &str) -> Result<Vec<u32>> {
        self.chat_tokens(&[json!({"role": "user", "content": prompt})])
    }

    /// The token ids of a conversation ending where the assistant answers.
    pub fn chat_tokens(&self, messages: &[Value]) -> Result<Vec<u32>> {
        if self.tokenizer.has_chat_template() {
            self.tokenizer.encode_chat(messages, None, true)
        } else {
            let text: Vec<&str> = messages
                .iter()
                .filter_map(|m| m.get("content").and_then(Value::as_str))
                .collect();
            self.tokenizer.encode(&text.join("\n\n"), true)
        }
    }

    /// The tokens of `answer` as the assistant turn after `prompt` (the
    /// prompt's tokens, generation header included), up to and including the
    /// first end-of-sequence token: what supervised fine-tuning teaches.
    /// With a chat template, the conversation with the answer is rendered
    /// and must extend the prompt's tokens exactly.
    pub fn answer_tokens(&self, prompt: &[u32], answer: &str) -> Result<Vec<u32>> {
        let eos = self.tokenizer.eos_token_ids();
        let Some(&first_eos) = eos.first() else {
            return Err(Error::config(
                "tokenizer",
                "no end-of-sequence token (generation_config.json or tokenizer_config.json)",
            ));
        };
        let mut out = if self.tokenizer.has_chat_template() {
            let text = self.tokenizer.decode(prompt, false)?;
            let full = self.tokenizer.encode(&format!("{text}{answer}"), false)?;
            if !full.starts_with(prompt) {
                return Err(Error::config(
                    "chat template",
                    "the prompt's tokens change when the answer is appended; cannot mask the prompt",
                ));
            }
            full[prompt.len()..].to_vec()
        } else {
            self.tokenizer.encode(answer, false)?
        };
        out.push(first_eos);
        Ok(out)
    }

    /// Generation settings that stop at the tokenizer's end-of-sequence
    /// tokens.
    fn options(
        &self,
        group_size: usize,
        max_tokens: usize,
        sampler: crate::sample::Sampler,
    ) -> GenerateOptions<'_> {
        GenerateOptions {
            group_size,
            max_tokens,
            sampler,
            eos: self.tokenizer.eos_token_ids(),
            stop: None,
        }
    }

    /// Batched group generation (see [`generate`]), stopping at the
    /// tokenizer's end-of-sequence tokens.
    pub fn generate(
        &self,
        prompts: &[Vec<u32>],
        group_size: usize,
        max_tokens: usize,
        sampler: crate::sample::Sampler,
        key: &Array,
    ) -> Result<Generation> {
        let opts = self.options(group_size, max_tokens, sampler);
        generate(&self.model, prompts, &opts, key, &Mode::inference())
    }

    /// [`Policy::generate`], keeping each row's cache to continue it
    /// ([`generate_continuable`](crate::generate::generate_continuable)).
    pub fn generate_continuable(
        &self,
        prompts: &[Vec<u32>],
        group_size: usize,
        max_tokens: usize,
        sampler: crate::sample::Sampler,
        key: &Array,
    ) -> Result<(Generation, Vec<RowCache>)> {
        let opts = self.options(group_size, max_tokens, sampler);
        generate_continuable(&self.model, prompts, &opts, key, &Mode::inference())
    }

    /// Continues `rows` with `new_tokens[r]` each and samples on, stopping
    /// at the tokenizer's end-of-sequence tokens
    /// ([`continue_rows`](crate::generate::continue_rows)).
    pub fn continue_rows(
        &self,
        rows: Vec<RowCache>,
        new_tokens: &[Vec<u32>],
        max_tokens: usize,
        sampler: crate::sample::Sampler,
        key: &Array,
    ) -> Result<(Generation, Vec<RowCache>)> {
        let opts = self.options(1, max_tokens, sampler);
        continue_rows(
            &self.model,
            rows,
            new_tokens,
            &opts,
            key,
            &Mode::inference(),
        )
    }

    /// Completion texts, special tokens (the end-of-sequence token) removed.
    pub fn decode(&self, completions: &[Vec<u32>]) -> Result<Vec<String>> {
        completions
            .iter()
            .map(|c| self.tokenizer.decode(c, true))
            .collect()
    }
}

/// A model directory from a path or a Hugging Face repo id.
///
/// A path that exists is used as is. Otherwise `ORG/NAME` is a repo on the
/// Hugging Face Hub, found in or downloaded into the local Hugging Face cache
/// as [`Hub::resolve`] does, with the settings of the environment
/// ([`HubSettings::from_env`](crate::hub::HubSettings::from_env): `HF_HOME`,
/// `HF_HUB_CACHE`, `HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_OFFLINE`) and the
/// download's progress on standard error.
pub fn resolve_model(model: &str) -> Result<PathBuf> {
    resolve_model_with(model, &Hub::from_env(), &mut StderrProgress::new())
}

/// [`resolve_model`] with explicit Hub settings and progress reporting.
pub fn resolve_model_with(
    model: &str,
    hub: &Hub,
    progress: &mut dyn DownloadProgress,
) -> Result<PathBuf> {
    let path = Path::new(model);
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    hub.resolve(model, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_ids_resolve_through_the_cache() {
        let cache = tempfile::tempdir().unwrap();
        let repo = cache.path().join("models--org--tiny");
        std::fs::create_dir_all(repo.join("snapshots/abc123")).unwrap();
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs/main"), "abc123\n").unwrap();
        // Safe in this test binary: no other test reads the environment's
        // Hub settings (the hub module's tests pass theirs explicitly).
        // Offline, so that the snapshot (empty here) is used as it is and
        // an absent model fails without a network.
        std::env::set_var("HF_HUB_CACHE", cache.path());
        std::env::set_var("HF_HUB_OFFLINE", "1");
        assert_eq!(
            resolve_model("org/tiny").unwrap(),
            repo.join("snapshots/abc123")
        );
        let err = resolve_model("org/absent").unwrap_err().to_string();
        assert!(err.contains("huggingface-cli download org/absent"), "{err}");
        std::env::remove_var("HF_HUB_CACHE");
        std::env::remove_var("HF_HUB_OFFLINE");
    }
}
