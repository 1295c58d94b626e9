//! Multi-turn rollouts: the model calls tools, reads their results and
//! goes on, and GRPO trains on the whole trajectory.
//!
//! Each turn samples all unfinished rows in one batch. A row's calls are
//! parsed with grpo-rewards and executed through a [`ToolSet`], the calls
//! of all rows concurrently (each with the set's timeout); the results go
//! back as `tool` messages rendered by the chat template, and the row
//! samples on from its KV cache: only the new tokens (its last sampled
//! token, the template's tokens and the results) run through the model
//! ([`Policy::continue_rows`]). Rows that are done leave the batch, so a
//! turn costs what its unfinished rows cost.
//!
//! A row stops at a turn without calls, after `max_turns` turns, or when
//! the token budget is spent. The budget, `max_tokens` of the
//! [`RolloutConfig`] (`--max-completion-length`), counts the whole
//! trajectory after the prompt, tool results and template tokens
//! included: it bounds the sequence the loss is computed on, whatever the
//! tools return. A row whose tool results leave no room to answer ends
//! after the turn that made the calls.
//!
//! The completion of a row is its trajectory; everything it did not
//! sample is a forced range ([`Trajectory::push_given`]) and carries no
//! loss, no importance ratio and no KL.
//!
//! Rewards: the call rewards score the first turn, the one whose calls the
//! row's `answer` describes (a later turn that repeats a call would
//! otherwise count as an extra call); `final_answer` scores the last
//! message; custom rewards get the first turn's text and the whole
//! trajectory's tokens.

use std::time::Instant;

use grpo_policy::generate::{FinishReason, Generation};
use grpo_policy::mlx_rs::{random, Array};
use grpo_policy::policy::Policy;
use grpo_policy::row_cache::RowCache;
use grpo_policy::sample::Sampler;
use grpo_policy::ChatOptions;
use grpo_rewards::{extract_function_calls, Reference, Reward, ToolCall};
use grpo_tools::{ToolOutput, ToolSet};
use serde_json::{json, Value};

use crate::advantages::group_relative;
use crate::error::{Error, Result};
use crate::rollout::{self, opened_in_prompt, PromptSet, Rollout, RolloutConfig};
use crate::thinking::{Block, Thinking};
use crate::tool_use::ToolUse;
use crate::trajectory::Trajectory;

/// Stands for the assistant's message when the template renders the
/// tokens that follow it; chosen so that no template or tool output
/// contains it.
const MESSAGE_MARK: &str = "\u{27e6}mlx-grpo assistant message\u{27e7}";

/// The tools of a multi-turn rollout and how many turns a row may take.
#[derive(Debug, Clone, Copy)]
pub struct MultiTurn<'a> {
    /// The servers that execute the calls.
    pub tools: &'a ToolSet,
    /// The model's turns per row at most (at least 1).
    pub max_turns: usize,
    /// The tools in the chat template's `tools` form, for templates that
    /// render tool messages differently when tools are declared; `None`
    /// when the prompts list the functions themselves.
    pub schemas: Option<&'a [Value]>,
}

/// Samples `group_size` trajectories for every prompt (see the module
/// docs), scores them and derives group-relative advantages.
pub fn collect(
    policy: &Policy,
    prompts: PromptSet<'_>,
    config: RolloutConfig<'_>,
    turns: MultiTurn<'_>,
    key: &Array,
) -> Result<Rollout> {
    if turns.max_turns == 0 {
        return Err(Error::InvalidConfig {
            field: "max_turns",
            message: "must be at least 1".into(),
        });
    }
    if !prompts.scaffolds.is_empty() || config.recovery.is_some() {
        return Err(Error::InvalidConfig {
            field: "max_turns",
            message: "multi-turn rollouts do not combine with curriculum scaffolds or two-phase recovery; turn those off or set --max-turns 1".into(),
        });
    }
    if !policy.tokenizer.has_chat_template() {
        return Err(Error::InvalidConfig {
            field: "max_turns",
            message: "multi-turn rollouts render tool results with the chat template, and this tokenizer has none".into(),
        });
    }
    let start = Instant::now();
    let group = config.group_size;
    let opened = opened_in_prompt(policy, prompts.tokens, config.thinking)?;
    let trajectories = sample_trajectories(
        policy,
        prompts.tokens,
        Sampling {
            group_size: group,
            max_tokens: config.max_tokens,
            sampler: config.sampler,
            thinking: config.thinking,
        },
        &turns,
        &opened,
        key,
    )?;
    let generation_time = start.elapsed();
    score(
        policy,
        &prompts,
        &config,
        &opened,
        trajectories,
        generation_time,
        group,
    )
}

/// How the turns of a multi-turn rollout are sampled.
#[derive(Debug, Clone, Copy)]
pub struct Sampling<'a> {
    /// Trajectories per prompt.
    pub group_size: usize,
    /// Tokens per trajectory at most, tool turns included.
    pub max_tokens: usize,
    /// How each token is drawn.
    pub sampler: Sampler,
    /// Reasoning tags: calls are parsed from the text after the reasoning.
    pub thinking: &'a Thinking,
}

/// Runs the turns of every row (`group_size` rows per prompt,
/// prompt-major): what [`collect`] scores, and what evaluation reads.
/// `opened[p]`: whether prompt `p` leaves its answers inside a reasoning
/// block.
pub fn sample_trajectories(
    policy: &Policy,
    prompts: &[Vec<u32>],
    config: Sampling<'_>,
    turns: &MultiTurn<'_>,
    opened: &[bool],
    key: &Array,
) -> Result<Vec<Trajectory>> {
    let group = config.group_size;
    let rows = prompts.len() * group;
    let budget = config.max_tokens;
    let mut trajectories = vec![Trajectory::default(); rows];
    let (mut key, sub) = split(key)?;
    let (mut generation, caches) =
        policy.generate_continuable(prompts, group, budget, config.sampler, &sub)?;
    let mut caches: Vec<Option<RowCache>> = caches.into_iter().map(Some).collect();
    // `live[i]`: the row that entry i of `generation` and `caches` belongs to.
    let mut live: Vec<usize> = (0..rows).collect();
    loop {
        let calling = record_turn(
            policy,
            &config,
            turns,
            opened,
            &generation,
            &live,
            &mut trajectories,
        )?;
        if calling.is_empty() {
            break;
        }
        let all: Vec<ToolCall> = calling
            .iter()
            .flat_map(|(_, calls)| calls.iter().cloned())
            .collect();
        let outputs = turns.tools.call_batch(&all)?;
        let mut outputs = outputs.into_iter();
        let mut next_rows = Vec::new();
        let mut next_caches = Vec::new();
        let mut next_tokens = Vec::new();
        for (i, calls) in calling {
            let row = live[i];
            let results: Vec<ToolOutput> = outputs.by_ref().take(calls.len()).collect();
            let t = &mut trajectories[row];
            t.calls += calls.len();
            t.errors += results.iter().filter(|o| o.is_error()).count();
            let last = *generation.tokens[i]
                .last()
                .expect("a turn with calls has tokens");
            let given = tool_turn_tokens(policy, turns.schemas, &calls, &results, last)?;
            if t.tokens.len() + given.len() >= budget {
                // No room left to answer: the row ends with its calls.
                t.finish = FinishReason::Length;
                continue;
            }
            t.push_given(&given);
            let mut fed = Vec::with_capacity(given.len() + 1);
            fed.push(last);
            fed.extend_from_slice(&given);
            next_tokens.push(fed);
            next_caches.push(caches[i].take().expect("each row's cache is used once"));
            next_rows.push(row);
        }
        if next_rows.is_empty() {
            break;
        }
        let room = next_rows
            .iter()
            .map(|&r| budget - trajectories[r].tokens.len())
            .max()
            .unwrap_or(0);
        let (next, sub) = split(&key)?;
        key = next;
        let (g, c) = policy.continue_rows(next_caches, &next_tokens, room, config.sampler, &sub)?;
        generation = g;
        caches = c.into_iter().map(Some).collect();
        live = next_rows;
    }
    Ok(trajectories)
}

/// Appends the turn in `generation` to the trajectories of the `live` rows
/// (each cut to what its budget leaves) and returns the entries that go
/// on, with their parsed calls.
fn record_turn(
    policy: &Policy,
    config: &Sampling<'_>,
    turns: &MultiTurn<'_>,
    opened: &[bool],
    generation: &Generation,
    live: &[usize],
    trajectories: &mut [Trajectory],
) -> Result<Vec<(usize, Vec<ToolCall>)>> {
    let group = config.group_size;
    let mut calling = Vec::new();
    for (i, &row) in live.iter().enumerate() {
        let t = &mut trajectories[row];
        let room = config.max_tokens - t.tokens.len();
        let mut finish = generation.finish[i];
        let mut tokens = generation.tokens[i].as_slice();
        if tokens.len() > room {
            // The batch samples as far as its roomiest row may go.
            tokens = &tokens[..room];
            finish = FinishReason::Length;
        }
        let text = policy.tokenizer.decode(tokens, true)?;
        let n = tokens.len();
        t.push_turn(tokens, &generation.logprobs[i][..n], text, finish);
        if finish != FinishReason::Eos || t.turns() >= turns.max_turns {
            continue;
        }
        let scored = config
            .thinking
            .scored_text(t.last_message(), opened[row / group]);
        let calls = extract_function_calls(&scored).calls;
        if !calls.is_empty() {
            calling.push((i, calls));
        }
    }
    Ok(calling)
}

/// The tokens that follow an assistant turn that made `calls`: the end of
/// the turn, one `tool` message per result and the header of the next
/// assistant turn, as the chat template renders them.
///
/// The model's own end-of-turn token (`last`) is already in the
/// trajectory, so when the template's text after the message starts with
/// it, that much is left out.
pub fn tool_turn_tokens(
    policy: &Policy,
    schemas: Option<&[Value]>,
    calls: &[ToolCall],
    results: &[ToolOutput],
    last: u32,
) -> Result<Vec<u32>> {
    let mut messages = vec![
        json!({"role": "user", "content": "?"}),
        json!({"role": "assistant", "content": MESSAGE_MARK}),
    ];
    for (call, result) in calls.iter().zip(results) {
        messages.push(json!({"role": "tool", "name": call.name, "content": result.text}));
    }
    let text = policy.tokenizer.render_chat(
        &messages,
        &ChatOptions {
            tools: schemas,
            add_generation_prompt: true,
            ..ChatOptions::default()
        },
    )?;
    let Some(at) = text.find(MESSAGE_MARK) else {
        return Err(Error::InvalidConfig {
            field: "chat template",
            message: "it does not render an assistant message's content, so tool results cannot be placed after it".into(),
        });
    };
    let after = &text[at + MESSAGE_MARK.len()..];
    let end = policy.tokenizer.decode(&[last], false)?;
    let after = match after.strip_prefix(end.as_str()) {
        Some(rest) if policy.tokenizer.eos_token_ids().contains(&last) => rest,
        _ => after,
    };
    Ok(policy.tokenizer.encode(after, false)?)
}

/// Scores the trajectories and builds the rollout.
fn score(
    policy: &Policy,
    prompts: &PromptSet<'_>,
    config: &RolloutConfig<'_>,
    opened: &[bool],
    trajectories: Vec<Trajectory>,
    generation_time: std::time::Duration,
    group: usize,
) -> Result<Rollout> {
    let references: Vec<&Reference> = prompts
        .references
        .iter()
        .flat_map(|r| std::iter::repeat_n(*r, group))
        .collect();
    let first: Vec<String> = trajectories
        .iter()
        .enumerate()
        .map(|(row, t)| {
            let message = t.messages.first().map_or("", String::as_str);
            config
                .thinking
                .scored_text(message, opened[row / group])
                .into_owned()
        })
        .collect();
    let ids: Vec<&[u32]> = trajectories.iter().map(|t| t.tokens.as_slice()).collect();
    let mut scores = config
        .rewards
        .score_batch_with_ids(&first, &ids, &references)?;
    // The final answer is the conversation's last message, not its first.
    let last: Vec<_> = trajectories
        .iter()
        .enumerate()
        .map(|(row, t)| {
            config
                .thinking
                .scored_text(t.last_message(), opened[row / group])
        })
        .collect();
    config
        .rewards
        .rescore(&mut scores, Reward::FinalAnswer, &last, &references);
    let reasoned: Vec<bool> = trajectories
        .iter()
        .enumerate()
        .map(|(row, t)| {
            let message = t.messages.first().map_or("", String::as_str);
            config.thinking.block(message, opened[row / group]) == Block::Leading
        })
        .collect();
    rollout::zero_unreasoned(&mut scores, &reasoned, config.thinking);
    let advantages = group_relative(&scores.total, group, &config.advantages)?;
    let tokens: Vec<Vec<u32>> = trajectories.iter().map(|t| t.tokens.clone()).collect();
    let texts = policy.decode(&tokens)?;
    let tool_use = ToolUse {
        turns: trajectories.iter().map(Trajectory::turns).collect(),
        calls: trajectories.iter().map(|t| t.calls).collect(),
        errors: trajectories.iter().map(|t| t.errors).collect(),
    };
    let rows = trajectories.len();
    Ok(Rollout {
        group_size: group,
        tokens,
        texts,
        forced: trajectories.iter().map(|t| t.forced.clone()).collect(),
        recovered: vec![false; rows],
        reasoned,
        finish: trajectories.iter().map(|t| t.finish).collect(),
        reward_columns: scores.per_reward,
        reward_applied: scores.applied,
        rewards: scores.total,
        advantages: advantages.values,
        stats: advantages.stats,
        parseable: scores.parseable,
        generation_time,
        tool_use: Some(tool_use),
    })
}

/// A fresh subkey of `key`, and the key to draw the next one from.
fn split(key: &Array) -> Result<(Array, Array)> {
    Ok(random::split(key, 2)?)
}
