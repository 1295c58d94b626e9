//! Which training examples each iteration draws.
//!
//! By default every example comes once per epoch, in a seeded order
//! ([`EpochCursor`]), so a batch holds the kinds of example in the data's
//! proportions, give or take chance. With `kind_mix` each batch holds every
//! listed kind in a fixed share instead.
//!
//! Why: the group-relative advantage pushes a shared decision (call a tool,
//! or answer without one) towards whatever the batch's groups reward. When
//! one kind of prompt dominates the data, and prompts of another kind want
//! the opposite decision, the minority's signal arrives in a few groups of
//! some batches and none of others; the policy drifts towards the majority's
//! answer on every prompt before it learns to tell them apart. A fixed
//! share per batch sets how much of each signal every update sees.

use std::collections::BTreeMap;

use grpo_dataset::EpochCursor;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The draw of training examples, and the state a checkpoint saves.
#[derive(Debug, Clone)]
pub(crate) enum BatchSampler {
    /// Every example once per epoch, in a seeded order.
    Epochs(EpochCursor),
    /// Fixed shares of each kind.
    Kinds(KindSampler),
}

impl BatchSampler {
    /// The sampler of a fresh run over examples of `kinds` (one per
    /// example).
    pub(crate) fn new(
        kinds: &[String],
        mix: Option<&BTreeMap<String, f64>>,
        seed: u64,
    ) -> Result<Self> {
        match mix {
            None => Ok(Self::Epochs(EpochCursor::new(kinds.len(), seed))),
            Some(mix) => Ok(Self::Kinds(KindSampler::new(kinds, mix, seed)?)),
        }
    }

    /// Restores a saved state (`trainer_state.json`'s `data_cursor`), after
    /// checking that it was made on the same data with the same mix.
    pub(crate) fn restore(
        saved: &serde_json::Value,
        kinds: &[String],
        mix: Option<&BTreeMap<String, f64>>,
        seed: u64,
    ) -> std::result::Result<Self, String> {
        match mix {
            None => {
                let cursor: EpochCursor = serde_json::from_value(saved.clone()).map_err(|e| {
                    format!("its data position does not parse ({e}); was it made with kind_mix? resume with the same settings")
                })?;
                if cursor.len() != kinds.len() {
                    return Err(format!(
                        "it was made on {} training examples, the data now has {}; resume with the same data",
                        cursor.len(),
                        kinds.len()
                    ));
                }
                Ok(Self::Epochs(cursor))
            }
            Some(mix) => {
                let state: KindState = serde_json::from_value(saved.clone()).map_err(|e| {
                    format!("its data position does not parse as a kind_mix position ({e}); resume with the settings it was made with")
                })?;
                let fresh = KindSampler::new(kinds, mix, seed).map_err(|e| e.to_string())?;
                fresh.restored(state)
            }
        }
    }

    /// The next `n` example indices.
    pub(crate) fn next_batch(&mut self, n: usize) -> Vec<usize> {
        match self {
            Self::Epochs(c) => c.next_batch(n),
            Self::Kinds(k) => k.next_batch(n),
        }
    }

    /// The state to save.
    pub(crate) fn state(&self) -> serde_json::Value {
        match self {
            Self::Epochs(c) => serde_json::to_value(c).expect("cursors serialize"),
            Self::Kinds(k) => serde_json::to_value(k.state()).expect("cursors serialize"),
        }
    }
}

/// One kind's stream of examples.
#[derive(Debug, Clone)]
struct KindStream {
    name: String,
    /// Its share of every batch, the shares summing to 1.
    share: f64,
    /// Indices of its examples in the training data.
    members: Vec<usize>,
    /// Position in a seeded order of `members`, epoch after epoch.
    cursor: EpochCursor,
    /// Smooth weighted round-robin credit.
    credit: f64,
}

/// Draws each batch slot from the kind furthest behind its share (smooth
/// weighted round-robin), and within a kind cycles through its examples in a
/// seeded order, epoch after epoch. Deterministic: the slots' kinds depend
/// on the shares only, the examples on the seed.
///
/// With shares `single 0.25, multiple 0.4, parallel 0.05, irrelevance 0.3`
/// and 8 prompts a batch, every batch holds 2 single, 3 or 4 multiple and 2
/// or 3 irrelevance prompts, and one batch in about 2.5 a parallel one.
#[derive(Debug, Clone)]
pub(crate) struct KindSampler {
    kinds: Vec<KindStream>,
}

/// The saved form of a [`KindSampler`].
#[derive(Debug, Serialize, Deserialize)]
struct KindState {
    kind_mix: Vec<KindStreamState>,
}

#[derive(Debug, Serialize, Deserialize)]
struct KindStreamState {
    kind: String,
    examples: usize,
    cursor: serde_json::Value,
    credit: f64,
}

impl KindSampler {
    fn new(kinds: &[String], mix: &BTreeMap<String, f64>, seed: u64) -> Result<Self> {
        let bad = |message: String| Error::InvalidConfig {
            field: "kind_mix",
            message,
        };
        if mix.is_empty() {
            return Err(bad(
                "lists no kind; give each kind's share, e.g. {single: 0.3, multiple: 0.4, irrelevance: 0.3}".into(),
            ));
        }
        let total: f64 = mix.values().sum();
        let mut present: BTreeMap<&str, usize> = BTreeMap::new();
        for k in kinds {
            *present.entry(k.as_str()).or_default() += 1;
        }
        let mut streams = Vec::with_capacity(mix.len());
        for (i, (name, &share)) in mix.iter().enumerate() {
            if !(share.is_finite() && share > 0.0) {
                return Err(bad(format!(
                    "the share of `{name}` is {share}; shares must be > 0 (leave a kind out to draw none of it)"
                )));
            }
            let members: Vec<usize> = (0..kinds.len()).filter(|&j| kinds[j] == *name).collect();
            if members.is_empty() {
                let found: Vec<String> =
                    present.iter().map(|(k, n)| format!("{k} ({n})")).collect();
                return Err(bad(format!(
                    "the training data has no example of kind `{name}` (it has {})",
                    found.join(", ")
                )));
            }
            // Each kind gets its own order: a seed of its own.
            let kind_seed = seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            streams.push(KindStream {
                name: name.clone(),
                share: share / total,
                cursor: EpochCursor::new(members.len(), kind_seed),
                members,
                credit: 0.0,
            });
        }
        Ok(Self { kinds: streams })
    }

    /// This sampler moved to a saved position, if the state fits it.
    fn restored(mut self, state: KindState) -> std::result::Result<BatchSampler, String> {
        let names = |v: Vec<&str>| v.join(", ");
        if state.kind_mix.len() != self.kinds.len()
            || state
                .kind_mix
                .iter()
                .zip(&self.kinds)
                .any(|(s, k)| s.kind != k.name || s.examples != k.members.len())
        {
            return Err(format!(
                "it was made drawing {} from data with {} examples of each, now it would draw {} with {}; resume with the same data and kind_mix",
                names(state.kind_mix.iter().map(|s| s.kind.as_str()).collect()),
                state.kind_mix.iter().map(|s| s.examples.to_string()).collect::<Vec<_>>().join("/"),
                names(self.kinds.iter().map(|k| k.name.as_str()).collect()),
                self.kinds.iter().map(|k| k.members.len().to_string()).collect::<Vec<_>>().join("/"),
            ));
        }
        for (s, k) in state.kind_mix.into_iter().zip(&mut self.kinds) {
            k.cursor = serde_json::from_value(s.cursor).map_err(|e| e.to_string())?;
            k.credit = s.credit;
        }
        Ok(BatchSampler::Kinds(self))
    }

    fn next_batch(&mut self, n: usize) -> Vec<usize> {
        (0..n).map(|_| self.next_slot()).collect()
    }

    fn next_slot(&mut self) -> usize {
        for k in &mut self.kinds {
            k.credit += k.share;
        }
        let mut pick = 0;
        for (i, k) in self.kinds.iter().enumerate() {
            if k.credit > self.kinds[pick].credit {
                pick = i;
            }
        }
        let k = &mut self.kinds[pick];
        k.credit -= 1.0;
        k.members[k.cursor.next_batch(1)[0]]
    }

    fn state(&self) -> KindState {
        KindState {
            kind_mix: self
                .kinds
                .iter()
                .map(|k| KindStreamState {
                    kind: k.name.clone(),
                    examples: k.members.len(),
                    cursor: serde_json::to_value(&k.cursor).expect("cursors serialize"),
                    credit: k.credit,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds() -> Vec<String> {
        // 17 multiple, 2 irrelevance, 1 parallel: the majority dominates.
        let mut k: Vec<String> = (0..17).map(|_| "multiple".to_string()).collect();
        k.insert(5, "irrelevance".into());
        k.insert(12, "irrelevance".into());
        k.push("parallel".into());
        k
    }

    fn mix(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn every_batch_holds_each_kind_in_its_share() {
        let kinds = kinds();
        let m = mix(&[
            ("multiple", 0.5),
            ("irrelevance", 0.375),
            ("parallel", 0.125),
        ]);
        let mut s = BatchSampler::new(&kinds, Some(&m), 7).unwrap();
        for _ in 0..20 {
            let batch = s.next_batch(8);
            let count = |name: &str| batch.iter().filter(|&&i| kinds[i] == name).count();
            assert_eq!(
                (count("multiple"), count("irrelevance"), count("parallel")),
                (4, 3, 1),
                "{batch:?}"
            );
        }
    }

    #[test]
    fn shares_need_not_sum_to_one_and_small_shares_come_on_average() {
        let kinds = kinds();
        let m = mix(&[("multiple", 3.0), ("irrelevance", 1.0)]);
        let mut s = BatchSampler::new(&kinds, Some(&m), 1).unwrap();
        let drawn: Vec<usize> = (0..10).flat_map(|_| s.next_batch(6)).collect();
        let irrelevant = drawn.iter().filter(|&&i| kinds[i] == "irrelevance").count();
        assert_eq!(irrelevant, 15, "a quarter of 60");
        assert!(
            drawn.iter().all(|&i| kinds[i] != "parallel"),
            "unlisted kinds are not drawn"
        );
    }

    #[test]
    fn each_kind_cycles_through_all_its_examples() {
        let kinds = kinds();
        let m = mix(&[("multiple", 1.0), ("irrelevance", 1.0)]);
        let mut s = BatchSampler::new(&kinds, Some(&m), 3).unwrap();
        let mut drawn: Vec<usize> = s.next_batch(34);
        drawn.retain(|&i| kinds[i] == "multiple");
        drawn.sort_unstable();
        let all: Vec<usize> = (0..kinds.len())
            .filter(|&i| kinds[i] == "multiple")
            .collect();
        assert_eq!(drawn, all);
    }

    #[test]
    fn a_restored_sampler_continues_identically() {
        let kinds = kinds();
        let m = mix(&[("multiple", 0.6), ("irrelevance", 0.3), ("parallel", 0.1)]);
        let mut a = BatchSampler::new(&kinds, Some(&m), 11).unwrap();
        for _ in 0..3 {
            a.next_batch(7);
        }
        let saved = serde_json::to_string(&a.state()).unwrap();
        let saved: serde_json::Value = serde_json::from_str(&saved).unwrap();
        let mut b = BatchSampler::restore(&saved, &kinds, Some(&m), 11).unwrap();
        for _ in 0..10 {
            assert_eq!(a.next_batch(7), b.next_batch(7));
        }
        let other = mix(&[("multiple", 0.6), ("irrelevance", 0.4)]);
        let err = BatchSampler::restore(&saved, &kinds, Some(&other), 11).unwrap_err();
        assert!(err.contains("same data and kind_mix"), "{err}");
        let err = BatchSampler::restore(&saved, &kinds, None, 11).unwrap_err();
        assert!(err.contains("kind_mix"), "{err}");
    }

    #[test]
    fn a_kind_without_examples_or_a_bad_share_is_refused() {
        let kinds = kinds();
        let err = BatchSampler::new(&kinds, Some(&mix(&[("single", 1.0)])), 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no example of kind `single`"), "{err}");
        assert!(err.contains("multiple (17)"), "{err}");
        let err = BatchSampler::new(&kinds, Some(&mix(&[("multiple", 0.0)])), 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be > 0"), "{err}");
    }
}
