//! The function catalogue of the synthetic generator: typed parameters and
//! query templates, declared as static data.
//!
//! Every template names each required parameter as `{param}`; an optional
//! parameter is passed exactly when the template names it, and is left to
//! its default otherwise. Values are written into the query so that each
//! argument of the answer can be copied from the query text: numbers as
//! digits, strings and enum words verbatim, booleans as a phrase that says
//! which way they go.

use serde_json::{json, Map, Value};

use super::functions;

/// What a function is about; irrelevance queries come from a domain none of
/// the listed functions belongs to, so that "no function applies" is true.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Domain {
    Numbers,
    Text,
    Travel,
    Money,
    Office,
    Media,
}

/// A parameter type and how its values are drawn.
#[derive(Debug)]
pub(crate) enum Ty {
    /// An integer in `lo..=hi`.
    Int { lo: i64, hi: i64 },
    /// A decimal in `lo..hi` with exactly `decimals` decimals, the last one
    /// non-zero, so the text in the query is the same as the literal.
    Float { lo: i64, hi: i64, decimals: u32 },
    /// A string from a pool, quoted or not by the template.
    Text(&'static [&'static str]),
    /// A string drawn as `prefix` plus `digits` random digits.
    Code { prefix: &'static str, digits: u32 },
    /// One of a fixed set of words (a JSON Schema `enum`).
    Choice(&'static [&'static str]),
    /// A boolean, written in the query as one of two phrases.
    Flag { yes: &'static str, no: &'static str },
    /// A list of integers in `lo..=hi`, of `min..=max` items.
    Ints {
        lo: i64,
        hi: i64,
        min: usize,
        max: usize,
    },
    /// A list of distinct strings from a pool, of `min..=max` items.
    Texts {
        pool: &'static [&'static str],
        min: usize,
        max: usize,
    },
}

/// A default of an optional parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Default {
    Int(i64),
    Str(&'static str),
    Bool(bool),
}

impl Default {
    pub(crate) fn to_json(self) -> Value {
        match self {
            Self::Int(i) => json!(i),
            Self::Str(s) => json!(s),
            Self::Bool(b) => json!(b),
        }
    }
}

/// One parameter of a catalogue function.
#[derive(Debug)]
pub(crate) struct Param {
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
    pub(crate) ty: Ty,
    /// `Some` for optional parameters.
    pub(crate) default: Option<Default>,
}

/// One catalogue function.
#[derive(Debug)]
pub(crate) struct Function {
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
    pub(crate) domain: Domain,
    pub(crate) params: &'static [Param],
    /// Query templates with `{param}` placeholders.
    pub(crate) templates: &'static [&'static str],
}

impl Function {
    /// The function as the guide lists it in prompts: name, description,
    /// and each parameter's description and type (plus `enum` and `default`
    /// where they apply).
    pub(crate) fn to_json(&self) -> Value {
        let mut params = Map::new();
        for p in self.params {
            let mut spec = Map::new();
            spec.insert("description".into(), json!(p.description));
            spec.insert("type".into(), json!(p.ty.type_name()));
            if let Ty::Choice(words) = p.ty {
                spec.insert("enum".into(), json!(words));
            }
            if let Some(d) = p.default {
                spec.insert("default".into(), d.to_json());
            }
            params.insert(p.name.into(), Value::Object(spec));
        }
        json!({
            "name": self.name,
            "description": self.description,
            "parameters": params,
        })
    }

    pub(crate) fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }
}

impl Ty {
    /// The type as the guide writes it.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Self::Int { .. } => "int",
            Self::Float { .. } => "float",
            Self::Text(_) | Self::Code { .. } | Self::Choice(_) => "str",
            Self::Flag { .. } => "bool",
            Self::Ints { .. } => "List[int]",
            Self::Texts { .. } => "List[str]",
        }
    }
}

/// Every function of the catalogue, in a fixed order.
pub(crate) fn all() -> Vec<&'static Function> {
    [
        functions::numbers::FUNCTIONS,
        functions::text::FUNCTIONS,
        functions::travel::FUNCTIONS,
        functions::money::FUNCTIONS,
        functions::office::FUNCTIONS,
        functions::media::FUNCTIONS,
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The `{name}` placeholders of a template, in order.
#[cfg(test)]
pub(crate) fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn catalogue_has_enough_distinct_functions_of_every_type() {
        let fs = all();
        assert!(fs.len() >= 30, "{} functions", fs.len());
        let names: HashSet<&str> = fs.iter().map(|f| f.name).collect();
        assert_eq!(names.len(), fs.len(), "duplicate function names");
        let types: HashSet<&str> = fs
            .iter()
            .flat_map(|f| f.params.iter().map(|p| p.ty.type_name()))
            .collect();
        for t in ["int", "float", "str", "bool", "List[int]", "List[str]"] {
            assert!(types.contains(t), "no parameter of type {t}");
        }
        assert!(fs
            .iter()
            .any(|f| f.params.iter().any(|p| matches!(p.ty, Ty::Choice(_)))));
        assert!(fs
            .iter()
            .any(|f| f.params.iter().any(|p| p.default.is_some())));
    }

    #[test]
    fn templates_name_every_required_parameter_and_only_known_ones() {
        for f in all() {
            assert!(
                f.templates.len() >= 2,
                "{}: needs several phrasings",
                f.name
            );
            for t in f.templates {
                let named: Vec<&str> = placeholders(t).collect();
                for n in &named {
                    assert!(
                        f.param(n).is_some(),
                        "{}: unknown placeholder {n} in {t:?}",
                        f.name
                    );
                }
                for p in f.params.iter().filter(|p| p.default.is_none()) {
                    assert!(
                        named.contains(&p.name),
                        "{}: {t:?} misses {}",
                        f.name,
                        p.name
                    );
                }
            }
            for p in f.params.iter().filter(|p| p.default.is_some()) {
                let with = f
                    .templates
                    .iter()
                    .filter(|t| placeholders(t).any(|n| n == p.name));
                assert!(
                    with.count() > 0,
                    "{}: optional {} never passed",
                    f.name,
                    p.name
                );
                let without = f
                    .templates
                    .iter()
                    .filter(|t| !placeholders(t).any(|n| n == p.name));
                assert!(
                    without.count() > 0,
                    "{}: optional {} always passed",
                    f.name,
                    p.name
                );
            }
        }
    }

    #[test]
    fn prompts_list_parameters_in_the_order_answers_pass_them() {
        // Answers pass arguments in declaration order; a prompt listing
        // them in the same order lets a model copy the order too.
        for f in all() {
            let json = f.to_json();
            let listed: Vec<&str> = json["parameters"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let declared: Vec<&str> = f.params.iter().map(|p| p.name).collect();
            assert_eq!(listed, declared, "{}", f.name);
        }
    }

    #[test]
    fn every_domain_has_functions() {
        for d in [
            Domain::Numbers,
            Domain::Text,
            Domain::Travel,
            Domain::Money,
            Domain::Office,
            Domain::Media,
        ] {
            assert!(all().iter().filter(|f| f.domain == d).count() >= 3, "{d:?}");
        }
    }
}
