//! Drawing the next token from logits: temperature, top-k, top-p, min-p.

use mlx_rs::{
    ops::{self, indexing, indexing::IndexOp},
    random, Array, Dtype,
};

use crate::error::Result;

/// How the next token is chosen.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sampler {
    /// Softmax temperature; 0 picks the most likely token (greedy).
    pub temperature: f32,
    /// Keep the smallest set of tokens whose probability reaches this (1 = off).
    pub top_p: f32,
    /// Keep only the `top_k` most likely tokens (0 = off).
    pub top_k: i32,
    /// Drop tokens less likely than `min_p` times the most likely one (0 = off).
    pub min_p: f32,
}

impl Default for Sampler {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            top_p: 1.0,
            top_k: 0,
            min_p: 0.0,
        }
    }
}

impl Sampler {
    /// Greedy decoding.
    pub fn greedy() -> Self {
        Self {
            temperature: 0.0,
            ..Self::default()
        }
    }

    /// Plain sampling at `temperature`.
    pub fn with_temperature(temperature: f32) -> Self {
        Self {
            temperature,
            ..Self::default()
        }
    }

    /// Draws one token per row, and returns it with its log-probability
    /// under the temperature-scaled distribution *before* top-k/top-p/min-p
    /// filtering: the distribution the training loss recomputes (greedy
    /// decoding reports log-probabilities at temperature 1).
    ///
    /// # Shapes
    /// `logits`: `[rows, vocab]` → (`[rows]` uint32, `[rows]` float32).
    pub fn sample(&self, logits: &Array, key: &Array) -> Result<(Array, Array)> {
        let logits = logits.as_dtype(Dtype::Float32)?;
        // Sampling is shift-invariant, so tokens are drawn from the scaled
        // logits and only the picked entries are normalised: one pass over
        // the vocabulary fewer than normalising everything first.
        let scaled = if self.temperature > 0.0 && self.temperature != 1.0 {
            logits.multiply(Array::from_f32(1.0 / self.temperature))?
        } else {
            logits
        };
        let lse = scaled.logsumexp_axis(-1, true)?; // [rows, 1]
        let tokens = if self.temperature <= 0.0 {
            indexing::argmax_axis(&scaled, -1, false)?.as_dtype(Dtype::Uint32)?
        } else if let Some(k) = self.active_top_k(&scaled) {
            // Drawn among the k survivors only: the same distribution as
            // drawing from the whole vocabulary with the rest at −∞, at a
            // fraction of the cost (SmolLM2: 20 candidates, not 49,152
            // Gumbel draws and masks per row).
            let (candidates, values) = top_k_candidates(&scaled, k)?;
            let choice = random::categorical(self.filter(&values, &lse)?, -1, None, key)?;
            candidates
                .take_along_axis(&choice.expand_dims(-1)?, -1)?
                .squeeze_axes(&[-1])?
        } else {
            random::categorical(self.filter(&scaled, &lse)?, -1, None, key)?
        };
        let picked = scaled
            .take_along_axis(&tokens.expand_dims(-1)?, -1)?
            .subtract(&lse)?
            .squeeze_axes(&[-1])?;
        Ok((tokens, picked))
    }

    /// `top_k` when it excludes anything from `scaled`'s vocabulary.
    fn active_top_k(&self, scaled: &Array) -> Option<i32> {
        let vocab = *scaled
            .shape()
            .last()
            .expect("logits have a vocabulary axis");
        (self.top_k > 0 && self.top_k < vocab).then_some(self.top_k)
    }

    /// `candidates` (logits of a row's candidate tokens, its most likely
    /// token among them, log-normaliser `lse` over the whole vocabulary)
    /// with the ones min-p and top-p exclude set to −∞; the most likely
    /// token always survives. The candidates are the whole vocabulary, or
    /// the survivors of top-k ([`top_k_candidates`]): top-p then sorts
    /// those k (not the vocabulary, 49k entries per row for SmolLM2). Top-p
    /// keeps every candidate at least as likely as the least likely one it
    /// needs: the same set as a cut in sorted order, but for exact ties at
    /// that boundary, which it keeps together.
    fn filter(&self, candidates: &Array, lse: &Array) -> Result<Array> {
        let neg_inf = Array::from_f32(f32::NEG_INFINITY);
        let mut kept = candidates.clone();
        if self.min_p > 0.0 {
            let floor = candidates
                .max_axis(-1, true)?
                .add(Array::from_f32(self.min_p.ln()))?;
            kept = ops::select(&candidates.ge(&floor)?, &kept, &neg_inf)?;
        }
        if self.top_p < 1.0 {
            let sorted = ops::sort_axis(&kept.negative()?, -1)?.negative()?; // most likely first
            let keep = self.top_p_keeps(&sorted, lse)?;
            let lowest =
                ops::select(&keep, &sorted, Array::from_f32(f32::INFINITY))?.min_axis(-1, true)?;
            kept = ops::select(&kept.ge(&lowest)?, &kept, &neg_inf)?;
        }
        Ok(kept)
    }

    /// Which of `sorted` (logits in decreasing order, normaliser `lse`)
    /// top-p keeps: a token goes once the tokens ahead of it already reach
    /// `top_p` (so the first always stays).
    fn top_p_keeps(&self, sorted: &Array, lse: &Array) -> Result<Array> {
        let probs = sorted.subtract(lse)?.exp()?;
        // Probability mass strictly before each token.
        let before = probs.cumsum(-1, None, None)?.subtract(&probs)?;
        Ok(before.lt(Array::from_f32(self.top_p))?)
    }
}

/// The `k` most likely tokens of each row of `scaled` (`[rows, vocab]`),
/// unordered: their ids (`[rows, k]` uint32) and logits.
fn top_k_candidates(scaled: &Array, k: i32) -> Result<(Array, Array)> {
    // Along the vocabulary, row by row: a batch-wide top-k would keep the
    // k largest of the whole batch and filter every row by them.
    let ids = ops::argpartition_axis(&scaled.negative()?, k - 1, -1)?.index((.., ..k));
    let values = scaled.take_along_axis(&ids, -1)?;
    Ok((ids, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logits() -> Array {
        // probabilities 0.5, 0.25, 0.125, 0.125
        Array::from_slice(&[0.5f32, 0.25, 0.125, 0.125].map(f32::ln), &[1, 4])
    }

    /// Which tokens of each row of `logits` `s` may draw: its candidates
    /// (top-k's survivors, or the whole vocabulary) that the filters keep.
    fn drawable(s: &Sampler, logits: &Array) -> Vec<Vec<bool>> {
        let (rows, vocab) = (logits.shape()[0], logits.shape()[1]);
        let lse = logits.logsumexp_axis(-1, true).unwrap();
        let (ids, values) = match s.active_top_k(logits) {
            Some(k) => top_k_candidates(logits, k).unwrap(),
            None => {
                let ids: Vec<u32> = (0..rows).flat_map(|_| 0..vocab as u32).collect();
                (Array::from_slice(&ids, &[rows, vocab]), logits.clone())
            }
        };
        let kept = s.filter(&values, &lse).unwrap();
        let ids = ids.contiguous().unwrap();
        let width = ids.shape()[1] as usize;
        let mut out = vec![vec![false; vocab as usize]; rows as usize];
        for (r, row) in out.iter_mut().enumerate() {
            let ids = &ids.as_slice::<u32>()[r * width..(r + 1) * width];
            let kept = &kept.as_slice::<f32>()[r * width..(r + 1) * width];
            for (&id, v) in ids.iter().zip(kept) {
                row[id as usize] |= v.is_finite();
            }
        }
        out
    }

    fn kept(s: Sampler) -> Vec<bool> {
        // Unnormalised, as sampling passes them.
        let shifted = logits().add(Array::from_f32(3.0)).unwrap();
        drawable(&s, &shifted).remove(0)
    }

    #[test]
    fn filters_keep_what_they_promise() {
        let base = Sampler::default();
        assert_eq!(
            kept(Sampler { top_k: 2, ..base }),
            [true, true, false, false]
        );
        assert_eq!(
            kept(Sampler { top_p: 0.7, ..base }),
            [true, true, false, false]
        );
        assert_eq!(
            kept(Sampler { top_p: 0.1, ..base }),
            [true, false, false, false]
        );
        assert_eq!(
            kept(Sampler { min_p: 0.3, ..base }),
            [true, true, false, false]
        );
        assert_eq!(kept(base), [true; 4]);
    }

    /// The tokens each filter keeps, computed on the host row by row, the
    /// straightforward way (sort the whole row).
    fn kept_on_host(s: &Sampler, rows: &[Vec<f32>]) -> Vec<Vec<bool>> {
        rows.iter()
            .map(|v| {
                let lse = v.iter().map(|x| (x - v[0]).exp()).sum::<f32>().ln() + v[0];
                let mut order: Vec<usize> = (0..v.len()).collect();
                order.sort_by(|&a, &b| v[b].total_cmp(&v[a]));
                let mut keep = vec![true; v.len()];
                if s.top_k > 0 {
                    let kth = v[order[s.top_k as usize - 1]];
                    keep.iter_mut().zip(v).for_each(|(k, x)| *k &= *x >= kth);
                }
                if s.min_p > 0.0 {
                    let floor = v[order[0]] + s.min_p.ln();
                    keep.iter_mut().zip(v).for_each(|(k, x)| *k &= *x >= floor);
                }
                if s.top_p < 1.0 {
                    let mut before = 0.0f32;
                    for &i in &order {
                        if !keep[i] {
                            continue;
                        }
                        keep[i] = before < s.top_p;
                        before += (v[i] - lse).exp();
                    }
                }
                keep
            })
            .collect()
    }

    #[test]
    fn filters_work_row_by_row_and_match_a_full_sort() {
        // Rows on very different scales: a batch-wide top-k would keep the
        // first row's tokens only.
        let (rows, vocab) = (4, 300);
        let noise =
            random::normal::<f32>(&[rows, vocab], 0.0, 2.0, &random::key(5).unwrap()).unwrap();
        let offsets = Array::from_slice(&[30.0f32, 0.0, -20.0, 5.0], &[rows, 1]);
        let logits = noise.add(&offsets).unwrap();
        let host: Vec<Vec<f32>> = logits
            .as_slice::<f32>()
            .chunks(vocab as usize)
            .map(<[f32]>::to_vec)
            .collect();
        let base = Sampler::default();
        for s in [
            Sampler { top_k: 20, ..base },
            Sampler { top_p: 0.5, ..base },
            Sampler {
                top_k: 20,
                top_p: 0.5,
                ..base
            },
            Sampler {
                top_k: 40,
                top_p: 0.95,
                ..base
            },
            Sampler {
                top_k: 20,
                min_p: 0.05,
                top_p: 0.9,
                ..base
            },
            Sampler {
                min_p: 0.1,
                top_p: 0.8,
                ..base
            },
        ] {
            let got = drawable(&s, &logits);
            let want = kept_on_host(&s, &host);
            assert_eq!(got, want, "{s:?}");
            assert!(
                got.iter().all(|r| r.iter().any(|&k| k)),
                "{s:?}: a row lost every token"
            );
        }
    }

    #[test]
    fn greedy_picks_the_argmax_and_reports_its_logprob() {
        let key = random::key(0).unwrap();
        let (t, lp) = Sampler::greedy().sample(&logits(), &key).unwrap();
        assert_eq!(t.as_slice::<u32>(), &[0]);
        assert!((lp.as_slice::<f32>()[0] - 0.5f32.ln()).abs() < 1e-6);
    }

    #[test]
    fn sampling_follows_the_distribution() {
        let rows = 4000;
        let l = ops::broadcast_to(logits(), &[rows, 4]).unwrap();
        let (t, _) = Sampler::default()
            .sample(&l, &random::key(1).unwrap())
            .unwrap();
        let zeros = t.as_slice::<u32>().iter().filter(|&&v| v == 0).count();
        let frac = zeros as f32 / rows as f32;
        assert!(
            (frac - 0.5).abs() < 0.05,
            "token 0 drawn {frac} of the time"
        );
    }

    #[test]
    fn top_k_draws_its_survivors_in_proportion() {
        // Rows with the tokens in different orders, so that a survivor's
        // position among the candidates is not its token id.
        let rows = 4000;
        let probs = [[0.125f32, 0.5, 0.125, 0.25], [0.25, 0.125, 0.5, 0.125]];
        let flat: Vec<f32> = (0..rows).flat_map(|r| probs[r % 2].map(f32::ln)).collect();
        let l = Array::from_slice(&flat, &[rows as i32, 4]);
        let s = Sampler {
            top_k: 2,
            ..Sampler::default()
        };
        let (t, lp) = s.sample(&l, &random::key(2).unwrap()).unwrap();
        let mut likeliest = 0;
        for (r, (&tok, &lp)) in t
            .as_slice::<u32>()
            .iter()
            .zip(lp.as_slice::<f32>())
            .enumerate()
        {
            let p = probs[r % 2][tok as usize];
            assert!(p >= 0.25, "row {r} drew token {tok} of probability {p}");
            assert!(
                (lp - p.ln()).abs() < 1e-5,
                "row {r}: log-probability {lp}, want ln {p}"
            );
            likeliest += usize::from(p == 0.5);
        }
        let frac = likeliest as f32 / rows as f32;
        assert!(
            (frac - 2.0 / 3.0).abs() < 0.04,
            "the likeliest of two survivors drawn {frac} of the time"
        );
    }
}
