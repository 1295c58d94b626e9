//! The GRPO training loop.
//!
//! Each iteration: draw `batch_size` prompts → sample `group_size`
//! completions each in one batched pass ([`crate::rollout::collect`]) → score them
//! and take group-relative advantages → `num_iterations` updates of the
//! clipped objective ([`crate::loss::grpo_loss`]) with AdamW → report, validate and
//! checkpoint when due. Every random draw comes from the seed and the
//! iteration number, so a resumed run repeats exactly what the interrupted
//! one would have done.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use grpo_dataset::Example;
use grpo_policy::adapters::{self, AdapterConfig, FineTuneType};
use grpo_policy::mlx_rs::{self, Array};
use grpo_policy::models::transformer::Transformer;
use grpo_policy::policy::Policy;
use grpo_rewards::RewardSet;
use grpo_tools::{ToolSet, ToolSetOptions};

use crate::checkpoint::{self, TrainerState};
use crate::config::TrainConfig;
use crate::data_parallel::DataParallel;
use crate::error::{Error, Result};
use crate::eval::{evaluate, evaluate_multi_turn, EvalLine, EvalOptions, EvalReport};
use crate::learner::Learner;
use crate::metrics::{truncate_after, IterationMetrics, JsonlLog};
use crate::multi_turn::MultiTurn;
use crate::observer::{Observer, RunInfo};
use crate::optimizer::AdamW;
use crate::parts::Parts;
use crate::phases::PhasePlan;
use crate::rollout_log::RolloutLog;
use crate::sampling::BatchSampler;
use crate::schedule::LrSchedule;
use crate::streams::{stream_seed, Stream};
use crate::tasks::TaskSet;
use crate::watchdog::Watchdog;
use crate::{grpo_iteration, sft_iteration};

/// Updates skipped in a row (non-finite loss or gradient) before the run
/// stops.
const MAX_NAN_STREAK: usize = 5;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// All iterations done.
    Finished,
    /// Stopped on request (Ctrl-C); the last checkpoint holds the progress.
    Interrupted,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct TrainSummary {
    /// How it ended.
    pub outcome: Outcome,
    /// Iterations completed (including those of a resumed run).
    pub iterations_done: usize,
    /// The last iteration's measurements.
    pub last: Option<IterationMetrics>,
    /// The checkpoint written last.
    pub last_checkpoint: Option<PathBuf>,
}

/// A training run, set up and ready to [`run`](Trainer::run).
pub struct Trainer {
    objective: Objective,
    config: TrainConfig,
    policy: Policy,
    /// The frozen starting model of a full fine-tune with a KL penalty
    /// (LoRA and DoRA runs use the policy with its adapters switched off).
    reference: Option<Transformer>,
    adapter_config: AdapterConfig,
    train: TaskSet,
    val: Option<TaskSet>,
    /// The rewards in force (the current phase's).
    rewards: RewardSet,
    learner: Learner,
    sampler: BatchSampler,
    /// Iterations done.
    done: usize,
    /// The training phases, and the one in force.
    phases: Option<PhasePlan>,
    phase: Option<usize>,
    /// The ranks sharing each batch (one process: a group of one).
    dp: DataParallel,
    resumed_from: Option<PathBuf>,
    logs: Logs,
    /// The tool servers of multi-turn rollouts (`max_turns` above 1).
    tools: Option<ToolSet>,
    /// Their tools in the chat template's `tools` form.
    tool_schemas: Vec<serde_json::Value>,
}

/// The run's JSONL logs (on ranks other than 0, logs that write nothing).
struct Logs {
    metrics: JsonlLog,
    rollouts: RolloutLog,
    eval: JsonlLog,
}

/// Where a run starts: from scratch, or from a checkpoint.
struct Start {
    adapter_config: AdapterConfig,
    learner: Learner,
    sampler: BatchSampler,
    done: usize,
}

/// What a run optimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// Group Relative Policy Optimization on sampled completions.
    Grpo,
    /// Supervised fine-tuning: next-token loss on the reference answers
    /// (prompt tokens masked), the warm start before GRPO.
    Sft,
}

impl Trainer {
    /// Sets up a run: validates `config`, adds adapters to `policy` (or, with
    /// `resume`, restores adapters, optimizer, iteration and data position from
    /// the latest checkpoint under `adapter_path/checkpoints`), tokenizes the
    /// data, and opens the logs.
    pub fn new(
        config: TrainConfig,
        policy: Policy,
        train_examples: &[Example],
        val_examples: Option<&[Example]>,
        resume: bool,
        objective: Objective,
    ) -> Result<Self> {
        Self::new_data_parallel(
            config,
            policy,
            train_examples,
            val_examples,
            resume,
            objective,
            DataParallel::single(),
        )
    }

    /// [`Trainer::new`] for one rank of a data-parallel run: every rank
    /// calls it with the same arguments. Only rank 0 creates, truncates or
    /// writes files; the others read the checkpoint to resume from.
    ///
    /// In three parts: the inputs are checked before any model or file
    /// work, the run starts fresh or from its checkpoint, and the logs are
    /// opened last.
    pub fn new_data_parallel(
        config: TrainConfig,
        mut policy: Policy,
        train_examples: &[Example],
        val_examples: Option<&[Example]>,
        resume: bool,
        objective: Objective,
        dp: DataParallel,
    ) -> Result<Self> {
        let (rewards, phases) = check_inputs(&config, train_examples, objective, &dp)?;
        let root = config.adapter_path.clone();
        if dp.is_main() {
            std::fs::create_dir_all(&root).map_err(Error::io("creating", &root))?;
        }
        let latest = if resume {
            let found = checkpoint::latest(&checkpoints_dir(&root))?;
            Some(found.ok_or_else(|| Error::Checkpoint {
                path: checkpoints_dir(&root),
                reason: "no checkpoint to resume from; start without --resume".into(),
            })?)
        } else {
            None
        };
        // The KL reference of a full fine-tune is the starting weights: with
        // no adapters to switch off, the policy itself would be its own
        // reference and the KL term would always be 0. Arrays are replaced,
        // never mutated, by updates, so this clone shares memory with the
        // policy until the first step and then keeps the originals.
        let reference = (objective == Objective::Grpo
            && config.beta > 0.0
            && config.adapter_config().fine_tune_type == FineTuneType::Full)
            .then(|| policy.model.clone());
        let start = start_or_resume(&config, &mut policy, train_examples, latest.as_deref(), &dp)?;

        // Started before the data is tokenized: prompts that do not list
        // their functions get the servers' schemas through the template.
        let tools = if objective == Objective::Grpo && config.multi_turn() {
            Some(ToolSet::start(
                &config.tools,
                ToolSetOptions {
                    call_timeout: std::time::Duration::from_secs_f64(config.tool_timeout),
                    ..ToolSetOptions::default()
                },
            )?)
        } else {
            None
        };
        let tool_schemas: Vec<serde_json::Value> = tools
            .iter()
            .flat_map(|t| t.tools())
            .map(|t| t.to_chat_template_json())
            .collect();
        let schemas = tools.as_ref().map(|_| tool_schemas.as_slice());
        let mut train =
            TaskSet::prepare_with_tools(&policy, train_examples, "training data", schemas)?;
        let val = val_examples
            .map(|v| TaskSet::prepare_with_tools(&policy, v, "validation data", schemas))
            .transpose()?;
        if objective == Objective::Sft || config.curriculum_enabled {
            train.add_targets(&policy, train_examples)?;
        }
        let logs = open_logs(&root, resume, start.done, &dp)?;
        Ok(Self {
            objective,
            logs,
            config,
            policy,
            adapter_config: start.adapter_config,
            reference,
            train,
            val,
            rewards,
            learner: start.learner,
            sampler: start.sampler,
            done: start.done,
            phases,
            phase: None,
            dp,
            resumed_from: latest,
            tools,
            tool_schemas,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The policy being trained.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Facts about the run, for the start banner.
    pub fn info(&self) -> RunInfo {
        let (trainable, total) =
            adapters::parameter_counts(&self.policy.model, &self.adapter_config);
        RunInfo {
            start_iteration: self.done,
            iterations: self.config.iters,
            trainable_parameters: trainable,
            total_parameters: total,
            train_examples: self.train.len(),
            val_examples: self
                .val
                .as_ref()
                .map_or(0, |v| v.eval_examples(self.config.val_examples).len()),
            max_prompt_tokens: self.train.max_prompt_tokens(),
            resumed_from: self.resumed_from.clone(),
        }
    }

    /// Runs the remaining iterations. When `stop` becomes true (Ctrl-C),
    /// the iteration in progress finishes, a checkpoint is written and the
    /// run returns [`Outcome::Interrupted`].
    pub fn run(&mut self, observer: &mut dyn Observer, stop: &AtomicBool) -> Result<TrainSummary> {
        observer.on_start(&self.info());
        if self.done == 0 && self.config.iters > 0 {
            // The baseline every later validation is compared with. A
            // resumed run (done > 0) kept this row in eval.jsonl and does
            // not redo it; validation is greedy and draws from its own
            // stream, so it changes nothing in the training that follows.
            if let Some(report) = self.validate()? {
                self.logs.eval.write(&EvalLine::new(0, &report))?;
                observer.on_eval(0, &report);
            }
        }
        let mut watchdog = Watchdog::default();
        let mut nan_streak = 0;
        let mut last = None;
        let mut last_checkpoint = None;
        mlx_rs::memory::reset_peak_memory()?;
        while self.done < self.config.iters {
            let stopping = stop.load(Ordering::SeqCst);
            // Every rank stops at the same iteration, whichever saw Ctrl-C.
            let stopping = if self.dp.is_distributed() {
                self.dp.any(stopping)?
            } else {
                stopping
            };
            if stopping {
                let dir = self.save()?;
                observer.on_checkpoint(self.done, &dir);
                return Ok(TrainSummary {
                    outcome: Outcome::Interrupted,
                    iterations_done: self.done,
                    last,
                    last_checkpoint: Some(dir),
                });
            }
            if let Some(announcement) = self.enter_phase(self.done + 1)? {
                observer.on_warning(&announcement);
            }
            // The data position before the iteration: a custom reward that
            // fails stops the run before any update, and the checkpoint must
            // draw the same batch again on --resume.
            let position = self.sampler.clone();
            let metrics = match self.iteration() {
                Ok(m) => m,
                Err(Error::Rewards(reward @ grpo_rewards::Error::CustomReward { .. })) => {
                    self.sampler = position;
                    let dir = self.save()?;
                    observer.on_checkpoint(self.done, &dir);
                    return Err(Error::RewardStopped {
                        reward,
                        iteration: self.done + 1,
                        done: self.done,
                        checkpoint: dir,
                    });
                }
                Err(e) => return Err(e),
            };
            nan_streak = if metrics.skipped { nan_streak + 1 } else { 0 };
            self.logs.metrics.write(&metrics)?;
            observer.on_iteration(&metrics);
            if self.objective == Objective::Grpo {
                for warning in watchdog.observe(&metrics) {
                    observer.on_warning(warning);
                }
            }
            if nan_streak >= MAX_NAN_STREAK {
                return Err(Error::Diverged {
                    updates: MAX_NAN_STREAK,
                    iteration: metrics.iteration,
                });
            }
            self.done = metrics.iteration;
            last = Some(metrics);

            if self.done.is_multiple_of(self.config.steps_per_eval)
                || self.done == self.config.iters
            {
                if let Some(report) = self.validate()? {
                    self.logs.eval.write(&EvalLine::new(self.done, &report))?;
                    observer.on_eval(self.done, &report);
                }
            }
            if self.done.is_multiple_of(self.config.save_every) || self.done == self.config.iters {
                let dir = self.save()?;
                observer.on_checkpoint(self.done, &dir);
                last_checkpoint = Some(dir);
            }
        }
        Ok(TrainSummary {
            outcome: Outcome::Finished,
            iterations_done: self.done,
            last,
            last_checkpoint,
        })
    }

    /// Iteration `self.done + 1` of the run's objective, on the trainer's
    /// parts.
    fn iteration(&mut self) -> Result<IterationMetrics> {
        let iteration = self.done + 1;
        let schedule = self.schedule_now();
        let mut parts = Parts {
            config: &self.config,
            policy: &mut self.policy,
            reference: self.reference.as_ref(),
            train: &self.train,
            rewards: &self.rewards,
            learner: &mut self.learner,
            sampler: &mut self.sampler,
            dp: &self.dp,
            turns: multi_turn(&self.config, self.tools.as_ref(), &self.tool_schemas),
            schedule,
            phase: self.phase,
            rollout_log: &mut self.logs.rollouts,
        };
        match self.objective {
            Objective::Grpo => grpo_iteration::iteration(&mut parts, iteration),
            Objective::Sft => sft_iteration::iteration(&mut parts, iteration),
        }
    }

    /// Enters the phase of `iteration`: its rewards replace the previous
    /// ones. Returns the announcement when the phase changes, and at the
    /// first iteration of a run (a resumed run names the phase it resumes
    /// in).
    fn enter_phase(&mut self, iteration: usize) -> Result<Option<String>> {
        let Some(plan) = &self.phases else {
            return Ok(None);
        };
        let index = plan.at(iteration);
        if self.phase == Some(index) {
            return Ok(None);
        }
        self.rewards = plan.rewards(index)?;
        self.phase = Some(index);
        Ok(Some(plan.describe(index)))
    }

    /// The learning-rate schedule in force: SFT's, or GRPO's with the
    /// current phase's peak rate when it sets one.
    fn schedule_now(&self) -> LrSchedule {
        let c = &self.config;
        match (self.objective, &self.phases, self.phase) {
            (Objective::Sft, _, _) => c.sft_schedule(),
            (Objective::Grpo, Some(plan), Some(index)) => {
                plan.schedule(index, c.schedule(), c.min_learning_rate)
            }
            (Objective::Grpo, _, _) => c.schedule(),
        }
    }

    /// Scores the validation data (greedy), if there is any; on rank 0
    /// only, which writes the results.
    fn validate(&mut self) -> Result<Option<EvalReport>> {
        let Some(val) = self.val.as_ref().filter(|_| self.dp.is_main()) else {
            return Ok(None);
        };
        let examples = val.eval_examples(self.config.val_examples);
        let opts = EvalOptions {
            batch_size: 32,
            max_tokens: self.config.max_completion_length,
            sampler: grpo_policy::sample::Sampler::greedy(),
            seed: stream_seed(self.config.seed, Stream::Eval),
        };
        // A multi-turn run is validated as it is trained: the calls run
        // and the model answers from their results.
        let report = match multi_turn(&self.config, self.tools.as_ref(), &self.tool_schemas) {
            Some(turns) => evaluate_multi_turn(
                &self.policy,
                &examples,
                &opts,
                &grpo_rewards::CompareOptions::default(),
                &turns,
                |_, _| {},
            )?,
            None => evaluate(&self.policy, &examples, &opts, |_, _| {})?,
        };
        Ok(Some(report))
    }

    /// Writes a checkpoint (adapters, optimizer, state) under
    /// `adapter_path/checkpoints/iteration-N`, then the adapters at `adapter_path`
    /// itself, where `mlx_lm.load(..., adapter_path=...)` looks.
    ///
    /// On several ranks, every rank calls it: they compare fingerprints of
    /// their parameters first (an error if they differ), and rank 0 alone
    /// writes, recording the ranks, shards and fingerprints in the state.
    fn save(&self) -> Result<PathBuf> {
        let root = &self.config.adapter_path;
        let mut extra = serde_json::Map::new();
        if self.dp.shards() > 1 {
            let trained: std::collections::BTreeMap<String, Array> =
                adapters::trainable(&self.policy.model, &self.adapter_config)
                    .into_iter()
                    .collect();
            let fingerprints = self.dp.same_parameters(&trained)?;
            extra.insert("ranks".into(), self.dp.ranks().into());
            extra.insert("rollout_shards".into(), self.dp.shards().into());
            extra.insert(
                "parameter_fingerprints".into(),
                fingerprints
                    .iter()
                    .map(|h| serde_json::Value::String(format!("{h:016x}")))
                    .collect(),
            );
        }
        if !self.dp.is_main() {
            return Ok(checkpoints_dir(root).join(format!("iteration-{}", self.done)));
        }
        let state = TrainerState {
            iteration: self.done as u64,
            seed: self.config.seed,
            data_cursor: self.sampler.state(),
            config: serde_json::to_value(&self.config).expect("configs serialize"),
            extra,
        };
        let keep = std::num::NonZeroUsize::new(self.config.keep_checkpoints);
        let dir = checkpoint::save(
            &checkpoints_dir(root),
            self.done as u64,
            keep,
            |tmp: &Path| -> Result<()> {
                adapters::save(tmp, &self.policy.model, &self.adapter_config)?;
                self.learner.save(&tmp.join("optimizer.safetensors"))?;
                state.write(tmp)
            },
        )?;
        adapters::save(root, &self.policy.model, &self.adapter_config)?;
        Ok(dir)
    }
}

/// Checks the settings and the data before any model or file work, and
/// resolves the rewards and the phases.
fn check_inputs(
    config: &TrainConfig,
    train_examples: &[Example],
    objective: Objective,
    dp: &DataParallel,
) -> Result<(RewardSet, Option<PhasePlan>)> {
    config.validate()?;
    dp.check_batch_size(config.batch_size)?;
    if config.dynamic_sampling > 0 && dp.shards() > 1 {
        return Err(Error::InvalidConfig {
            field: "dynamic_sampling",
            message: format!(
                "dynamic sampling draws extra prompts where the groups are, which needs the batch in one shard; this run has {} (leave --dynamic-sampling out, or train with --rollout-shards 1 on one process)",
                dp.shards()
            ),
        });
    }
    if train_examples.is_empty() {
        return Err(Error::InvalidData {
            what: "training data",
            message: "no examples; give a JSONL file with at least one record (see `mlx-grpo data validate`)".into(),
        });
    }
    let rewards = config.rewards()?;
    let phases = config.phase_plan()?;
    if phases.is_some() && objective == Objective::Sft {
        return Err(Error::InvalidConfig {
            field: "phases",
            message: "phases switch GRPO rewards; supervised fine-tuning has none".into(),
        });
    }
    Ok((rewards, phases))
}

/// Adds fresh adapters to `policy`, or restores adapters, optimizer,
/// iterations done and data position from the checkpoint `latest`.
fn start_or_resume(
    config: &TrainConfig,
    policy: &mut Policy,
    train_examples: &[Example],
    latest: Option<&Path>,
    dp: &DataParallel,
) -> Result<Start> {
    let mut adapter_config = config.adapter_config();
    adapter_config.extra.insert(
        "model".into(),
        serde_json::Value::String(policy.dir.display().to_string()),
    );
    adapter_config.extra.insert(
        "mlx_grpo".into(),
        serde_json::to_value(config).expect("configs serialize"),
    );
    let train_kinds: Vec<String> = train_examples
        .iter()
        .map(grpo_dataset::stats::kind_of)
        .collect();
    let (optimizer, sampler, done) = match latest {
        Some(dir) => {
            policy.load_adapters(dir)?;
            if let Some(saved) = &policy.adapters {
                adapter_config.fine_tune_type = saved.fine_tune_type;
                adapter_config.num_layers = saved.num_layers;
                adapter_config.lora_parameters = saved.lora_parameters.clone();
            }
            let state = TrainerState::read(dir)?;
            check_same_layout(dir, &state, dp)?;
            let sampler = BatchSampler::restore(
                &state.data_cursor,
                &train_kinds,
                config.kind_mix.as_ref(),
                config.seed,
            )
            .map_err(|reason| Error::Checkpoint {
                path: dir.to_path_buf(),
                reason,
            })?;
            let optimizer = AdamW::load(&dir.join("optimizer.safetensors"), config.adamw())?;
            (optimizer, sampler, state.iteration as usize)
        }
        None => {
            policy.add_adapters(&adapter_config, config.seed)?;
            (
                AdamW::new(config.adamw()),
                BatchSampler::new(&train_kinds, config.kind_mix.as_ref(), config.seed)?,
                0,
            )
        }
    };
    let learner = Learner::new(
        optimizer,
        &policy.model,
        &adapter_config,
        config.max_grad_norm,
    );
    Ok(Start {
        adapter_config,
        learner,
        sampler,
        done,
    })
}

/// The multi-turn loop of a run with tool servers, for its rollouts and
/// its validations alike (`None`: a single-turn run).
fn multi_turn<'a>(
    config: &TrainConfig,
    tools: Option<&'a ToolSet>,
    schemas: &'a [serde_json::Value],
) -> Option<MultiTurn<'a>> {
    tools.map(|tools| MultiTurn {
        tools,
        max_turns: config.max_turns,
        schemas: Some(schemas),
    })
}

/// Opens the logs under `root`: a fresh run starts them empty, a resumed
/// one cuts them back to the `done` iterations its checkpoint holds. Only
/// rank 0 touches the files.
fn open_logs(root: &Path, resume: bool, done: usize, dp: &DataParallel) -> Result<Logs> {
    let metrics = root.join("metrics.jsonl");
    let rollouts = root.join("rollouts.jsonl");
    let eval = root.join("eval.jsonl");
    if !dp.is_main() {
        // Rank 0 writes the logs.
    } else if resume {
        for p in [&metrics, &rollouts, &eval] {
            truncate_after(p, done)?;
        }
    } else {
        for p in [&metrics, &rollouts, &eval] {
            if p.exists() {
                std::fs::remove_file(p).map_err(Error::io("removing", p))?;
            }
        }
    }
    let open = |p: &Path| {
        if dp.is_main() {
            JsonlLog::append(p)
        } else {
            Ok(JsonlLog::discard(p))
        }
    };
    Ok(Logs {
        metrics: open(&metrics)?,
        rollouts: RolloutLog(open(&rollouts)?),
        eval: open(&eval)?,
    })
}

/// Refuses to resume from a checkpoint of a run with another number of
/// ranks or shards: the batch would be cut differently from the iteration
/// on, and the ranks' data positions would not match.
fn check_same_layout(dir: &Path, state: &TrainerState, dp: &DataParallel) -> Result<()> {
    let saved = |key: &str| {
        state
            .extra
            .get(key)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(1) as usize
    };
    let (ranks, shards) = (saved("ranks"), saved("rollout_shards"));
    let processes = |n: usize| {
        if n == 1 {
            "1 process".to_string()
        } else {
            format!("{n} processes")
        }
    };
    if ranks != dp.ranks() {
        return Err(Error::Checkpoint {
            path: dir.to_path_buf(),
            reason: format!(
                "written by a run on {} and this one has {}: resume on {} (`mlx.launch` with {ranks} hosts{}), or start a new run in another --adapter-path",
                processes(ranks),
                processes(dp.ranks()),
                processes(ranks),
                if ranks == 1 { ", or no mlx.launch at all" } else { "" },
            ),
        });
    }
    if shards != dp.shards() {
        return Err(Error::Checkpoint {
            path: dir.to_path_buf(),
            reason: format!(
                "written by a run with --rollout-shards {shards} and this one has {}: resume with --rollout-shards {shards}",
                dp.shards()
            ),
        });
    }
    Ok(())
}

/// Where checkpoints go.
pub fn checkpoints_dir(adapter_path: &Path) -> PathBuf {
    adapter_path.join("checkpoints")
}
