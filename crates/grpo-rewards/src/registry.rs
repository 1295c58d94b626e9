//! [`RewardSet`]: the rewards named by `--reward-functions`, weighted by
//! `--reward-weights`, scoring batches in parallel, with rewards defined
//! outside the crate ([`CustomReward`]) beside the built-in ones.

use std::fmt;
use std::sync::{Arc, RwLock};

#[cfg(feature = "rayon")]
use rayon::prelude::*;

use crate::compare::CompareOptions;
use crate::error::{Error, Result};
use crate::reference::Reference;
use crate::score::{Evaluation, Reward};

/// A reward defined outside this crate, scored beside the built-in ones
/// by a [`RewardSet`] ([`RewardSet::with_custom`]). Any
/// `Fn(&Evaluation) -> f32 + Send + Sync` is one; the [`Evaluation`]
/// holds the completion, its parse, its comparison and the reference.
///
/// ```
/// use grpo_rewards::{CustomReward, Evaluation, Reference, RewardSet};
///
/// /// 1 when the output calls at most `max` tools.
/// struct AtMost {
///     max: usize,
/// }
///
/// impl CustomReward for AtMost {
///     fn score(&self, eval: &Evaluation<'_>) -> f32 {
///         if eval.parsed.calls.len() <= self.max { 1.0 } else { 0.0 }
///     }
/// }
///
/// let set = RewardSet::new(&["tool_call_exact"], None)?
///     .with_custom("at_most_one_call", 0.5, AtMost { max: 1 })?
///     .with_custom("short", 0.25, |e: &Evaluation<'_>| {
///         if e.completion.len() < 40 { 1.0 } else { 0.0 }
///     })?;
/// assert_eq!(set.names(), ["tool_call_exact", "at_most_one_call", "short"]);
/// let reference = Reference::from_answer("f(x=1)")?;
/// let scores = set.score("f(x=1)\nf(x=1)", &reference);
/// assert_eq!(scores.values, [0.0, 0.0, 1.0]);
/// assert_eq!(scores.total, 0.25);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait CustomReward: Send + Sync {
    /// The reward of one completion; keep it in [0, 1] like the built-in
    /// rewards, so weights mean the same for all.
    fn score(&self, eval: &Evaluation<'_>) -> f32;
}

impl<F> CustomReward for F
where
    F: Fn(&Evaluation<'_>) -> f32 + Send + Sync,
{
    fn score(&self, eval: &Evaluation<'_>) -> f32 {
        self(eval)
    }
}

/// A reward that scores a whole batch at once, may fail, and may abstain:
/// the form of rewards computed outside the process (a Python worker, a
/// program behind a pipe), where one call per batch matters and errors are
/// real. Completion `i` is scored against `references[i]`, whose
/// [`Reference::row`] holds the data set row when one was attached.
///
/// Return one entry per completion: `Some(score)`, or `None` for "not
/// applicable" (it adds nothing to that completion's weighted total, as
/// TRL ignores a `None`; the reward's column shows 0). An `Err` stops the
/// batch with [`Error::CustomReward`] naming the reward; so do a wrong
/// number of scores and a score that is not finite.
///
/// ```
/// use grpo_rewards::{BatchReward, Reference, RewardSet};
///
/// struct Longest;
/// impl BatchReward for Longest {
///     fn score_batch(&self, completions: &[&str], _: &[&Reference]) -> Result<Vec<Option<f32>>, String> {
///         let max = completions.iter().map(|c| c.len()).max().unwrap_or(0);
///         Ok(completions.iter().map(|c| (max > 0).then(|| (c.len() == max) as u8 as f32)).collect())
///     }
/// }
/// let set = RewardSet::new(&["tool_call_exact"], None)?.with_batch_custom("longest", 1.0, Longest)?;
/// let r = Reference::from_answer("f()")?;
/// let batch = set.score_batch(&["f()", "f()\ng()"], &[&r, &r])?;
/// assert_eq!(batch.per_reward[1], [0.0, 1.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait BatchReward: Send + Sync {
    /// One score (or `None`) per completion, or what went wrong.
    fn score_batch(
        &self,
        completions: &[&str],
        references: &[&Reference],
    ) -> std::result::Result<Vec<Option<f32>>, String>;

    /// [`score_batch`](Self::score_batch) with the token ids of each
    /// completion, for rewards that read tokens (TRL's `completion_ids`).
    /// By default the ids are not used.
    fn score_batch_with_ids(
        &self,
        completions: &[&str],
        completion_ids: &[&[u32]],
        references: &[&Reference],
    ) -> std::result::Result<Vec<Option<f32>>, String> {
        let _ = completion_ids;
        self.score_batch(completions, references)
    }
}

/// How a custom reward scores.
#[derive(Clone)]
enum Kind {
    One(Arc<dyn CustomReward>),
    Batch(Arc<dyn BatchReward>),
}

/// A named custom reward.
#[derive(Clone)]
struct Custom {
    name: String,
    reward: Kind,
}

impl Kind {
    fn same(&self, other: &Kind) -> bool {
        match (self, other) {
            (Kind::One(a), Kind::One(b)) => Arc::ptr_eq(a, b),
            (Kind::Batch(a), Kind::Batch(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// Batch rewards known by name to [`RewardSet::new`] (see
/// [`register_batch_reward`]).
static REGISTERED: RwLock<Vec<(String, Arc<dyn BatchReward>)>> = RwLock::new(Vec::new());

/// Makes a [`BatchReward`] known by `name` to every [`RewardSet::new`] of
/// the process, so that configurations naming it (a training config's
/// `reward_functions`, its phases) resolve it as they resolve a built-in
/// reward. Registering a name again replaces the reward. A built-in name
/// is refused.
///
/// ```
/// use grpo_rewards::{register_batch_reward, BatchReward, Reference, RewardSet};
///
/// struct Half;
/// impl BatchReward for Half {
///     fn score_batch(&self, c: &[&str], _: &[&Reference]) -> Result<Vec<Option<f32>>, String> {
///         Ok(vec![Some(0.5); c.len()])
///     }
/// }
/// register_batch_reward("half", Half)?;
/// let set = RewardSet::new(&["half", "tool_call_exact"], Some(&[2.0, 1.0]))?;
/// assert_eq!(set.names(), ["tool_call_exact", "half"]);
/// assert_eq!(set.weights(), [1.0, 2.0]);
/// let r = Reference::from_answer("f()")?;
/// assert_eq!(set.score_batch(&["f()"], &[&r])?.total, [2.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn register_batch_reward(
    name: impl Into<String>,
    reward: impl BatchReward + 'static,
) -> Result<()> {
    let name = name.into();
    if name.parse::<Reward>().is_ok() {
        return Err(Error::DuplicateReward { name });
    }
    let mut all = REGISTERED.write().unwrap_or_else(|e| e.into_inner());
    all.retain(|(n, _)| *n != name);
    all.push((name, Arc::new(reward)));
    Ok(())
}

/// The names given to [`register_batch_reward`], in order.
pub fn registered_rewards() -> Vec<String> {
    let all = REGISTERED.read().unwrap_or_else(|e| e.into_inner());
    all.iter().map(|(n, _)| n.clone()).collect()
}

fn registered(name: &str) -> Option<Arc<dyn BatchReward>> {
    let all = REGISTERED.read().unwrap_or_else(|e| e.into_inner());
    all.iter().find(|(n, _)| n == name).map(|(_, r)| r.clone())
}

/// Resolved reward functions and weights.
///
/// The total reward is the plain weighted sum Σ wᵢ·rᵢ, as TRL's GRPO
/// trainer computes it (not a weighted mean): with the default weights of
/// 1.0, three rewards give totals in [0, 3].
///
/// # Example
///
/// ```
/// use grpo_rewards::{Reference, RewardSet};
///
/// let rewards = RewardSet::new(
///     &["tool_call_exact", "tool_call_function", "tool_call_overall"],
///     Some(&[0.3, 0.4, 0.3]),
/// )?;
/// let reference = Reference::from_answer("calculate_factorial(n=5)")?;
/// let scores = rewards.score("calculate_factorial(n=7)", &reference);
/// assert_eq!(scores.values[0], 0.0); // exact
/// assert_eq!(scores.values[1], 1.0); // function
/// assert!((scores.values[2] - 0.4).abs() < 1e-6); // overall: 0.4·1 + 0.4·0 + 0.2·0
/// assert!((scores.total - (0.4 + 0.3 * 0.4)).abs() < 1e-6);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RewardSet {
    rewards: Vec<Reward>,
    /// Custom rewards, scored after the built-in ones.
    custom: Vec<Custom>,
    /// One per built-in reward, then one per custom reward.
    weights: Vec<f32>,
    options: CompareOptions,
}

impl fmt::Debug for RewardSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RewardSet")
            .field("names", &self.names())
            .field("weights", &self.weights)
            .field("options", &self.options)
            .finish()
    }
}

/// Equal when the names, weights and options are, and custom rewards are
/// the same objects.
impl PartialEq for RewardSet {
    fn eq(&self, other: &Self) -> bool {
        self.rewards == other.rewards
            && self.weights == other.weights
            && self.options == other.options
            && self.custom.len() == other.custom.len()
            && self
                .custom
                .iter()
                .zip(&other.custom)
                .all(|(a, b)| a.name == b.name && a.reward.same(&b.reward))
    }
}

/// The rewards of one completion.
///
/// ```
/// use grpo_rewards::{Reference, RewardSet};
///
/// let set = RewardSet::new(&["tool_call_exact"], None)?;
/// let scores = set.score("f()", &Reference::from_answer("f()")?);
/// assert_eq!((scores.values.as_slice(), scores.total), (&[1.0][..], 1.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scores {
    /// One value per reward, in the set's order.
    pub values: Vec<f32>,
    /// The weighted sum.
    pub total: f32,
}

/// The rewards of a batch of completions.
///
/// ```
/// use grpo_rewards::{Reference, RewardSet};
///
/// let set = RewardSet::new(&["tool_call_exact", "tool_call_parseable"], None)?;
/// let reference = Reference::from_answer("f()")?;
/// let completions = ["f()".to_string(), "g()".to_string()];
/// let batch = set.score_batch(&completions, &[&reference, &reference])?;
/// assert_eq!(batch.per_reward, [[1.0, 0.0], [1.0, 1.0]]);
/// assert_eq!(batch.total, [2.0, 1.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchScores {
    /// `per_reward[r][c]`: reward `r` of completion `c` (0 where it did
    /// not apply).
    pub per_reward: Vec<Vec<f32>>,
    /// `applied[r][c]`: whether reward `r` scored completion `c`; false
    /// where a [`BatchReward`] returned `None` (not applicable), so that
    /// means over a reward's column can leave those rows out.
    pub applied: Vec<Vec<bool>>,
    /// The weighted sum for each completion.
    pub total: Vec<f32>,
    /// Whether the parser found at least one call in each completion (the
    /// parse the rewards scored, so a caller need not parse again).
    pub parseable: Vec<bool>,
}

impl RewardSet {
    /// Resolves reward names and weights. Weights default to 1.0 each.
    ///
    /// Errors: an unknown name (the message lists the known ones), a name
    /// given twice, no names, a weight count that differs from the name
    /// count, a weight that is not finite. Negative weights are allowed
    /// (penalties).
    ///
    /// ```
    /// use grpo_rewards::{Error, RewardSet};
    ///
    /// let set = RewardSet::new(&["tool_call_exact", "tool_call_function"], None)?;
    /// assert_eq!(set.weights(), [1.0, 1.0]);
    /// let err = RewardSet::new(&["tool_call_exact"], Some(&[0.5, 0.5])).unwrap_err();
    /// assert_eq!(err, Error::WeightCount { expected: 1, got: 2 });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new<S: AsRef<str>>(names: &[S], weights: Option<&[f32]>) -> Result<Self> {
        if names.is_empty() {
            return Err(Error::NoRewards);
        }
        let mut rewards = Vec::with_capacity(names.len());
        // Registered batch rewards, with their position in `names`.
        let mut external: Vec<(usize, Custom)> = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let name = name.as_ref();
            let reward: Reward = match name.parse() {
                Ok(r) => r,
                Err(e) => match registered(name) {
                    Some(r) => {
                        if external.iter().any(|(_, c)| c.name == name) {
                            return Err(Error::DuplicateReward { name: name.into() });
                        }
                        let reward = Kind::Batch(r);
                        let name = name.to_owned();
                        external.push((i, Custom { name, reward }));
                        continue;
                    }
                    None => return Err(e),
                },
            };
            if rewards.contains(&reward) {
                return Err(Error::DuplicateReward {
                    name: reward.name().to_owned(),
                });
            }
            rewards.push(reward);
        }
        let given = match weights {
            None => vec![1.0; names.len()],
            Some(w) if w.len() != names.len() => {
                return Err(Error::WeightCount {
                    expected: names.len(),
                    got: w.len(),
                })
            }
            Some(w) => {
                if let Some((index, &value)) = w.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                    return Err(Error::NonFiniteWeight { index, value });
                }
                w.to_vec()
            }
        };
        // Built-in rewards first, then the registered ones, as `names()`.
        let is_external = |i: usize| external.iter().any(|(j, _)| *j == i);
        let mut weights: Vec<f32> = (0..names.len())
            .filter(|&i| !is_external(i))
            .map(|i| given[i])
            .collect();
        weights.extend(external.iter().map(|(i, _)| given[*i]));
        Ok(RewardSet {
            rewards,
            custom: external.into_iter().map(|(_, c)| c).collect(),
            weights,
            options: CompareOptions::default(),
        })
    }

    /// Adds a reward defined outside the crate, scored after the built-in
    /// ones with weight `weight` (see [`CustomReward`] for an example).
    ///
    /// Errors: a name already in the set (built-in names included, whether
    /// or not the set uses them), a weight that is not finite.
    ///
    /// ```
    /// use grpo_rewards::{Error, Evaluation, RewardSet};
    ///
    /// let set = RewardSet::new(&["tool_call_exact"], None)?;
    /// let err = set.with_custom("tool_call_format", 1.0, |_: &Evaluation<'_>| 1.0).unwrap_err();
    /// assert_eq!(err, Error::DuplicateReward { name: "tool_call_format".into() });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_custom(
        self,
        name: impl Into<String>,
        weight: f32,
        reward: impl CustomReward + 'static,
    ) -> Result<Self> {
        self.push_custom(name.into(), weight, Kind::One(Arc::new(reward)))
    }

    /// Adds a reward that scores whole batches ([`BatchReward`]), after
    /// the others, with weight `weight`. Errors as [`RewardSet::with_custom`].
    pub fn with_batch_custom(
        self,
        name: impl Into<String>,
        weight: f32,
        reward: impl BatchReward + 'static,
    ) -> Result<Self> {
        self.push_custom(name.into(), weight, Kind::Batch(Arc::new(reward)))
    }

    fn push_custom(mut self, name: String, weight: f32, reward: Kind) -> Result<Self> {
        let taken = name.parse::<Reward>().is_ok() || self.custom.iter().any(|c| c.name == name);
        if taken {
            return Err(Error::DuplicateReward { name });
        }
        if !weight.is_finite() {
            return Err(Error::NonFiniteWeight {
                index: self.weights.len(),
                value: weight,
            });
        }
        self.custom.push(Custom { name, reward });
        self.weights.push(weight);
        Ok(self)
    }

    /// Sets how values compare (default: lenient numbers, exact strings).
    ///
    /// ```
    /// use grpo_rewards::{CompareOptions, Reference, RewardSet, StringMode};
    ///
    /// let set = RewardSet::new(&["tool_call_exact"], None)?.with_options(CompareOptions {
    ///     strings: StringMode::Normalized,
    ///     ..CompareOptions::default()
    /// });
    /// let reference = Reference::from_answer("f(city='New York')")?;
    /// assert_eq!(set.score("f(city='new york')", &reference).total, 1.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_options(mut self, options: CompareOptions) -> Self {
        self.options = options;
        self
    }

    /// The reward names, in order: the built-in rewards, then the custom
    /// ones.
    ///
    /// ```
    /// let set = grpo_rewards::RewardSet::new(&["tool_call_params"], None)?;
    /// assert_eq!(set.names(), ["tool_call_params"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn names(&self) -> Vec<&str> {
        let custom = self.custom.iter().map(|c| c.name.as_str());
        self.rewards
            .iter()
            .map(|r| r.name())
            .chain(custom)
            .collect()
    }

    /// The built-in rewards, in order (custom ones are in
    /// [`RewardSet::names`] only).
    ///
    /// ```
    /// use grpo_rewards::{Reward, RewardSet};
    ///
    /// let set = RewardSet::new(&["tool_call_format"], None)?;
    /// assert_eq!(set.rewards(), [Reward::Format]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rewards(&self) -> &[Reward] {
        &self.rewards
    }

    /// The weights, in [`RewardSet::names`] order.
    ///
    /// ```
    /// let set = grpo_rewards::RewardSet::new(&["tool_call_exact"], Some(&[0.5]))?;
    /// assert_eq!(set.weights(), [0.5]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// Scores one completion against its reference.
    ///
    /// ```
    /// use grpo_rewards::{Reference, RewardSet};
    ///
    /// let set = RewardSet::new(&["tool_call_function", "tool_call_params"], Some(&[0.5, 0.5]))?;
    /// let scores = set.score("get_weather(city='Rome')", &Reference::from_answer("get_weather(city='Paris')")?);
    /// assert_eq!(scores.values, [1.0, 0.0]);
    /// assert_eq!(scores.total, 0.5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn score(&self, completion: &str, reference: &Reference) -> Scores {
        let eval = Evaluation::new(completion, reference, &self.options);
        let custom = self.custom.iter().map(|c| match &c.reward {
            Kind::One(r) => r.score(&eval),
            // Scored by `score_batch`; alone, a failure or `None` reads 0.
            Kind::Batch(r) => self
                .batch_column(&c.name, r.as_ref(), &[completion], None, &[reference])
                .ok()
                .and_then(|v| v[0])
                .unwrap_or(0.0),
        });
        let values: Vec<f32> = self
            .rewards
            .iter()
            .map(|r| r.score(&eval))
            .chain(custom)
            .collect();
        let total = values.iter().zip(&self.weights).map(|(v, w)| v * w).sum();
        Scores { values, total }
    }

    /// Scores a batch, completion `i` against `references[i]`, in parallel
    /// with rayon (the default `rayon` feature; one by one without it).
    /// The two slices must have the same length.
    ///
    /// ```
    /// use grpo_rewards::{Error, Reference, RewardSet};
    ///
    /// let set = RewardSet::new(&["tool_call_exact"], None)?;
    /// let r = Reference::from_answer("f()")?;
    /// let err = set.score_batch(&["f()"], &[&r, &r]).unwrap_err();
    /// assert_eq!(err, Error::BatchLength { completions: 1, references: 2 });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn score_batch<S: AsRef<str> + Sync>(
        &self,
        completions: &[S],
        references: &[&Reference],
    ) -> Result<BatchScores> {
        self.score_batch_inner(completions, None, references)
    }

    /// [`score_batch`](Self::score_batch) with the token ids of each
    /// completion, which batch rewards receive
    /// ([`BatchReward::score_batch_with_ids`]); one entry per completion.
    ///
    /// ```
    /// use grpo_rewards::{Error, Reference, RewardSet};
    ///
    /// let set = RewardSet::new(&["tool_call_exact"], None)?;
    /// let r = Reference::from_answer("f()")?;
    /// let batch = set.score_batch_with_ids(&["f()"], &[&[1, 2, 3]], &[&r])?;
    /// assert_eq!(batch.total, [1.0]);
    /// let err = set.score_batch_with_ids(&["f()"], &[], &[&r]).unwrap_err();
    /// assert_eq!(err, Error::BatchLength { completions: 1, references: 0 });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn score_batch_with_ids<S: AsRef<str> + Sync>(
        &self,
        completions: &[S],
        completion_ids: &[&[u32]],
        references: &[&Reference],
    ) -> Result<BatchScores> {
        if completion_ids.len() != completions.len() {
            return Err(Error::BatchLength {
                completions: completions.len(),
                references: completion_ids.len(),
            });
        }
        self.score_batch_inner(completions, Some(completion_ids), references)
    }

    fn score_batch_inner<S: AsRef<str> + Sync>(
        &self,
        completions: &[S],
        completion_ids: Option<&[&[u32]]>,
        references: &[&Reference],
    ) -> Result<BatchScores> {
        if completions.len() != references.len() {
            return Err(Error::BatchLength {
                completions: completions.len(),
                references: references.len(),
            });
        }
        // Batch rewards first, once each for the whole batch; the rest per
        // completion, in parallel.
        let texts: Vec<&str> = completions.iter().map(AsRef::as_ref).collect();
        let mut batch_columns: Vec<Option<Vec<Option<f32>>>> = Vec::new();
        for c in &self.custom {
            batch_columns.push(match &c.reward {
                Kind::Batch(r) => Some(self.batch_column(
                    &c.name,
                    r.as_ref(),
                    &texts,
                    completion_ids,
                    references,
                )?),
                Kind::One(_) => None,
            });
        }
        let inline = RewardSet {
            rewards: self.rewards.clone(),
            custom: self
                .custom
                .iter()
                .filter(|c| matches!(c.reward, Kind::One(_)))
                .cloned()
                .collect(),
            weights: Vec::new(),
            options: self.options,
        };
        let values = |c: &str, r: &Reference| {
            let eval = Evaluation::new(c, r, &inline.options);
            let custom = inline.custom.iter().map(|c| match &c.reward {
                Kind::One(r) => r.score(&eval),
                Kind::Batch(_) => 0.0,
            });
            let values = inline
                .rewards
                .iter()
                .map(|r| r.score(&eval))
                .chain(custom)
                .collect::<Vec<f32>>();
            (values, !eval.parsed.calls.is_empty())
        };
        #[cfg(feature = "rayon")]
        let scored: Vec<(Vec<f32>, bool)> = texts
            .par_iter()
            .zip(references.par_iter())
            .map(|(c, r)| values(c, r))
            .collect();
        #[cfg(not(feature = "rayon"))]
        let scored: Vec<(Vec<f32>, bool)> = texts
            .iter()
            .zip(references)
            .map(|(c, r)| values(c, r))
            .collect();
        let builtin = self.rewards.len();
        let mut per_reward = vec![Vec::with_capacity(scored.len()); self.weights.len()];
        let mut applied = vec![Vec::with_capacity(scored.len()); self.weights.len()];
        let mut total = Vec::with_capacity(scored.len());
        let mut parseable = Vec::with_capacity(scored.len());
        for (row, (s, parsed)) in scored.into_iter().enumerate() {
            parseable.push(parsed);
            let mut inline_values = s.into_iter();
            let mut sum = 0.0;
            for (k, (column, applied)) in per_reward.iter_mut().zip(&mut applied).enumerate() {
                let value = if k < builtin {
                    inline_values.next()
                } else {
                    match &batch_columns[k - builtin] {
                        Some(col) => col[row],
                        None => inline_values.next(),
                    }
                };
                // `None`: not applicable, nothing added to the total.
                if let Some(v) = value {
                    sum += v * self.weights[k];
                }
                column.push(value.unwrap_or(0.0));
                applied.push(value.is_some());
            }
            total.push(sum);
        }
        Ok(BatchScores {
            per_reward,
            applied,
            total,
            parseable,
        })
    }

    /// Scores built-in `reward` again on other texts of the same
    /// completions (`texts[c]` for completion `c`, such as the last message
    /// of a multi-turn conversation whose calls the other rewards scored),
    /// replacing its column of `scores` and the totals. Nothing changes when
    /// the set does not use `reward`.
    ///
    /// ```
    /// use grpo_rewards::{Reference, Reward, RewardSet};
    ///
    /// let set = RewardSet::new(&["tool_call_exact", "tool_call_format"], Some(&[1.0, 0.5]))?;
    /// let r = Reference::from_answer("f(x=1)")?;
    /// let mut scores = set.score_batch(&["f(x=1)"], &[&r])?;
    /// assert_eq!(scores.total, [1.5]);
    /// set.rescore(&mut scores, Reward::Format, &["Sure!\nf(x=1)"], &[&r]);
    /// assert_eq!(scores.per_reward[1], [0.0]);
    /// assert_eq!(scores.total, [1.0]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rescore<S: AsRef<str>>(
        &self,
        scores: &mut BatchScores,
        reward: Reward,
        texts: &[S],
        references: &[&Reference],
    ) {
        let Some(k) = self.rewards.iter().position(|r| *r == reward) else {
            return;
        };
        for (row, (text, reference)) in texts.iter().zip(references).enumerate() {
            let eval = Evaluation::new(text.as_ref(), reference, &self.options);
            let new = reward.score(&eval);
            let old = std::mem::replace(&mut scores.per_reward[k][row], new);
            scores.total[row] += (new - old) * self.weights[k];
        }
    }

    /// One batch reward's scores, checked: one per completion, finite.
    fn batch_column(
        &self,
        name: &str,
        reward: &dyn BatchReward,
        completions: &[&str],
        completion_ids: Option<&[&[u32]]>,
        references: &[&Reference],
    ) -> Result<Vec<Option<f32>>> {
        let error = |message: String| Error::CustomReward {
            name: name.to_owned(),
            message,
        };
        let scores = match completion_ids {
            Some(ids) => reward.score_batch_with_ids(completions, ids, references),
            None => reward.score_batch(completions, references),
        }
        .map_err(error)?;
        if scores.len() != completions.len() {
            return Err(error(format!(
                "returned {} scores for {} completions",
                scores.len(),
                completions.len()
            )));
        }
        if let Some((row, v)) = scores
            .iter()
            .enumerate()
            .find_map(|(i, v)| v.filter(|v| !v.is_finite()).map(|v| (i, v)))
        {
            return Err(error(format!("returned {v} for completion {row}")));
        }
        Ok(scores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors() {
        assert_eq!(RewardSet::new::<&str>(&[], None), Err(Error::NoRewards));
        assert_eq!(
            RewardSet::new(&["tool_call_exact", "tool_call_exact"], None),
            Err(Error::DuplicateReward {
                name: "tool_call_exact".into()
            })
        );
        let err = RewardSet::new(
            &["tool_call_exact", "tool_call_params"],
            Some(&[1.0, f32::NAN]),
        );
        assert!(matches!(err, Err(Error::NonFiniteWeight { index: 1, .. })));
        let err = RewardSet::new(&["nope"], None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown reward `nope` (known: tool_call_exact, tool_call_function, tool_call_params, \
             tool_call_overall, tool_call_parseable, tool_call_format, tool_call_concise, final_answer)"
        );
    }

    #[test]
    fn custom_rewards_score_beside_the_built_ins() {
        let set = RewardSet::new(&["tool_call_exact"], Some(&[2.0]))
            .unwrap()
            .with_custom("calls", 0.5, |e: &Evaluation<'_>| {
                e.parsed.calls.len() as f32
            })
            .unwrap();
        let r = Reference::from_answer("f()").unwrap();
        let batch = set.score_batch(&["f()", "f()\ng()"], &[&r, &r]).unwrap();
        assert_eq!(batch.per_reward, [[1.0, 0.0], [1.0, 2.0]]);
        assert_eq!(batch.total, [2.5, 1.0]);
        assert_eq!(set.weights(), [2.0, 0.5]);
        assert_eq!(set, set.clone());
        let twice = set
            .clone()
            .with_custom("calls", 1.0, |_: &Evaluation<'_>| 0.0);
        assert!(matches!(twice, Err(Error::DuplicateReward { .. })));
        let nan = set.with_custom("nan", f32::NAN, |_: &Evaluation<'_>| 0.0);
        assert!(matches!(nan, Err(Error::NonFiniteWeight { index: 2, .. })));
    }

    struct Fixed(Vec<Option<f32>>);
    impl BatchReward for Fixed {
        fn score_batch(
            &self,
            _: &[&str],
            _: &[&Reference],
        ) -> std::result::Result<Vec<Option<f32>>, String> {
            if self.0.is_empty() {
                return Err("it broke".into());
            }
            Ok(self.0.clone())
        }
    }

    #[test]
    fn batch_rewards_abstain_and_fail_by_name() {
        let r = Reference::from_answer("f()").unwrap();
        let with = |scores: Vec<Option<f32>>| {
            RewardSet::new(&["tool_call_exact"], None)
                .unwrap()
                .with_batch_custom("ext", 2.0, Fixed(scores))
                .unwrap()
                .with_custom("one", 1.0, |_: &Evaluation<'_>| 0.25)
                .unwrap()
        };
        let batch = with(vec![Some(0.5), None])
            .score_batch(&["f()", "g()"], &[&r, &r])
            .unwrap();
        assert_eq!(batch.per_reward, [[1.0, 0.0], [0.5, 0.0], [0.25, 0.25]]);
        assert_eq!(batch.total, [2.25, 0.25]);
        let err = |scores| {
            with(scores)
                .score_batch(&["f()", "g()"], &[&r, &r])
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(vec![Some(1.0)]),
            "reward `ext`: returned 1 scores for 2 completions"
        );
        assert_eq!(
            err(vec![Some(1.0), Some(f32::NAN)]),
            "reward `ext`: returned NaN for completion 1"
        );
        assert_eq!(err(vec![]), "reward `ext`: it broke");
    }

    /// The number of token ids when given them; abstains without.
    struct Tokens;
    impl BatchReward for Tokens {
        fn score_batch(
            &self,
            completions: &[&str],
            _: &[&Reference],
        ) -> std::result::Result<Vec<Option<f32>>, String> {
            Ok(vec![None; completions.len()])
        }
        fn score_batch_with_ids(
            &self,
            _: &[&str],
            ids: &[&[u32]],
            _: &[&Reference],
        ) -> std::result::Result<Vec<Option<f32>>, String> {
            Ok(ids.iter().map(|i| Some(i.len() as f32)).collect())
        }
    }

    #[test]
    fn batch_rewards_read_token_ids_and_abstentions_are_marked() {
        let r = Reference::from_answer("f()").unwrap();
        let set = RewardSet::new(&["tool_call_exact"], None)
            .unwrap()
            .with_batch_custom("tokens", 0.5, Tokens)
            .unwrap();
        let batch = set
            .score_batch_with_ids(&["f()", "g()"], &[&[7, 8, 9], &[4]], &[&r, &r])
            .unwrap();
        assert_eq!(batch.per_reward, [[1.0, 0.0], [3.0, 1.0]]);
        assert_eq!(batch.applied, [[true, true], [true, true]]);
        assert_eq!(batch.total, [2.5, 0.5]);
        // Without ids it abstains: 0 in its column, marked, nothing added.
        let batch = set.score_batch(&["f()", "g()"], &[&r, &r]).unwrap();
        assert_eq!(batch.per_reward, [[1.0, 0.0], [0.0, 0.0]]);
        assert_eq!(batch.applied, [[true, true], [false, false]]);
        assert_eq!(batch.total, [1.0, 0.0]);
    }

    #[test]
    fn batch_matches_one_by_one_scoring() {
        let set = RewardSet::new(
            &["tool_call_overall", "tool_call_format"],
            Some(&[2.0, -0.5]),
        )
        .unwrap();
        let a = Reference::from_answer("f(x=1)\ng(y='a')").unwrap();
        let b = Reference::from_answer("").unwrap();
        let completions: Vec<String> = [
            "f(x=1)\ng(y='a')",
            "g(y='a')",
            "",
            "h()",
            "<tool_call>{\"name\": \"f\", \"arguments\": {\"x\": 1}}</tool_call>",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let refs = [&a, &a, &b, &b, &a];
        let batch = set.score_batch(&completions, &refs).unwrap();
        assert_eq!(batch.per_reward.len(), 2);
        for (i, c) in completions.iter().enumerate() {
            let one = set.score(c, refs[i]);
            assert_eq!(batch.per_reward[0][i], one.values[0]);
            assert_eq!(batch.per_reward[1][i], one.values[1]);
            assert_eq!(batch.total[i], one.total);
            assert!((one.total - (2.0 * one.values[0] - 0.5 * one.values[1])).abs() < 1e-6);
        }
        assert_eq!(batch.total[0], 1.5);
    }
}
