//! Reasoning blocks in completions: where they are, what the rewards see,
//! and `--enforce-thinking`.
//!
//! A completion may open with a reasoning block, `<think>` … `</think>` by
//! default (`--think-start`, `--think-end`). The block is never scored as
//! calls: the rewards see the completion with its leading block written in
//! the default tags, which the rewards parser skips (see
//! [`Thinking::scored_text`]). A chat template may open the block in the
//! prompt (Qwen3, DeepSeek-R1 end the generation prompt with `<think>`);
//! then the completion starts inside it.
//!
//! With `--enforce-thinking true`, a completion earns rewards only when it
//! opens with a closed reasoning block: every reward of one that does not is
//! 0 (a gate on the whole reward, so whatever the reward functions, a
//! completion without reasoning never beats one with it).

use std::borrow::Cow;

/// The default opening tag (what the rewards parser recognises).
pub const THINK_START: &str = "<think>";
/// The default closing tag.
pub const THINK_END: &str = "</think>";

/// The reasoning block's tags, and whether completions must open with one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thinking {
    /// Opening tag.
    pub start: String,
    /// Closing tag.
    pub end: String,
    /// Whether completions without a leading closed block lose their rewards.
    pub enforce: bool,
}

impl Default for Thinking {
    fn default() -> Self {
        Self {
            start: THINK_START.into(),
            end: THINK_END.into(),
            enforce: false,
        }
    }
}

/// The state of a completion's reasoning block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    /// No reasoning block.
    None,
    /// A block that opens the completion (after whitespace, or in the
    /// prompt) and is closed.
    Leading,
    /// A closed block somewhere after the completion's start.
    Later,
    /// A block that is never closed: the text from its start on is
    /// reasoning.
    Unclosed,
}

impl Thinking {
    /// Where the reasoning block of `text` is. `opened_in_prompt`: the prompt
    /// ends with the opening tag, so `text` starts inside the block.
    ///
    /// ```
    /// use grpo::thinking::{Block, Thinking};
    ///
    /// let t = Thinking::default();
    /// assert_eq!(t.block("<think>hmm</think>\nf(x=1)", false), Block::Leading);
    /// assert_eq!(t.block("f(x=1)", false), Block::None);
    /// assert_eq!(t.block("hmm, the user wants", true), Block::Unclosed);
    /// assert_eq!(t.block("hmm</think>f(x=1)", true), Block::Leading);
    /// ```
    pub fn block(&self, text: &str, opened_in_prompt: bool) -> Block {
        if opened_in_prompt {
            return if text.contains(&self.end) {
                Block::Leading
            } else {
                Block::Unclosed
            };
        }
        let Some(open) = text.find(&self.start) else {
            return Block::None;
        };
        let after = &text[open + self.start.len()..];
        if !after.contains(&self.end) {
            Block::Unclosed
        } else if text[..open].trim().is_empty() {
            Block::Leading
        } else {
            Block::Later
        }
    }

    /// Whether the completion earns its rewards: always without
    /// enforcement, else only when it opens with a closed block.
    pub fn passes(&self, text: &str, opened_in_prompt: bool) -> bool {
        !self.enforce || self.block(text, opened_in_prompt) == Block::Leading
    }

    /// The text the rewards score: `text` with its leading reasoning block
    /// written in the default tags (opening tag prepended when the prompt
    /// opened the block), so that the rewards parser skips it whatever the
    /// configured tags. Anything else is left as is.
    ///
    /// ```
    /// use grpo::thinking::Thinking;
    ///
    /// let t = Thinking { start: "<reasoning>".into(), end: "</reasoning>".into(), enforce: true };
    /// assert_eq!(
    ///     t.scored_text("<reasoning>call f</reasoning>\nf(x=1)", false),
    ///     "<think>call f</think>\nf(x=1)"
    /// );
    /// let qwen3 = grpo::thinking::Thinking::default();
    /// assert_eq!(qwen3.scored_text("f(x=2)?</think>f(x=1)", true), "<think>f(x=2)?</think>f(x=1)");
    /// ```
    pub fn scored_text<'a>(&self, text: &'a str, opened_in_prompt: bool) -> Cow<'a, str> {
        let default_tags = self.start == THINK_START && self.end == THINK_END;
        let (lead, body) = if opened_in_prompt {
            ("", text)
        } else {
            let trimmed = text.trim_start();
            match trimmed.strip_prefix(self.start.as_str()) {
                Some(body) if !default_tags => (&text[..text.len() - trimmed.len()], body),
                _ => return Cow::Borrowed(text),
            }
        };
        let inner = match body.find(&self.end) {
            Some(i) => format!("{}{THINK_END}{}", &body[..i], &body[i + self.end.len()..]),
            None => body.to_string(),
        };
        Cow::Owned(format!("{lead}{THINK_START}{inner}"))
    }

    /// Whether `prompt_text` (a prompt's decoded tail) leaves the
    /// completion inside a reasoning block.
    pub fn opened_by(&self, prompt_text: &str) -> bool {
        prompt_text.trim_end().ends_with(self.start.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grpo_rewards::{Reference, RewardSet};

    fn custom(enforce: bool) -> Thinking {
        Thinking {
            start: "<reasoning>".into(),
            end: "</reasoning>".into(),
            enforce,
        }
    }

    #[test]
    fn blocks_are_located() {
        let t = custom(false);
        assert_eq!(
            t.block("  <reasoning>x</reasoning>f()", false),
            Block::Leading
        );
        assert_eq!(
            t.block("f()\n<reasoning>x</reasoning>", false),
            Block::Later
        );
        assert_eq!(t.block("<reasoning>x", false), Block::Unclosed);
        assert_eq!(t.block("<think>x</think>", false), Block::None);
    }

    #[test]
    fn reasoning_is_never_scored_as_calls() {
        let rewards = RewardSet::new(&["tool_call_exact", "tool_call_format"], None).unwrap();
        let reference = Reference::from_answer("f(x=1)").unwrap();
        let score = |t: &Thinking, text: &str, opened: bool| {
            rewards
                .score(&t.scored_text(text, opened), &reference)
                .values
        };
        // The call inside the custom block is reasoning, not an answer.
        let text = "<reasoning>\nf(x=1)\n</reasoning>\nf(x=2)";
        assert_eq!(score(&custom(false), text, false), [0.0, 1.0]);
        // Read without the tags, the same text holds both calls.
        assert_eq!(
            score(&Thinking::default(), text, false),
            [0.0, 0.0],
            "unknown tags are prose"
        );
        // A block opened by the prompt: the calls before the end tag are reasoning.
        assert_eq!(
            score(&Thinking::default(), "f(x=2)\n</think>\nf(x=1)", true),
            [1.0, 1.0]
        );
        assert_eq!(
            score(&Thinking::default(), "f(x=1)\nstill thinking", true),
            [0.0, 0.0],
            "an unclosed block has no answer"
        );
    }

    #[test]
    fn enforcement_gates_on_a_leading_closed_block() {
        let t = Thinking {
            enforce: true,
            ..Thinking::default()
        };
        assert!(t.passes("<think>ok</think>\nf(x=1)", false));
        assert!(!t.passes("f(x=1)", false));
        assert!(!t.passes("f(x=1)\n<think>late</think>", false));
        assert!(!t.passes("<think>never closed", false));
        assert!(t.passes("done</think>f(x=1)", true));
        assert!(Thinking::default().passes("f(x=1)", false));
    }

    #[test]
    fn prompts_that_open_the_block_are_recognised() {
        let t = Thinking::default();
        assert!(t.opened_by("<|im_start|>assistant\n<think>\n"));
        assert!(!t.opened_by("<|im_start|>assistant\n"));
    }
}
