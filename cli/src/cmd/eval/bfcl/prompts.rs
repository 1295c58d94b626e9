//! How a BFCL question becomes prompt tokens: the guide's prompt (the
//! functions as JSON in the user turn) or the chat template's `tools`.

use anyhow::{bail, Result};
use grpo_dataset::bfcl::template_tools;
use grpo_dataset::prompt::query_of;
use grpo_dataset::Example;
use grpo_policy::policy::Policy;
use serde_json::{json, Value};

/// Where the functions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompts {
    /// In the user turn, as the guide's prompt writes them (the default,
    /// and what the project trains on).
    InPrompt,
    /// Through the chat template's `tools` argument (`--tools-in-template`).
    ToolsInTemplate,
}

impl Prompts {
    /// The name written in the report and in every JSONL line.
    pub fn name(self) -> &'static str {
        match self {
            Prompts::InPrompt => "functions-in-prompt",
            Prompts::ToolsInTemplate => "tools-in-template",
        }
    }

    /// The words the report prints.
    pub fn describe(self) -> &'static str {
        match self {
            Prompts::InPrompt => {
                "functions in the prompt (the guide's prompt, the model's chat template)"
            }
            Prompts::ToolsInTemplate => "functions through the chat template's `tools` argument",
        }
    }

    /// Fails early when the model cannot take tools through its template.
    pub fn check(self, policy: &Policy) -> Result<()> {
        if self == Prompts::ToolsInTemplate && !policy.tokenizer.has_chat_template() {
            bail!(
                "--tools-in-template needs a chat template, and {} has none: leave the flag out to put the functions in the prompt",
                policy.dir.display()
            );
        }
        Ok(())
    }

    /// Whether the template writes the tools at all (it renders differently
    /// with them), so that a report never claims tools the model did not see.
    pub fn template_uses_tools(policy: &Policy, ex: &Example) -> Result<bool> {
        let messages = raw_turns(ex);
        let tools = template_tools(ex.tools.as_deref().unwrap_or_default());
        let with = policy
            .tokenizer
            .apply_chat_template(&messages, Some(&tools), true)?;
        let without = policy
            .tokenizer
            .apply_chat_template(&messages, None, true)?;
        Ok(with != without)
    }

    /// The prompt tokens of one converted BFCL example.
    pub fn tokens(self, policy: &Policy, ex: &Example) -> Result<Vec<u32>> {
        Ok(match self {
            Prompts::InPrompt => match &ex.messages {
                Some(messages) => {
                    let messages: Vec<Value> = messages
                        .iter()
                        .map(serde_json::to_value)
                        .collect::<Result<_, _>>()?;
                    policy.chat_tokens(&messages)?
                }
                None => policy.prompt_tokens(&ex.prompt)?,
            },
            Prompts::ToolsInTemplate => {
                let tools = template_tools(ex.tools.as_deref().unwrap_or_default());
                policy
                    .tokenizer
                    .encode_chat(&raw_turns(ex), Some(&tools), true)?
            }
        })
    }
}

/// The question's own turns: the last user turn holds the query alone,
/// without the guide's system text and function list.
fn raw_turns(ex: &Example) -> Vec<Value> {
    let mut turns: Vec<Value> = match &ex.messages {
        Some(messages) => messages
            .iter()
            .map(|m| json!({"role": m.role, "content": m.content}))
            .collect(),
        None => vec![json!({"role": "user", "content": ex.prompt})],
    };
    if let Some(last) = turns.iter_mut().rev().find(|m| m["role"] == "user") {
        let query = query_of(last["content"].as_str().unwrap_or_default()).to_owned();
        last["content"] = Value::from(query);
    }
    turns
}
