"""Times Python mlx-lm batch generation, the baseline of `benches/generate.rs`.

The Rust bench writes the model (Hugging Face layout) and a JSON job file,
then runs this script with the project's venv interpreter. The job names the
prompts, the group size, the token budget, the sampling temperature and the
end-of-sequence ids; each prompt is submitted `group` times (mlx-lm has no
prefix sharing: every row prefills its own copy of the prompt). All rows run
in one batch, as the Rust side runs them.

Prints one JSON object: per repetition, the generated tokens (an
end-of-sequence token counts, as on the Rust side) and the wall-clock
seconds from submitting the prompts to the last token.
"""

import argparse
import json
import time
from pathlib import Path

import mlx.core as mx
import mlx_lm
from mlx_lm.generate import BatchGenerator
from mlx_lm.sample_utils import make_sampler
from mlx_lm.utils import load_model


def run_once(model, job):
    rows = [p for p in job["prompts"] for _ in range(job["group"])]
    eos = job["eos"]
    gen = BatchGenerator(
        model,
        stop_tokens=[[t] for t in eos] if eos else None,
        sampler=make_sampler(temp=job["temperature"]),
        completion_batch_size=len(rows),
        prefill_batch_size=len(rows),
    )
    start = time.perf_counter()
    gen.insert(rows, [job["max_tokens"]] * len(rows))
    tokens = 0
    while responses := gen.next_generated():
        tokens += len(responses)
    seconds = time.perf_counter() - start
    gen.close()
    return {"tokens": tokens, "seconds": seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--job", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    job = json.loads(args.job.read_text())
    model, _ = load_model(args.model)
    mx.random.seed(args.seed)
    run_once(model, job)  # warm-up: first-call allocations and kernel setup
    runs = [run_once(model, job) for _ in range(args.repeats)]
    print(
        json.dumps(
            {
                "mlx_lm": mlx_lm.__version__,
                "mlx": mx.__version__,
                "device": str(mx.default_device()),
                "runs": runs,
            }
        )
    )


if __name__ == "__main__":
    main()
