//! Per-record checks beyond decoding: the answer parses as calls, and the
//! other fields agree with it.

use serde_json::Value;

use crate::answer::called_functions;
use crate::issue::{Defect, IssueKind};
use crate::prompt::tool_name;
use crate::record::Example;

/// Checks one decoded record and returns its first defect.
///
/// In order: `prompt` is not blank; `confidence` is in `[0, 1]`; `tools`
/// entries have names; `messages` entries have roles; `possible_answers`
/// has the documented shape; a non-empty `answer` parses as function calls
/// (unless the record is an answering turn, whose answer is words);
/// `ground_truth` is one of the called functions; every called function is
/// in `possible_boxed_answers` (when given) and in `tools` (when known).
pub fn validate(ex: &Example) -> Result<(), Defect> {
    if ex.prompt.trim().is_empty() {
        return Err(Defect::new(
            Some("prompt"),
            IssueKind::EmptyPrompt,
            "is empty; expected the system text, the functions and the user query",
        ));
    }
    if !(0.0..=1.0).contains(&ex.confidence) {
        return Err(Defect::new(
            Some("confidence"),
            IssueKind::ConfidenceOutOfRange,
            format!("got {}, expected a number in [0, 1]", ex.confidence),
        ));
    }
    if let Some(tools) = &ex.tools {
        if let Some(i) = tools.iter().position(|t| tool_name(t).is_none()) {
            return Err(Defect::new(
                Some("tools"),
                IssueKind::BadTools,
                format!(
                    "entry {i} has no function name; expected {{\"name\": …}} or {{\"type\": \"function\", \"function\": {{\"name\": …}}}}"
                ),
            ));
        }
    }
    if let Some(messages) = &ex.messages {
        if let Some(i) = messages.iter().position(|m| m.role.trim().is_empty()) {
            return Err(Defect::new(
                Some("messages"),
                IssueKind::BadMessages,
                format!("entry {i} has an empty `role`; expected system, user, assistant or tool"),
            ));
        }
    }
    if let Some(Err(why)) = ex.expected_final_answer() {
        return Err(Defect::new(
            Some("final_answer"),
            IssueKind::BadFinalAnswer,
            format!("{why}; e.g. \"Paris\", 720, or {{\"value\": \"22.63\", \"match\": \"numeric\", \"tolerance\": 0.01}}"),
        ));
    }
    if let Some(pa) = &ex.possible_answers {
        check_possible_answers(pa)?;
    }
    let called = if ex.is_irrelevance() || ex.is_answer_turn() {
        Vec::new()
    } else {
        called_functions(&ex.answer).map_err(|why| {
            Defect::new(
                Some("answer"),
                IssueKind::AnswerNotCalls,
                format!("does not parse as function calls ({why}); expected lines like `name(arg=value)`, or an empty answer when no function applies"),
            )
        })?
    };
    if let Some(gt) = ex.ground_truth.as_deref().filter(|g| !g.is_empty()) {
        if !called.iter().any(|c| c == gt) {
            let detail = if called.is_empty() {
                format!("`{gt}` is given but the answer calls no function")
            } else {
                format!(
                    "`{gt}` is not among the called functions ({})",
                    called.join(", ")
                )
            };
            return Err(Defect::new(
                Some("ground_truth"),
                IssueKind::GroundTruthNotCalled,
                detail,
            ));
        }
    }
    if !ex.possible_boxed_answers.is_empty() {
        if let Some(c) = called
            .iter()
            .find(|c| !ex.possible_boxed_answers.iter().any(|b| b == *c))
        {
            return Err(Defect::new(
                Some("possible_boxed_answers"),
                IssueKind::BoxedAnswersMissingCall,
                format!(
                    "does not name the called function `{c}` (lists: {})",
                    ex.possible_boxed_answers.join(", ")
                ),
            ));
        }
    }
    if let Some(tools) = &ex.tools {
        let names: Vec<&str> = tools.iter().filter_map(tool_name).collect();
        if let Some(c) = called.iter().find(|c| !names.contains(&c.as_str())) {
            return Err(Defect::new(
                Some("tools"),
                IssueKind::CallNotInTools,
                format!(
                    "the answer calls `{c}`, which is not among the listed functions ({})",
                    names.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// `possible_answers` is a list of `{"function": {"param": [allowed, …]}}`
/// objects (one per expected call), or a single such object.
fn check_possible_answers(value: &Value) -> Result<(), Defect> {
    let bad = |detail: String| {
        Err(Defect::new(
            Some("possible_answers"),
            IssueKind::BadPossibleAnswers,
            detail,
        ))
    };
    let calls: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![value],
        other => {
            return bad(format!(
                "got {}, expected a list of {{\"function\": {{\"param\": [allowed values]}}}}",
                crate::json_type_name(other)
            ))
        }
    };
    for (i, call) in calls.iter().enumerate() {
        let Some(map) = call.as_object() else {
            return bad(format!("entry {i} is not an object"));
        };
        for (func, params) in map {
            let Some(params) = params.as_object() else {
                return bad(format!(
                    "`{func}` maps to {}, expected an object of parameters",
                    crate::json_type_name(params)
                ));
            };
            if let Some((p, _)) = params.iter().find(|(_, v)| !v.is_array()) {
                return bad(format!("`{func}.{p}` is not a list of allowed values"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn good() -> Example {
        Example {
            prompt: "p".into(),
            answer: "calculate_factorial(n=5)\ncalculate_factorial(n=7)".into(),
            ground_truth: Some("calculate_factorial".into()),
            possible_boxed_answers: vec!["reverse_words".into(), "calculate_factorial".into()],
            ..Example::default()
        }
    }

    fn kind_of(ex: &Example) -> Option<(Option<&'static str>, IssueKind)> {
        validate(ex).err().map(|d| (d.field, d.kind))
    }

    #[test]
    fn the_guide_record_is_valid() {
        assert_eq!(kind_of(&good()), None);
    }

    #[test]
    fn irrelevance_with_no_ground_truth_is_valid() {
        let ex = Example {
            answer: String::new(),
            ground_truth: None,
            ..good()
        };
        assert_eq!(kind_of(&ex), None);
    }

    #[test]
    fn each_defect_names_its_field() {
        let cases: Vec<(Example, &str, IssueKind)> = vec![
            (
                Example {
                    prompt: " ".into(),
                    ..good()
                },
                "prompt",
                IssueKind::EmptyPrompt,
            ),
            (
                Example {
                    confidence: 1.5,
                    ..good()
                },
                "confidence",
                IssueKind::ConfidenceOutOfRange,
            ),
            (
                Example {
                    confidence: f64::NAN,
                    ..good()
                },
                "confidence",
                IssueKind::ConfidenceOutOfRange,
            ),
            (
                Example {
                    answer: "I think you should call it".into(),
                    ..good()
                },
                "answer",
                IssueKind::AnswerNotCalls,
            ),
            (
                Example {
                    ground_truth: Some("reverse_words".into()),
                    ..good()
                },
                "ground_truth",
                IssueKind::GroundTruthNotCalled,
            ),
            (
                Example {
                    answer: String::new(),
                    ..good()
                },
                "ground_truth",
                IssueKind::GroundTruthNotCalled,
            ),
            (
                Example {
                    possible_boxed_answers: vec!["reverse_words".into()],
                    ..good()
                },
                "possible_boxed_answers",
                IssueKind::BoxedAnswersMissingCall,
            ),
            (
                Example {
                    tools: Some(vec![json!({"description": "x"})]),
                    ..good()
                },
                "tools",
                IssueKind::BadTools,
            ),
            (
                Example {
                    tools: Some(vec![json!({"name": "reverse_words"})]),
                    ..good()
                },
                "tools",
                IssueKind::CallNotInTools,
            ),
            (
                Example {
                    possible_answers: Some(json!([{"f": {"x": 1}}])),
                    ..good()
                },
                "possible_answers",
                IssueKind::BadPossibleAnswers,
            ),
            (
                Example {
                    possible_answers: Some(json!("f")),
                    ..good()
                },
                "possible_answers",
                IssueKind::BadPossibleAnswers,
            ),
            (
                Example {
                    messages: Some(vec![crate::Message::new("", "hi")]),
                    ..good()
                },
                "messages",
                IssueKind::BadMessages,
            ),
            (
                Example {
                    final_answer: Some(json!({"value": "many", "match": "numeric"})),
                    ..good()
                },
                "final_answer",
                IssueKind::BadFinalAnswer,
            ),
        ];
        for (ex, field, kind) in cases {
            assert_eq!(kind_of(&ex), Some((Some(field), kind)), "{field}");
        }
    }

    #[test]
    fn final_answers_in_every_documented_form_are_accepted() {
        for answer in [
            json!("Paris"),
            json!(720),
            json!({"value": "22.63", "match": "numeric", "tolerance": 0.01}),
            json!({"value": "Paris", "match": "exact"}),
        ] {
            let ex = Example {
                final_answer: Some(answer.clone()),
                ..good()
            };
            assert_eq!(kind_of(&ex), None, "{answer}");
        }
    }

    #[test]
    fn bfcl_possible_answers_are_accepted() {
        let ex = Example {
            possible_answers: Some(
                json!([{"calculate_factorial": {"n": [5]}}, {"calculate_factorial": {"n": [7]}}]),
            ),
            ..good()
        };
        assert_eq!(kind_of(&ex), None);
    }
}
