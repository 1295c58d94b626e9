//! What a person sees during a run: a progress bar with ETA on a terminal,
//! the guide's report every `--steps-per-report` iterations, validation
//! results, checkpoints and warnings. Without a terminal, plain lines only.

use std::io::IsTerminal;
use std::path::Path;

use grpo::eval::{EvalLine, EvalReport, KindRates};
use grpo::metrics::IterationMetrics;
use grpo::observer::{Observer, RunInfo};
use indicatif::{ProgressBar, ProgressStyle};

/// The terminal side of a run.
pub struct Console {
    bar: Option<ProgressBar>,
    every: usize,
    /// Everything printed goes here too (the run's `train.log`).
    log: Option<std::fs::File>,
    /// Prints nothing: a rank other than 0 of a data-parallel run.
    silent: bool,
}

impl Console {
    /// Reports every `every` iterations; `log` receives a copy of each line.
    pub fn new(every: usize, log: Option<std::fs::File>) -> Self {
        Self {
            bar: None,
            every: every.max(1),
            log,
            silent: false,
        }
    }

    /// A console that prints nothing (rank 0 of a data-parallel run
    /// reports for all of them).
    pub fn silent() -> Self {
        Self {
            silent: true,
            ..Self::new(1, None)
        }
    }

    /// Prints a line above the bar (or plainly), and to the log.
    pub fn say(&mut self, text: &str) {
        if self.silent {
            return;
        }
        match &self.bar {
            Some(bar) => bar.println(text),
            None => println!("{text}"),
        }
        if let Some(log) = &mut self.log {
            use std::io::Write;
            let _ = writeln!(log, "{text}");
        }
    }

    /// Removes the bar.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Console {
    fn on_start(&mut self, info: &RunInfo) {
        let pct = 100.0 * info.trainable_parameters as f64 / info.total_parameters.max(1) as f64;
        self.say(&format!(
            "Trainable parameters: {pct:.3}% ({:.3}M/{:.3}M) | {} training examples (longest prompt {} tokens){}",
            info.trainable_parameters as f64 / 1e6,
            info.total_parameters as f64 / 1e6,
            info.train_examples,
            info.max_prompt_tokens,
            if info.val_examples > 0 {
                format!(" | {} validation examples", info.val_examples)
            } else {
                String::new()
            }
        ));
        if let Some(dir) = &info.resumed_from {
            self.say(&format!(
                "Resuming from {} (iteration {})",
                dir.display(),
                info.start_iteration
            ));
        }
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(info.iterations as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30.cyan/blue} {pos}/{len} it | {msg} | {elapsed_precise} < {eta_precise}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_position(info.start_iteration as u64);
            bar.reset_eta();
            self.bar = Some(bar);
        }
    }

    fn on_iteration(&mut self, m: &IterationMetrics) {
        if let Some(bar) = &self.bar {
            bar.set_position(m.iteration as u64);
            let reward = m
                .grpo
                .as_ref()
                .map_or_else(String::new, |g| format!(" | reward {:.3}", g.mean_reward));
            bar.set_message(format!(
                "loss {:.3}{reward} | {:.1}s/it",
                m.loss, m.iteration_s
            ));
        }
        if m.iteration.is_multiple_of(self.every)
            || m.iteration == m.iterations
            || m.iteration == 1
            || m.skipped
        {
            self.say(&m.report());
        }
    }

    fn on_eval(&mut self, iteration: usize, r: &EvalReport) {
        let when = if iteration == 0 {
            "before training".to_string()
        } else {
            format!("at iteration {iteration}")
        };
        let kinds: Vec<String> = ordered_kinds(r.by_kind.keys())
            .into_iter()
            .map(|k| format!("{k} {:.1}%", 100.0 * r.by_kind[k].exact_rate()))
            .collect();
        let turns = r.multi_turn.as_ref().map_or_else(String::new, |t| {
            let answers = t.final_answer_accuracy().map_or_else(String::new, |a| {
                format!("final answer {:.1}% | ", 100.0 * a)
            });
            format!(
                "\n  {answers}{:.2} turns | {} tool calls, {} failed",
                t.mean_turns(),
                t.tool_calls,
                t.tool_errors
            )
        });
        self.say(&format!(
            "Validation {when}: exact match {:.1}% | function {:.1}% | params {:.1}% | parseable {:.1}% | format {:.1}% ({} examples, {:.1}s)\n  exact match by kind: {}{turns}",
            100.0 * r.all.exact_rate(),
            100.0 * r.all.function_rate(),
            100.0 * r.all.params_rate(),
            100.0 * r.all.parse_rate(),
            100.0 * r.all.format_rate(),
            r.all.total,
            r.seconds,
            kinds.join(", ")
        ));
    }

    fn on_checkpoint(&mut self, iteration: usize, dir: &Path) {
        self.say(&format!(
            "Checkpoint at iteration {iteration}: {}",
            dir.display()
        ));
    }

    fn on_warning(&mut self, message: &str) {
        self.say(&format!("warning: {message}"));
    }
}

/// The kinds of example in the order people read them: the data set's
/// four (single, multiple, parallel, irrelevance) first, any others after.
pub fn ordered_kinds<'a>(kinds: impl IntoIterator<Item = &'a String>) -> Vec<&'a str> {
    const ORDER: [&str; 4] = ["single", "multiple", "parallel", "irrelevance"];
    let mut kinds: Vec<&str> = kinds.into_iter().map(String::as_str).collect();
    kinds.sort_by_key(|k| (ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()), *k));
    kinds
}

/// The run's effect on the held-out split: each rate before (the first
/// validation, iteration 0 in a run that has one) and after (the last),
/// over all examples and per kind.
pub fn before_after(first: &EvalLine, last: &EvalLine) -> String {
    let mut rows: Vec<(String, KindRates, Option<KindRates>)> =
        vec![("all".into(), first.all(), Some(last.all()))];
    for kind in ordered_kinds(first.by_kind.keys().chain(last.by_kind.keys())) {
        if rows.iter().any(|r| r.0 == kind) {
            continue;
        }
        let Some(before) = first.by_kind.get(kind) else {
            continue;
        };
        rows.push((kind.into(), before.clone(), last.by_kind.get(kind).cloned()));
    }
    let mut out = format!(
        "Held-out validation, before (iteration {}) \u{2192} after (iteration {}), % of examples:\n",
        first.iteration, last.iteration
    );
    out.push_str(&format!(
        "  {:<12} {:>8}  {:<13} {:<13} {:<13} {:<13} {:<13}\n",
        "kind", "examples", "exact", "function", "params", "parse rate", "format"
    ));
    let cell = |b: f64, a: Option<f64>| match a {
        Some(a) => format!("{:.1} \u{2192} {:.1}", 100.0 * b, 100.0 * a),
        None => format!("{:.1} \u{2192} -", 100.0 * b),
    };
    for (kind, b, a) in &rows {
        let a = a.as_ref();
        out.push_str(&format!(
            "  {:<12} {:>8}  {:<13} {:<13} {:<13} {:<13} {:<13}\n",
            kind,
            b.examples,
            cell(b.exact_match, a.map(|a| a.exact_match)),
            cell(b.function, a.map(|a| a.function)),
            cell(b.params, a.map(|a| a.params)),
            cell(b.parse_rate, a.map(|a| a.parse_rate)),
            cell(b.format, a.map(|a| a.format)),
        ));
    }
    if let (Some(b), Some(a)) = (first.final_answer, last.final_answer) {
        out.push_str(&format!(
            "  final answer (multi-turn): {:.1} \u{2192} {:.1}\n",
            100.0 * b,
            100.0 * a
        ));
    }
    out.trim_end().to_string()
}

/// Several observers as one.
pub struct Fanout<'a>(pub Vec<&'a mut dyn Observer>);

impl Observer for Fanout<'_> {
    fn on_start(&mut self, info: &RunInfo) {
        self.0.iter_mut().for_each(|o| o.on_start(info));
    }
    fn on_iteration(&mut self, m: &IterationMetrics) {
        self.0.iter_mut().for_each(|o| o.on_iteration(m));
    }
    fn on_eval(&mut self, iteration: usize, r: &EvalReport) {
        self.0.iter_mut().for_each(|o| o.on_eval(iteration, r));
    }
    fn on_checkpoint(&mut self, iteration: usize, dir: &Path) {
        self.0
            .iter_mut()
            .for_each(|o| o.on_checkpoint(iteration, dir));
    }
    fn on_warning(&mut self, message: &str) {
        self.0.iter_mut().for_each(|o| o.on_warning(message));
    }
}
