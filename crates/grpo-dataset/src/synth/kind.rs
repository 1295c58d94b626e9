//! The four kinds of synthetic task and their mix.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::rng::SplitMix64;

/// The kind of a synthetic task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// One function listed, one call.
    Single,
    /// Several functions listed; one applies.
    Multiple,
    /// Several calls in one answer.
    Parallel,
    /// No listed function applies; the answer is empty.
    Irrelevance,
}

impl Kind {
    /// All kinds, in order.
    pub const ALL: [Kind; 4] = [
        Kind::Single,
        Kind::Multiple,
        Kind::Parallel,
        Kind::Irrelevance,
    ];

    /// The name written in the `kind` field.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Single => "single",
            Kind::Multiple => "multiple",
            Kind::Parallel => "parallel",
            Kind::Irrelevance => "irrelevance",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Relative weights of the four kinds (they need not sum to 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KindMix {
    /// Weight of [`Kind::Single`].
    pub single: f64,
    /// Weight of [`Kind::Multiple`].
    pub multiple: f64,
    /// Weight of [`Kind::Parallel`].
    pub parallel: f64,
    /// Weight of [`Kind::Irrelevance`].
    pub irrelevance: f64,
}

impl Default for KindMix {
    /// Mostly tasks with calls; enough irrelevance that a model learns to
    /// abstain without learning to abstain by default.
    fn default() -> Self {
        Self {
            single: 0.25,
            multiple: 0.35,
            parallel: 0.25,
            irrelevance: 0.15,
        }
    }
}

impl KindMix {
    pub(super) fn weight(&self, kind: Kind) -> f64 {
        match kind {
            Kind::Single => self.single,
            Kind::Multiple => self.multiple,
            Kind::Parallel => self.parallel,
            Kind::Irrelevance => self.irrelevance,
        }
    }

    pub(super) fn draw(&self, rng: &mut SplitMix64) -> Kind {
        let total: f64 = Kind::ALL.iter().map(|k| self.weight(*k)).sum();
        let mut x = rng.unit_f64() * total;
        for kind in Kind::ALL {
            x -= self.weight(kind);
            if x < 0.0 {
                return kind;
            }
        }
        Kind::Single
    }
}

impl FromStr for KindMix {
    type Err = Error;

    /// Parses `single=1,multiple=2,parallel=1,irrelevance=0.5`; kinds left
    /// out get weight 0.
    fn from_str(s: &str) -> Result<Self> {
        let bad = |value: &str| {
            Error::BadConfig {
            name: "kind mix",
            value: value.to_owned(),
            allowed: "comma-separated KIND=WEIGHT with kinds single, multiple, parallel, irrelevance and weights ≥ 0".into(),
        }
        };
        let mut mix = KindMix {
            single: 0.0,
            multiple: 0.0,
            parallel: 0.0,
            irrelevance: 0.0,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (kind, weight) = part.split_once('=').ok_or_else(|| bad(part))?;
            let weight: f64 = weight.trim().parse().map_err(|_| bad(part))?;
            if !(weight >= 0.0 && weight.is_finite()) {
                return Err(bad(part));
            }
            let slot = match kind.trim() {
                "single" => &mut mix.single,
                "multiple" => &mut mix.multiple,
                "parallel" => &mut mix.parallel,
                "irrelevance" => &mut mix.irrelevance,
                _ => return Err(bad(part)),
            };
            *slot = weight;
        }
        Ok(mix)
    }
}
