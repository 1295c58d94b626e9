//! Summaries of a loaded data set, for `mlx-grpo data stats`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::answer::called_functions;
use crate::load::Loaded;
use crate::record::Example;

/// Percentiles of a length distribution.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Percentiles {
    /// Smallest value.
    pub min: usize,
    /// Median.
    pub p50: usize,
    /// 90th percentile.
    pub p90: usize,
    /// 99th percentile.
    pub p99: usize,
    /// Largest value.
    pub max: usize,
    /// Mean.
    pub mean: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `values` (all zero when empty).
    pub fn of(mut values: Vec<usize>) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        values.sort_unstable();
        let rank =
            |q: f64| values[((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
        Self {
            min: values[0],
            p50: rank(0.5),
            p90: rank(0.9),
            p99: rank(0.99),
            max: values[values.len() - 1],
            mean: values.iter().sum::<usize>() as f64 / values.len() as f64,
        }
    }
}

impl fmt::Display for Percentiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "min {} · p50 {} · p90 {} · p99 {} · max {} · mean {:.1}",
            self.min, self.p50, self.p90, self.p99, self.max, self.mean
        )
    }
}

/// What `data stats` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// Valid records.
    pub records: usize,
    /// Records by kind: the `kind` field when present, otherwise inferred
    /// (irrelevance: empty answer; parallel: several calls; multiple:
    /// several functions listed; single: otherwise).
    pub by_kind: BTreeMap<String, usize>,
    /// Records by `source`.
    pub by_source: BTreeMap<String, usize>,
    /// Calls per function name, over all answers.
    pub functions: BTreeMap<String, usize>,
    /// Prompt lengths in characters.
    pub prompt_chars: Percentiles,
    /// Answer lengths in characters.
    pub answer_chars: Percentiles,
    /// Prompt lengths in tokens, when a tokenizer was given.
    pub prompt_tokens: Option<Percentiles>,
    /// Answer lengths in tokens, when a tokenizer was given.
    pub answer_tokens: Option<Percentiles>,
    /// Skipped records by kind of defect.
    pub skipped: BTreeMap<String, usize>,
    /// Records repeating an earlier prompt.
    pub duplicate_prompts: usize,
}

/// The kind of a record, as [`Stats::by_kind`] counts it.
pub fn kind_of(ex: &Example) -> String {
    if let Some(kind) = ex.extra.get("kind").and_then(|k| k.as_str()) {
        return kind.to_owned();
    }
    let calls = called_functions(&ex.answer).map_or(0, |c| c.len());
    let listed = ex
        .tools
        .as_ref()
        .map_or(ex.possible_boxed_answers.len(), Vec::len);
    if ex.is_answer_turn() {
        "answer"
    } else if ex.is_irrelevance() {
        "irrelevance"
    } else if calls > 1 {
        "parallel"
    } else if listed > 1 {
        "multiple"
    } else {
        "single"
    }
    .to_owned()
}

/// Summarises `loaded`; `count_tokens`, when given, measures texts in tokens.
pub fn compute(loaded: &Loaded, count_tokens: Option<&dyn Fn(&str) -> usize>) -> Stats {
    let mut by_kind = BTreeMap::new();
    let mut by_source = BTreeMap::new();
    let mut functions = BTreeMap::new();
    for ex in &loaded.examples {
        *by_kind.entry(kind_of(ex)).or_insert(0) += 1;
        *by_source.entry(ex.source.clone()).or_insert(0) += 1;
        for name in called_functions(&ex.answer).unwrap_or_default() {
            *functions.entry(name).or_insert(0) += 1;
        }
    }
    let lengths =
        |f: &dyn Fn(&Example) -> usize| Percentiles::of(loaded.examples.iter().map(f).collect());
    Stats {
        records: loaded.examples.len(),
        by_kind,
        by_source,
        functions,
        prompt_chars: lengths(&|e| e.prompt.chars().count()),
        answer_chars: lengths(&|e| e.answer.chars().count()),
        prompt_tokens: count_tokens.map(|c| lengths(&|e| c(&e.prompt))),
        answer_tokens: count_tokens.map(|c| lengths(&|e| c(&e.answer))),
        skipped: loaded
            .report
            .skipped
            .iter()
            .map(|(k, n)| (k.name().to_owned(), *n))
            .collect(),
        duplicate_prompts: loaded.report.duplicates.len(),
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts = |map: &BTreeMap<String, usize>| {
            map.iter()
                .map(|(k, n)| format!("{}: {n}", if k.is_empty() { "(none)" } else { k }))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(f, "records: {}", self.records)?;
        writeln!(f, "kinds: {}", counts(&self.by_kind))?;
        writeln!(f, "sources: {}", counts(&self.by_source))?;
        writeln!(f, "prompt chars: {}", self.prompt_chars)?;
        writeln!(f, "answer chars: {}", self.answer_chars)?;
        if let Some(p) = &self.prompt_tokens {
            writeln!(f, "prompt tokens: {p}")?;
        }
        if let Some(p) = &self.answer_tokens {
            writeln!(f, "answer tokens: {p}")?;
        }
        let skipped: usize = self.skipped.values().sum();
        write!(f, "bad records: {skipped}")?;
        if skipped > 0 {
            write!(f, " ({})", counts(&self.skipped))?;
        }
        writeln!(f)?;
        writeln!(f, "repeated prompts: {}", self.duplicate_prompts)?;
        let mut by_count: Vec<(&String, &usize)> = self.functions.iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        write!(f, "functions called ({}):", by_count.len())?;
        for (name, n) in by_count {
            write!(f, "\n  {n:>7}  {name}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let p = Percentiles::of((1..=100).collect());
        assert_eq!((p.min, p.p50, p.p90, p.p99, p.max), (1, 50, 90, 99, 100));
        assert_eq!(p.mean, 50.5);
        assert_eq!(Percentiles::of(vec![]), Percentiles::default());
        assert_eq!(Percentiles::of(vec![7]).p99, 7);
    }

    #[test]
    fn kind_is_read_or_inferred() {
        let mut ex = Example {
            answer: "f(a=1)\nf(a=2)".into(),
            ..Example::default()
        };
        assert_eq!(kind_of(&ex), "parallel");
        ex.answer = String::new();
        assert_eq!(kind_of(&ex), "irrelevance");
        ex.answer = "f(a=1)".into();
        assert_eq!(kind_of(&ex), "single");
        ex.possible_boxed_answers = vec!["f".into(), "g".into()];
        assert_eq!(kind_of(&ex), "multiple");
        ex.extra.insert("kind".into(), "custom".into());
        assert_eq!(kind_of(&ex), "custom");
    }
}
