use super::*;

#[test]
fn connectives_lowercase_the_joined_sentence_but_not_i() {
    let mut rng = SplitMix64::new(0);
    for _ in 0..50 {
        let s = join_sentences(["What is 5?", "Find X.", "I need Y."].into_iter(), &mut rng);
        assert!(s.starts_with("What is 5? "), "{s}");
        assert!(s.contains("find X.") || s.contains(" Find X."), "{s}");
        assert!(s.contains("I need Y."), "{s}");
    }
}

#[test]
fn irrelevance_queries_come_from_unlisted_functions() {
    let catalogue = catalogue::all();
    let config = SynthConfig::default();
    let mut rng = SplitMix64::new(5);
    for _ in 0..300 {
        let ex = task(Kind::Irrelevance, &catalogue, &config, &mut rng);
        assert!(ex.answer.is_empty());
        // No template of a listed function could have produced this query.
        let query = crate::prompt::query_of(&ex.prompt);
        for name in &ex.possible_boxed_answers {
            let f = catalogue.iter().find(|f| f.name == name).unwrap();
            for t in f.templates {
                assert!(!matches_template(query, t), "{query:?} fits {name}: {t:?}");
            }
        }
    }
}

/// Whether `text` could be `template` with its placeholders filled.
fn matches_template(text: &str, template: &str) -> bool {
    let literals: Vec<&str> = template
        .split('{')
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part
            } else {
                part.split_once('}').map_or(part, |p| p.1)
            }
        })
        .collect();
    let (first, last) = (literals[0], literals[literals.len() - 1]);
    if !text.starts_with(first) || !text.ends_with(last) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for lit in &literals[1..literals.len() - 1] {
        match rest.find(lit) {
            Some(i) => rest = &rest[i + lit.len()..],
            None => return false,
        }
    }
    literals.len() > 1 || rest.is_empty()
}

#[test]
fn final_answers_are_the_tool_results_and_change_nothing_else() {
    let plain = SynthConfig {
        n: 200,
        seed: 3,
        ..SynthConfig::default()
    };
    let with = SynthConfig {
        final_answers: true,
        ..plain.clone()
    };
    let (a, b) = (generate(&plain).unwrap(), generate(&with).unwrap());
    let mut answered = 0;
    for (x, mut y) in a.into_iter().zip(b) {
        assert!(x.final_answer.is_none());
        if let Some(answer) = y.final_answer.take() {
            answered += 1;
            let call = grpo_rewards::extract_function_calls(&y.answer)
                .calls
                .remove(0);
            let args = call.to_json()["arguments"].as_object().unwrap().clone();
            let result = super::execute(&call.name, &args).unwrap();
            assert!(
                result.as_object().unwrap().values().any(|v| *v == answer),
                "{result} {answer}"
            );
            assert!(
                !args.values().any(|v| *v == answer),
                "{answer} repeats an argument"
            );
            assert!(!["is_prime", "track_package", "get_weather"].contains(&call.name.as_str()));
        }
        assert_eq!(x, y, "only final_answer differs");
    }
    assert!(
        answered > 20,
        "{answered} of 200 records have a final answer"
    );
}

#[test]
fn bad_configs_are_rejected() {
    let bad = [
        SynthConfig {
            functions_per_prompt: 1,
            ..SynthConfig::default()
        },
        SynthConfig {
            functions_per_prompt: 1000,
            ..SynthConfig::default()
        },
        SynthConfig {
            max_parallel_calls: 1,
            ..SynthConfig::default()
        },
        SynthConfig {
            mix: KindMix {
                single: 0.0,
                multiple: 0.0,
                parallel: 0.0,
                irrelevance: 0.0,
            },
            ..SynthConfig::default()
        },
    ];
    for config in bad {
        assert!(
            matches!(generate(&config), Err(Error::BadConfig { .. })),
            "{config:?}"
        );
    }
}

#[test]
fn kind_mix_parses() {
    let mix: KindMix = "single=1, parallel=0.5".parse().unwrap();
    assert_eq!(
        mix,
        KindMix {
            single: 1.0,
            multiple: 0.0,
            parallel: 0.5,
            irrelevance: 0.0
        }
    );
    for bad in ["single", "single=x", "solo=1", "single=-1"] {
        assert!(bad.parse::<KindMix>().is_err(), "{bad}");
    }
}

#[test]
fn answer_turns_answer_every_final_answer_task_from_its_result() {
    let config = SynthConfig {
        n: 200,
        seed: 3,
        final_answers: true,
        ..SynthConfig::default()
    };
    let mut turns = 0;
    for task in generate(&config).unwrap() {
        let Some(turn) = super::answer_turn(&task) else {
            assert!(task.final_answer.is_none(), "{}", task.answer);
            continue;
        };
        turns += 1;
        assert!(turn.is_answer_turn());
        crate::validate(&turn).unwrap();
        assert!(!turn.reference().unwrap().expects_call());
        assert_eq!(crate::stats::kind_of(&turn), "answer");
        let answer = task.final_answer.clone().unwrap();
        assert!(turn
            .expected_final_answer()
            .unwrap()
            .unwrap()
            .matches(&turn.answer));
        let tool = &turn.messages.as_ref().unwrap()[2];
        let result: serde_json::Value = serde_json::from_str(&tool.content).unwrap();
        assert!(result.as_object().unwrap().values().any(|v| *v == answer));
        assert_eq!(
            tool.extra["name"],
            task.ground_truth.clone().unwrap().as_str()
        );
    }
    assert!(turns > 20, "{turns} answer turns");
    let irrelevant = generate(&SynthConfig {
        mix: "irrelevance=1".parse().unwrap(),
        ..config
    })
    .unwrap();
    assert!(irrelevant.iter().all(|t| super::answer_turn(t).is_none()));
}
