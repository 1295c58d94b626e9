//! `mlx-grpo data …`: convert, synth, stats and validate.

mod bfcl_dir;

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use grpo_dataset::convert::{convert_file, ConvertOptions, Format};
use grpo_dataset::prompt::JsonStyle;
use grpo_dataset::synth::{generate, KindMix, SynthConfig};
use grpo_dataset::{load, stats, write_jsonl, write_splits, Error, LoadOptions};

/// Arguments of `mlx-grpo data`.
#[derive(Debug, Args)]
pub struct DataArgs {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Debug, Subcommand)]
enum DataCommand {
    /// Convert a public tool-calling data set into the guide's JSONL format.
    Convert(ConvertArgs),
    /// Generate synthetic tool-calling tasks into train/valid/test files.
    Synth(SynthArgs),
    /// Summarise a data set: kinds, sources, functions, lengths, bad records.
    Stats(StatsArgs),
    /// Check every record; exits with status 1 if any is bad.
    Validate(ValidateArgs),
}

/// Source formats, as named on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum FromFormat {
    /// Salesforce xlam-function-calling-60k (JSON list or JSONL).
    Xlam,
    /// glaiveai glaive-function-calling-v2.
    Glaive,
    /// NousResearch hermes-function-calling-v1, ShareGPT or OpenAI chats.
    Hermes,
    /// Berkeley Function Calling Leaderboard: a question file (its
    /// answers from --answers, or possible_answer/ beside it; irrelevance
    /// needs none) or a whole data directory.
    Bfcl,
}

impl From<FromFormat> for Format {
    fn from(f: FromFormat) -> Self {
        match f {
            FromFormat::Xlam => Format::Xlam,
            FromFormat::Glaive => Format::Glaive,
            FromFormat::Hermes => Format::Hermes,
            FromFormat::Bfcl => Format::Bfcl,
        }
    }
}

#[derive(Debug, Args)]
struct ConvertArgs {
    /// The source format.
    #[arg(long = "from", value_enum)]
    from: FromFormat,
    /// The BFCL possible-answer file matching the question file.
    #[arg(long)]
    answers: Option<PathBuf>,
    /// Write the function list in prompts on one line (fewer tokens).
    #[arg(long)]
    compact: bool,
    /// How many rejected records to print (all are counted).
    #[arg(long, default_value_t = 10)]
    show: usize,
    /// The source file (plain or gzip); with --from bfcl, also a BFCL data
    /// directory.
    input: PathBuf,
    /// The JSONL file to write (gzip when it ends in .gz); for a BFCL data
    /// directory, a directory that gets one <category>.jsonl per category.
    output: PathBuf,
}

#[derive(Debug, Args)]
struct SynthArgs {
    /// Number of records in all.
    #[arg(long, default_value_t = 1000)]
    n: usize,
    /// Seed; the same flags always give the same files.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Directory for train.jsonl, valid.jsonl and test.jsonl.
    #[arg(long)]
    out: PathBuf,
    /// Functions listed in each multiple/parallel/irrelevance prompt.
    #[arg(long, default_value_t = 3)]
    functions_per_prompt: usize,
    /// Kind weights, e.g. single=0.25,multiple=0.35,parallel=0.25,irrelevance=0.15.
    #[arg(long)]
    mix: Option<String>,
    /// Most calls in a parallel answer.
    #[arg(long, default_value_t = 3)]
    max_parallel_calls: usize,
    /// Write the function list in prompts on one line (fewer tokens).
    #[arg(long)]
    compact: bool,
    /// Give one-call tasks whose tool result is one number a
    /// `final_answer` (that number, as `tools serve synth` computes it).
    #[arg(long)]
    final_answers: bool,
    /// Fraction of records for valid.jsonl.
    #[arg(long, default_value_t = 0.1)]
    valid_fraction: f64,
    /// Fraction of records for test.jsonl.
    #[arg(long, default_value_t = 0.1)]
    test_fraction: f64,
}

#[derive(Debug, Args)]
struct StatsArgs {
    /// The JSONL file (plain or gzip).
    file: PathBuf,
    /// A tokenizer.json (or a model directory holding one) to count tokens.
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// Print the statistics as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    /// The JSONL file (plain or gzip).
    file: PathBuf,
    /// Stop at the first bad record.
    #[arg(long)]
    strict: bool,
    /// How many bad records to print (all are counted).
    #[arg(long, default_value_t = 10)]
    show: usize,
}

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
    let counts = write_splits(&a.out, examples, a.valid_fraction, a.test_fraction, a.seed)?;
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
