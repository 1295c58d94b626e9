//! `mlx-grpo eval --bfcl DIR`: the Berkeley Function Calling Leaderboard's
//! single-turn categories, on its own files, scored as the leaderboard
//! scores them (docs/bfcl.md).

mod prompts;
mod table;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use grpo_dataset::bfcl::{read_category, CategoryScore, DataDir, Entry, Judged, Summary};
use grpo_dataset::prompt::JsonStyle;
use grpo_policy::mlx_rs::{random, Array};
use grpo_policy::policy::Policy;
use grpo_policy::sample::Sampler;

use crate::args::EvalArgs;
use crate::embedded;
use prompts::Prompts;
use table::Setting;

/// Where the per-example results go without --bfcl-results.
const DEFAULT_RESULTS: &str = "bfcl-results.jsonl";

/// Evaluates every category of the BFCL data directory `dir`.
pub fn run(args: &EvalArgs, dir: &Path) -> Result<ExitCode> {
    let results_path = args
        .bfcl_results
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_RESULTS));
    if results_path.exists() && !args.force {
        bail!(
            "{} exists; replace it with --force, or name another file with --bfcl-results",
            results_path.display()
        );
    }
    let found = DataDir::scan(dir).with_context(|| format!("reading {}", dir.display()))?;
    for (path, why) in &found.skipped {
        eprintln!("left out {}: {why}", path.display());
    }
    let model = args
        .model
        .clone()
        .unwrap_or_else(|| embedded::model().display().to_string());
    let mut policy = Policy::load(&model).with_context(|| format!("loading the model {model}"))?;
    if let Some(dir) = &args.adapter_path {
        policy
            .load_adapters(dir)
            .with_context(|| format!("loading adapters from {}", dir.display()))?;
    }
    let prompts = if args.tools_in_template {
        Prompts::ToolsInTemplate
    } else {
        Prompts::InPrompt
    };
    prompts.check(&policy)?;
    let sampler = if args.temperature > 0.0 {
        Sampler::with_temperature(args.temperature)
    } else {
        Sampler::greedy()
    };
    let mut generator = Generator::new(&policy, args, sampler)?;
    let mut judged = Vec::new();
    let mut checked_template = false;
    for file in &found.files {
        let mut entries = read_category(file, JsonStyle::Pretty)
            .with_context(|| format!("reading {}", file.questions.display()))?;
        if args.limit > 0 {
            entries.truncate(args.limit);
        }
        let examples: Vec<(usize, &grpo_dataset::Example)> = entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.example.as_ref().ok().map(|ex| (i, ex)))
            .collect();
        if prompts == Prompts::ToolsInTemplate && !checked_template {
            if let Some((_, ex)) = examples.first() {
                if !Prompts::template_uses_tools(&policy, ex)? {
                    bail!(
                        "the chat template of {} ignores `tools`: the model would not see the functions; leave --tools-in-template out",
                        policy.dir.display()
                    );
                }
                checked_template = true;
            }
        }
        let tokens = examples
            .iter()
            .map(|(_, ex)| prompts.tokens(&policy, ex))
            .collect::<Result<Vec<_>>>()?;
        let outputs = generator.answer(&tokens)?;
        let mut by_entry = vec![String::new(); entries.len()];
        for ((i, _), output) in examples.iter().zip(outputs) {
            by_entry[*i] = output;
        }
        judged.extend(judge(file.category, &entries, &by_entry));
        eprintln!(
            "{}: {} entries scored ({} generated)",
            file.category,
            entries.len(),
            examples.len()
        );
    }
    write_results(&results_path, &judged, prompts)?;
    let scores: Vec<CategoryScore> = found
        .files
        .iter()
        .map(|f| CategoryScore::tally(f.category, &judged))
        .collect();
    let summary = Summary::compute(&scores);
    let setting = Setting {
        prompts: prompts.describe(),
        prompts_name: prompts.name(),
        limit: args.limit,
    };
    if args.json {
        let mut report = table::to_json(&setting, &scores, &summary);
        report["results"] = serde_json::Value::from(results_path.display().to_string());
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table::render(&setting, &scores, &summary));
        println!(
            "Per-example results ({} lines): {}",
            judged.len(),
            results_path.display()
        );
        println!(
            "{} tokens in {:.1}s",
            generator.tokens,
            generator.start.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn judge(
    category: grpo_dataset::bfcl::Category,
    entries: &[Entry],
    outputs: &[String],
) -> Vec<Judged> {
    entries
        .iter()
        .zip(outputs)
        .map(|(e, out)| Judged::new(category, e, out))
        .collect()
}

/// Writes one JSON line per entry, with the prompt form it used.
fn write_results(path: &Path, judged: &[Judged], prompts: Prompts) -> Result<()> {
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    for j in judged {
        let mut line = j.to_json();
        line["prompts"] = serde_json::Value::from(prompts.name());
        writeln!(f, "{}", serde_json::to_string(&line)?)?;
    }
    f.flush()
        .with_context(|| format!("writing {}", path.display()))
}

/// Batched answers, one per prompt, with the seed's key carried along.
struct Generator<'a> {
    policy: &'a Policy,
    batch_size: usize,
    max_tokens: usize,
    sampler: Sampler,
    key: Array,
    tokens: usize,
    start: std::time::Instant,
}

impl<'a> Generator<'a> {
    fn new(policy: &'a Policy, args: &EvalArgs, sampler: Sampler) -> Result<Self> {
        Ok(Self {
            policy,
            batch_size: args.batch_size.max(1),
            max_tokens: args.max_tokens,
            sampler,
            key: random::key(args.seed)?,
            tokens: 0,
            start: std::time::Instant::now(),
        })
    }

    fn answer(&mut self, prompts: &[Vec<u32>]) -> Result<Vec<String>> {
        let mut out = Vec::with_capacity(prompts.len());
        for chunk in prompts.chunks(self.batch_size) {
            let (next, sub): (Array, Array) = random::split(&self.key, 2)?;
            self.key = next;
            let generation = self
                .policy
                .generate(chunk, 1, self.max_tokens, self.sampler, &sub)?;
            self.tokens += generation.total_tokens();
            out.extend(self.policy.decode(&generation.tokens)?);
        }
        Ok(out)
    }
}
