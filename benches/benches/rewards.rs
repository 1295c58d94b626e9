//! Parse and score throughput of grpo-rewards on realistic completions.
//!
//! The corpus is generated from a fixed seed: 1,000 completions of 100 to
//! 400 bytes holding one to three calls to six tools. About 30 % open with
//! a `<think>` block. They are written as Python lines, a Python list,
//! Hermes `<tool_call>` JSON, a code fence, or calls after a line of prose.
//! Half are correct; the rest have a wrong value, a missing parameter, the
//! wrong function or an extra call.
//!
//! The bench writes the corpus to `target/rewards-corpus.jsonl`, so that
//! `benches/python/rewards_ast.py` can do the same parse and compare with
//! Python's `ast` and report its own rate. The first lines printed give
//! completions per second on one core for both measurements, plus the mean
//! scores so the two sides can be checked against each other.
//!
//! `cargo bench -p grpo-benches --bench rewards`

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use criterion::{Criterion, Throughput};
use grpo_rewards::{
    compare_function_calls, extract_function_calls, CompareOptions, Reference, RewardSet, ToolCall,
    Value, KNOWN_REWARDS,
};

const CORPUS_SIZE: usize = 1000;
const SEED: u64 = 0x5eed_2024;

/// A small deterministic generator (SplitMix64), so the corpus does not
/// depend on a crate's version.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const CITIES: [&str; 6] = ["Paris", "Tokyo", "New York", "São Paulo", "Nairobi", "Oslo"];
const WORDS: [&str; 8] = [
    "quarterly",
    "report",
    "lunch",
    "budget",
    "review",
    "launch",
    "notes",
    "draft",
];

/// One call to one of six tools, with realistic argument types.
fn random_call(rng: &mut Rng) -> ToolCall {
    match rng.below(6) {
        0 => ToolCall::new("get_weather")
            .arg("city", *rng.pick(&CITIES))
            .arg("unit", *rng.pick(&["celsius", "fahrenheit"]))
            .arg("days", rng.below(7) as i64 + 1),
        1 => ToolCall::new("calculate_factorial").arg("n", rng.below(20) as i64),
        2 => ToolCall::new("search_flights")
            .arg("origin", *rng.pick(&["SFO", "JFK", "CDG", "NRT"]))
            .arg("destination", *rng.pick(&["LHR", "GRU", "NBO", "OSL"]))
            .arg(
                "date",
                format!("2024-0{}-{:02}", rng.below(9) + 1, rng.below(28) + 1),
            )
            .arg("max_price", (rng.below(2000) as f64) + 0.5)
            .arg("nonstop", rng.chance(50)),
        3 => ToolCall::new("send_email")
            .arg("to", format!("{}@example.com", rng.pick(&WORDS)))
            .arg(
                "subject",
                format!("{} {}", rng.pick(&WORDS), rng.pick(&WORDS)),
            )
            .arg(
                "cc",
                Value::List(vec![
                    Value::from("team@example.com"),
                    Value::from("ops@example.com"),
                ]),
            ),
        4 => ToolCall::new("convert_currency")
            .arg("amount", rng.below(10_000) as f64 / 4.0)
            .arg("from_currency", *rng.pick(&["USD", "EUR", "JPY"]))
            .arg("to_currency", *rng.pick(&["GBP", "BRL", "KES"])),
        _ => ToolCall::new("create_event")
            .arg(
                "title",
                format!("{} {}", rng.pick(&WORDS), rng.pick(&WORDS)),
            )
            .arg("duration_minutes", 15 * (rng.below(8) as i64 + 1))
            .arg(
                "reminders",
                Value::Dict(vec![
                    ("email".into(), Value::Int(30)),
                    ("popup".into(), Value::Int(rng.below(3) as i64 * 5)),
                ]),
            ),
    }
}

/// The model's attempt: correct, or with one kind of mistake.
fn attempt(rng: &mut Rng, expected: &[ToolCall]) -> Vec<ToolCall> {
    let mut calls = expected.to_vec();
    match rng.below(10) {
        0..=4 => {}
        5 | 6 => {
            let call = &mut calls[rng.below(expected.len())];
            let i = rng.below(call.args.len());
            call.args[i].1 = match &call.args[i].1 {
                Value::Int(n) => Value::Int(n + 1),
                Value::Float(x) => Value::Float(x * 2.0),
                Value::Str(s) => Value::Str(s.to_uppercase()),
                Value::Bool(b) => Value::Bool(!b),
                _ => Value::Str("?".into()),
            };
        }
        7 => {
            let call = &mut calls[rng.below(expected.len())];
            if call.args.len() > 1 {
                call.args.pop();
            }
        }
        8 => calls[0].name = "lookup".into(),
        _ => calls.push(random_call(rng)),
    }
    calls
}

fn json_of(call: &ToolCall) -> String {
    call.to_json().to_string()
}

/// Renders calls the way models write them.
fn render(rng: &mut Rng, calls: &[ToolCall]) -> String {
    let mut out = String::new();
    if rng.chance(30) {
        let _ = write!(
            out,
            "<think>\nThe user needs {} call(s); {} fits.\n</think>\n\n",
            calls.len(),
            calls[0].name
        );
    }
    let lines = |calls: &[ToolCall]| {
        calls
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    match rng.below(10) {
        0..=3 => out.push_str(&lines(calls)),
        4 => {
            let items: Vec<String> = calls.iter().map(ToString::to_string).collect();
            let _ = write!(out, "[{}]", items.join(", "));
        }
        5..=7 => {
            for call in calls {
                let _ = writeln!(out, "<tool_call>\n{}\n</tool_call>", json_of(call));
            }
        }
        8 => {
            let _ = write!(out, "```python\n{}\n```", lines(calls));
        }
        _ => {
            let _ = write!(out, "Sure, let me look that up.\n{}", lines(calls));
        }
    }
    out
}

/// One example: the completion and the expected `answer` string.
struct Example {
    completion: String,
    answer: String,
}

fn corpus() -> Vec<Example> {
    let mut rng = Rng(SEED);
    let mut examples = Vec::with_capacity(CORPUS_SIZE);
    while examples.len() < CORPUS_SIZE {
        let n = 1 + rng.below(3);
        let expected: Vec<ToolCall> = (0..n).map(|_| random_call(&mut rng)).collect();
        let predicted = attempt(&mut rng, &expected);
        let completion = render(&mut rng, &predicted);
        if (100..=400).contains(&completion.len()) {
            let answer = expected
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n");
            examples.push(Example { completion, answer });
        }
    }
    examples
}

fn corpus_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    target.join("rewards-corpus.jsonl")
}

fn write_corpus(examples: &[Example]) -> std::io::Result<PathBuf> {
    let path = corpus_path();
    let mut text = String::new();
    for e in examples {
        let line = serde_json::json!({"completion": e.completion, "answer": e.answer});
        text.push_str(&line.to_string());
        text.push('\n');
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, text)?;
    Ok(path)
}

/// Parse every completion and compare it with its answer, parsed once up
/// front: the work the Python script does. Returns the summed scores.
fn parse_and_compare(examples: &[Example], references: &[Reference]) -> [f64; 4] {
    let options = CompareOptions::default();
    let mut sums = [0.0; 4];
    for (e, reference) in examples.iter().zip(references) {
        let calls = extract_function_calls(&e.completion).calls;
        let c = reference.compare(&calls, &options);
        for (s, v) in
            sums.iter_mut()
                .zip([c.exact_match, c.function_score, c.params_score, c.overall])
        {
            *s += f64::from(v);
        }
    }
    sums
}

/// Completions per second on this thread, best of `rounds` passes.
fn rate(rounds: usize, n: usize, mut pass: impl FnMut()) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..rounds {
        let start = Instant::now();
        pass();
        best = best.min(start.elapsed().as_secs_f64());
    }
    n as f64 / best
}

fn summary(examples: &[Example], references: &[Reference]) {
    let n = examples.len();
    let bytes: usize = examples.iter().map(|e| e.completion.len()).sum();
    let calls: usize = references.iter().map(|r| r.calls().len()).sum();
    let thinking = examples
        .iter()
        .filter(|e| e.completion.starts_with("<think>"))
        .count();
    println!(
        "corpus: {n} completions, mean {} bytes, {:.2} expected calls each, {thinking} with <think>",
        bytes / n,
        calls as f64 / n as f64
    );
    let sums = parse_and_compare(examples, references);
    let mean = |i: usize| sums[i] / n as f64;
    println!(
        "mean scores: exact {:.4} function {:.4} params {:.4} overall {:.4}",
        mean(0),
        mean(1),
        mean(2),
        mean(3)
    );
    let parse = rate(20, n, || {
        for e in examples {
            black_box(extract_function_calls(black_box(&e.completion)));
        }
    });
    let compare = rate(20, n, || {
        black_box(parse_and_compare(black_box(examples), references));
    });
    let set = RewardSet::new(KNOWN_REWARDS, None).expect("known rewards");
    let score = rate(20, n, || {
        for (e, r) in examples.iter().zip(references) {
            black_box(set.score(black_box(&e.completion), r));
        }
    });
    let completions: Vec<&str> = examples.iter().map(|e| e.completion.as_str()).collect();
    let refs: Vec<&Reference> = references.iter().collect();
    let batch = rate(20, n, || {
        black_box(set.score_batch(&completions, &refs).expect("same lengths"));
    });
    println!("rust parse:                     {parse:>10.0} completions/s on one core");
    println!("rust parse + compare:           {compare:>10.0} completions/s on one core");
    println!("rust RewardSet::score (6):      {score:>10.0} completions/s on one core");
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("rust score_batch (rayon, {cores} cores): {batch:>10.0} completions/s");
}

fn main() {
    let examples = corpus();
    match write_corpus(&examples) {
        Ok(path) => println!("corpus written to {}", path.display()),
        Err(e) => println!("could not write the corpus ({e}); the Python comparison needs it"),
    }
    let references: Vec<Reference> = examples
        .iter()
        .map(|e| Reference::from_answer(&e.answer).expect("generated answers parse"))
        .collect();
    summary(&examples, &references);

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("rewards");
    group.throughput(Throughput::Elements(examples.len() as u64));
    group.bench_function("parse", |b| {
        b.iter(|| {
            for e in &examples {
                black_box(extract_function_calls(black_box(&e.completion)));
            }
        })
    });
    group.bench_function("parse_and_compare", |b| {
        b.iter(|| black_box(parse_and_compare(black_box(&examples), &references)))
    });
    // The same with the expected calls as plain `ToolCall`s, turned into a
    // reference on every call.
    let expected: Vec<Vec<ToolCall>> = examples
        .iter()
        .map(|e| extract_function_calls(&e.answer).calls)
        .collect();
    group.bench_function("parse_and_compare_function_calls", |b| {
        b.iter(|| {
            for (e, want) in examples.iter().zip(&expected) {
                let calls = extract_function_calls(&e.completion).calls;
                black_box(compare_function_calls(&calls, want));
            }
        })
    });
    let set = RewardSet::new(KNOWN_REWARDS, None).expect("known rewards");
    group.bench_function("reward_set_score", |b| {
        b.iter(|| {
            for (e, r) in examples.iter().zip(&references) {
                black_box(set.score(black_box(&e.completion), r));
            }
        })
    });
    let completions: Vec<&str> = examples.iter().map(|e| e.completion.as_str()).collect();
    let refs: Vec<&Reference> = references.iter().collect();
    group.bench_function("score_batch_rayon", |b| {
        b.iter(|| black_box(set.score_batch(&completions, &refs).expect("same lengths")))
    });
    group.finish();
    c.final_summary();
}
