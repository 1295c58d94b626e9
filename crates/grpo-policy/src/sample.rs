//! Drawing the next token from logits: temperature, top-k, top-p, min-p.

use mlx_rs::{
    ops::{self, indexing},
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
        } else {
            random::categorical(self.filter(&scaled, &lse)?, -1, None, key)?
        };
        let picked = scaled
            .take_along_axis(&tokens.expand_dims(-1)?, -1)?
            .subtract(&lse)?
            .squeeze_axes(&[-1])?;
        Ok((tokens, picked))
    }

    /// `scaled` (logits whose log-normaliser is `lse`) with the tokens that
    /// top-k, min-p and top-p exclude set to −∞ (the most likely token always
    /// survives); `scaled` itself when no filter is on.
    ///
    /// After top-k, top-p only needs the `k` survivors: it sorts those (not
    /// the vocabulary, 49k entries per row for SmolLM2) and keeps every token
    /// at least as likely as the least likely survivor. That is the same
    /// set as sorting everything, but for exact ties at that boundary, which
    /// it keeps together.
    fn filter(&self, scaled: &Array, lse: &Array) -> Result<Array> {
        let vocab = *scaled
            .shape()
            .last()
            .expect("logits have a vocabulary axis");
        let neg_inf = Array::from_f32(f32::NEG_INFINITY);
        let mut kept = scaled.clone();
        // The `k` largest values of each row (unordered), when top-k is on.
        let mut top = None;
        if self.top_k > 0 && self.top_k < vocab {
            // Along the vocabulary: `topk` without an axis would take the
            // k largest of the whole batch, and filter every row by them.
            let values = indexing::topk_axis(scaled, self.top_k, -1)?;
            let kth = values.min_axis(-1, true)?;
            kept = ops::select(&scaled.ge(&kth)?, &kept, &neg_inf)?;
            top = Some(values);
        }
        if self.min_p > 0.0 {
            let floor = scaled
                .max_axis(-1, true)?
                .add(Array::from_f32(self.min_p.ln()))?;
            kept = ops::select(&scaled.ge(&floor)?, &kept, &neg_inf)?;
            if let Some(values) = top.take() {
                top = Some(ops::select(&values.ge(&floor)?, &values, &neg_inf)?);
            }
        }
        if self.top_p < 1.0 {
            kept = match top {
                Some(values) => {
                    let sorted = ops::sort_axis(&values.negative()?, -1)?.negative()?;
                    let keep = self.top_p_keeps(&sorted, lse)?;
                    let lowest = ops::select(&keep, &sorted, Array::from_f32(f32::INFINITY))?
                        .min_axis(-1, true)?;
                    ops::select(&scaled.ge(&lowest)?, &kept, &neg_inf)?
                }
                None => {
                    let order = ops::argsort_axis(&kept.negative()?, -1)?; // most likely first
                    let sorted = kept.take_along_axis(&order, -1)?;
                    let keep = self.top_p_keeps(&sorted, lse)?;
                    let sorted = ops::select(&keep, &sorted, &neg_inf)?;
                    kept.put_along_axis(&order, &sorted, -1)?
                }
            };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn logits() -> Array {
        // probabilities 0.5, 0.25, 0.125, 0.125
        Array::from_slice(&[0.5f32, 0.25, 0.125, 0.125].map(f32::ln), &[1, 4])
    }

    fn kept(s: Sampler) -> Vec<bool> {
        // Unnormalised, as sampling passes them.
        let shifted = logits().add(Array::from_f32(3.0)).unwrap();
        let lse = shifted.logsumexp_axis(-1, true).unwrap();
        let f = s.filter(&shifted, &lse).unwrap();
        f.as_slice::<f32>().iter().map(|v| v.is_finite()).collect()
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
        let lse = logits.logsumexp_axis(-1, true).unwrap();
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
            let f = s.filter(&logits, &lse).unwrap();
            let got: Vec<Vec<bool>> = f
                .as_slice::<f32>()
                .chunks(vocab as usize)
                .map(|r| r.iter().map(|v| v.is_finite()).collect())
                .collect();
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
}
