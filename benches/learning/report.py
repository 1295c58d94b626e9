"""Table and plot of the learning benchmark (benches/learning/run.sh).

Reads OUT/base.json (`mlx-grpo eval --json`), and each run's eval.jsonl
(validation before the first iteration and every few iterations) and
metrics.jsonl (seconds per iteration); writes OUT/table.md and
OUT/learning.png: held-out exact match against training wall time. The GRPO
run from the warm start begins where the warm start ended.

    .venv/bin/python benches/learning/report.py target/learning
"""

import json
import sys
from pathlib import Path

KINDS = ["single", "multiple", "parallel", "irrelevance"]


def read_jsonl(path: Path) -> list:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def curve(run: Path, offset: float) -> list:
    """(minutes of training, exact match, eval row) at each validation."""
    seconds = {}
    total = 0.0
    for row in read_jsonl(run / "metrics.jsonl"):
        total += row.get("iteration_s", row.get("step_s", 0.0))
        seconds[row["iteration"]] = total
    points = []
    for row in read_jsonl(run / "eval.jsonl"):
        it = row["iteration"]
        t = seconds.get(it, 0.0) if it else 0.0
        points.append(((offset + t) / 60, row["exact_match"], row))
    return points


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def main() -> None:
    out = Path(sys.argv[1])
    rows = []
    series = {}
    base = out / "base.json"
    if base.is_file():
        b = json.loads(base.read_text())
        a = b["all"]
        n = a["total"]
        kinds = {k: b["by_kind"][k]["exact"] / b["by_kind"][k]["total"] for k in KINDS if k in b["by_kind"]}
        rows.append(("base", 0, 0.0, None, {"exact_match": a["exact"] / n, "function": a["function"] / n,
                                              "params": a["params"] / n, "parse_rate": a["parseable"] / n,
                                              "by_kind": {k: {"exact_match": v} for k, v in kinds.items()}}))
    sft_minutes = 0.0
    for name in ["sft", "sft+grpo", "curriculum"]:
        run = out / name
        offset = sft_minutes * 60 if name == "sft+grpo" else 0.0
        points = curve(run, offset)
        if not points:
            continue
        series[name] = points
        first, last = points[0][2], points[-1][2]
        minutes = points[-1][0] - offset / 60
        if name == "sft":
            sft_minutes = minutes
        rows.append((name, last["iteration"], minutes, first, last))

    lines = [
        "| recipe | iterations | training min | held-out exact | function | params | parse rate | "
        + " | ".join(KINDS) + " |",
        "|---" * (7 + len(KINDS)) + "|",
    ]
    for name, iters, minutes, first, last in rows:
        def cell(key):
            return pct(last[key]) if first is None else f"{pct(first[key])} → {pct(last[key])}"
        kinds = [pct(last["by_kind"].get(k, {}).get("exact_match", 0.0)) for k in KINDS]
        lines.append(f"| {name} | {iters} | {minutes:.1f} | {cell('exact_match')} | {cell('function')} | "
                     f"{cell('params')} | {cell('parse_rate')} | " + " | ".join(kinds) + " |")
    table = "\n".join(lines) + "\n"
    (out / "table.md").write_text(table)
    print(table)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for name, points in series.items():
        ax.plot([p[0] for p in points], [100 * p[1] for p in points], marker="o", label=name)
    if rows and rows[0][0] == "base":
        ax.axhline(100 * rows[0][4]["exact_match"], color="grey", linestyle="--", label="base")
    ax.set_xlabel("training wall time (minutes, 2 CPU cores)")
    ax.set_ylabel("held-out exact match (%)")
    ax.set_title("SmolLM2-135M-Instruct learning the call format")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "learning.png", dpi=110)
    print(f"wrote {out / 'table.md'} and {out / 'learning.png'}")


if __name__ == "__main__":
    main()
