//! Prompts that fit: each training and validation prompt is measured in
//! the model's tokens (through its chat template, as the trainer encodes
//! it) before anything is allocated, and one that is too long is skipped
//! with its reason in the data report, or cut with `--truncate-prompts`.
//! Then the memory one batch needs is estimated and compared with the
//! machine's.
//!
//! A prompt may have at most the smaller of `--max-prompt-length` and the
//! model's context (`max_position_embeddings` in its `config.json`) less
//! `--max-completion-length` tokens: the completion is generated after it
//! in the same context.

use anyhow::{bail, Context, Result};
use grpo::config::TrainConfig;
use grpo::trainer::Objective;
use grpo_dataset::{Issue, IssueKind, Loaded};
use grpo_policy::policy::Policy;
use serde_json::Value;

/// How long a prompt may be, and what to do with a longer one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The model's context in tokens, when its `config.json` says.
    pub context: Option<usize>,
    /// `max_completion_length`.
    pub completion: usize,
    /// `max_prompt_length`.
    pub max_prompt: Option<usize>,
    /// `truncate_prompts`.
    pub truncate: bool,
    /// `--strict`: a prompt too long is an error, not a skipped record.
    pub strict: bool,
}

impl Limits {
    /// The limits of a run of `config` on `policy`; an error when the
    /// completion budget alone fills the model's context.
    pub fn new(policy: &Policy, config: &TrainConfig, strict: bool) -> Result<Self> {
        let limits = Self {
            context: context_length(policy),
            completion: config.max_completion_length,
            max_prompt: config.max_prompt_length,
            truncate: config.truncate_prompts,
            strict,
        };
        if let Some(context) = limits.context {
            if limits.completion >= context {
                bail!(
                    "max_completion_length {} leaves no room for a prompt in the model's context of {context} tokens (max_position_embeddings in {}); lower --max-completion-length",
                    limits.completion,
                    policy.dir.join("config.json").display()
                );
            }
        }
        Ok(limits)
    }

    /// The most tokens a prompt may have.
    pub fn prompt_limit(&self) -> usize {
        let by_context = self
            .context
            .map_or(usize::MAX, |c| c.saturating_sub(self.completion));
        by_context.min(self.max_prompt.unwrap_or(usize::MAX))
    }

    /// Why a prompt of `len` is refused, or `None` when it fits.
    pub fn refusal(&self, len: Length) -> Option<String> {
        let n = len.tokens;
        if n <= self.prompt_limit() {
            return None;
        }
        let at_least = if len.exact { "" } else { "at least " };
        let fix = "or pass --truncate-prompts to keep its last tokens";
        match self.context {
            Some(context) if n.saturating_add(self.completion) > context => Some(format!(
                "{at_least}{n} tokens (chat template included); with max_completion_length {} that is {at_least}{}, over the model's context of {context} tokens (max_position_embeddings); shorten it, lower --max-completion-length, {fix}",
                self.completion,
                n.saturating_add(self.completion)
            )),
            _ => Some(format!(
                "{at_least}{n} tokens (chat template included), over --max-prompt-length {}; shorten it, raise --max-prompt-length, {fix}",
                self.max_prompt.unwrap_or(0)
            )),
        }
    }
}

/// A prompt's length in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Length {
    /// Its tokens, or a lower bound of them.
    pub tokens: usize,
    /// Whether `tokens` is the count, not a bound.
    pub exact: bool,
}

impl Length {
    fn exact(tokens: usize) -> Self {
        Self {
            tokens,
            exact: true,
        }
    }
}

/// Bytes of a text tokenized to decide whether it is over `limit` tokens:
/// far more than `limit` tokens take (tokenizing a 50 MB prompt whole
/// takes gigabytes and a minute).
fn window(limit: usize) -> usize {
    limit.saturating_mul(16).saturating_add(4096)
}

/// Tokens a cut at a space may change (the piece at the cut).
const MARGIN: usize = 8;

/// The chat prompt's length: counted, or for a text much longer than the
/// window, a lower bound from its start when that already exceeds `limit`.
fn prompt_length(policy: &Policy, prompt: &str, limit: usize) -> Result<Length> {
    let window = window(limit);
    if prompt.len() > window.saturating_mul(2) {
        if let Some(cut) = space_near(prompt, window) {
            let n = policy.prompt_tokens(&prompt[..cut])?.len();
            if n > limit.saturating_add(MARGIN) {
                return Ok(Length {
                    tokens: n - MARGIN,
                    exact: false,
                });
            }
        }
    }
    Ok(Length::exact(policy.prompt_tokens(prompt)?.len()))
}

/// The byte index of a whitespace character at most 1 KiB before `at`
/// (cutting there leaves the words before it as they are).
fn space_near(text: &str, at: usize) -> Option<usize> {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let found = text[..at].rfind(char::is_whitespace)?;
    (at - found <= 1024).then_some(found)
}

/// `max_position_embeddings` of the model's `config.json` (or of its
/// `text_config`), when it has one.
fn context_length(policy: &Policy) -> Option<usize> {
    let text = std::fs::read_to_string(policy.dir.join("config.json")).ok()?;
    let config: Value = serde_json::from_str(&text).ok()?;
    let key = "max_position_embeddings";
    config
        .get(key)
        .or_else(|| config.get("text_config").and_then(|t| t.get(key)))
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n > 0)
}

/// What [`fit`] did to a data set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fitted {
    /// Prompts cut to the limit.
    pub truncated: usize,
    /// The longest prompt kept, in tokens.
    pub longest: usize,
    /// The most tokens a prompt could have.
    pub limit: usize,
}

/// Measures every prompt of `loaded` and skips (into its report, as
/// `prompt_too_long`) or cuts those over the limits. `max_issues`: how many
/// skipped records the report keeps verbatim.
pub fn fit(
    policy: &Policy,
    loaded: &mut Loaded,
    limits: &Limits,
    max_issues: usize,
) -> Result<Fitted> {
    let limit = limits.prompt_limit();
    let mut fitted = Fitted {
        limit,
        ..Fitted::default()
    };
    let mut keep = Vec::with_capacity(loaded.examples.len());
    let path = loaded.report.path.clone();
    for (ex, &line) in loaded.examples.iter_mut().zip(&loaded.lines) {
        let (field, len) = match &ex.messages {
            Some(messages) => {
                let messages: Vec<Value> = messages
                    .iter()
                    .map(|m| serde_json::to_value(m).expect("messages serialize"))
                    .collect();
                (
                    "messages",
                    Length::exact(policy.chat_tokens(&messages)?.len()),
                )
            }
            None => ("prompt", prompt_length(policy, &ex.prompt, limit)?),
        };
        let Some(mut reason) = limits.refusal(len) else {
            fitted.longest = fitted.longest.max(len.tokens);
            keep.push(true);
            continue;
        };
        if limits.truncate {
            if field == "prompt" {
                if let Some((text, cut)) = keep_last_tokens(policy, &ex.prompt, limit)? {
                    ex.prompt = text;
                    fitted.truncated += 1;
                    fitted.longest = fitted.longest.max(cut);
                    keep.push(true);
                    continue;
                }
                reason.push_str(" (--truncate-prompts: the chat template alone is too long)");
            } else {
                reason.push_str(" (--truncate-prompts cuts `prompt`, not `messages`)");
            }
        }
        let issue = Issue::new(
            &path,
            line,
            Some(field),
            IssueKind::PromptTooLong,
            format!("is {reason}"),
        );
        if limits.strict {
            bail!("{issue} (--strict)");
        }
        loaded.report.skip(issue, max_issues);
        keep.push(false);
    }
    let mut flags = keep.iter();
    loaded
        .examples
        .retain(|_| *flags.next().expect("one flag per example"));
    let mut flags = keep.iter();
    loaded
        .lines
        .retain(|_| *flags.next().expect("one flag per line"));
    if loaded.examples.is_empty() {
        let first = loaded
            .report
            .issues
            .iter()
            .find(|i| i.kind == IssueKind::PromptTooLong)
            .map(|i| format!(": {i}"))
            .unwrap_or_default();
        bail!(
            "no prompt of {} fits in {limit} tokens{first}",
            path.display()
        );
    }
    Ok(fitted)
}

/// The end of `prompt` that makes a chat prompt of at most `limit` tokens,
/// and its length; `None` when even an empty prompt is longer.
///
/// The prompt's own tokens are cut from the left and decoded back to text,
/// so that the chat template still frames what is left; the re-encoded
/// text can differ by a token at the cut, hence the few tries.
fn keep_last_tokens(
    policy: &Policy,
    prompt: &str,
    limit: usize,
) -> Result<Option<(String, usize)>> {
    // Only the end of a very long text is tokenized, when it has enough.
    let window = window(limit);
    let mut tokens = None;
    if prompt.len() > window.saturating_mul(2) {
        if let Some(start) = space_near(prompt, prompt.len() - window) {
            let tail = policy.tokenizer.encode(&prompt[start..], false)?;
            if tail.len() > limit.saturating_add(MARGIN) {
                tokens = Some(tail);
            }
        }
    }
    let tokens = match tokens {
        Some(t) => t,
        None => policy.tokenizer.encode(prompt, false)?,
    };
    let overhead = policy.prompt_tokens("")?.len();
    let mut keep = limit.saturating_sub(overhead).min(tokens.len());
    for _ in 0..8 {
        if keep == 0 {
            return Ok(None);
        }
        let text = policy
            .tokenizer
            .decode(&tokens[tokens.len() - keep..], false)?;
        let n = policy.prompt_tokens(&text)?.len();
        if n <= limit {
            return Ok(Some((text, n)));
        }
        keep = keep.saturating_sub(n - limit);
    }
    Ok(None)
}

/// A lower bound of the memory one training batch takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMemory {
    /// Sequences in one batch (prompts × completions per prompt).
    pub rows: usize,
    /// Tokens per sequence: the longest prompt and the completion budget.
    pub tokens: usize,
    /// The key/value cache of every layer for `rows × tokens`.
    pub kv_cache: u64,
    /// The completions' logits over the vocabulary (f32).
    pub logits: u64,
    /// The model's weights (its safetensors files).
    pub weights: u64,
}

impl BatchMemory {
    /// The estimate for a run of `config` whose longest prompt has
    /// `longest_prompt` tokens.
    pub fn estimate(
        policy: &Policy,
        config: &TrainConfig,
        objective: Objective,
        longest_prompt: usize,
    ) -> Self {
        let c = policy.model.config();
        let rows = match objective {
            Objective::Grpo => config.batch_size.saturating_mul(config.group_size),
            Objective::Sft => config.batch_size,
        };
        let tokens = longest_prompt.saturating_add(config.max_completion_length);
        let dim = |v: i32| u64::try_from(v.max(0)).unwrap_or(0);
        let element = element_bytes(policy);
        let cells = (rows as u64).saturating_mul(tokens as u64);
        let kv_cache = cells
            .saturating_mul(2 * dim(c.num_hidden_layers))
            .saturating_mul(dim(c.num_key_value_heads) * dim(c.head_dim))
            .saturating_mul(element);
        let logits = (rows as u64)
            .saturating_mul(config.max_completion_length as u64)
            .saturating_mul(dim(c.vocab_size))
            .saturating_mul(4);
        Self {
            rows,
            tokens,
            kv_cache,
            logits,
            weights: weights_bytes(policy),
        }
    }

    /// All of it.
    pub fn total(&self) -> u64 {
        self.kv_cache
            .saturating_add(self.logits)
            .saturating_add(self.weights)
    }

    /// An error when the batch cannot fit in `physical` bytes.
    pub fn check(&self, physical: Option<u64>, config: &TrainConfig) -> Result<()> {
        let Some(physical) = physical else {
            return Ok(());
        };
        if self.total() <= physical {
            return Ok(());
        }
        bail!(
            "one batch needs at least {} of memory but this machine has {}: {} sequences (batch_size {} × group_size {}) of up to {} tokens (longest prompt + max_completion_length {}) take {} of key/value cache and {} of logits, and the weights {}; lower --batch-size, --group-size, --max-completion-length or --max-prompt-length",
            gib(self.total()),
            gib(physical),
            self.rows,
            config.batch_size,
            config.group_size,
            self.tokens,
            config.max_completion_length,
            gib(self.kv_cache),
            gib(self.logits),
            gib(self.weights)
        );
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// Bytes per activation: 4 for a float32 checkpoint, else 2 (bf16/f16).
fn element_bytes(policy: &Policy) -> u64 {
    let dtype = std::fs::read_to_string(policy.dir.join("config.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|c| {
            c.get("torch_dtype")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    match dtype.as_deref() {
        Some("float32") => 4,
        _ => 2,
    }
}

fn weights_bytes(policy: &Policy) -> u64 {
    std::fs::read_dir(&policy.dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "safetensors"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// The machine's physical memory in bytes, when it can be read: `MemTotal`
/// of `/proc/meminfo` on Linux, `sysctl hw.memsize` on macOS.
pub fn physical_memory() -> Option<u64> {
    if let Ok(text) = std::fs::read_to_string("/proc/meminfo") {
        return parse_meminfo(&text);
    }
    if cfg!(target_os = "macos") {
        let out = std::process::Command::new("sysctl")
            .args(["-n", "hw.memsize"])
            .output()
            .ok()?;
        return String::from_utf8_lossy(&out.stdout).trim().parse().ok();
    }
    None
}

fn parse_meminfo(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The two checks before the trainer allocates anything: the prompts of
/// each data set (the report of each gets the skipped ones), then the
/// memory of a batch. Returns what was done to each data set.
pub fn check(
    policy: &Policy,
    config: &TrainConfig,
    objective: Objective,
    strict: bool,
    data: &mut [&mut Loaded],
    max_issues: usize,
) -> Result<Vec<Fitted>> {
    let limits = Limits::new(policy, config, strict)?;
    let fitted = data
        .iter_mut()
        .map(|loaded| fit(policy, loaded, &limits, max_issues))
        .collect::<Result<Vec<_>>>()?;
    let longest = fitted.iter().map(|f| f.longest).max().unwrap_or(0);
    BatchMemory::estimate(policy, config, objective, longest)
        .check(physical_memory(), config)
        .context("checking the memory a batch needs")?;
    Ok(fitted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(context: Option<usize>, max_prompt: Option<usize>) -> Limits {
        Limits {
            context,
            completion: 100,
            max_prompt,
            truncate: false,
            strict: false,
        }
    }

    #[test]
    fn a_prompt_must_leave_room_for_the_completion_and_obey_the_flag() {
        let exact = Length::exact;
        let l = limits(Some(1000), None);
        assert_eq!(l.prompt_limit(), 900);
        assert_eq!(l.refusal(exact(900)), None);
        let why = l.refusal(exact(901)).unwrap();
        assert!(why.contains("901 tokens"), "{why}");
        assert!(why.contains("that is 1001"), "{why}");
        assert!(why.contains("max_position_embeddings"), "{why}");
        let l = limits(Some(1000), Some(500));
        assert_eq!(l.prompt_limit(), 500);
        let why = l.refusal(exact(600)).unwrap();
        assert!(why.contains("--max-prompt-length 500"), "{why}");
        // Over both: the context is the reason given.
        assert!(l.refusal(exact(950)).unwrap().contains("context"));
        assert_eq!(limits(None, None).refusal(exact(usize::MAX / 2)), None);
        let bound = Length {
            tokens: 5000,
            exact: false,
        };
        let why = l.refusal(bound).unwrap();
        assert!(why.contains("at least 5000 tokens"), "{why}");
    }

    #[test]
    fn a_long_text_is_cut_at_a_space_near_the_window() {
        assert_eq!(space_near("ab cd ef", 7), Some(5));
        assert_eq!(space_near("ab cd ef", 100), Some(5));
        assert_eq!(space_near("abcdef", 4), None);
        // Never inside a character.
        assert_eq!(space_near("a é", 3), Some(1));
        let long = "x".repeat(5000);
        assert_eq!(space_near(&format!("a {long}"), 3000), None, "too far back");
    }

    #[test]
    fn memory_total_comes_from_meminfo() {
        let text = "MemTotal:       131072000 kB\nMemFree:  1 kB\n";
        assert_eq!(parse_meminfo(text), Some(131072000 * 1024));
        assert_eq!(parse_meminfo("nothing"), None);
    }

    #[test]
    fn a_batch_over_the_machine_names_the_settings_to_lower() {
        let m = BatchMemory {
            rows: 128,
            tokens: 10_000,
            kv_cache: 3 << 30,
            logits: 2 << 30,
            weights: 1 << 30,
        };
        let config = TrainConfig::default();
        assert!(m.check(Some(7 << 30), &config).is_ok());
        assert!(m.check(None, &config).is_ok(), "unknown memory: no check");
        let err = m.check(Some(4 << 30), &config).unwrap_err().to_string();
        assert!(err.contains("6.0 GiB") && err.contains("4.0 GiB"), "{err}");
        for flag in ["--batch-size", "--group-size", "--max-completion-length"] {
            assert!(err.contains(flag), "{err}");
        }
    }
}
