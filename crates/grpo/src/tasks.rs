//! Examples made ready for a policy: prompt tokens, expected answers and
//! kinds, computed once before training or evaluation.

use grpo_dataset::Example;
use grpo_policy::policy::Policy;
use grpo_rewards::Reference;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::eval::EvalExample;

/// Tokenized prompts with what their answers are compared against.
#[derive(Debug, Clone)]
pub struct TaskSet {
    /// Prompt token ids (chat template applied).
    pub prompts: Vec<Vec<u32>>,
    /// Expected answer of each prompt.
    pub references: Vec<Reference>,
    /// Expected answer text of each prompt.
    pub answers: Vec<String>,
    /// Kind of each example (`single`, `parallel`, `irrelevance`, …).
    pub kinds: Vec<String>,
    /// The answer's tokens as the assistant turn that follows each prompt,
    /// end-of-turn token included (supervised fine-tuning only).
    pub targets: Option<Vec<Vec<u32>>>,
}

impl TaskSet {
    /// Tokenizes every example's prompt (or its `messages`) and parses its
    /// answer. `what` names the data in errors (`training data`, …).
    pub fn prepare(policy: &Policy, examples: &[Example], what: &'static str) -> Result<Self> {
        Self::prepare_with_tools(policy, examples, what, None)
    }

    /// [`prepare`](Self::prepare) for multi-turn rollouts with tool
    /// servers: an example that lists no functions (none in its record,
    /// none found in its prompt) gets `schemas`, the servers' tools,
    /// through the chat template's `tools` argument. One that lists them
    /// keeps its prompt as written, so data in the guide's in-prompt form
    /// is seen as it was trained on.
    pub fn prepare_with_tools(
        policy: &Policy,
        examples: &[Example],
        what: &'static str,
        schemas: Option<&[Value]>,
    ) -> Result<Self> {
        let mut set = Self {
            prompts: Vec::with_capacity(examples.len()),
            references: Vec::with_capacity(examples.len()),
            answers: Vec::with_capacity(examples.len()),
            kinds: Vec::with_capacity(examples.len()),
            targets: None,
        };
        for (i, ex) in examples.iter().enumerate() {
            let messages: Vec<Value> = match &ex.messages {
                Some(messages) => messages
                    .iter()
                    .map(|m| serde_json::to_value(m).expect("messages serialize"))
                    .collect(),
                None => vec![json!({"role": "user", "content": ex.prompt})],
            };
            let tokens = match schemas {
                Some(schemas) if ex.tools.is_none() && policy.tokenizer.has_chat_template() => {
                    policy
                        .tokenizer
                        .encode_chat(&messages, Some(schemas), true)?
                }
                _ => policy.chat_tokens(&messages)?,
            };
            let reference = ex.reference().map_err(|e| Error::InvalidData {
                what,
                message: format!("example {}: its answer does not parse: {e}", i + 1),
            })?;
            set.prompts.push(tokens);
            set.references.push(reference);
            set.answers.push(ex.answer.clone());
            set.kinds.push(grpo_dataset::stats::kind_of(ex));
        }
        Ok(set)
    }

    /// Adds the answer tokens supervised fine-tuning learns (see
    /// [`Policy::answer_tokens`]).
    pub fn add_targets(&mut self, policy: &Policy, examples: &[Example]) -> Result<()> {
        let targets = examples
            .iter()
            .zip(&self.prompts)
            .map(|(ex, prompt)| policy.answer_tokens(prompt, &ex.answer))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        self.targets = Some(targets);
        Ok(())
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.prompts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.prompts.is_empty()
    }

    /// The first `limit` examples (all when 0) as evaluation inputs.
    pub fn eval_examples(&self, limit: usize) -> Vec<EvalExample<'_>> {
        let n = if limit == 0 {
            self.len()
        } else {
            limit.min(self.len())
        };
        (0..n)
            .map(|i| EvalExample {
                prompt: &self.prompts[i],
                reference: &self.references[i],
                answer: &self.answers[i],
                kind: &self.kinds[i],
            })
            .collect()
    }

    /// Longest prompt, in tokens.
    pub fn max_prompt_tokens(&self) -> usize {
        self.prompts.iter().map(Vec::len).max().unwrap_or(0)
    }
}
