//! The run's random streams. Every draw of a run (rollouts, dropout,
//! validation, the recovery pass) comes from a key that is a pure function
//! of the seed, the stream and a counter, so nothing about the random state
//! needs saving and a resumed run draws what the interrupted one would have.

use grpo_policy::mlx_rs::{random, Array};

use crate::error::Result;

/// Streams of randomness, so that rollouts and dropout never share draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Rollout = 1,
    Dropout = 2,
    Eval = 3,
    Recovery = 4,
}

/// The key of `stream` at `counter` (the iteration for rollouts and
/// recovery, the optimizer step for dropout).
pub(crate) fn key_for(seed: u64, stream: Stream, counter: u64) -> Result<Array> {
    let mut z = seed
        ^ (stream as u64).wrapping_mul(0xA076_1D64_78BD_642F)
        ^ counter.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // splitmix64 finaliser
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    Ok(random::key(z ^ (z >> 31))?)
}

/// The plain seed of `stream`, for code that seeds its own generator
/// (validation's sampler).
pub(crate) fn stream_seed(seed: u64, stream: Stream) -> u64 {
    seed.wrapping_add(stream as u64)
}
