//! Resolving a run's settings: defaults, then the embedded default run's
//! file (when no model is given), then `--config`, then the flags.

use std::path::Path;

use anyhow::{bail, Context, Result};
use grpo::config::{ScheduleKind, TrainConfig};
use grpo::loss::LossType;
use grpo_policy::adapters::FineTuneType;
use serde_json::{Map, Value};

use crate::args::TrainArgs;

/// The settings of a run, and which layers they came from.
pub fn resolve(args: &TrainArgs, embedded: Option<&Path>) -> Result<TrainConfig> {
    let mut value = serde_json::to_value(TrainConfig::default())?;
    let mut iters_given = false;
    if let Some(path) = embedded {
        overlay(&mut value, read_yaml(path)?);
    }
    if let Some(path) = &args.config {
        let file = read_yaml(path)?;
        iters_given |= file.contains_key("iters");
        overlay(&mut value, file);
    }
    let flags = flags(args)?;
    iters_given |= flags.contains_key("iters");
    overlay(&mut value, flags);
    if !iters_given {
        phases_set_iters(&mut value);
    }
    let config: TrainConfig = serde_json::from_value(value).map_err(|e| {
        // Unknown keys can only come from a file: flags are checked by clap.
        anyhow::anyhow!("{e}")
    })?;
    Ok(config)
}

/// A YAML file's top-level mapping, with `-` in keys read as `_`.
///
/// Every error names the file and the setting: an unknown key (with the
/// known ones), a key given twice (`group-size` and `group_size` count as
/// one), a NaN or infinite number, and a value of the wrong type (with the
/// type expected).
pub fn read_yaml(path: &Path) -> Result<Map<String, Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    // Parsed as YAML values first: they reject duplicate keys (JSON maps
    // keep the last silently) and keep NaN and infinities (JSON turns them
    // into null, and the error would then be about a null).
    let yaml: serde_norway::Value =
        serde_norway::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let serde_norway::Value::Mapping(map) = yaml else {
        bail!(
            "{}: expected a mapping of settings (`group_size: 8`, …)",
            path.display()
        );
    };
    let defaults = serde_json::to_value(TrainConfig::default())?;
    let mut out = Map::new();
    for (k, v) in map {
        let Some(k) = k.as_str().map(str::to_owned) else {
            bail!(
                "{}: setting names are text (found {})",
                path.display(),
                serde_json::to_string(&k).unwrap_or_else(|_| "a non-text key".into())
            );
        };
        let key = k.replace('-', "_");
        if key == "config" {
            bail!(
                "{}: `config` cannot be set inside a configuration file",
                path.display()
            );
        }
        if defaults.get(&key).is_none() {
            let mut names: Vec<&String> = defaults.as_object().expect("a struct").keys().collect();
            names.sort();
            let names: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
            bail!(
                "{}: unknown setting `{k}` (known: {})",
                path.display(),
                names.join(", ")
            );
        }
        if out.contains_key(&key) {
            bail!(
                "{}: setting `{key}` is given twice (`-` and `_` spell the same key)",
                path.display()
            );
        }
        if let Some(bad) = non_finite(&v) {
            bail!(
                "{}: setting `{k}` is {bad}; expected a finite number",
                path.display()
            );
        }
        let v = serde_json::to_value(&v)
            .with_context(|| format!("{}: setting `{k}`", path.display()))?;
        // Checked alone against its field's type, so the error can say which
        // setting it is (serde's own message names only the types).
        let mut probe = defaults.clone();
        probe[&key] = v.clone();
        if let Err(e) = serde_json::from_value::<TrainConfig>(probe) {
            bail!(
                "{}: setting `{k}`: {e} (default: {})",
                path.display(),
                defaults[&key]
            );
        }
        out.insert(key, v);
    }
    Ok(out)
}

/// The first NaN or infinite number in a YAML value, as YAML spells it.
fn non_finite(v: &serde_norway::Value) -> Option<&'static str> {
    use serde_norway::Value as Y;
    match v {
        Y::Number(n) => match n.as_f64() {
            Some(f) if f.is_nan() => Some(".nan"),
            Some(f) if f.is_infinite() && f > 0.0 => Some(".inf"),
            Some(f) if f.is_infinite() => Some("-.inf"),
            _ => None,
        },
        Y::Sequence(items) => items.iter().find_map(non_finite),
        Y::Mapping(m) => m.values().find_map(non_finite),
        Y::Tagged(t) => non_finite(&t.value),
        _ => None,
    }
}

/// With `phases` and no `iters` given, the run lasts as long as its phases.
fn phases_set_iters(value: &mut Value) {
    let total: Option<u64> = value["phases"]
        .as_array()
        .filter(|p| !p.is_empty())
        .map(|phases| {
            phases
                .iter()
                .map(|p| p["iters"].as_u64().unwrap_or(0))
                .sum()
        });
    if let Some(total) = total {
        value["iters"] = Value::from(total);
    }
}

fn overlay(base: &mut Value, layer: Map<String, Value>) {
    let obj = base
        .as_object_mut()
        .expect("TrainConfig serializes to an object");
    obj.extend(layer);
}

/// The flags that were given, as settings.
fn flags(a: &TrainArgs) -> Result<Map<String, Value>> {
    let mut m = Map::new();
    macro_rules! given {
        ($($field:ident),* $(,)?) => {
            $( if let Some(v) = &a.$field {
                m.insert(stringify!($field).to_string(), serde_json::to_value(v)?);
            } )*
        };
    }
    given!(
        model,
        data,
        val_data,
        adapter_path,
        lora_layers,
        lora_rank,
        lora_alpha,
        lora_dropout,
        lora_keys,
        grad_checkpoint,
        iters,
        batch_size,
        group_size,
        learning_rate,
        warmup_steps,
        min_learning_rate,
        weight_decay,
        max_grad_norm,
        seed,
        max_completion_length,
        max_prompt_length,
        truncate_prompts,
        temperature,
        top_p,
        top_k,
        min_p,
        enforce_thinking,
        think_start,
        think_end,
        two_phase_samples_per_group,
        two_phase_answer_length,
        max_turns,
        tool_timeout,
        beta,
        epsilon,
        epsilon_high,
        num_iterations,
        scale_rewards,
        mask_truncated_completions,
        importance_sampling_level,
        top_entropy_quantile,
        reward_functions,
        reward_weights,
        reward_file,
        reward_python,
        reward_command,
        reward_timeout,
        curriculum_enabled,
        curriculum_start_ratio,
        curriculum_end_ratio,
        curriculum_steps,
        save_every,
        keep_checkpoints,
        steps_per_report,
        steps_per_eval,
        val_examples,
        log_rollouts_every,
        wandb_project,
    );
    if let Some(t) = a.train_type {
        m.insert(
            "train_type".into(),
            serde_json::to_value(FineTuneType::from(t))?,
        );
    }
    if let Some(s) = a.lr_schedule {
        m.insert(
            "lr_schedule".into(),
            serde_json::to_value(ScheduleKind::from(s))?,
        );
    }
    if let Some(e) = a.reward_errors {
        m.insert(
            "reward_errors".into(),
            serde_json::to_value(grpo::reward_errors::RewardErrors::from(e))?,
        );
    }
    if let Some(l) = a.loss_type {
        m.insert("loss_type".into(), serde_json::to_value(LossType::from(l))?);
    }
    Ok(m)
}

/// The resolved settings as YAML, for the start banner and the run
/// directory.
pub fn to_yaml(config: &TrainConfig) -> Result<String> {
    Ok(serde_norway::to_string(config)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.yaml");
        std::fs::write(&path, "group-size: 4\nlearning_rate: 0.001\nbeta: 0.0\n").unwrap();
        let args = TrainArgs {
            config: Some(path),
            learning_rate: Some(0.5),
            ..TrainArgs::default()
        };
        let c = resolve(&args, None).unwrap();
        assert_eq!(c.group_size, 4);
        assert_eq!(c.learning_rate, 0.5);
        assert_eq!(c.beta, 0.0);
        assert_eq!(c.batch_size, TrainConfig::default().batch_size);
    }

    #[test]
    fn phases_come_from_the_file_and_set_the_run_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.yaml");
        std::fs::write(
            &path,
            "phases:\n  - {iters: 100, reward_functions: [tool_call_function, tool_call_parseable], reward_weights: [0.8, 0.2]}\n  - iters: 200\n    reward_functions: [tool_call_exact]\n    learning_rate: 2.0e-5\n",
        )
        .unwrap();
        let args = TrainArgs {
            config: Some(path.clone()),
            ..TrainArgs::default()
        };
        let c = resolve(&args, None).unwrap();
        assert_eq!(c.iters, 300);
        assert_eq!(c.phases.len(), 2);
        assert_eq!(c.phases[1].learning_rate, Some(2e-5));
        c.validate().unwrap();
        // An explicit iters that disagrees is an error, not a silent change.
        let args = TrainArgs {
            config: Some(path),
            iters: Some(50),
            ..TrainArgs::default()
        };
        let err = resolve(&args, None)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("add up to 300"), "{err}");
    }

    fn resolve_file(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.yaml");
        std::fs::write(&path, text).unwrap();
        let args = TrainArgs {
            config: Some(path),
            ..TrainArgs::default()
        };
        format!("{:#}", resolve(&args, None).unwrap_err())
    }

    #[test]
    fn bad_file_values_name_the_file_the_setting_and_the_type() {
        for (text, key, what) in [
            ("learning_rate: .nan\n", "learning_rate", ".nan"),
            ("beta: -.inf\n", "beta", "-.inf"),
            ("learning_rate: fast\n", "learning_rate", "expected f32"),
            ("group_size: ~\n", "group_size", "expected usize"),
            (
                "reward_functions: 3\n",
                "reward_functions",
                "expected a sequence",
            ),
            ("lora-rank: 8.5\n", "lora-rank", "expected i32"),
        ] {
            let err = resolve_file(text);
            assert!(err.contains("run.yaml"), "{text}: {err}");
            assert!(err.contains(&format!("`{key}`")), "{text}: {err}");
            assert!(err.contains(what), "{text}: {err}");
        }
    }

    #[test]
    fn custom_reward_settings_come_from_the_file_and_the_flags() {
        use grpo::reward_errors::RewardErrors as Errors;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.yaml");
        std::fs::write(
            &path,
            "reward_file: rewards.py\nreward-python: /opt/py/bin/python\nreward_command: node r.js\nreward_timeout: 5.5\nreward_errors: skip\n",
        )
        .unwrap();
        let from_file = resolve(
            &TrainArgs {
                config: Some(path.clone()),
                ..TrainArgs::default()
            },
            None,
        )
        .unwrap();
        assert_eq!(from_file.reward_file, Some("rewards.py".into()));
        assert_eq!(from_file.reward_python, Some("/opt/py/bin/python".into()));
        assert_eq!(from_file.reward_command.as_deref(), Some("node r.js"));
        assert_eq!(from_file.reward_timeout, 5.5);
        assert_eq!(from_file.reward_errors, Errors::Skip);

        let flags = TrainArgs {
            config: Some(path),
            reward_file: Some("other.py".into()),
            reward_python: Some("python3.12".into()),
            reward_command: Some("./score".into()),
            reward_timeout: Some(2.0),
            reward_errors: Some(crate::args::RewardErrors::Stop),
            ..TrainArgs::default()
        };
        let c = resolve(&flags, None).unwrap();
        assert_eq!(c.reward_file, Some("other.py".into()));
        assert_eq!(c.reward_python, Some("python3.12".into()));
        assert_eq!(c.reward_command.as_deref(), Some("./score"));
        assert_eq!(c.reward_timeout, 2.0);
        assert_eq!(c.reward_errors, Errors::Stop);

        let defaults = resolve(&TrainArgs::default(), None).unwrap();
        assert_eq!(
            (defaults.reward_file, defaults.reward_command),
            (None, None)
        );
        assert_eq!(defaults.reward_timeout, 60.0);
        assert_eq!(defaults.reward_errors, Errors::Stop);
        // The saved train_config.yaml reads back the same.
        let yaml = to_yaml(&c).unwrap();
        assert!(yaml.contains("reward_errors: stop"), "{yaml}");
        let again = dir.path().join("again.yaml");
        std::fs::write(&again, yaml).unwrap();
        let back = resolve(
            &TrainArgs {
                config: Some(again),
                ..TrainArgs::default()
            },
            None,
        )
        .unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn scale_rewards_reads_modes_and_the_old_booleans_from_the_file_and_the_flag() {
        use grpo::scale_rewards::ScaleRewards;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.yaml");
        for (text, want) in [
            ("scale_rewards: batch\n", ScaleRewards::Batch),
            ("scale_rewards: none\n", ScaleRewards::None),
            ("scale_rewards: false\n", ScaleRewards::None),
            ("scale_rewards: true\n", ScaleRewards::Group),
            ("iters: 10\n", ScaleRewards::Group),
        ] {
            std::fs::write(&path, text).unwrap();
            let args = TrainArgs {
                config: Some(path.clone()),
                ..TrainArgs::default()
            };
            assert_eq!(resolve(&args, None).unwrap().scale_rewards, want, "{text}");
        }
        let args = TrainArgs {
            config: Some(path),
            scale_rewards: Some(ScaleRewards::Batch),
            ..TrainArgs::default()
        };
        assert_eq!(
            resolve(&args, None).unwrap().scale_rewards,
            ScaleRewards::Batch
        );
        let err = resolve_file("scale_rewards: global\n");
        assert!(
            err.contains("`scale_rewards`") && err.contains("`global`"),
            "{err}"
        );
    }

    #[test]
    fn the_loss_variants_come_from_the_file_and_the_flags() {
        use grpo::importance_sampling::ImportanceSamplingLevel as Level;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.yaml");
        std::fs::write(
            &path,
            "importance_sampling_level: sequence\ntop-entropy-quantile: 0.2\n",
        )
        .unwrap();
        let file = TrainArgs {
            config: Some(path.clone()),
            ..TrainArgs::default()
        };
        let c = resolve(&file, None).unwrap();
        assert_eq!(c.importance_sampling_level, Level::Sequence);
        assert_eq!(c.top_entropy_quantile, 0.2);
        let flags = TrainArgs {
            config: Some(path),
            importance_sampling_level: Some(Level::Token),
            top_entropy_quantile: Some(0.5),
            ..TrainArgs::default()
        };
        let c = resolve(&flags, None).unwrap();
        assert_eq!(c.importance_sampling_level, Level::Token);
        assert_eq!(c.top_entropy_quantile, 0.5);
        let d = resolve(&TrainArgs::default(), None).unwrap();
        assert_eq!(
            (d.importance_sampling_level, d.top_entropy_quantile),
            (Level::Token, 1.0)
        );
        let err = resolve_file("importance_sampling_level: word\n");
        assert!(err.contains("`importance_sampling_level`"), "{err}");
        let zero = TrainArgs {
            top_entropy_quantile: Some(0.0),
            ..TrainArgs::default()
        };
        let err = resolve(&zero, None)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("top_entropy_quantile"), "{err}");
    }

    #[test]
    fn a_bad_reward_errors_value_names_the_setting() {
        let err = resolve_file("reward_errors: ignore\n");
        assert!(err.contains("`reward_errors`"), "{err}");
        assert!(err.contains("stop") && err.contains("skip"), "{err}");
    }

    #[test]
    fn a_key_given_twice_is_an_error() {
        let err = resolve_file("group_size: 4\ngroup_size: 6\n");
        assert!(
            err.contains("run.yaml") && err.contains("duplicate"),
            "{err}"
        );
        let err = resolve_file("group-size: 4\ngroup_size: 6\n");
        assert!(err.contains("`group_size` is given twice"), "{err}");
    }

    #[test]
    fn unknown_file_keys_are_named_with_the_known_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.yaml");
        std::fs::write(&path, "group_sise: 4\n").unwrap();
        let args = TrainArgs {
            config: Some(path),
            ..TrainArgs::default()
        };
        let err = format!("{:#}", resolve(&args, None).unwrap_err());
        assert!(err.contains("unknown setting `group_sise`"), "{err}");
        assert!(err.contains("group_size"), "{err}");
    }
}
