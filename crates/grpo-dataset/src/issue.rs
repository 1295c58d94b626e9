//! What is wrong with one record, and where.

use std::fmt;
use std::path::PathBuf;

/// The kind of defect a record has; loading counts skipped records by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum IssueKind {
    /// The line is not valid UTF-8.
    NotUtf8,
    /// The line is not a JSON object.
    NotJson,
    /// A required field (`prompt`, `answer`) is absent.
    MissingField,
    /// A field holds a value of the wrong JSON type.
    WrongType,
    /// A field appears twice in one record.
    DuplicateField,
    /// `prompt` is empty or only whitespace.
    EmptyPrompt,
    /// `answer` is not empty but does not parse as function calls.
    AnswerNotCalls,
    /// `ground_truth` names a function the answer does not call.
    GroundTruthNotCalled,
    /// A called function is missing from `possible_boxed_answers`.
    BoxedAnswersMissingCall,
    /// A called function is missing from `tools`.
    CallNotInTools,
    /// `confidence` is outside `[0, 1]` or not finite.
    ConfidenceOutOfRange,
    /// `tools` is present but an entry has no function name.
    BadTools,
    /// `possible_answers` is not in the documented shape.
    BadPossibleAnswers,
    /// `messages` has an entry with an empty role.
    BadMessages,
    /// `final_answer` is not in the documented shape.
    BadFinalAnswer,
    /// The prompt, in the model's tokens, is longer than training allows
    /// (the model's context less the completion budget, or
    /// `max_prompt_length`). Found by `train` and `sft`, which have the
    /// model's tokenizer; [`load`](crate::load) alone does not check it.
    PromptTooLong,
}

impl IssueKind {
    /// A short stable name, used in reports and `data stats`.
    pub fn name(self) -> &'static str {
        match self {
            Self::NotUtf8 => "not_utf8",
            Self::NotJson => "not_json",
            Self::MissingField => "missing_field",
            Self::WrongType => "wrong_type",
            Self::DuplicateField => "duplicate_field",
            Self::EmptyPrompt => "empty_prompt",
            Self::AnswerNotCalls => "answer_not_calls",
            Self::GroundTruthNotCalled => "ground_truth_not_called",
            Self::BoxedAnswersMissingCall => "boxed_answers_missing_call",
            Self::CallNotInTools => "call_not_in_tools",
            Self::ConfidenceOutOfRange => "confidence_out_of_range",
            Self::BadTools => "bad_tools",
            Self::BadPossibleAnswers => "bad_possible_answers",
            Self::BadMessages => "bad_messages",
            Self::BadFinalAnswer => "bad_final_answer",
            Self::PromptTooLong => "prompt_too_long",
        }
    }
}

impl fmt::Display for IssueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What is wrong with a record, before it is placed in a file: the field
/// (when one is to blame), the kind, and what was found and expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defect {
    /// The field at fault, when the defect is in one field.
    pub field: Option<&'static str>,
    /// What kind of defect it is.
    pub kind: IssueKind,
    /// What was found and what was expected.
    pub detail: String,
}

impl Defect {
    /// A defect of `kind` in `field`.
    pub fn new(field: Option<&'static str>, kind: IssueKind, detail: impl Into<String>) -> Self {
        Self {
            field,
            kind,
            detail: detail.into(),
        }
    }

    /// The defect placed at line `line` of `path`.
    pub fn at(self, path: impl Into<PathBuf>, line: usize) -> Issue {
        Issue {
            path: path.into(),
            line,
            field: self.field.map(str::to_owned),
            kind: self.kind,
            detail: self.detail,
        }
    }
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(field) = self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.detail)
    }
}

/// One bad record: the file, the 1-based line, the field (when one is to
/// blame), the kind, and a message saying what was found and what is allowed.
///
/// Displays as `path:line: field `name`: detail`, the form editors and
/// terminals turn into a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The file the record came from.
    pub path: PathBuf,
    /// 1-based line number of the record.
    pub line: usize,
    /// The field at fault, when the defect is in one field.
    pub field: Option<String>,
    /// What kind of defect it is.
    pub kind: IssueKind,
    /// What was found and what was expected.
    pub detail: String,
}

impl Issue {
    /// An issue in `field` of the record at `path:line`.
    pub fn new(
        path: impl Into<PathBuf>,
        line: usize,
        field: Option<&str>,
        kind: IssueKind,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            path: path.into(),
            line,
            field: field.map(str::to_owned),
            kind,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.path.display(), self.line)?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_and_field() {
        let issue = Issue::new(
            "data/train.jsonl",
            12,
            Some("confidence"),
            IssueKind::ConfidenceOutOfRange,
            "got 1.5, expected a number in [0, 1]",
        );
        assert_eq!(
            issue.to_string(),
            "data/train.jsonl:12: field `confidence`: got 1.5, expected a number in [0, 1]"
        );
    }
}
