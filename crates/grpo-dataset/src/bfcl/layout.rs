//! BFCL's data directory: `BFCL_v4_<category>.json` question files (JSON
//! lines) and `possible_answer/BFCL_v4_<category>.json` answer files; BFCL
//! v3 and older name them `BFCL_v3_…`, and both are read.

use std::path::{Path, PathBuf};

use super::Category;
use crate::error::{Error, Result};

/// The name of the folder of possible answers, beside the question files.
pub const ANSWER_DIR: &str = "possible_answer";

/// The version and category name of a BFCL file name:
/// `BFCL_v4_simple_python.json` → `(4, "simple_python")`.
///
/// ```
/// use grpo_dataset::bfcl::parse_file_name;
///
/// assert_eq!(parse_file_name("BFCL_v3_live_simple.json"), Some((3, "live_simple")));
/// assert_eq!(parse_file_name("notes.json"), None);
/// ```
pub fn parse_file_name(name: &str) -> Option<(u32, &str)> {
    let rest = name.strip_prefix("BFCL_v")?;
    let stem = rest
        .strip_suffix(".jsonl")
        .or_else(|| rest.strip_suffix(".json"))?;
    let (version, category) = stem.split_once('_')?;
    let version = version.parse().ok()?;
    (!category.is_empty()).then_some((version, category))
}

/// The possible-answer file BFCL keeps for a question file, when it exists:
/// `possible_answer/<same name>` beside it.
pub fn answers_beside(questions: &Path) -> Option<PathBuf> {
    let name = questions.file_name()?;
    let path = questions.parent()?.join(ANSWER_DIR).join(name);
    path.is_file().then_some(path)
}

/// One category found in a data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryFile {
    /// The category.
    pub category: Category,
    /// The BFCL version of its file name (`4` for `BFCL_v4_…`).
    pub version: u32,
    /// The question file.
    pub questions: PathBuf,
    /// Its possible-answer file; `None` for irrelevance and relevance.
    pub answers: Option<PathBuf>,
}

/// What a BFCL data directory holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataDir {
    /// The categories found, in the leaderboard's order.
    pub files: Vec<CategoryFile>,
    /// BFCL files left out, with the reason (categories this crate does not
    /// evaluate, older versions, missing possible answers).
    pub skipped: Vec<(PathBuf, String)>,
}

impl DataDir {
    /// Finds the categories of `dir`: its `BFCL_v<N>_<category>.json`
    /// files, each with its possible-answer file. When a category is there
    /// in several versions, the newest usable one is used.
    ///
    /// # Errors
    ///
    /// [`Error::Read`] when `dir` cannot be listed, [`Error::BadSource`]
    /// when it holds no BFCL file of a category this crate evaluates.
    pub fn scan(dir: &Path) -> Result<Self> {
        let read_err = |source| Error::Read {
            path: dir.to_owned(),
            source,
        };
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map_err(read_err)?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        let mut out = DataDir::default();
        for name in names {
            let Some((version, category)) = parse_file_name(&name) else {
                continue;
            };
            let path = dir.join(&name);
            let Some(category) = Category::from_name(category) else {
                out.skipped.push((
                    path,
                    format!(
                        "`{category}` is not a single-turn AST, irrelevance or relevance category"
                    ),
                ));
                continue;
            };
            out.files.push(CategoryFile {
                category,
                version,
                answers: answers_beside(&path),
                questions: path,
            });
        }
        // The newest version of each category; older ones are skipped.
        out.files
            .sort_by(|a, b| (a.category, b.version).cmp(&(b.category, a.version)));
        let mut kept: Vec<CategoryFile> = Vec::new();
        for f in std::mem::take(&mut out.files) {
            if f.category.has_answers() && f.answers.is_none() {
                let reason = format!("no {ANSWER_DIR}/ file of the same name beside it");
                out.skipped.push((f.questions, reason));
            } else if let Some(newer) = kept.last().filter(|k| k.category == f.category) {
                let reason = format!("an older version of {}", newer.questions.display());
                out.skipped.push((f.questions, reason));
            } else {
                kept.push(f);
            }
        }
        out.files = kept;
        if out.files.is_empty() {
            return Err(Error::BadSource {
                path: dir.to_owned(),
                format: "bfcl data directory",
                reason: format!(
                    "no BFCL_v<N>_<category>.json file of a category evaluated here ({}){}",
                    Category::ALL.map(Category::name).join(", "),
                    if out.skipped.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; left out: {}",
                            out.skipped
                                .iter()
                                .map(|(p, why)| format!("{} ({why})", p.display()))
                                .collect::<Vec<_>>()
                                .join("; ")
                        )
                    }
                ),
            });
        }
        Ok(out)
    }
}
