//! Two-phase recovery: a completion cut by the length limit inside its
//! reasoning block is given the end of the block and a short answer budget,
//! so the group still yields an answer to score.
//!
//! Without it, a model that reasons at length scores nothing on every
//! truncated sample: the rewards never see an answer, and a group where all
//! samples ran out of budget teaches nothing. Recovery continues such a
//! sample from where it stopped: the tokens of `--think-end` are appended
//! (forced, not sampled), then up to `--two-phase-answer-length` tokens are
//! sampled after them. The forced tokens are marked as given and carry no
//! loss; the sampled answer is trained like any other token.
//!
//! `--two-phase-samples-per-group N` caps how many samples of each group are
//! recovered: -1 turns recovery off (the guide's tool-calling setting),
//! `N >= 0` recovers at most `N` (the first in row order; samples are
//! exchangeable), so 0 recovers none and any `N >= --group-size` recovers
//! every sample that needs it. Leaving some truncated samples unrecovered
//! keeps a penalty on running out of budget in the group's comparison.

use std::ops::Range;

use grpo_policy::generate::{FinishReason, Generation};
use grpo_policy::mlx_rs::Array;

use crate::error::{Error, Result};
use crate::sampled::Sampled;

/// How samples are recovered.
#[derive(Debug, Clone, Copy)]
pub struct Recovery<'a> {
    /// Samples of each group recovered at most.
    pub samples_per_group: usize,
    /// Tokens sampled after the forced end of reasoning, at most.
    pub answer_tokens: usize,
    /// Randomness of the continuations (a stream apart from the rollout's).
    pub key: &'a Array,
}

/// The rows to recover: cut by the length limit (`finish`) while inside a
/// reasoning block (`unclosed`), at most `limit` per group of `group_size`
/// consecutive rows, in row order.
///
/// ```
/// use grpo::two_phase::select;
/// use grpo_policy::generate::FinishReason::{Eos, Length};
///
/// let finish = [Length, Length, Length, Eos, Length, Length];
/// let unclosed = [true, true, true, true, false, true];
/// assert_eq!(select(&finish, &unclosed, 3, 2), [0, 1, 5]);
/// assert_eq!(select(&finish, &unclosed, 3, 0), [] as [usize; 0]);
/// ```
pub fn select(
    finish: &[FinishReason],
    unclosed: &[bool],
    group_size: usize,
    limit: usize,
) -> Vec<usize> {
    let mut taken = vec![0usize; finish.len().div_ceil(group_size.max(1))];
    let mut rows = Vec::new();
    for (row, (f, open)) in finish.iter().zip(unclosed).enumerate() {
        let group = row / group_size.max(1);
        if *f == FinishReason::Length && *open && taken[group] < limit {
            taken[group] += 1;
            rows.push(row);
        }
    }
    rows
}

/// Continues `rows` of `sampled`: each gets `think_end` (recorded in
/// [`Sampled::forced`]) and then the tokens `continue_with` samples for it.
///
/// `continue_with` receives one context per row, in `rows` order: the row's
/// prompt (`prompts[row / group_size]`), its tokens so far and `think_end`;
/// it returns one continuation per context (as
/// [`Policy::generate`](grpo_policy::policy::Policy::generate) with a group
/// of 1 does). A recovered row ends as its continuation ended.
pub fn recover(
    sampled: &mut Sampled,
    rows: &[usize],
    think_end: &[u32],
    prompts: &[Vec<u32>],
    group_size: usize,
    continue_with: impl FnOnce(&[Vec<u32>]) -> Result<Generation>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    if think_end.is_empty() {
        return Err(Error::InvalidConfig {
            field: "think_end",
            message: "the closing reasoning tag encodes to no tokens".into(),
        });
    }
    let contexts: Vec<Vec<u32>> = rows
        .iter()
        .map(|&row| {
            let mut c = prompts[row / group_size].clone();
            c.extend_from_slice(&sampled.tokens[row]);
            c.extend_from_slice(think_end);
            c
        })
        .collect();
    let continued = continue_with(&contexts)?;
    if continued.tokens.len() != rows.len() {
        return Err(Error::InvalidConfig {
            field: "two_phase_samples_per_group",
            message: format!(
                "{} continuations came back for {} recovered samples",
                continued.tokens.len(),
                rows.len()
            ),
        });
    }
    for (i, &row) in rows.iter().enumerate() {
        let at = sampled.tokens[row].len();
        let forced: Range<usize> = at..at + think_end.len();
        sampled.tokens[row].extend_from_slice(think_end);
        sampled.logprobs[row].extend(std::iter::repeat_n(0.0, think_end.len()));
        sampled.forced[row].push(forced);
        sampled.tokens[row].extend_from_slice(&continued.tokens[i]);
        sampled.logprobs[row].extend_from_slice(&continued.logprobs[i]);
        sampled.finish[row] = continued.finish[i];
        sampled.recovered[row] = true;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use FinishReason::{Eos, Length};

    fn sampled() -> Sampled {
        Sampled {
            tokens: vec![vec![1, 2], vec![3], vec![4, 5], vec![6]],
            logprobs: vec![vec![-0.1, -0.2], vec![-0.3], vec![-0.4, -0.5], vec![-0.6]],
            finish: vec![Length, Eos, Length, Length],
            forced: vec![vec![0..1], vec![], vec![], vec![]],
            recovered: vec![false; 4],
        }
    }

    #[test]
    fn recovered_rows_continue_after_the_forced_end() {
        let mut s = sampled();
        let prompts = vec![vec![100], vec![200, 201]];
        let mut seen = Vec::new();
        recover(&mut s, &[0, 3], &[9, 9], &prompts, 2, |contexts| {
            seen = contexts.to_vec();
            Ok(Generation {
                tokens: vec![vec![7], vec![8, 8]],
                logprobs: vec![vec![-1.0], vec![-2.0, -3.0]],
                finish: vec![Eos, Length],
            })
        })
        .unwrap();
        assert_eq!(seen, [vec![100, 1, 2, 9, 9], vec![200, 201, 6, 9, 9]]);
        assert_eq!(s.tokens[0], [1, 2, 9, 9, 7]);
        assert_eq!(s.forced[0], [0..1, 2..4], "the scaffold stays given");
        assert_eq!(s.logprobs[0], [-0.1, -0.2, 0.0, 0.0, -1.0]);
        assert_eq!(s.tokens[3], [6, 9, 9, 8, 8]);
        assert_eq!(s.forced[3], vec![1..3]);
        assert_eq!((s.finish[0], s.finish[3]), (Eos, Length));
        assert_eq!(s.recovered, [true, false, false, true]);
        assert_eq!(s.tokens[2], [4, 5], "rows not selected are untouched");
    }

    #[test]
    fn selection_caps_each_group() {
        let finish = [Length; 8];
        let unclosed = [true; 8];
        assert_eq!(select(&finish, &unclosed, 4, 1), [0, 4]);
        assert_eq!(select(&finish, &unclosed, 4, 100).len(), 8);
    }
}
