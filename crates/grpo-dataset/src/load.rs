//! Loading a whole file: decode, extract tools, validate, and apply the
//! strict or skip-and-count policy.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::duplicates::{find_duplicates, Duplicate};
use crate::error::{Error, Result};
use crate::issue::{Issue, IssueKind};
use crate::prompt::find_tools;
use crate::reader;
use crate::record::Example;
use crate::validate::validate;

/// How [`load`] treats bad records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Stop at the first bad record with [`Error::Invalid`]. Otherwise bad
    /// records are skipped, counted by kind, and the first few kept.
    pub strict: bool,
    /// Fill `tools` from the function list in the prompt when a record has
    /// no `tools` field.
    pub extract_tools: bool,
    /// How many issues the report keeps verbatim (all are counted).
    pub max_issues: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            strict: false,
            extract_tools: true,
            max_issues: 10,
        }
    }
}

/// What loading found, besides the records themselves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadReport {
    /// The file.
    pub path: PathBuf,
    /// Lines read, blank ones included.
    pub lines: usize,
    /// Blank lines, which are skipped and are not records.
    pub blank_lines: usize,
    /// Bytes of (decompressed) JSONL read.
    pub bytes: u64,
    /// Records kept.
    pub valid: usize,
    /// Records skipped, by kind of defect.
    pub skipped: BTreeMap<IssueKind, usize>,
    /// The first few skipped records, in file order.
    pub issues: Vec<Issue>,
    /// Kept records whose prompt repeats an earlier kept record's, as
    /// `(line, line of the first)`.
    pub duplicates: Vec<(usize, usize)>,
}

impl LoadReport {
    /// How many records were skipped in all.
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }

    /// Counts a record that was valid as skipped after all, for `issue`
    /// (a check made after loading, e.g. of the prompt's length in the
    /// model's tokens). Of each kind, the first `max_issues` are kept
    /// verbatim; [`issues`](Self::issues) stays in file order.
    pub fn skip(&mut self, issue: Issue, max_issues: usize) {
        self.valid = self.valid.saturating_sub(1);
        *self.skipped.entry(issue.kind).or_default() += 1;
        let same_kind = self.issues.iter().filter(|i| i.kind == issue.kind).count();
        if same_kind < max_issues {
            let at = self.issues.partition_point(|i| i.line <= issue.line);
            self.issues.insert(at, issue);
        }
    }

    /// The report with at most the first `n` skipped records listed (all
    /// are counted), as `file:line: reason` lines.
    pub fn brief(&self, n: usize) -> Brief<'_> {
        Brief { report: self, n }
    }

    fn write(&self, f: &mut fmt::Formatter<'_>, n: usize) -> fmt::Result {
        write!(
            f,
            "{}: {} valid records, {} skipped",
            self.path.display(),
            self.valid,
            self.skipped_total()
        )?;
        if !self.skipped.is_empty() {
            let parts: Vec<String> = self
                .skipped
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            write!(f, " ({})", parts.join(", "))?;
        }
        if !self.duplicates.is_empty() {
            write!(f, ", {} repeat an earlier prompt", self.duplicates.len())?;
        }
        let shown = &self.issues[..n.min(self.issues.len())];
        for issue in shown {
            write!(f, "\n  {issue}")?;
        }
        let hidden = self.skipped_total().saturating_sub(shown.len());
        if hidden > 0 {
            write!(f, "\n  … and {hidden} more")?;
        }
        Ok(())
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, self.issues.len())
    }
}

/// A [`LoadReport`] that lists only its first few skipped records (see
/// [`LoadReport::brief`]).
#[derive(Debug, Clone, Copy)]
pub struct Brief<'a> {
    report: &'a LoadReport,
    n: usize,
}

impl fmt::Display for Brief<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.report.write(f, self.n)
    }
}

/// The records of a file and the report on them.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The valid records, in file order.
    pub examples: Vec<Example>,
    /// The 1-based line of each record in `examples`.
    pub lines: Vec<usize>,
    /// Counts, skipped records and duplicates.
    pub report: LoadReport,
}

/// Loads and validates a `.jsonl` or `.jsonl.gz` file.
///
/// Each record is decoded (see [`Example`]), gets its `tools` from the
/// prompt when [`LoadOptions::extract_tools`] is set and it has none, and is
/// checked by [`validate`]. A file that is empty, or whose every record is
/// bad, is an error.
///
/// # Errors
///
/// [`Error::Read`] when the file cannot be read; [`Error::Invalid`] for the
/// first bad record in strict mode; [`Error::Empty`] and
/// [`Error::NoValidRecord`] as above.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Loaded> {
    let mut records = reader::open(path)?;
    let mut examples = Vec::new();
    let mut lines = Vec::new();
    let mut report = LoadReport {
        path: path.to_owned(),
        ..LoadReport::default()
    };
    let mut first_issue = None;
    for item in records.by_ref() {
        let (line, decoded) = item?;
        let checked = decoded.and_then(|mut ex| {
            if opts.extract_tools && ex.tools.is_none() {
                if let Some(found) = find_tools(&ex.prompt) {
                    ex.tools = Some(found.tools);
                    ex.tools_from_prompt = true;
                }
            }
            validate(&ex).map(|()| ex).map_err(|d| d.at(path, line))
        });
        match checked {
            Ok(ex) => {
                examples.push(ex);
                lines.push(line);
            }
            Err(issue) if opts.strict => {
                return Err(Error::Invalid {
                    issue: Box::new(issue),
                })
            }
            Err(issue) => {
                *report.skipped.entry(issue.kind).or_default() += 1;
                if first_issue.is_none() {
                    first_issue = Some(issue.clone());
                }
                if report.issues.len() < opts.max_issues {
                    report.issues.push(issue);
                }
            }
        }
    }
    report.lines = records.lines_read();
    report.blank_lines = records.blank_lines();
    report.bytes = records.bytes_read();
    report.valid = examples.len();
    if examples.is_empty() {
        return Err(match first_issue {
            None => Error::Empty {
                path: path.to_owned(),
            },
            Some(first) => Error::NoValidRecord {
                path: path.to_owned(),
                skipped: report.skipped_total(),
                first: Box::new(first),
            },
        });
    }
    report.duplicates = find_duplicates(&examples)
        .into_iter()
        .map(|Duplicate { index, first }| (lines[index], lines[first]))
        .collect();
    Ok(Loaded {
        examples,
        lines,
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(line: usize, kind: IssueKind) -> Issue {
        Issue::new(
            "d.jsonl",
            line,
            Some("prompt"),
            kind,
            format!("line {line}"),
        )
    }

    #[test]
    fn skip_counts_keeps_file_order_and_brief_lists_the_first_few() {
        let mut report = LoadReport {
            path: "d.jsonl".into(),
            valid: 10,
            skipped: [(IssueKind::NotJson, 2)].into_iter().collect(),
            issues: vec![issue(2, IssueKind::NotJson), issue(9, IssueKind::NotJson)],
            ..LoadReport::default()
        };
        for line in [1, 5, 7] {
            report.skip(issue(line, IssueKind::PromptTooLong), 2);
        }
        assert_eq!(report.valid, 7);
        assert_eq!(report.skipped_total(), 5);
        assert_eq!(report.skipped[&IssueKind::PromptTooLong], 3);
        let lines: Vec<usize> = report.issues.iter().map(|i| i.line).collect();
        assert_eq!(lines, [1, 2, 5, 9], "two of each kind, in file order");
        let brief = report.brief(2).to_string();
        assert!(
            brief.contains("d.jsonl:1: field `prompt`: line 1"),
            "{brief}"
        );
        assert!(brief.contains("d.jsonl:2:"), "{brief}");
        assert!(!brief.contains("d.jsonl:5:"), "{brief}");
        assert!(brief.ends_with("… and 3 more"), "{brief}");
        assert!(brief.contains("prompt_too_long: 3"), "{brief}");
    }
}
