#!/usr/bin/env bash
# The learning benchmark: GRPO teaching SmolLM2-135M-Instruct the guide's
# call format on the embedded data, from scratch, four recipes:
#
#   base          the pretrained model as it is
#   curriculum    GRPO with curriculum scaffolding, from the base model
#   sft           a short `mlx-grpo sft` warm start (LoRA)
#   sft+grpo      GRPO from that warm start (fused first)
#
# Every run validates on the same first $VAL examples of the held-out split
# before its first iteration and every few iterations; report.py turns the
# runs' eval.jsonl and metrics.jsonl into table.md and learning.png
# (held-out exact match against training wall time). Not part of CI: about
# an hour on two CPU cores.
#
#   benches/learning/run.sh                 # everything, into target/learning
#   OUT=/tmp/l SFT_ITERS=100 benches/learning/run.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

OUT=${OUT:-target/learning}
VAL=${VAL:-64}
SFT_ITERS=${SFT_ITERS:-200}
GRPO_ITERS=${GRPO_ITERS:-24}
CURRICULUM_ITERS=${CURRICULUM_ITERS:-24}

scripts/setup
scripts/get-model smollm2
cargo build --release -q -p mlx-grpo
bin=target/release/mlx-grpo
model=models/smollm2-135m-instruct
data=fixtures/tool-calling
mkdir -p "$OUT"

# LoRA on every projection of the last 8 of 30 blocks: the backward pass
# stops there, which halves the cost of a step against all blocks.
lora=(--train-type lora --lora-layers 8 --lora-rank 16 --lora-alpha 32
	--lora-keys self_attn.q_proj self_attn.k_proj self_attn.v_proj self_attn.o_proj
	mlp.gate_proj mlp.up_proj mlp.down_proj)
val=(--val-data "$data/valid.jsonl" --val-examples "$VAL")
rewards=(--reward-functions tool_call_exact tool_call_params tool_call_function tool_call_format
	--reward-weights 0.4 0.2 0.2 0.2)
grpo=(--batch-size 2 --group-size 8 --max-completion-length 48 --temperature 1.0
	--learning-rate 8e-5 --lr-schedule constant --warmup-steps 0 --beta 0.0
	--steps-per-report 5 --save-every 10 --log-rollouts-every 5)

run() {
	# $1: name; the rest: the command. Skipped when it finished before.
	local name=$1
	shift
	if [ -f "$OUT/$name/adapters.safetensors" ] || [ -f "$OUT/$name.json" ]; then
		echo "== $name: done before"
		return
	fi
	echo "== $name"
	/usr/bin/time -f "%e" -o "$OUT/$name.seconds" "$@"
}

run base sh -c "$bin eval --model $model --data $data/valid.jsonl --limit $VAL --max-tokens 64 --json > $OUT/base.json.tmp && mv $OUT/base.json.tmp $OUT/base.json"

run sft "$bin" sft --model "$model" --data "$data/train.jsonl.gz" "${val[@]}" "${lora[@]}" \
	--batch-size 4 --iters "$SFT_ITERS" --learning-rate 3e-4 --lr-schedule constant \
	--warmup-steps 5 --max-completion-length 64 --steps-per-report 10 \
	--steps-per-eval 100 --save-every 50 --adapter-path "$OUT/sft" --force

[ -f "$OUT/sft-model/config.json" ] ||
	"$bin" fuse --model "$model" --adapter-path "$OUT/sft" --save-path "$OUT/sft-model"

run sft+grpo "$bin" train --model "$OUT/sft-model" --data "$data/train.jsonl.gz" "${val[@]}" \
	"${lora[@]}" "${grpo[@]}" "${rewards[@]}" --iters "$GRPO_ITERS" --steps-per-eval 12 \
	--adapter-path "$OUT/sft+grpo" --force

run curriculum "$bin" train --model "$model" --data "$data/train.jsonl.gz" "${val[@]}" \
	"${lora[@]}" "${grpo[@]}" "${rewards[@]}" --iters "$CURRICULUM_ITERS" --steps-per-eval 12 \
	--curriculum-enabled --curriculum-start-ratio 0.6 --curriculum-end-ratio 0.0 \
	--curriculum-steps "$CURRICULUM_ITERS" --adapter-path "$OUT/curriculum" --force

.venv/bin/python -c "import matplotlib" 2>/dev/null ||
	.venv/bin/python -m pip install -q --disable-pip-version-check matplotlib
.venv/bin/python benches/learning/report.py "$OUT"
