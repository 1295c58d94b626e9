//! Parameter credit of one predicted call against one expected call, with
//! a verdict per parameter.

use crate::call::{ToolCall, Value};
use crate::compare::{
    allowed_match, values_match, CompareOptions, NumberMode, ParamCheck, Verdict,
};
use crate::reference::{ExpectedCall, ExpectedParam, ParamKey, Tool};

/// Parameter credit of one predicted call against one expected call.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Credit {
    pub(super) correct: u32,
    pub(super) counted: u32,
}

impl Credit {
    pub(super) fn score(self) -> f64 {
        if self.counted == 0 {
            1.0
        } else {
            f64::from(self.correct) / f64::from(self.counted)
        }
    }
}

/// A predicted argument's key, borrowed: positional arguments take their
/// schema name when the schema has one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key<'a> {
    Name(&'a str),
    Position(usize),
}

impl<'a> Key<'a> {
    fn of(key: &'a ParamKey) -> Self {
        match key {
            ParamKey::Name(n) => Key::Name(n),
            ParamKey::Position(i) => Key::Position(*i),
        }
    }

    fn owned(self) -> ParamKey {
        match self {
            Key::Name(n) => ParamKey::Name(n.to_owned()),
            Key::Position(i) => ParamKey::Position(i),
        }
    }
}

/// The predicted call's arguments with their keys, in order.
fn predicted_args<'a>(
    call: &'a ToolCall,
    tool: Option<&'a Tool>,
) -> impl Iterator<Item = (Key<'a>, &'a Value)> + Clone {
    let positional = call.positional.iter().enumerate().map(move |(i, v)| {
        let named = tool.and_then(|t| t.params.get(i)).map(|(n, _)| n.as_str());
        (named.map_or(Key::Position(i), Key::Name), v)
    });
    let keyword = call.args.iter().map(|(k, v)| (Key::Name(k.as_str()), v));
    positional.chain(keyword)
}

/// Scores the parameters of `p` against `e`, writing verdicts to `checks`
/// when given. `nested` reads allowed values in BFCL's nested form (see
/// [`allowed_match`]); literal answers are compared literally.
pub(super) fn param_credit(
    p: &ToolCall,
    e: &ExpectedCall,
    tool: Option<&Tool>,
    options: &CompareOptions,
    nested: bool,
    mut checks: Option<&mut Vec<ParamCheck>>,
) -> Credit {
    let matches = |v: &Value, a: &Value| {
        if nested {
            allowed_match(v, a, options)
        } else {
            values_match(v, a, options)
        }
    };
    let args = predicted_args(p, tool);
    let default_of = |key: Key<'_>| match key {
        Key::Name(n) => tool.and_then(|t| t.default_of(n)),
        Key::Position(_) => None,
    };
    let mut credit = Credit::default();
    let mut record = |key: Key<'_>, verdict: Verdict, credit: &mut Credit| {
        match verdict {
            Verdict::Correct => {
                credit.correct += 1;
                credit.counted += 1;
            }
            Verdict::Omitted => {}
            _ => credit.counted += 1,
        }
        if let Some(checks) = checks.as_deref_mut() {
            checks.push(ParamCheck {
                key: key.owned(),
                verdict,
            });
        }
    };
    for param in &e.params {
        let key = Key::of(&param.key);
        let given = args.clone().find(|(k, _)| *k == key).map(|(_, v)| v);
        let verdict = match given {
            Some(v) if param.allowed.iter().any(|a| matches(v, a)) => Verdict::Correct,
            Some(v) if param.optional && is_default(v, default_of(key), options) => {
                Verdict::Omitted
            }
            Some(v) => mismatch(v, param, options),
            None if param.optional => Verdict::Omitted,
            None => Verdict::Missing,
        };
        record(key, verdict, &mut credit);
    }
    for (index, (key, v)) in args.clone().enumerate() {
        let repeated = args.clone().take(index).any(|(k, _)| k == key);
        let expected = e.params.iter().any(|param| Key::of(&param.key) == key);
        if repeated || !expected {
            let verdict = if !repeated && is_default(v, default_of(key), options) {
                Verdict::Omitted
            } else {
                Verdict::Unexpected
            };
            record(key, verdict, &mut credit);
        }
    }
    credit
}

fn is_default(v: &Value, default: Option<&Value>, options: &CompareOptions) -> bool {
    default.is_some_and(|d| values_match(v, d, options))
}

/// Wrong type when no allowed value has the given value's type (ints and
/// floats count as one type in lenient mode), else wrong value.
fn mismatch(v: &Value, param: &ExpectedParam, options: &CompareOptions) -> Verdict {
    // Ints and floats are one type where the number mode compares them; in
    // BFCL's mode only a predicted int stands for a float.
    let compatible = |a: &Value| match (v, a, options.numbers) {
        (Value::Int(_), Value::Float(_), NumberMode::Lenient | NumberMode::IntAsFloat) => true,
        (Value::Float(_), Value::Int(_), NumberMode::Lenient) => true,
        _ => a.kind() == v.kind(),
    };
    if param.allowed.iter().any(compatible) {
        Verdict::WrongValue
    } else {
        Verdict::WrongType {
            expected: param.allowed.first().map_or("nothing", Value::kind),
            got: v.kind(),
        }
    }
}
