//! The leaderboard's averages over categories, as BFCL's
//! `eval_runner_helper.py` (`generate_leaderboard_csv`) computes them.

use super::Category;

/// The result of one category: right answers out of those scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CategoryScore {
    /// The category.
    pub category: Category,
    /// Outputs judged right.
    pub correct: usize,
    /// Entries scored (every entry of the file, or the first `--limit`).
    pub total: usize,
}

impl CategoryScore {
    /// The score of `category` over the judged entries of that category
    /// in `judged`.
    pub fn tally(category: Category, judged: &[super::Judged]) -> Self {
        let mine = judged.iter().filter(|j| j.category == category);
        CategoryScore {
            category,
            correct: mine.clone().filter(|j| j.outcome.valid).count(),
            total: mine.count(),
        }
    }

    /// `correct / total`; 0 when nothing was scored.
    pub fn accuracy(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }
}

/// One of the leaderboard's summary numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Average {
    /// Its column name on the leaderboard (`Non-Live AST Acc`, …).
    pub name: &'static str,
    /// The leaderboard's number; `None` ("N/A", as BFCL shows it) when a
    /// category it averages was not scored.
    pub value: Option<f64>,
    /// The same average over the categories that were scored; `None` when
    /// none was.
    pub over_present: Option<f64>,
    /// The categories it averages that were not scored.
    pub missing: Vec<Category>,
    /// Entries behind it.
    pub count: usize,
}

/// A value being averaged: a category or an average of categories.
#[derive(Debug, Clone)]
struct Part {
    /// Its accuracy if everything it covers was scored.
    complete: Option<f64>,
    /// Its accuracy over what was scored.
    present: Option<f64>,
    count: usize,
    missing: Vec<Category>,
}

impl Part {
    fn of(scores: &[CategoryScore], category: Category) -> Self {
        match scores
            .iter()
            .find(|s| s.category == category && s.total > 0)
        {
            Some(s) => Part {
                complete: Some(s.accuracy()),
                present: Some(s.accuracy()),
                count: s.total,
                missing: Vec::new(),
            },
            None => Part {
                complete: None,
                present: None,
                count: 0,
                missing: vec![category],
            },
        }
    }

    /// BFCL's `calculate_unweighted_accuracy`: the plain mean of the parts.
    fn unweighted(parts: &[Part]) -> Part {
        let mean = |values: Vec<f64>| {
            (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
        };
        let complete = parts
            .iter()
            .map(|p| p.complete)
            .collect::<Option<Vec<f64>>>();
        Part {
            complete: complete.and_then(mean),
            present: mean(parts.iter().filter_map(|p| p.present).collect()),
            count: parts.iter().map(|p| p.count).sum(),
            missing: parts.iter().flat_map(|p| p.missing.clone()).collect(),
        }
    }

    /// BFCL's `calculate_weighted_accuracy`: the mean weighted by entry
    /// counts, which is all right answers over all entries.
    fn weighted(parts: &[Part]) -> Part {
        let count: usize = parts.iter().map(|p| p.count).sum();
        let present = (count > 0).then(|| {
            parts
                .iter()
                .filter_map(|p| p.present.map(|a| a * p.count as f64))
                .sum::<f64>()
                / count as f64
        });
        let complete = parts.iter().all(|p| p.complete.is_some());
        Part {
            complete: present.filter(|_| complete),
            present,
            count,
            missing: parts.iter().flat_map(|p| p.missing.clone()).collect(),
        }
    }

    fn named(self, name: &'static str) -> Average {
        Average {
            name,
            value: self.complete,
            over_present: self.present,
            missing: self.missing,
            count: self.count,
        }
    }
}

/// The leaderboard's summary of the single-turn categories (BFCL v4,
/// `generate_leaderboard_csv`):
///
/// - **Non-Live Simple AST** = mean(simple_python, simple_java,
///   simple_javascript), unweighted;
/// - **Non-Live AST Acc** = mean(Non-Live Simple AST, multiple, parallel,
///   parallel_multiple), unweighted;
/// - **Live Acc** = live_simple, live_multiple, live_parallel and
///   live_parallel_multiple weighted by their entry counts;
/// - **Irrelevance Detection** = mean(irrelevance, live_irrelevance),
///   unweighted;
/// - **Relevance Detection** = live_relevance.
///
/// ```
/// use grpo_dataset::bfcl::{Category, CategoryScore, Summary};
///
/// let s = |category, correct, total| CategoryScore { category, correct, total };
/// let summary = Summary::compute(&[
///     s(Category::LiveSimple, 1, 2),
///     s(Category::LiveMultiple, 3, 4),
///     s(Category::LiveParallel, 0, 1),
///     s(Category::LiveParallelMultiple, 1, 1),
/// ]);
/// assert_eq!(summary.live.value, Some(5.0 / 8.0)); // weighted: 5 right of 8
/// assert_eq!(summary.non_live_ast.value, None); // N/A: its categories are missing
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Non-Live Simple AST.
    pub non_live_simple: Average,
    /// Non-Live AST Acc.
    pub non_live_ast: Average,
    /// Live Acc.
    pub live: Average,
    /// Irrelevance Detection.
    pub irrelevance: Average,
    /// Relevance Detection.
    pub relevance: Average,
}

impl Summary {
    /// The averages of the categories scored; a category not in `scores`
    /// (or with no entry) makes every average over it N/A.
    pub fn compute(scores: &[CategoryScore]) -> Self {
        let part = |c| Part::of(scores, c);
        let simple = Part::unweighted(&[
            part(Category::SimplePython),
            part(Category::SimpleJava),
            part(Category::SimpleJavascript),
        ]);
        let non_live_ast = Part::unweighted(&[
            simple.clone(),
            part(Category::Multiple),
            part(Category::Parallel),
            part(Category::ParallelMultiple),
        ]);
        let live = Part::weighted(&[
            part(Category::LiveSimple),
            part(Category::LiveMultiple),
            part(Category::LiveParallel),
            part(Category::LiveParallelMultiple),
        ]);
        let irrelevance =
            Part::unweighted(&[part(Category::Irrelevance), part(Category::LiveIrrelevance)]);
        Summary {
            non_live_simple: simple.named("Non-Live Simple AST"),
            non_live_ast: non_live_ast.named("Non-Live AST Acc"),
            live: live.named("Live Acc"),
            irrelevance: irrelevance.named("Irrelevance Detection"),
            relevance: part(Category::LiveRelevance).named("Relevance Detection"),
        }
    }

    /// The averages in the order the report prints them.
    pub fn averages(&self) -> [&Average; 5] {
        [
            &self.non_live_ast,
            &self.non_live_simple,
            &self.live,
            &self.irrelevance,
            &self.relevance,
        ]
    }
}
