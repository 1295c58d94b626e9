//! The BFCL report: the leaderboard's per-category accuracies and its
//! summary averages, as text or as JSON.

use grpo_dataset::bfcl::{Average, CategoryScore, Summary};
use serde_json::{json, Value};

/// What the report says about how the numbers were made.
pub struct Setting<'a> {
    /// The prompt form (see `Prompts::describe`).
    pub prompts: &'a str,
    /// Its short name, for JSON.
    pub prompts_name: &'a str,
    /// `--limit` (0: every entry).
    pub limit: usize,
}

fn percent(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

fn average_text(a: &Average) -> String {
    match (a.value, a.over_present) {
        (Some(v), _) => percent(v),
        (None, None) => "N/A (nothing scored)".to_owned(),
        (None, Some(p)) => format!(
            "N/A (missing {}; {} over those scored)",
            a.missing
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>()
                .join(", "),
            percent(p)
        ),
    }
}

/// The report as text: one line per category (`category correct total
/// accuracy`), then the averages.
pub fn render(setting: &Setting<'_>, scores: &[CategoryScore], summary: &Summary) -> String {
    let mut s = String::new();
    s += &format!(
        "BFCL single-turn evaluation; prompts: {}\n",
        setting.prompts
    );
    s += "Checking: BFCL's AST rules (--match bfcl); irrelevance: no call decoded = correct; relevance: any call decoded = correct\n";
    if setting.limit > 0 {
        s += &format!(
            "Only the first {} entries of each category (--limit): not the leaderboard's full numbers\n",
            setting.limit
        );
    }
    s += &format!(
        "\n{:<24} {:>7} {:>6} {:>9}\n",
        "category", "correct", "total", "accuracy"
    );
    for c in scores {
        s += &format!(
            "{:<24} {:>7} {:>6} {:>9}\n",
            c.category.name(),
            c.correct,
            c.total,
            percent(c.accuracy())
        );
    }
    s += "\n";
    for a in summary.averages() {
        s += &format!("{:<24} {}\n", a.name, average_text(a));
    }
    s
}

/// The report as JSON.
pub fn to_json(setting: &Setting<'_>, scores: &[CategoryScore], summary: &Summary) -> Value {
    json!({
        "prompts": setting.prompts_name,
        "limit": setting.limit,
        "categories": scores.iter().map(|c| json!({
            "category": c.category.name(),
            "correct": c.correct,
            "total": c.total,
            "accuracy": c.accuracy(),
        })).collect::<Vec<_>>(),
        "summary": summary.averages().iter().map(|a| json!({
            "name": a.name,
            "value": a.value,
            "over_present": a.over_present,
            "missing": a.missing.iter().map(|c| c.name()).collect::<Vec<_>>(),
            "count": a.count,
        })).collect::<Vec<_>>(),
    })
}
