//! The single-turn categories of the Berkeley Function Calling Leaderboard
//! and how each is checked.

use std::fmt;

/// What a correct answer looks like in a category, as BFCL's checker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Calls compared with the possible answer (BFCL's AST checker).
    Ast(Shape),
    /// No function applies: right iff no call is decoded.
    Irrelevance,
    /// Some function applies: right iff at least one call is decoded,
    /// whatever it is (BFCL has no possible answer for these).
    Relevance,
}

/// The shape of the expected calls of an AST category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One function listed, one call.
    Simple,
    /// Several functions listed, one call.
    Multiple,
    /// One function listed, several calls in any order.
    Parallel,
    /// Several functions listed, several calls in any order.
    ParallelMultiple,
}

impl Shape {
    /// Whether the expected calls may be several (BFCL's "parallel" checker).
    pub fn is_parallel(self) -> bool {
        matches!(self, Shape::Parallel | Shape::ParallelMultiple)
    }
}

/// The language the functions of a category are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Python.
    Python,
    /// Java (BFCL converts string arguments to Java types; see docs/bfcl.md).
    Java,
    /// JavaScript (likewise).
    JavaScript,
}

/// A single-turn BFCL category: the AST categories, irrelevance and
/// relevance, non-live and live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// `simple_python` (`simple` before BFCL v4).
    SimplePython,
    /// `simple_java` (`java` before v4).
    SimpleJava,
    /// `simple_javascript` (`javascript` before v4).
    SimpleJavascript,
    /// `multiple`.
    Multiple,
    /// `parallel`.
    Parallel,
    /// `parallel_multiple`.
    ParallelMultiple,
    /// `irrelevance`.
    Irrelevance,
    /// `live_simple`.
    LiveSimple,
    /// `live_multiple`.
    LiveMultiple,
    /// `live_parallel`.
    LiveParallel,
    /// `live_parallel_multiple`.
    LiveParallelMultiple,
    /// `live_irrelevance`.
    LiveIrrelevance,
    /// `live_relevance`.
    LiveRelevance,
}

impl Category {
    /// Every category, in the leaderboard's column order.
    pub const ALL: [Category; 13] = [
        Category::SimplePython,
        Category::SimpleJava,
        Category::SimpleJavascript,
        Category::Multiple,
        Category::Parallel,
        Category::ParallelMultiple,
        Category::Irrelevance,
        Category::LiveSimple,
        Category::LiveMultiple,
        Category::LiveParallel,
        Category::LiveParallelMultiple,
        Category::LiveIrrelevance,
        Category::LiveRelevance,
    ];

    /// The name BFCL v4 gives it (file names, ids, score tables).
    pub fn name(self) -> &'static str {
        match self {
            Category::SimplePython => "simple_python",
            Category::SimpleJava => "simple_java",
            Category::SimpleJavascript => "simple_javascript",
            Category::Multiple => "multiple",
            Category::Parallel => "parallel",
            Category::ParallelMultiple => "parallel_multiple",
            Category::Irrelevance => "irrelevance",
            Category::LiveSimple => "live_simple",
            Category::LiveMultiple => "live_multiple",
            Category::LiveParallel => "live_parallel",
            Category::LiveParallelMultiple => "live_parallel_multiple",
            Category::LiveIrrelevance => "live_irrelevance",
            Category::LiveRelevance => "live_relevance",
        }
    }

    /// The category of a name, v4 or older (`simple`, `java`,
    /// `javascript`); `None` for the categories this crate does not
    /// evaluate (multi-turn, agentic, executable, …).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "simple" => Some(Category::SimplePython),
            "java" => Some(Category::SimpleJava),
            "javascript" => Some(Category::SimpleJavascript),
            _ => Category::ALL.into_iter().find(|c| c.name() == name),
        }
    }

    /// The category of a BFCL id: the id without its trailing index
    /// (`simple_python_12`, `live_simple_3-2-0`, `irrelevance_0`).
    ///
    /// ```
    /// use grpo_dataset::bfcl::Category;
    ///
    /// assert_eq!(Category::from_id("live_multiple_7-3-1"), Some(Category::LiveMultiple));
    /// assert_eq!(Category::from_id("simple_12"), Some(Category::SimplePython));
    /// assert_eq!(Category::from_id("multi_turn_base_0"), None);
    /// ```
    pub fn from_id(id: &str) -> Option<Self> {
        let (stem, index) = id.rsplit_once('_')?;
        let is_index = !index.is_empty()
            && index.bytes().all(|b| b.is_ascii_digit() || b == b'-')
            && index.as_bytes()[0].is_ascii_digit();
        is_index.then(|| Self::from_name(stem)).flatten()
    }

    /// How answers in this category are checked.
    pub fn check(self) -> Check {
        match self {
            Category::SimplePython
            | Category::SimpleJava
            | Category::SimpleJavascript
            | Category::LiveSimple => Check::Ast(Shape::Simple),
            Category::Multiple | Category::LiveMultiple => Check::Ast(Shape::Multiple),
            Category::Parallel | Category::LiveParallel => Check::Ast(Shape::Parallel),
            Category::ParallelMultiple | Category::LiveParallelMultiple => {
                Check::Ast(Shape::ParallelMultiple)
            }
            Category::Irrelevance | Category::LiveIrrelevance => Check::Irrelevance,
            Category::LiveRelevance => Check::Relevance,
        }
    }

    /// Whether it is one of the live (user-contributed) categories.
    pub fn is_live(self) -> bool {
        self.name().starts_with("live_")
    }

    /// The language of its functions.
    pub fn language(self) -> Language {
        match self {
            Category::SimpleJava => Language::Java,
            Category::SimpleJavascript => Language::JavaScript,
            _ => Language::Python,
        }
    }

    /// Whether BFCL ships a possible-answer file for it (the AST
    /// categories); irrelevance and relevance have none.
    pub fn has_answers(self) -> bool {
        matches!(self.check(), Check::Ast(_))
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_old_names_map() {
        for c in Category::ALL {
            assert_eq!(Category::from_name(c.name()), Some(c));
            assert_eq!(Category::from_id(&format!("{}_0", c.name())), Some(c));
        }
        assert_eq!(Category::from_name("java"), Some(Category::SimpleJava));
        assert_eq!(Category::from_name("multi_turn_base"), None);
        assert_eq!(Category::from_id("simple_python"), None);
        assert_eq!(Category::from_id("simple_python_x"), None);
    }

    #[test]
    fn checks() {
        assert_eq!(
            Category::LiveParallelMultiple.check(),
            Check::Ast(Shape::ParallelMultiple)
        );
        assert_eq!(Category::LiveRelevance.check(), Check::Relevance);
        assert!(!Category::Irrelevance.has_answers());
        assert!(Category::LiveSimple.is_live() && !Category::Multiple.is_live());
    }
}
