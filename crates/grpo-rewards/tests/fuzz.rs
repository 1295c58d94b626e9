//! Fuzzing the parser and the rewards with mutated, realistic outputs:
//! every format of `tests/data/formats.jsonl` plus real-output shapes,
//! truncated at every byte, mutated (bytes flipped to syntax characters,
//! spans deleted, duplicated or spliced from other outputs), nested 10,000
//! deep, and random bytes. Every case is parsed and scored by every reward
//! (against an expected call and against none, in the default and BFCL
//! modes); none may panic, every score must be in [0, 1], and the work per
//! byte must stay flat as inputs grow.
//!
//! The test suite runs a short version. The long run (10⁶ cases by
//! default, `FUZZ_CASES` to change) prints its figures:
//!
//! ```sh
//! cargo test --release -p grpo-rewards --test fuzz -- --ignored --nocapture
//! ```

use std::time::{Duration, Instant};

use grpo_rewards::{CompareOptions, Reference, RewardSet, KNOWN_REWARDS};

const TABLE: &str = include_str!("data/formats.jsonl");

/// Real-output shapes beyond the table's one-liners.
const EXTRA: &[&str] = &[
    "<think>\nThe user wants the weather in Paris and Rome.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}\n</tool_call><|im_end|>",
    "[get_weather(city=\"Paris\", days=[1, 2, 3], opts={'deep': {'x': (1, 2)}}), get_time(zone='UTC')]",
    "Sure! Let me look that up.\n```json\n[{\"name\": \"search\", \"arguments\": {\"q\": \"rust \\\"nom\\\" parser\", \"limit\": 10}}]\n```\nDone.",
    "<|python_tag|>{\"name\": \"f\", \"parameters\": {\"a\": 1}}; {\"name\": \"g\", \"parameters\": {\"b\": [true, null]}}<|eom_id|>",
    "<function_call> [{\"name\": \"f\", \"arguments\": {\"a\": 1}}, {\"name\": \"g\", \"arguments\": {}}]",
    "<tool_call>\n<function=book>\n<parameter=city>\nParis\n</parameter>\n<parameter=nights>\n3\n</parameter>\n</function>\n</tool_call>",
    "<minimax:tool_call>\n<invoke name=\"book\">\n<parameter name=\"city\">Paris</parameter>\n</invoke>\n</minimax:tool_call>",
    "<|tool_calls_section_begin|><|tool_call_begin|>functions.book:0<|tool_call_argument_begin|>{\"city\": \"Paris\"}<|tool_call_end|><|tool_calls_section_end|>",
    "<|tool_call>call:book{city:<|\"|>Paris<|\"|>,tags:[<|\"|>a<|\"|>],opts:{n:1}}<tool_call|>",
    "<tool_call>book\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>",
    "book\n{\"city\": \"Paris\", \"nights\": 3}",
    "get\\_weather(city\\_name=\"Paris\")",
    "[TOOL_CALLS]book[ARGS]{\"city\": \"Paris\"}",
    "I can't help with that: no listed function books flights.",
];

/// Bytes that matter to the grammar, preferred when flipping a byte.
const SYNTAX: &[u8] = b"<>[](){}\"'\\,:;=\n |_.-`";

/// Openers nested 10,000 deep.
const OPENERS: &[&str] = &[
    "[",
    "(",
    "{",
    "f(",
    "{\"a\": ",
    "f(x=[",
    "<tool_call>",
    "<think>",
    "```\n",
    "call:f{a:",
    "<|tool_call>call:f{a:[",
    "<tool_call><function=f><parameter=x>",
    "<minimax:tool_call><invoke name=\"f\">",
    "[get_weather(city=\"",
    "'''",
];

/// xorshift64*: a deterministic generator, so every run checks the same
/// cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = TABLE
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let case: serde_json::Value = serde_json::from_str(l).expect("valid JSONL");
            case["text"].as_str().expect("text").as_bytes().to_vec()
        })
        .collect();
    seeds.extend(EXTRA.iter().map(|s| s.as_bytes().to_vec()));
    seeds
}

/// One mutated case built from the seeds.
fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut b = seeds[rng.below(seeds.len())].clone();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let len = b.len();
        match rng.below(9) {
            0 => b.truncate(rng.below(len + 1)),
            1 if len > 0 => {
                let i = rng.below(len);
                b[i] = if rng.below(4) == 0 {
                    rng.next() as u8
                } else {
                    SYNTAX[rng.below(SYNTAX.len())]
                };
            }
            2 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len());
                let to = from + rng.below(other.len() - from + 1);
                let at = rng.below(len + 1);
                b.splice(at..at, other[from..to].iter().copied());
            }
            3 if len > 0 => {
                let from = rng.below(len);
                let to = from + rng.below(len - from + 1);
                b.drain(from..to);
            }
            4 if len > 0 => {
                let from = rng.below(len);
                let to = (from + 1 + rng.below(32)).min(len);
                let span = b[from..to].to_vec();
                for _ in 0..1 + rng.below(64) {
                    b.splice(from..from, span.iter().copied());
                }
            }
            5 => {
                let opener = OPENERS[rng.below(OPENERS.len())].as_bytes();
                let depth = if rng.below(4) == 0 {
                    10_000
                } else {
                    rng.below(100)
                };
                let at = rng.below(len + 1);
                let nest: Vec<u8> = opener.repeat(depth);
                b.splice(at..at, nest);
            }
            6 => {
                b = (0..rng.below(4096)).map(|_| rng.next() as u8).collect();
            }
            7 => {
                let sep: &[u8] = [&b"\n"[..], b" ", b"<|im_end|>", b"\n\n", b", "][rng.below(5)];
                b.extend_from_slice(sep);
                b.extend_from_slice(&seeds[rng.below(seeds.len())]);
            }
            _ => {
                let at = rng.below(len + 1);
                b.insert(at, SYNTAX[rng.below(SYNTAX.len())]);
            }
        }
    }
    b
}

/// What a fuzz run measured.
#[derive(Debug, Default)]
struct Figures {
    cases: usize,
    bytes: usize,
    elapsed: Duration,
    /// Slowest case per byte, over cases of at least `MIN_TIMED_LEN` bytes.
    max_ns_per_byte: f64,
    max_case: Duration,
    longest: usize,
    /// The start and length of the case with the most time per byte.
    worst: (String, usize),
}

/// Shorter inputs are dominated by fixed costs; their time per byte says
/// nothing about linearity.
const MIN_TIMED_LEN: usize = 1024;

struct Scorer {
    sets: Vec<RewardSet>,
    references: [Reference; 2],
}

impl Scorer {
    fn new() -> Self {
        let all = RewardSet::new(KNOWN_REWARDS, None).unwrap();
        let bfcl = all.clone().with_options(CompareOptions::bfcl());
        Scorer {
            sets: vec![all, bfcl],
            references: [
                Reference::from_answer("get_weather(city='Paris')\nf(a=1)").unwrap(),
                Reference::from_answer("").unwrap(),
            ],
        }
    }

    /// Parses and scores one case; panics (failing the test) on a score
    /// outside [0, 1].
    fn run(&self, bytes: &[u8], figures: &mut Figures) {
        let text = String::from_utf8_lossy(bytes);
        let mut took = self.timed(&text);
        if text.len() >= MIN_TIMED_LEN && took.as_nanos() > 2_000 * text.len() as u128 {
            // A slow case on a shared machine is often a preempted one:
            // time it again and keep the best.
            took = took.min(self.timed(&text)).min(self.timed(&text));
        }
        figures.cases += 1;
        figures.bytes += text.len();
        figures.max_case = figures.max_case.max(took);
        figures.longest = figures.longest.max(text.len());
        if text.len() >= MIN_TIMED_LEN {
            let per_byte = took.as_nanos() as f64 / text.len() as f64;
            if per_byte > figures.max_ns_per_byte {
                figures.max_ns_per_byte = per_byte;
                figures.worst = (shorten(&text), text.len());
            }
        }
    }
}

impl Scorer {
    /// Parses and scores `text` once, checking every score.
    fn timed(&self, text: &str) -> Duration {
        let start = Instant::now();
        let parsed = grpo_rewards::extract_function_calls(text);
        for set in &self.sets {
            for reference in &self.references {
                let scores = set.score(text, reference);
                for (name, v) in set.names().iter().zip(&scores.values) {
                    assert!(
                        (0.0..=1.0).contains(v),
                        "{name} = {v} for {:?}",
                        shorten(text)
                    );
                }
            }
        }
        std::hint::black_box(parsed);
        start.elapsed()
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(200).collect()
}

/// Every seed truncated at every byte, then `mutated` mutated cases.
fn fuzz(mutated: usize) -> Figures {
    let seeds = seeds();
    let scorer = Scorer::new();
    let mut figures = Figures::default();
    let start = Instant::now();
    for seed in &seeds {
        for cut in 0..=seed.len() {
            scorer.run(&seed[..cut], &mut figures);
        }
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..mutated {
        let case = mutate(&mut rng, &seeds);
        scorer.run(&case, &mut figures);
    }
    figures.elapsed = start.elapsed();
    figures
}

/// Time per byte of parsing and scoring `unit` repeated to `len` bytes,
/// best of 3.
fn ns_per_byte(scorer: &Scorer, unit: &str, len: usize) -> f64 {
    let text = unit.repeat(len / unit.len() + 1);
    let mut figures = Figures::default();
    (0..3)
        .map(|_| {
            let start = Instant::now();
            scorer.run(text.as_bytes(), &mut figures);
            start.elapsed().as_nanos() as f64 / text.len() as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// Adversarial repetitions: the time per byte at `large` bytes stays
/// within a small factor of that at `small` = `large` / 16 (quadratic
/// work would make it 16×).
fn check_linear(scorer: &Scorer, large: usize) -> Vec<(String, f64)> {
    let small = large / 16;
    let units = [
        "<tool_call>",
        "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": ",
        "<tool_call><function=f><parameter=x>",
        "<minimax:tool_call><invoke name=\"f\"><parameter name=\"x\">",
        "<|tool_call>call:f{a:<|\"|>",
        "<|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{\"a\": ",
        "f\n{\"a\": ",
        "<tool_call>f<arg_key>k</arg_key>",
        "[f(x=1), g(\n",
        "```\n",
        "<think>",
        "f(x='",
        "(",
        "a\n",
    ];
    let mut ratios = Vec::new();
    for unit in units {
        // Quadratic work gives 16× on every try; a busy machine gives a high
        // ratio on one try and not the next, so the best of three tries counts.
        let (mut at_small, mut at_large, mut ratio) = (0.0, 0.0, f64::INFINITY);
        for _ in 0..3 {
            let (s, l) = (
                ns_per_byte(scorer, unit, small),
                ns_per_byte(scorer, unit, large),
            );
            if l / s < ratio {
                (at_small, at_large, ratio) = (s, l, l / s);
            }
            if ratio < 6.0 {
                break;
            }
        }
        assert!(
            ratio < 6.0,
            "{unit:?}: {at_small:.1} ns/byte at {small} bytes, {at_large:.1} at {large}"
        );
        ratios.push((unit.to_owned(), ratio));
    }
    ratios
}

fn report(figures: &Figures, ratios: &[(String, f64)]) {
    let secs = figures.elapsed.as_secs_f64();
    println!(
        "fuzz: {} cases, {:.1} MB, {:.1} s: {:.0} completions/s (each parsed once and scored \
         by every reward 4 times: 2 modes x 2 references), longest {} bytes, slowest case \
         {:.2} ms, max {:.1} ns/byte over cases of {}+ bytes",
        figures.cases,
        figures.bytes as f64 / 1e6,
        secs,
        figures.cases as f64 / secs,
        figures.longest,
        figures.max_case.as_secs_f64() * 1e3,
        figures.max_ns_per_byte,
        MIN_TIMED_LEN,
    );
    if figures.worst.1 > 0 {
        println!(
            "  slowest per byte: {} bytes starting {:?}",
            figures.worst.1, figures.worst.0
        );
    }
    for (unit, ratio) in ratios {
        println!("  linear: {unit:?} repeated, ns/byte at 16× the length / at 1× = {ratio:.2}");
    }
}

#[test]
fn fuzzed_outputs_never_panic_and_score_in_range() {
    let figures = fuzz(1_000);
    assert!(figures.cases > 7_000, "{figures:?}");
    report(&figures, &[]);
}

#[test]
fn adversarial_repetitions_take_linear_time() {
    let ratios = check_linear(&Scorer::new(), 64 * 1024);
    report(&Figures::default(), &ratios);
}

#[test]
#[ignore = "the long run: cargo test --release -p grpo-rewards --test fuzz -- --ignored --nocapture"]
fn fuzz_a_million_outputs() {
    let cases = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let figures = fuzz(cases);
    let ratios = check_linear(&Scorer::new(), 256 * 1024);
    report(&figures, &ratios);
}
