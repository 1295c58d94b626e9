//! Walking a model's parameters by their checkpoint names.
//!
//! Every layer implements [`Parameters`] by naming its arrays the way the
//! checkpoint (and mlx-lm) names them, so that one walk serves loading checks,
//! saving, the trainable set, and gradient bookkeeping.

use std::collections::BTreeMap;

use mlx_rs::Array;

/// A tree of named parameters.
pub trait Parameters {
    /// Calls `f` with the full dotted name and the value of every parameter,
    /// `prefix` being the name of `self` (empty at the root).
    fn visit<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, &'a Array));

    /// As [`visit`](Self::visit), with mutable access (to replace values).
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Array));
}

/// `prefix.name`, or `name` at the root, or `prefix` for an empty `name`
/// (a wrapper that adds no level).
pub(crate) fn join(prefix: &str, name: &str) -> String {
    if name.is_empty() {
        prefix.to_string()
    } else if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

impl<T: Parameters> Parameters for Vec<T> {
    fn visit<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, &'a Array)) {
        for (i, item) in self.iter().enumerate() {
            item.visit(&join(prefix, &i.to_string()), f);
        }
    }

    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Array)) {
        for (i, item) in self.iter_mut().enumerate() {
            item.visit_mut(&join(prefix, &i.to_string()), f);
        }
    }
}

impl<T: Parameters> Parameters for Option<T> {
    fn visit<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, &'a Array)) {
        if let Some(item) = self {
            item.visit(prefix, f);
        }
    }

    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Array)) {
        if let Some(item) = self {
            item.visit_mut(prefix, f);
        }
    }
}

/// Every parameter of `module` by name, sorted.
pub fn named_parameters(module: &impl Parameters) -> BTreeMap<String, Array> {
    let mut out = BTreeMap::new();
    module.visit("", &mut |name, a| {
        out.insert(name.to_string(), a.clone());
    });
    out
}

/// The parameters of `module` whose names satisfy `keep`, sorted by name.
pub fn select(module: &impl Parameters, keep: impl Fn(&str) -> bool) -> Vec<(String, Array)> {
    let mut out = Vec::new();
    module.visit("", &mut |name, a| {
        if keep(name) {
            out.push((name.to_string(), a.clone()));
        }
    });
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Replaces parameters by name; returns the names of `values` that matched
/// no parameter (callers treat any as a bug or a bad file).
pub fn assign(module: &mut impl Parameters, values: &BTreeMap<String, Array>) -> Vec<String> {
    let mut used = std::collections::BTreeSet::new();
    module.visit_mut("", &mut |name, a| {
        if let Some(v) = values.get(name) {
            *a = v.clone();
            used.insert(name.to_string());
        }
    });
    values
        .keys()
        .filter(|k| !used.contains(k.as_str()))
        .cloned()
        .collect()
}

/// The total number of scalars in `module`'s parameters (packed quantized
/// weights count as stored).
pub fn count(module: &impl Parameters) -> usize {
    let mut n = 0;
    module.visit("", &mut |_, a| n += a.size());
    n
}

impl Parameters for Array {
    fn visit<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, &'a Array)) {
        f(prefix, self);
    }

    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Array)) {
        f(prefix, self);
    }
}

/// Implements [`Parameters`] for a struct from its fields and their
/// checkpoint names: `parameters!(Mlp { gate_proj: "gate_proj", .. })`.
macro_rules! parameters {
    ($ty:ty { $($field:ident: $name:expr),* $(,)? }) => {
        impl $crate::params::Parameters for $ty {
            fn visit<'a>(&'a self, p: &str, f: &mut dyn FnMut(&str, &'a mlx_rs::Array)) {
                $( $crate::params::Parameters::visit(&self.$field, &$crate::params::join(p, $name), f); )*
            }

            fn visit_mut(&mut self, p: &str, f: &mut dyn FnMut(&str, &mut mlx_rs::Array)) {
                $( $crate::params::Parameters::visit_mut(&mut self.$field, &$crate::params::join(p, $name), f); )*
            }
        }
    };
}
pub(crate) use parameters;
