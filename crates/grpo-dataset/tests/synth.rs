//! The synthetic generator through the public API: records are valid,
//! deterministic, of every kind, and their arguments can be read off the query.

use std::collections::{BTreeMap, HashSet};

use grpo_dataset::prompt::{find_tools, query_of, JsonStyle, SYSTEM_TEXT};
use grpo_dataset::synth::{generate, KindMix, SynthConfig};
use grpo_dataset::{load, write_splits, LoadOptions};

fn config(n: usize, seed: u64) -> SynthConfig {
    SynthConfig {
        n,
        seed,
        ..SynthConfig::default()
    }
}

#[test]
fn same_seed_same_records_and_longer_runs_extend_shorter_ones() {
    let a = generate(&config(300, 9)).unwrap();
    assert_eq!(a, generate(&config(300, 9)).unwrap());
    assert_eq!(a[..100], generate(&config(100, 9)).unwrap()[..]);
    assert_ne!(a, generate(&config(300, 10)).unwrap());
}

#[test]
fn records_have_the_guide_shape_and_all_kinds() {
    let records = generate(&config(2000, 1)).unwrap();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut functions = HashSet::new();
    for ex in &records {
        let kind = ex.extra["kind"].as_str().unwrap().to_owned();
        *kinds.entry(kind.clone()).or_default() += 1;
        assert!(
            ex.prompt.starts_with(&format!("{SYSTEM_TEXT}\n\n[")),
            "{}",
            ex.prompt
        );
        assert_eq!(ex.source, "synthetic");
        assert_eq!(ex.record_type, "tool_call");
        let listed = find_tools(&ex.prompt).unwrap().tools;
        let names: Vec<&str> = listed.iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, ex.possible_boxed_answers);
        let calls: Vec<&str> = ex.answer.lines().collect();
        match kind.as_str() {
            "single" => assert_eq!((names.len(), calls.len()), (1, 1)),
            "multiple" => assert_eq!((names.len(), calls.len()), (3, 1)),
            "parallel" => assert!(calls.len() >= 2 && calls.len() <= 3, "{}", ex.answer),
            "irrelevance" => {
                assert!(ex.answer.is_empty());
                assert_eq!(ex.ground_truth, None);
            }
            other => panic!("unknown kind {other}"),
        }
        for call in &calls {
            functions.insert(call.split('(').next().unwrap().to_owned());
        }
        assert_eq!(
            ex.ground_truth.as_deref(),
            calls.first().map(|c| c.split('(').next().unwrap())
        );
    }
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    assert!(kinds["multiple"] > kinds["irrelevance"], "{kinds:?}");
    assert!(
        functions.len() >= 30,
        "{} functions called",
        functions.len()
    );
}

#[test]
fn argument_values_appear_in_the_query() {
    for ex in generate(&config(1000, 2)).unwrap() {
        let query = query_of(&ex.prompt);
        let Some(possible) = &ex.possible_answers else {
            continue;
        };
        for call in possible.as_array().unwrap() {
            let (_, params) = call.as_object().unwrap().iter().next().unwrap();
            for (name, allowed) in params.as_object().unwrap() {
                let allowed = allowed.as_array().unwrap();
                if allowed.len() > 1 {
                    continue; // an optional parameter left at its default
                }
                let texts: Vec<String> = match &allowed[0] {
                    serde_json::Value::Bool(_) => continue, // written as a phrase
                    serde_json::Value::Array(items) => items.iter().map(text_of).collect(),
                    v => vec![text_of(v)],
                };
                for t in texts {
                    assert!(query.contains(&t), "{name}={t} not in {query:?}");
                }
            }
        }
    }
}

fn text_of(v: &serde_json::Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

#[test]
fn generated_splits_load_strictly_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let records = generate(&config(500, 3)).unwrap();
    let counts = write_splits(dir.path(), records, 0.1, 0.1, 3).unwrap();
    assert_eq!((counts.train, counts.valid, counts.test), (400, 50, 50));
    let strict = LoadOptions {
        strict: true,
        ..LoadOptions::default()
    };
    let mut prompts = HashSet::new();
    for name in ["train.jsonl", "valid.jsonl", "test.jsonl"] {
        let loaded = load(&dir.path().join(name), &strict).unwrap();
        assert!(loaded.report.duplicates.is_empty());
        for ex in loaded.examples {
            assert!(prompts.insert(ex.prompt), "a prompt is in two splits");
        }
    }
}

#[test]
fn compact_prompts_are_shorter_and_still_found() {
    let pretty = generate(&config(50, 4)).unwrap();
    let compact = generate(&SynthConfig {
        json_style: JsonStyle::Compact,
        ..config(50, 4)
    })
    .unwrap();
    let len = |v: &[grpo_dataset::Example]| v.iter().map(|e| e.prompt.len()).sum::<usize>();
    assert!(len(&compact) * 10 < len(&pretty) * 8);
    for (p, c) in pretty.iter().zip(&compact) {
        assert_eq!(
            find_tools(&p.prompt).unwrap().tools,
            find_tools(&c.prompt).unwrap().tools
        );
        assert_eq!(p.answer, c.answer);
    }
}

#[test]
fn mix_and_functions_per_prompt_are_honoured() {
    let only_parallel = SynthConfig {
        mix: "parallel=1".parse::<KindMix>().unwrap(),
        functions_per_prompt: 5,
        max_parallel_calls: 4,
        ..config(200, 5)
    };
    for ex in generate(&only_parallel).unwrap() {
        assert_eq!(ex.extra["kind"], "parallel");
        assert_eq!(ex.possible_boxed_answers.len(), 5);
        assert!((2..=4).contains(&ex.answer.lines().count()));
    }
}

#[test]
fn answers_are_canonical_calls_for_the_rewards_parser() {
    for ex in generate(&config(500, 6)).unwrap() {
        let parsed = grpo_rewards::extract_function_calls(&ex.answer);
        assert!(parsed.errors.is_empty(), "{}", ex.answer);
        let rendered: Vec<String> = parsed.calls.iter().map(ToString::to_string).collect();
        assert_eq!(rendered.join("\n"), ex.answer);
        // Arguments come in the order the prompt lists the parameters.
        let tools = find_tools(&ex.prompt).unwrap().tools;
        for call in &parsed.calls {
            let tool = tools
                .iter()
                .find(|t| t["name"] == call.name.as_str())
                .unwrap();
            let order: Vec<&String> = tool["parameters"].as_object().unwrap().keys().collect();
            let positions: Vec<usize> = call
                .args
                .iter()
                .map(|(k, _)| order.iter().position(|o| *o == k).unwrap())
                .collect();
            assert!(positions.windows(2).all(|w| w[0] < w[1]), "{}", ex.answer);
        }
    }
}
