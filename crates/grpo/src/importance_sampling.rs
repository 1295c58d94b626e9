//! Where the importance ratio is taken (`importance_sampling_level`, as
//! TRL's `GRPOConfig`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One ratio per token, or one per completion (GSPO).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum ImportanceSamplingLevel {
    /// `ρ_i,t = exp(logp_i,t − old_i,t)`, clipped per token (PPO, GRPO).
    #[default]
    #[cfg_attr(
        feature = "clap",
        value(help = "One ratio per token, clipped per token")
    )]
    Token,
    /// GSPO's length-normalised sequence ratio (Group Sequence Policy
    /// Optimization, arXiv 2507.18071):
    /// `s_i = exp((1/|o_i|) Σ_t (logp_i,t − old_i,t))`, shared and clipped
    /// by every token of completion `i`, as TRL's
    /// `importance_sampling_level="sequence"`. A completion is kept or
    /// clipped whole, so one off-policy token cannot survive in an
    /// otherwise clipped sequence, and the ratio's variance does not grow
    /// with the completion's length.
    #[cfg_attr(
        feature = "clap",
        value(help = "GSPO's length-normalised ratio per completion, clipped whole")
    )]
    Sequence,
}

impl ImportanceSamplingLevel {
    /// Every level, in the order the CLI lists them.
    pub const ALL: [ImportanceSamplingLevel; 2] = [Self::Token, Self::Sequence];

    /// The name used by `--importance-sampling-level` and in configuration
    /// files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Sequence => "sequence",
        }
    }
}

impl fmt::Display for ImportanceSamplingLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ImportanceSamplingLevel {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|l| l.name() == name)
            .ok_or_else(|| Error::InvalidConfig {
                field: "importance_sampling_level",
                message: format!("unknown level `{name}` (expected token or sequence)"),
            })
    }
}
