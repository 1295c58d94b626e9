#!/usr/bin/env bash
# Multi-turn GRPO on the embedded tiny model: does final-answer accuracy
# rise when the model's calls run on the synth tool server and it is
# rewarded for answering from their results? Reproduces the table in
# README.md here from scratch: data, a supervised warm start on answering
# turns, then GRPO for each seed, each scored before and after with
# `mlx-grpo eval --max-turns 2` on the same held-out tasks.
#
#   benches/multi-turn/run.sh              # seeds 0 1 2, about 20 minutes on 2 cores
#   SEEDS="0" OUT=/tmp/mt benches/multi-turn/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-target/multi-turn}
SEEDS=${SEEDS:-0 1 2}
SFT_ITERS=${SFT_ITERS:-150}
GRPO_ITERS=${GRPO_ITERS:-40}
TASKS=${TASKS:-8000}

cargo build --release -p mlx-grpo
bin=$PWD/target/release/mlx-grpo
mkdir -p "$OUT"

# Single-call tasks of the synth catalogue; those whose tool result is one
# number get a final_answer, and train.jsonl also gets their answering turns.
"$bin" data synth --final-answers --answer-turns --mix single=1 --compact \
  --n "$TASKS" --seed 3 --out "$OUT/data"
# GRPO and scoring use the tasks that need the tool's result to answer.
for split in train valid test; do
  python3 - "$OUT/data/$split.jsonl" "$OUT/$split-tasks.jsonl" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
keep = [r for r in rows if "final_answer" in r and "messages" not in r]
open(sys.argv[2], "w").write("".join(json.dumps(r) + "\n" for r in keep))
PY
done

# The warm start: the embedded model fine-tuned on the calls and on the
# answering turns, so that it answers from a result some of the time.
"$bin" sft --model fixtures/tiny-tool-caller --data "$OUT/data/train.jsonl" \
  --train-type full --batch-size 16 --learning-rate 5e-4 --lr-schedule constant \
  --warmup-steps 10 --max-completion-length 64 --iters "$SFT_ITERS" \
  --save-every "$SFT_ITERS" --adapter-path "$OUT/sft" --seed 0 --force
"$bin" fuse --adapter-path "$OUT/sft" --save-path "$OUT/warm" --force

# The final answer alone is rewarded: a call reward scores the whole
# trajectory, so it also reinforces the wrong answer that follows a right
# call (see README.md here).
cat > "$OUT/grpo.yaml" <<YAML
train_type: full
iters: $GRPO_ITERS
batch_size: 8
group_size: 8
learning_rate: 0.0001
lr_schedule: constant
warmup_steps: 0
max_completion_length: 96
temperature: 0.7
beta: 0.0
reward_functions: [final_answer]
max_turns: 2
tools:
  - name: synth
    command: [$bin, tools, serve, synth]
steps_per_report: 5
steps_per_eval: 20
val_examples: 127
save_every: $GRPO_ITERS
YAML

score() { # model [adapters]: the eval report as JSON
  "$bin" eval --model "$1" ${2:+--adapter-path "$2"} --data "$OUT/test-tasks.jsonl" \
    --max-turns 2 --max-tokens 96 --json
}
score "$OUT/warm" > "$OUT/before.json"
for seed in $SEEDS; do
  start=$(date +%s)
  "$bin" train --config "$OUT/grpo.yaml" --model "$OUT/warm" \
    --data "$OUT/train-tasks.jsonl" --val-data "$OUT/valid-tasks.jsonl" \
    --adapter-path "$OUT/grpo-seed$seed" --seed "$seed" --force
  echo $(( $(date +%s) - start )) > "$OUT/grpo-seed$seed.seconds"
  score "$OUT/warm" "$OUT/grpo-seed$seed" > "$OUT/after-seed$seed.json"
done

python3 - "$OUT" $SEEDS <<'PY'
import json, sys
out, seeds = sys.argv[1], sys.argv[2:]
def rates(path):
    r = json.load(open(path))
    t, m = r["all"], r["multi_turn"]
    return (100 * m["final_correct"] / m["with_final_answer"], 100 * t["exact"] / t["total"],
            m["turns"] / m["examples"], t["total"])
before = rates(f"{out}/before.json")
lines = ["| run | final answer | exact call | turns | GRPO time |", "|---|---|---|---|---|",
         f"| warm start | {before[0]:.1f} % | {before[1]:.1f} % | {before[2]:.2f} | |"]
for s in seeds:
    after = rates(f"{out}/after-seed{s}.json")
    secs = int(open(f"{out}/grpo-seed{s}.seconds").read())
    lines.append(f"| GRPO, seed {s} | {after[0]:.1f} % ({after[0] - before[0]:+.1f}) | "
                 f"{after[1]:.1f} % ({after[1] - before[1]:+.1f}) | {after[2]:.2f} | {secs} s |")
table = "\n".join(lines)
print(f"{before[3]} held-out tasks (test split, greedy, --max-turns 2):\n{table}")
open(f"{out}/results.md", "w").write(table + "\n")
PY
