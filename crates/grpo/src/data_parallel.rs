//! Data-parallel training: several processes (ranks), joined by MLX's
//! distributed layer ([`Group`]), share each iteration's batch of prompts.
//!
//! The global batch (`batch_size` prompts, drawn identically by every
//! rank from the same seed) is cut into `shards` equal shards of whole
//! prompts, so a group of completions never spans two ranks; rank `r`
//! takes the shards `r·k .. (r+1)·k` (`k = shards / ranks`, 1 by default).
//! Each shard is generated with its own random key and differentiated as
//! one unit, and the gradient of the iteration is the mean over shards:
//! summed on each rank, `all_sum`med across ranks, divided by `shards`.
//! Every rank then takes the same optimizer step on the same gradient, so
//! parameters stay identical without ever being sent.
//!
//! A run's results depend on the seed and the number of shards, not on
//! where the shards run: one process with `shards = 2` repeats a run on two
//! ranks (up to the order of floating-point sums).

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::{Duration, Instant};

use grpo_policy::distributed::Group;
use grpo_policy::mlx_rs::{ops, ops::indexing::IndexOp, transforms::eval, Array, Dtype};

use crate::error::{Error, Result};

/// Gradients are sent in buckets of about this many bytes: few messages
/// for many small LoRA matrices, bounded extra memory for a full fine-tune.
const BUCKET_BYTES: usize = 64 << 20;

/// The time one gradient exchange took, in two parts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Exchange {
    /// Waiting for the slowest rank to finish its backward pass (a small
    /// all-sum that every rank enters when its gradient is ready).
    pub(crate) wait: Duration,
    /// The gradient all-sum itself, with every rank in step.
    pub(crate) all_sum: Duration,
}

/// The ranks of a run and how the batch is cut between them.
#[derive(Debug)]
pub struct DataParallel {
    group: Group,
    shards: usize,
}

impl DataParallel {
    /// One process, one shard: training as without data parallelism.
    pub fn single() -> Self {
        Self {
            group: Group::single(),
            shards: 1,
        }
    }

    /// The ranks of `group`, with `shards` shards per batch (`None`: one
    /// per rank). `shards` must be a multiple of the number of ranks.
    pub fn new(group: Group, shards: Option<usize>) -> Result<Self> {
        let ranks = group.size();
        let shards = shards.unwrap_or(ranks);
        if shards == 0 || !shards.is_multiple_of(ranks) {
            return Err(Error::InvalidConfig {
                field: "rollout_shards",
                message: format!(
                    "{shards} shards for {ranks} ranks: give a multiple of the number of ranks ({ranks}, {}, …)",
                    2 * ranks
                ),
            });
        }
        Ok(Self { group, shards })
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.group.rank()
    }

    /// The number of ranks.
    pub fn ranks(&self) -> usize {
        self.group.size()
    }

    /// Shards per global batch.
    pub fn shards(&self) -> usize {
        self.shards
    }

    /// Whether this rank writes checkpoints, logs and plots (rank 0).
    pub fn is_main(&self) -> bool {
        self.group.is_main()
    }

    /// Whether more than one process takes part.
    pub fn is_distributed(&self) -> bool {
        self.ranks() > 1
    }

    /// Refuses a batch that does not cut into equal shards.
    pub(crate) fn check_batch_size(&self, batch_size: usize) -> Result<()> {
        if !batch_size.is_multiple_of(self.shards) {
            return Err(Error::InvalidConfig {
                field: "batch_size",
                message: format!(
                    "--batch-size {batch_size} is the global batch of prompts per iteration, cut into {} shards{}: give a multiple of {}",
                    self.shards,
                    if self.ranks() > 1 {
                        format!(" for {} ranks", self.ranks())
                    } else {
                        String::new()
                    },
                    self.shards
                ),
            });
        }
        Ok(())
    }

    /// The positions, in a global batch of `batch` prompts, of each shard
    /// this rank handles, in order.
    pub(crate) fn my_shards(&self, batch: usize) -> Vec<(usize, Range<usize>)> {
        let per_shard = batch / self.shards;
        let per_rank = self.shards / self.ranks();
        (self.rank() * per_rank..(self.rank() + 1) * per_rank)
            .map(|s| (s, s * per_shard..(s + 1) * per_shard))
            .collect()
    }

    /// The gradient of the whole batch from the sum of this rank's shard
    /// gradients: summed across ranks and divided by the number of shards.
    /// One rank and one shard: `grads` unchanged.
    pub(crate) fn mean_gradients(
        &self,
        grads: BTreeMap<String, Array>,
    ) -> Result<(BTreeMap<String, Array>, Exchange)> {
        self.sum_and_divide(grads, self.shards)
    }

    /// The mean over ranks of each rank's gradient (supervised
    /// fine-tuning, where each rank's share of the batch is one unit).
    pub(crate) fn mean_over_ranks(
        &self,
        grads: BTreeMap<String, Array>,
    ) -> Result<(BTreeMap<String, Array>, Exchange)> {
        self.sum_and_divide(grads, self.ranks())
    }

    /// `grads` summed across ranks and divided by `divisor`. The sum is
    /// evaluated here, after a barrier, so that the times returned tell
    /// waiting for the slowest rank from communicating.
    fn sum_and_divide(
        &self,
        grads: BTreeMap<String, Array>,
        divisor: usize,
    ) -> Result<(BTreeMap<String, Array>, Exchange)> {
        if divisor == 1 && !self.is_distributed() {
            return Ok((grads, Exchange::default()));
        }
        let mut grads = grads;
        let mut exchange = Exchange::default();
        if self.is_distributed() {
            eval(grads.values())?;
            let start = Instant::now();
            self.sum(&[0.0], "waiting for the other ranks' gradients")?;
            exchange.wait = start.elapsed();
            let start = Instant::now();
            grads = self.all_sum_buckets(grads)?;
            self.communicated(eval(grads.values()), "the gradient all-sum")?;
            exchange.all_sum = start.elapsed();
        }
        if divisor == 1 {
            return Ok((grads, exchange));
        }
        let scale = Array::from_f32(1.0 / divisor as f32);
        let grads = grads
            .into_iter()
            .map(|(k, g)| {
                let scaled = g.multiply(&scale)?.as_dtype(g.dtype())?;
                Ok((k, scaled))
            })
            .collect::<Result<BTreeMap<_, _>>>()?;
        Ok((grads, exchange))
    }

    /// `all_sum` of every gradient, flattened and concatenated into
    /// buckets of one dtype and about [`BUCKET_BYTES`] each.
    fn all_sum_buckets(&self, grads: BTreeMap<String, Array>) -> Result<BTreeMap<String, Array>> {
        let entries: Vec<(String, Array)> = grads.into_iter().collect();
        let mut out = BTreeMap::new();
        let mut start = 0;
        while start < entries.len() {
            let dtype = entries[start].1.dtype();
            let mut end = start;
            let mut bytes = 0;
            while end < entries.len()
                && entries[end].1.dtype() == dtype
                && (end == start || bytes + entries[end].1.nbytes() <= BUCKET_BYTES)
            {
                bytes += entries[end].1.nbytes();
                end += 1;
            }
            let flat: Vec<Array> = entries[start..end]
                .iter()
                .map(|(_, g)| g.flatten(None, None))
                .collect::<std::result::Result<_, _>>()?;
            let summed = self.group.all_sum(&ops::concatenate(&flat, 0)?)?;
            let mut offset = 0i32;
            for (name, g) in &entries[start..end] {
                let n = g.size() as i32;
                out.insert(
                    name.clone(),
                    summed.index(offset..offset + n).reshape(g.shape())?,
                );
                offset += n;
            }
            start = end;
        }
        Ok(out)
    }

    /// The element-wise sum over ranks of `values`, evaluated.
    pub(crate) fn sum(&self, values: &[f32], what: &str) -> Result<Vec<f32>> {
        if !self.is_distributed() {
            return Ok(values.to_vec());
        }
        let local = Array::from_slice(values, &[values.len() as i32]);
        let summed = self.group.all_sum(&local)?;
        self.communicated(eval([&summed]), what)?;
        Ok(summed.as_slice::<f32>().to_vec())
    }

    /// Every rank's `values` (each `width` per row), concatenated in rank
    /// order, evaluated.
    pub(crate) fn gather(&self, values: &[f32], width: usize, what: &str) -> Result<Vec<f32>> {
        if !self.is_distributed() {
            return Ok(values.to_vec());
        }
        let rows = (values.len() / width.max(1)) as i32;
        let local = Array::from_slice(values, &[rows, width as i32]);
        let gathered = self.group.all_gather(&local)?;
        self.communicated(eval([&gathered]), what)?;
        Ok(gathered.as_slice::<f32>().to_vec())
    }

    /// Whether `flag` is set on any rank (a stop request seen by one rank
    /// stops all of them at the same iteration).
    pub(crate) fn any(&self, flag: bool) -> Result<bool> {
        Ok(self.sum(&[f32::from(u8::from(flag))], "the stop check")?[0] > 0.0)
    }

    /// Every rank's fingerprint of the trained parameters, in rank order;
    /// an error if they differ, which would mean the ranks diverged.
    pub(crate) fn same_parameters(&self, params: &BTreeMap<String, Array>) -> Result<Vec<u64>> {
        let mine = fingerprint(params)?;
        if !self.is_distributed() {
            return Ok(vec![mine]);
        }
        let words = [(mine >> 32) as u32, mine as u32];
        let local = Array::from_slice(&words, &[1, 2]);
        let gathered = self.group.all_gather(&local)?;
        self.communicated(eval([&gathered]), "the parameter check")?;
        let all: Vec<u64> = gathered
            .as_slice::<u32>()
            .chunks_exact(2)
            .map(|w| (u64::from(w[0]) << 32) | u64::from(w[1]))
            .collect();
        if let Some((rank, other)) = all.iter().enumerate().find(|(_, h)| **h != all[0]) {
            return Err(Error::Distributed {
                message: format!(
                    "the ranks' parameters differ (rank 0 {:016x}, rank {rank} {other:016x}): the ranks must run the same mlx-grpo build, model, data and settings",
                    all[0]
                ),
            });
        }
        Ok(all)
    }

    /// `result` of evaluating a collective, with a lost peer explained.
    fn communicated(
        &self,
        result: std::result::Result<(), grpo_policy::mlx_rs::error::Exception>,
        what: &str,
    ) -> Result<()> {
        result.map_err(|e| Error::Distributed {
            message: format!(
                "rank {} of {} failed in {what}: {}; another rank probably stopped or crashed (see its output). The last checkpoint is intact: fix the cause and start every rank again with --resume",
                self.rank(),
                self.ranks(),
                grpo_policy::error::mlx_message(&e)
            ),
        })
    }
}

/// FNV-1a over the names and float32 values of `params`: equal on every
/// rank exactly when the ranks hold the same parameters.
pub fn fingerprint(params: &BTreeMap<String, Array>) -> Result<u64> {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    };
    for (name, a) in params {
        feed(name.as_bytes());
        let values = a.as_dtype(Dtype::Float32)?;
        eval([&values])?;
        for v in values.as_slice::<f32>() {
            feed(&v.to_bits().to_le_bytes());
        }
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_contiguous_whole_prompt_ranges_of_the_global_batch() {
        let one = DataParallel::single();
        assert_eq!(one.my_shards(4), vec![(0, 0..4)]);
        let two = DataParallel::new(Group::single(), Some(2)).unwrap();
        assert_eq!(two.my_shards(6), vec![(0, 0..3), (1, 3..6)]);
        assert!(two.check_batch_size(6).is_ok());
        let err = two.check_batch_size(5).unwrap_err().to_string();
        assert!(err.contains("--batch-size 5"), "{err}");
        assert!(err.contains("multiple of 2"), "{err}");
    }

    #[test]
    fn zero_shards_are_refused() {
        let err = DataParallel::new(Group::single(), Some(0))
            .unwrap_err()
            .to_string();
        assert!(err.contains("rollout_shards"), "{err}");
    }

    #[test]
    fn one_process_sums_and_gathers_to_its_own_values_and_averages_over_shards() {
        let two = DataParallel::new(Group::single(), Some(2)).unwrap();
        assert_eq!(two.sum(&[1.5, 2.0], "test").unwrap(), [1.5, 2.0]);
        assert_eq!(two.gather(&[1.0, 2.0], 2, "test").unwrap(), [1.0, 2.0]);
        assert!(!two.any(false).unwrap());
        let grads = BTreeMap::from([("w".to_string(), Array::from_slice(&[2.0f32, -4.0], &[2]))]);
        let (mean, exchange) = two.mean_gradients(grads).unwrap();
        assert_eq!(mean["w"].as_slice::<f32>(), &[1.0, -2.0]);
        assert_eq!(exchange, Exchange::default());
    }

    #[test]
    fn fingerprints_change_with_any_value_or_name() {
        let params = |name: &str, v: f32| {
            BTreeMap::from([(name.to_string(), Array::from_slice(&[1.0f32, v], &[2]))])
        };
        let base = fingerprint(&params("a", 2.0)).unwrap();
        assert_eq!(base, fingerprint(&params("a", 2.0)).unwrap());
        assert_ne!(base, fingerprint(&params("a", 2.0 + 1e-6)).unwrap());
        assert_ne!(base, fingerprint(&params("b", 2.0)).unwrap());
    }
}
