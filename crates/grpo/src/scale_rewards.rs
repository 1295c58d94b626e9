//! How advantages are scaled (`scale_rewards`, as TRL's `GRPOConfig`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};

/// What the group-centred rewards `r_i - mean_g(r)` are divided by
/// (TRL's `scale_rewards`). `true` and `false`, the setting's older
/// values, read as `group` and `none`, as TRL reads them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum ScaleRewards {
    /// The group's sample standard deviation plus `1e-4` (DeepSeekMath's
    /// GRPO).
    #[default]
    #[cfg_attr(
        feature = "clap",
        value(alias = "true", help = "The group's standard deviation (also `true`)")
    )]
    Group,
    /// The sample standard deviation of every reward of the iteration's
    /// batch plus `1e-4` (TRL's `scale_rewards="batch"`, after "Tricks or
    /// Traps? A Deep Dive into RL for LLM Reasoning", arXiv 2508.08221):
    /// groups keep their own baseline, but a group whose rewards barely
    /// differ is not blown up to unit spread.
    #[cfg_attr(
        feature = "clap",
        value(help = "The standard deviation of the iteration's whole batch")
    )]
    Batch,
    /// Nothing: advantages are the centred rewards (Dr. GRPO, arXiv
    /// 2503.20783, §3.1).
    #[cfg_attr(
        feature = "clap",
        value(alias = "false", help = "Nothing, as Dr. GRPO (also `false`)")
    )]
    None,
}

impl ScaleRewards {
    /// Every value, in the order the CLI lists them.
    pub const ALL: [ScaleRewards; 3] = [Self::Group, Self::Batch, Self::None];

    /// The name used by `--scale-rewards` and in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Group => "group",
            Self::Batch => "batch",
            Self::None => "none",
        }
    }
}

impl fmt::Display for ScaleRewards {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ScaleRewards {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        match name {
            "true" => return Ok(Self::Group),
            "false" => return Ok(Self::None),
            _ => {}
        }
        Self::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| Error::InvalidConfig {
                field: "scale_rewards",
                message: format!(
                    "unknown value `{name}` (expected group, batch or none; true means group, false none)"
                ),
            })
    }
}

impl<'de> Deserialize<'de> for ScaleRewards {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Spelled {
            Flag(bool),
            Name(String),
        }
        match Spelled::deserialize(deserializer).map_err(|_| {
            serde::de::Error::custom("expected group, batch or none (or true / false)")
        })? {
            Spelled::Flag(true) => Ok(Self::Group),
            Spelled::Flag(false) => Ok(Self::None),
            Spelled::Name(name) => name.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_the_old_booleans_read_back() {
        for s in ScaleRewards::ALL {
            assert_eq!(s.name().parse::<ScaleRewards>().unwrap(), s);
            let json = serde_json::to_value(s).unwrap();
            assert_eq!(json, serde_json::json!(s.name()));
            assert_eq!(serde_json::from_value::<ScaleRewards>(json).unwrap(), s);
        }
        let read = |v| serde_json::from_value::<ScaleRewards>(v).unwrap();
        assert_eq!(read(serde_json::json!(true)), ScaleRewards::Group);
        assert_eq!(read(serde_json::json!(false)), ScaleRewards::None);
        assert_eq!("false".parse::<ScaleRewards>().unwrap(), ScaleRewards::None);
        let err = serde_json::from_value::<ScaleRewards>(serde_json::json!("global"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`global`") && err.contains("batch"), "{err}");
        assert!(serde_json::from_value::<ScaleRewards>(serde_json::json!(1)).is_err());
    }
}
