//! `mlx-grpo eval --bfcl` and `data convert --from bfcl DIR` end to end, on
//! the BFCL-format fixtures of grpo-dataset and the embedded tiny model:
//! the files and the table exist, and the table says what the per-example
//! JSONL says (not any particular accuracy).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn mlx_grpo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlx-grpo"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/grpo-dataset/tests/data/bfcl")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// (correct, total) per category, counted from the per-example JSONL.
fn counts(path: &Path, prompts: &str) -> BTreeMap<String, (usize, usize)> {
    let mut out = BTreeMap::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        for key in ["id", "category", "output", "verdict", "reason", "decoded"] {
            assert!(v.get(key).is_some(), "no `{key}` in {line}");
        }
        assert_eq!(v["prompts"], prompts, "{line}");
        assert_eq!(v["valid"] == true, v["verdict"] == "correct", "{line}");
        let e = out
            .entry(v["category"].as_str().unwrap().to_owned())
            .or_insert((0, 0));
        e.0 += usize::from(v["valid"] == true);
        e.1 += 1;
    }
    out
}

/// Entries per category in the fixtures, at most `limit`.
fn expected_totals(limit: usize) -> BTreeMap<String, usize> {
    [
        ("simple_python", 3),
        ("simple_java", 2),
        ("simple_javascript", 2),
        ("multiple", 3),
        ("parallel", 2),
        ("parallel_multiple", 2),
        ("irrelevance", 2),
        ("live_simple", 2),
        ("live_multiple", 3),
        ("live_parallel", 1),
        ("live_parallel_multiple", 2),
        ("live_irrelevance", 3),
        ("live_relevance", 2),
    ]
    .into_iter()
    .map(|(c, n)| (c.to_owned(), n.min(limit)))
    .collect()
}

fn pct(correct: usize, total: usize) -> f64 {
    100.0 * correct as f64 / total as f64
}

#[test]
fn eval_bfcl_prints_the_leaderboard_table_and_writes_every_example() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results.jsonl");
    let fixtures = fixtures();
    let args = [
        "eval",
        "--bfcl",
        fixtures.to_str().unwrap(),
        "--limit",
        "2",
        "--max-tokens",
        "16",
        "--bfcl-results",
        results.to_str().unwrap(),
    ];
    let o = mlx_grpo(&args);
    let stdout = text(&o.stdout);
    assert!(o.status.success(), "{stdout}\n{}", text(&o.stderr));
    assert!(
        stdout.contains("prompts: functions in the prompt"),
        "{stdout}"
    );
    assert!(stdout.contains("--limit"), "{stdout}");

    let from_jsonl = counts(&results, "functions-in-prompt");
    let totals: BTreeMap<String, usize> = from_jsonl
        .iter()
        .map(|(c, &(_, n))| (c.clone(), n))
        .collect();
    assert_eq!(totals, expected_totals(2));

    // Each category line of the table: name, correct, total, accuracy.
    let mut table = BTreeMap::new();
    for line in stdout.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if let [name, correct, total, acc] = cols[..] {
            if let (Ok(c), Ok(t)) = (correct.parse::<usize>(), total.parse::<usize>()) {
                let acc: f64 = acc.trim_end_matches('%').parse().unwrap();
                assert!((acc - pct(c, t)).abs() < 0.006, "{line}");
                table.insert(name.to_owned(), (c, t));
            }
        }
    }
    assert_eq!(table, from_jsonl, "{stdout}");

    // The averages, recomputed from the JSONL with BFCL's formulas.
    let acc = |c: &str| {
        let (k, n) = from_jsonl[c];
        k as f64 / n as f64
    };
    let simple = (acc("simple_python") + acc("simple_java") + acc("simple_javascript")) / 3.0;
    let non_live = (simple + acc("multiple") + acc("parallel") + acc("parallel_multiple")) / 4.0;
    let live_cats = [
        "live_simple",
        "live_multiple",
        "live_parallel",
        "live_parallel_multiple",
    ];
    let live = live_cats.iter().map(|c| from_jsonl[*c].0).sum::<usize>() as f64
        / live_cats.iter().map(|c| from_jsonl[*c].1).sum::<usize>() as f64;
    let irrelevance = (acc("irrelevance") + acc("live_irrelevance")) / 2.0;
    let printed = |name: &str| -> f64 {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no `{name}` line in {stdout}"));
        line[name.len()..]
            .trim()
            .trim_end_matches('%')
            .parse()
            .unwrap()
    };
    for (name, value) in [
        ("Non-Live AST Acc", non_live),
        ("Non-Live Simple AST", simple),
        ("Live Acc", live),
        ("Irrelevance Detection", irrelevance),
        ("Relevance Detection", acc("live_relevance")),
    ] {
        assert!(
            (printed(name) - 100.0 * value).abs() < 0.006,
            "{name}: {stdout}"
        );
    }
    assert!(stdout.contains(&format!(
        "Per-example results (25 lines): {}",
        results.display()
    )));

    // The results file is not replaced without --force.
    let again = mlx_grpo(&args);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("--force"),
        "{}",
        text(&again.stderr)
    );
}

#[test]
fn eval_bfcl_through_the_templates_tools_reports_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results.jsonl");
    let fixtures = fixtures();
    let o = mlx_grpo(&[
        "eval",
        "--bfcl",
        fixtures.to_str().unwrap(),
        "--tools-in-template",
        "--limit",
        "1",
        "--max-tokens",
        "8",
        "--json",
        "--bfcl-results",
        results.to_str().unwrap(),
    ]);
    let stdout = text(&o.stdout);
    assert!(o.status.success(), "{stdout}\n{}", text(&o.stderr));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["prompts"], "tools-in-template");
    let from_jsonl = counts(&results, "tools-in-template");
    let from_report: BTreeMap<String, (usize, usize)> = report["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["category"].as_str().unwrap().to_owned(),
                (
                    c["correct"].as_u64().unwrap() as usize,
                    c["total"].as_u64().unwrap() as usize,
                ),
            )
        })
        .collect();
    assert_eq!(from_report, from_jsonl);
    assert_eq!(from_report.len(), 13);
    let names: Vec<&str> = report["summary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Non-Live AST Acc",
            "Non-Live Simple AST",
            "Live Acc",
            "Irrelevance Detection",
            "Relevance Detection"
        ]
    );
}

#[test]
fn data_convert_takes_a_whole_bfcl_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("converted");
    let o = mlx_grpo(&[
        "data",
        "convert",
        "--from",
        "bfcl",
        fixtures().to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    let stdout = text(&o.stdout);
    assert!(o.status.success(), "{stdout}\n{}", text(&o.stderr));
    assert!(
        stdout.contains("multiple: converted 2 of 3 records"),
        "{stdout}"
    );
    assert!(stdout.contains("left out"), "{stdout}");
    let lines = std::fs::read_to_string(out.join("live_multiple.jsonl")).unwrap();
    let first: Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(first["id"], "live_multiple_0-0-0");
    assert_eq!(first["category"], "live_multiple");
    // Relevance has no answer to write.
    assert!(!out.join("live_relevance.jsonl").exists());
}
