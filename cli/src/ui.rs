//! What a person sees during a run: a progress bar with ETA on a terminal,
//! the guide's report every `--steps-per-report` iterations, validation
//! results, checkpoints and warnings. Without a terminal, plain lines only.

use std::io::IsTerminal;
use std::path::Path;

use grpo::eval::EvalReport;
use grpo::metrics::StepMetrics;
use grpo::observer::{Observer, RunInfo};
use indicatif::{ProgressBar, ProgressStyle};

/// The terminal side of a run.
pub struct Console {
    bar: Option<ProgressBar>,
    every: usize,
    /// Everything printed goes here too (the run's `train.log`).
    log: Option<std::fs::File>,
}

impl Console {
    /// Reports every `every` iterations; `log` receives a copy of each line.
    pub fn new(every: usize, log: Option<std::fs::File>) -> Self {
        Self {
            bar: None,
            every: every.max(1),
            log,
        }
    }

    /// Prints a line above the bar (or plainly), and to the log.
    pub fn say(&mut self, text: &str) {
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

    fn on_step(&mut self, m: &StepMetrics) {
        if let Some(bar) = &self.bar {
            bar.set_position(m.iteration as u64);
            bar.set_message(format!(
                "loss {:.3} | reward {:.3} | {:.1}s/it",
                m.loss, m.mean_reward, m.step_s
            ));
        }
        if m.iteration % self.every == 0
            || m.iteration == m.iterations
            || m.iteration == 1
            || m.skipped
        {
            self.say(&m.report());
        }
    }

    fn on_eval(&mut self, iteration: usize, r: &EvalReport) {
        self.say(&format!(
            "Validation at iteration {iteration}: exact match {:.1}% | function {:.1}% | params {:.1}% | parseable {:.1}% ({} examples, {:.1}s)",
            100.0 * r.all.exact_rate(),
            100.0 * r.all.function_rate(),
            100.0 * r.all.params_rate(),
            100.0 * r.all.parse_rate(),
            r.all.total,
            r.seconds
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

/// Several observers as one.
pub struct Fanout<'a>(pub Vec<&'a mut dyn Observer>);

impl Observer for Fanout<'_> {
    fn on_start(&mut self, info: &RunInfo) {
        self.0.iter_mut().for_each(|o| o.on_start(info));
    }
    fn on_step(&mut self, m: &StepMetrics) {
        self.0.iter_mut().for_each(|o| o.on_step(m));
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
