//! `mlx-grpo data …`: convert, synth, stats and validate.

mod bfcl_dir;

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use grpo_dataset::convert::{convert_file, ConvertOptions};
use grpo_dataset::prompt::JsonStyle;
use grpo_dataset::synth::{answer_turn, generate, KindMix, SynthConfig};
use grpo_dataset::{load, split, stats, write_jsonl, write_parts, Error, LoadOptions};

use crate::args::{
    DataArgs, DataCommand, DataConvertArgs as ConvertArgs, FromFormat, StatsArgs, SynthArgs,
    ValidateArgs,
};

/// Runs a `data` subcommand.
pub fn run(args: DataArgs) -> Result<ExitCode> {
    match args.command {
        DataCommand::Convert(a) => convert(a),
        DataCommand::Synth(a) => synth(a),
        DataCommand::Stats(a) => stats_cmd(a),
        DataCommand::Validate(a) => validate(a),
    }
}

/// Writes to standard output; a closed pipe (`… | head`) is not an error.
fn print_out(text: &str) -> Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(e).context("writing to standard output")
        }
        _ => Ok(()),
    }
}

fn style(compact: bool) -> JsonStyle {
    if compact {
        JsonStyle::Compact
    } else {
        JsonStyle::Pretty
    }
}

fn convert(a: ConvertArgs) -> Result<ExitCode> {
    if matches!(a.from, FromFormat::Bfcl) && a.input.is_dir() {
        return bfcl_dir::convert(&a.input, &a.output, style(a.compact), a.show);
    }
    let opts = ConvertOptions {
        json_style: style(a.compact),
        answers: a.answers,
    };
    let converted = convert_file(a.from.into(), &a.input, &opts)
        .with_context(|| format!("converting {}", a.input.display()))?;
    // Nothing converted: nothing written, so an existing output keeps its
    // content and no empty file is left behind. Otherwise `write_jsonl`
    // writes a temporary file and renames it into place.
    let nothing = converted.examples.is_empty();
    if !nothing {
        write_jsonl(&a.output, &converted.examples)?;
    }
    let mut out = format!(
        "{}: converted {} of {} records{}; {} rejected\n",
        a.input.display(),
        converted.examples.len(),
        converted.read,
        if nothing {
            format!(" ({} not written)", a.output.display())
        } else {
            format!(" to {}", a.output.display())
        },
        converted.rejected.len()
    );
    for r in converted.rejected.iter().take(a.show) {
        let _ = writeln!(out, "  {r}");
    }
    if converted.rejected.len() > a.show {
        let _ = writeln!(out, "  … and {} more", converted.rejected.len() - a.show);
    }
    print_out(&out)?;
    if nothing {
        bail!("no record of {} could be converted", a.input.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn synth(a: SynthArgs) -> Result<ExitCode> {
    let mix = match &a.mix {
        Some(text) => text.parse::<KindMix>()?,
        None => KindMix::default(),
    };
    let config = SynthConfig {
        n: a.n,
        seed: a.seed,
        functions_per_prompt: a.functions_per_prompt,
        mix,
        json_style: style(a.compact),
        max_parallel_calls: a.max_parallel_calls,
        final_answers: a.final_answers,
    };
    let examples = generate(&config)?;
    let mut parts = split(examples, a.valid_fraction, a.test_fraction, a.seed)?;
    if a.answer_turns {
        parts.train = parts
            .train
            .into_iter()
            .flat_map(|task| {
                let turn = answer_turn(&task);
                std::iter::once(task).chain(turn)
            })
            .collect();
    }
    let counts = write_parts(&a.out, &parts)?;
    print_out(&format!(
        "wrote {} train, {} valid, {} test records to {}\n",
        counts.train,
        counts.valid,
        counts.test,
        a.out.display()
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn stats_cmd(a: StatsArgs) -> Result<ExitCode> {
    let loaded = load(&a.file, &LoadOptions::default())?;
    let tokenizer = a.tokenizer.as_deref().map(read_tokenizer).transpose()?;
    let count = tokenizer
        .as_ref()
        .map(|t| move |text: &str| t.encode(text, false).map_or(0, |e| e.get_ids().len()));
    let stats = stats::compute(&loaded, count.as_ref().map(|c| c as &dyn Fn(&str) -> usize));
    if a.json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&stats)?))?;
    } else {
        print_out(&format!("{}\n{stats}\n", a.file.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn read_tokenizer(path: &Path) -> Result<tokenizers::Tokenizer> {
    let file = if path.is_dir() {
        path.join("tokenizer.json")
    } else {
        path.to_owned()
    };
    tokenizers::Tokenizer::from_file(&file)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("reading tokenizer {}", file.display()))
}

fn validate(a: ValidateArgs) -> Result<ExitCode> {
    let opts = LoadOptions {
        strict: a.strict,
        max_issues: a.show,
        ..LoadOptions::default()
    };
    let loaded = match load(&a.file, &opts) {
        Ok(loaded) => loaded,
        Err(err @ Error::Invalid { .. }) => {
            eprintln!("{err}");
            return Ok(ExitCode::FAILURE);
        }
        Err(err) => return Err(err.into()),
    };
    print_out(&format!("{}\n", loaded.report))?;
    Ok(if loaded.report.skipped_total() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::path::PathBuf;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(subcommand)]
        command: DataCommand,
    }

    fn parse(args: &[&str]) -> DataCommand {
        Wrapper::try_parse_from(std::iter::once("data").chain(args.iter().copied()))
            .unwrap()
            .command
    }

    #[test]
    fn synth_flags_and_defaults() {
        let DataCommand::Synth(a) = parse(&[
            "synth",
            "--n",
            "50",
            "--seed",
            "3",
            "--out",
            "d",
            "--compact",
        ]) else {
            panic!("not synth");
        };
        assert_eq!(
            (a.n, a.seed, a.functions_per_prompt, a.compact),
            (50, 3, 3, true)
        );
        assert_eq!(a.out, PathBuf::from("d"));
    }

    #[test]
    fn convert_needs_a_known_format() {
        let DataCommand::Convert(a) = parse(&[
            "convert",
            "--from",
            "bfcl",
            "--answers",
            "a.jsonl",
            "q.jsonl",
            "o.jsonl",
        ]) else {
            panic!("not convert");
        };
        assert!(matches!(a.from, FromFormat::Bfcl));
        assert!(Wrapper::try_parse_from(["data", "convert", "--from", "csv", "i", "o"]).is_err());
    }

    #[test]
    fn synth_then_validate_then_stats() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("synth");
        let run_args = |args: &[&str]| {
            run(DataArgs {
                command: parse(args),
            })
            .unwrap()
        };
        let out_s = out.to_str().unwrap();
        assert_eq!(
            run_args(&["synth", "--n", "40", "--out", out_s]),
            ExitCode::SUCCESS
        );
        let train = out.join("train.jsonl");
        let train_s = train.to_str().unwrap();
        assert_eq!(
            run_args(&["validate", train_s, "--strict"]),
            ExitCode::SUCCESS
        );
        assert_eq!(run_args(&["stats", train_s, "--json"]), ExitCode::SUCCESS);
        let bad = dir.path().join("bad.jsonl");
        std::fs::write(
            &bad,
            "{\"prompt\":\"p\",\"answer\":\"f(x=1)\"}\n{\"prompt\":\"p\"}\n",
        )
        .unwrap();
        assert_eq!(
            run_args(&["validate", bad.to_str().unwrap()]),
            ExitCode::FAILURE
        );
    }

    #[test]
    fn tokenizer_is_read_from_a_file_or_a_model_directory() {
        let dir = tempfile::tempdir().unwrap();
        let json = r#"{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],
            "normalizer":null,"pre_tokenizer":{"type":"Whitespace"},"post_processor":null,"decoder":null,
            "model":{"type":"WordLevel","vocab":{"[UNK]":0,"call":1},"unk_token":"[UNK]"}}"#;
        std::fs::write(dir.path().join("tokenizer.json"), json).unwrap();
        for path in [dir.path().to_owned(), dir.path().join("tokenizer.json")] {
            let t = read_tokenizer(&path).unwrap();
            assert_eq!(
                t.encode("call me maybe", false).unwrap().get_ids(),
                [1, 0, 0]
            );
        }
        let err = read_tokenizer(&dir.path().join("missing.json")).unwrap_err();
        assert!(format!("{err:#}").contains("missing.json"), "{err:#}");
    }
}
