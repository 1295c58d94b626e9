//! Seeded shuffles, train/valid/test splits, and the epoch cursor that a
//! training run saves with its checkpoints to resume on the same example.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::record::Example;
use crate::rng::SplitMix64;

/// Stream labels, so the same seed gives unrelated sequences for splits
/// and for each epoch.
const SPLIT_STREAM: u64 = 0x5_7117;
const EPOCH_STREAM: u64 = 0xE_0C40;

/// A permutation of `0..n` fixed by `seed`.
pub fn shuffled_indices(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    SplitMix64::new(seed).shuffle(&mut order);
    order
}

/// The three parts of a data set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Splits {
    /// For training.
    pub train: Vec<Example>,
    /// For evaluation during training.
    pub valid: Vec<Example>,
    /// Held out for the final evaluation.
    pub test: Vec<Example>,
}

/// Splits `examples` at random (by `seed`) into train, valid and test,
/// with about `valid` and `test` of them (fractions) in the last two.
///
/// Records sharing a prompt always land in the same part, so no prompt is
/// both trained on and evaluated on. Within each part, records keep their
/// input order.
///
/// # Errors
///
/// [`Error::BadConfig`] when a fraction is outside `[0, 1)` or they sum to
/// 1 or more.
pub fn split(examples: Vec<Example>, valid: f64, test: f64, seed: u64) -> Result<Splits> {
    for (name, value) in [("valid fraction", valid), ("test fraction", test)] {
        if !(0.0..1.0).contains(&value) {
            return Err(Error::BadConfig {
                name,
                value: value.to_string(),
                allowed: "a number in [0, 1)".into(),
            });
        }
    }
    if valid + test >= 1.0 {
        return Err(Error::BadConfig {
            name: "valid + test fraction",
            value: (valid + test).to_string(),
            allowed: "a sum below 1, leaving records to train on".into(),
        });
    }
    let n = examples.len();
    // Group by prompt, groups in first-appearance order.
    let mut group_of: HashMap<&str, usize> = HashMap::with_capacity(n);
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, ex) in examples.iter().enumerate() {
        let g = *group_of.entry(ex.prompt.as_str()).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    let order = {
        let mut rng = SplitMix64::derived(seed, SPLIT_STREAM);
        let mut order: Vec<usize> = (0..groups.len()).collect();
        rng.shuffle(&mut order);
        order
    };
    let want_test = (n as f64 * test).round() as usize;
    let want_valid = (n as f64 * valid).round() as usize;
    // 0 = train, 1 = valid, 2 = test, per record.
    let mut part = vec![0u8; n];
    let (mut in_test, mut in_valid) = (0, 0);
    for g in order {
        let members = &groups[g];
        let target = if in_test < want_test {
            in_test += members.len();
            2
        } else if in_valid < want_valid {
            in_valid += members.len();
            1
        } else {
            0
        };
        for &i in members {
            part[i] = target;
        }
    }
    let mut splits = Splits::default();
    for (ex, p) in examples.into_iter().zip(part) {
        match p {
            2 => splits.test.push(ex),
            1 => splits.valid.push(ex),
            _ => splits.train.push(ex),
        }
    }
    Ok(splits)
}

/// Where a run is in its data: which epoch, and how far into it.
///
/// Each epoch visits every index of `0..n` once, in an order drawn from the
/// seed and the epoch number, so the order of epoch `e` can be rebuilt from
/// `(n, seed, e)` alone. Serializing stores only those numbers and the
/// position; a restored cursor continues with exactly the batch the saved
/// run would have drawn next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CursorState", into = "CursorState")]
pub struct EpochCursor {
    n: usize,
    seed: u64,
    epoch: u64,
    position: usize,
    order: Vec<usize>,
}

/// The serialized form of [`EpochCursor`].
#[derive(Serialize, Deserialize)]
struct CursorState {
    n: usize,
    seed: u64,
    epoch: u64,
    position: usize,
}

impl From<EpochCursor> for CursorState {
    fn from(c: EpochCursor) -> Self {
        Self {
            n: c.n,
            seed: c.seed,
            epoch: c.epoch,
            position: c.position,
        }
    }
}

impl TryFrom<CursorState> for EpochCursor {
    type Error = Error;
    fn try_from(s: CursorState) -> Result<Self> {
        if s.position > s.n {
            return Err(Error::BadConfig {
                name: "cursor position",
                value: s.position.to_string(),
                allowed: format!("at most the number of examples, {}", s.n),
            });
        }
        Ok(Self {
            order: Self::order_of_epoch(s.n, s.seed, s.epoch),
            n: s.n,
            seed: s.seed,
            epoch: s.epoch,
            position: s.position,
        })
    }
}

impl EpochCursor {
    /// A cursor at the start of epoch 0 over `n` examples.
    pub fn new(n: usize, seed: u64) -> Self {
        Self {
            n,
            seed,
            epoch: 0,
            position: 0,
            order: Self::order_of_epoch(n, seed, 0),
        }
    }

    /// The visiting order of one epoch.
    pub fn order_of_epoch(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        SplitMix64::derived(seed, EPOCH_STREAM ^ epoch.rotate_left(17)).shuffle(&mut order);
        order
    }

    /// The next `batch_size` example indices. A batch that runs past the
    /// end of an epoch continues in the next one (reshuffled), so batches
    /// are always full and no example is dropped. Empty when there are no
    /// examples.
    pub fn next_batch(&mut self, batch_size: usize) -> Vec<usize> {
        if self.n == 0 {
            return Vec::new();
        }
        let mut batch = Vec::with_capacity(batch_size);
        while batch.len() < batch_size {
            if self.position == self.n {
                self.epoch += 1;
                self.position = 0;
                self.order = Self::order_of_epoch(self.n, self.seed, self.epoch);
            }
            let take = (batch_size - batch.len()).min(self.n - self.position);
            batch.extend_from_slice(&self.order[self.position..self.position + take]);
            self.position += take;
        }
        batch
    }

    /// The current epoch, from 0.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// How many examples of the current epoch have been handed out.
    pub fn position(&self) -> usize {
        self.position
    }

    /// The number of examples the cursor runs over.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(p: &str) -> Example {
        Example {
            prompt: p.into(),
            ..Example::default()
        }
    }

    #[test]
    fn each_epoch_is_a_permutation_and_epochs_differ() {
        let mut c = EpochCursor::new(10, 3);
        let e0 = c.next_batch(10);
        let e1 = c.next_batch(10);
        assert_eq!(c.epoch(), 1);
        for e in [&e0, &e1] {
            let mut s = e.clone();
            s.sort_unstable();
            assert_eq!(s, (0..10).collect::<Vec<_>>());
        }
        assert_ne!(e0, e1);
    }

    #[test]
    fn batches_cross_epoch_boundaries_without_dropping() {
        let mut c = EpochCursor::new(5, 9);
        let batches: Vec<Vec<usize>> = (0..5).map(|_| c.next_batch(3)).collect();
        let flat: Vec<usize> = batches.concat();
        assert!(batches.iter().all(|b| b.len() == 3));
        assert_eq!(flat[..5], EpochCursor::order_of_epoch(5, 9, 0)[..]);
        assert_eq!(flat[5..10], EpochCursor::order_of_epoch(5, 9, 1)[..]);
    }

    #[test]
    fn restored_cursor_continues_identically() {
        let mut a = EpochCursor::new(7, 42);
        a.next_batch(4);
        a.next_batch(4);
        let saved = serde_json::to_string(&a).unwrap();
        assert_eq!(saved, r#"{"n":7,"seed":42,"epoch":1,"position":1}"#);
        let mut b: EpochCursor = serde_json::from_str(&saved).unwrap();
        for _ in 0..5 {
            assert_eq!(a.next_batch(3), b.next_batch(3));
        }
    }

    #[test]
    fn restoring_a_position_past_the_end_fails() {
        let err = serde_json::from_str::<EpochCursor>(r#"{"n":3,"seed":1,"epoch":0,"position":4}"#)
            .unwrap_err();
        assert!(err.to_string().contains("cursor position"), "{err}");
    }

    #[test]
    fn empty_cursor_gives_empty_batches() {
        assert!(EpochCursor::new(0, 1).next_batch(4).is_empty());
    }

    #[test]
    fn split_keeps_same_prompts_together_and_is_deterministic() {
        let data: Vec<Example> = (0..100).map(|i| ex(&format!("p{}", i % 50))).collect();
        let s = split(data.clone(), 0.1, 0.2, 5).unwrap();
        assert_eq!(s.train.len() + s.valid.len() + s.test.len(), 100);
        assert_eq!(s.test.len(), 20);
        assert_eq!(s.valid.len(), 10);
        for t in &s.test {
            assert!(!s.train.iter().any(|x| x.prompt == t.prompt));
            assert!(!s.valid.iter().any(|x| x.prompt == t.prompt));
        }
        assert_eq!(split(data.clone(), 0.1, 0.2, 5).unwrap(), s);
        assert_ne!(split(data, 0.1, 0.2, 6).unwrap(), s);
    }

    #[test]
    fn split_rejects_fractions_that_leave_no_training_data() {
        assert!(split(vec![ex("a")], 0.5, 0.5, 0).is_err());
        assert!(split(vec![ex("a")], -0.1, 0.0, 0).is_err());
    }

    #[test]
    fn shuffled_indices_depend_on_the_seed() {
        assert_eq!(shuffled_indices(20, 1), shuffled_indices(20, 1));
        assert_ne!(shuffled_indices(20, 1), shuffled_indices(20, 2));
    }
}
