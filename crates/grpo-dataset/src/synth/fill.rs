//! Drawing argument values and writing them into a query template.

use serde_json::Value;

use super::catalogue::{Function, Ty};
use crate::call_syntax::render_call;
use crate::rng::SplitMix64;

/// One call with the query sentence that asks for it.
#[derive(Debug, Clone)]
pub(crate) struct FilledCall {
    pub(crate) function: &'static Function,
    pub(crate) query: String,
    /// The arguments passed, in parameter order.
    pub(crate) args: Vec<(&'static str, Value)>,
}

impl FilledCall {
    /// The call in the guide's Python syntax.
    pub(crate) fn render(&self) -> String {
        render_call(self.function.name, self.args.iter().map(|(k, v)| (*k, v)))
    }
}

/// Picks a template of `f` and draws a value for each parameter it names.
/// Strings drawn for one call are distinct (origin differs from
/// destination, and so on).
pub(crate) fn fill(f: &'static Function, rng: &mut SplitMix64) -> FilledCall {
    // The catalogue tests guarantee each function has templates.
    let template = rng.pick(f.templates).copied().unwrap_or_default();
    let mut query = String::with_capacity(template.len() + 32);
    let mut used: Vec<String> = Vec::new();
    let mut args: Vec<(&'static str, Value)> = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        query.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        if let Some(p) = f.param(name) {
            let (value, text) = draw(&p.ty, rng, &mut used);
            query.push_str(&text);
            args.push((p.name, value));
        }
    }
    query.push_str(rest);
    args.sort_by_key(|(name, _)| f.params.iter().position(|p| p.name == *name));
    FilledCall {
        function: f,
        query,
        args,
    }
}

/// Draws one value; returns it as JSON and as the text for the query.
fn draw(ty: &Ty, rng: &mut SplitMix64, used: &mut Vec<String>) -> (Value, String) {
    match *ty {
        Ty::Int { lo, hi } => {
            let v = rng.range_i64(lo, hi);
            (Value::from(v), v.to_string())
        }
        Ty::Float { lo, hi, decimals } => {
            let scale = 10i64.pow(decimals);
            let k = loop {
                let k = rng.range_i64(lo * scale, hi * scale - 1);
                if k % 10 != 0 {
                    break k;
                }
            };
            let text = format!(
                "{}.{:0width$}",
                k / scale,
                k % scale,
                width = decimals as usize
            );
            // `text` has few digits and no trailing zero, so the float
            // prints back as the same text.
            let v: f64 = text.parse().unwrap_or_default();
            (Value::from(v), text)
        }
        Ty::Text(pool) | Ty::Choice(pool) => {
            let s = pick_unused(pool, rng, used);
            (Value::from(s), s.to_owned())
        }
        Ty::Code { prefix, digits } => {
            let n = rng.range_i64(0, 10i64.pow(digits) - 1);
            let s = format!("{prefix}{n:0width$}", width = digits as usize);
            (Value::from(s.clone()), s)
        }
        Ty::Flag { yes, no } => {
            let b = rng.chance(0.5);
            (Value::from(b), if b { yes } else { no }.to_owned())
        }
        Ty::Ints { lo, hi, min, max } => {
            let len = min + rng.below(max - min + 1);
            let items: Vec<i64> = (0..len).map(|_| rng.range_i64(lo, hi)).collect();
            let words: Vec<String> = items.iter().map(i64::to_string).collect();
            (Value::from(items), join_words(&words))
        }
        Ty::Texts { pool, min, max } => {
            let len = min + rng.below(max - min + 1);
            let items: Vec<String> = (0..len)
                .map(|_| pick_unused(pool, rng, used).to_owned())
                .collect();
            let text = join_words(&items);
            (Value::from(items), text)
        }
    }
}

/// A pool entry not yet used in this call (any entry once all are used).
fn pick_unused(
    pool: &'static [&'static str],
    rng: &mut SplitMix64,
    used: &mut Vec<String>,
) -> &'static str {
    let free: Vec<&'static str> = pool
        .iter()
        .copied()
        .filter(|s| !used.iter().any(|u| u == s))
        .collect();
    let choice = rng
        .pick(if free.is_empty() { pool } else { &free })
        .copied()
        .unwrap_or_default();
    used.push(choice.to_owned());
    choice
}

/// `a`, `a and b`, `a, b and c`.
fn join_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Whether every argument value of `call` can be read off its query: the
/// property that lets a small model learn to copy arguments.
#[cfg(test)]
pub(crate) fn values_appear_in_query(call: &FilledCall) -> bool {
    call.args.iter().all(|(name, value)| {
        let ty = call.function.param(name).map(|p| &p.ty);
        match (ty, value) {
            (Some(Ty::Flag { yes, no }), Value::Bool(b)) => {
                call.query.contains(if *b { yes } else { no })
            }
            (_, Value::Array(items)) => items.iter().all(|i| call.query.contains(&scalar_text(i))),
            (_, v) => call.query.contains(&scalar_text(v)),
        }
    })
}

#[cfg(test)]
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::catalogue::{all, placeholders};

    #[test]
    fn joins_like_a_sentence() {
        let w = |v: &[&str]| join_words(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(w(&["3"]), "3");
        assert_eq!(w(&["3", "5"]), "3 and 5");
        assert_eq!(w(&["3", "5", "8"]), "3, 5 and 8");
    }

    #[test]
    fn every_drawn_value_is_in_the_query_and_prints_back_the_same() {
        let mut rng = SplitMix64::new(11);
        for f in all() {
            for _ in 0..200 {
                let call = fill(f, &mut rng);
                assert!(
                    values_appear_in_query(&call),
                    "{} / {}",
                    call.query,
                    call.render()
                );
                assert!(!call.query.contains('{'), "{}", call.query);
            }
        }
    }

    #[test]
    fn strings_of_one_call_are_distinct() {
        let f = all()
            .into_iter()
            .find(|f| f.name == "find_flights")
            .unwrap();
        let mut rng = SplitMix64::new(3);
        for _ in 0..200 {
            let call = fill(f, &mut rng);
            let get = |k: &str| {
                call.args
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.clone())
            };
            assert_ne!(get("origin"), get("destination"));
        }
    }

    #[test]
    fn placeholders_are_found_in_order() {
        let names: Vec<&str> = placeholders("From {origin} to {destination}.").collect();
        assert_eq!(names, ["origin", "destination"]);
    }
}
