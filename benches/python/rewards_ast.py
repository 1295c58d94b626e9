"""Parse and compare tool calls with Python's `ast`: the Python side of the
grpo-rewards bench.

Reads the corpus that `cargo bench -p grpo-benches --bench rewards` writes
(target/rewards-corpus.jsonl: one {"completion", "answer"} per line). For
each completion it does the same work as the Rust bench's
`parse_and_compare`:

- drop `<think>` blocks, read `<tool_call>` JSON, unwrap code fences;
- `ast.parse` each remaining line, keep calls (or lists of calls) whose
  arguments are literals (`ast.literal_eval`), so prose lines are skipped;
- compare with the answer's calls, parsed once up front: optimal pairing
  by trying every permutation (1 to 4 calls), function-name F1, parameter
  credit over max(#predicted, #expected), exact match, and
  overall = 0.4 function + 0.4 params + 0.2 exact.

It prints the mean scores (to check against the Rust bench's line) and
completions per second on one core.

    .venv/bin/python benches/python/rewards_ast.py [target/rewards-corpus.jsonl]
"""

import ast
import itertools
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

THINK = re.compile(r"<think>.*?</think>", re.S)
TOOL_CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.S)
FENCE = re.compile(r"```[A-Za-z_]*\n(.*?)```", re.S)


def call_from_node(node):
    """(name, positional, keywords) of an ast.Call with literal arguments."""
    if not isinstance(node, ast.Call):
        return None
    try:
        name = ast.unparse(node.func)
        positional = [ast.literal_eval(a) for a in node.args]
        keywords = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    except (ValueError, TypeError, SyntaxError):
        return None
    return name, positional, keywords


def extract_function_calls(text):
    text = THINK.sub("", text)
    calls = []
    for match in TOOL_CALL.finditer(text):
        try:
            obj = json.loads(match.group(1))
        except json.JSONDecodeError:
            continue
        args = obj.get("arguments", {})
        if isinstance(args, str):
            args = json.loads(args)
        calls.append((obj["name"], [], args))
    text = TOOL_CALL.sub("", text)
    text = FENCE.sub(lambda m: m.group(1), text)
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            tree = ast.parse(line, mode="eval")
        except SyntaxError:
            continue
        body = tree.body
        nodes = body.elts if isinstance(body, (ast.List, ast.Tuple)) else [body]
        found = [call_from_node(n) for n in nodes]
        if found and all(found):
            calls.extend(found)
    return calls


def param_credit(pred, exp):
    """Correct parameters over parameters counted, for same-name calls."""
    _, pred_pos, pred_kw = pred
    _, exp_pos, exp_kw = exp
    counted = correct = 0
    for i, value in enumerate(exp_pos):
        counted += 1
        correct += i < len(pred_pos) and pred_pos[i] == value
    counted += max(0, len(pred_pos) - len(exp_pos))
    for key, value in exp_kw.items():
        counted += 1
        correct += key in pred_kw and pred_kw[key] == value
    counted += sum(1 for key in pred_kw if key not in exp_kw)
    return 1.0 if counted == 0 else correct / counted


def compare_function_calls(predicted, expected):
    n, m = len(expected), len(predicted)
    if n == 0:
        score = 1.0 if m == 0 else 0.0
        return {"exact_match": score, "function_score": score,
                "params_score": score, "overall": score}
    names_pred = Counter(c[0] for c in predicted)
    names_exp = Counter(c[0] for c in expected)
    overlap = sum((names_pred & names_exp).values())
    function_score = 2 * overlap / (n + m)
    credit = [[param_credit(p, e) if p[0] == e[0] else None for p in predicted]
              for e in expected]
    best_sum, best_all_correct = 0.0, False
    # Every injective pairing of expected calls to predicted ones (or none).
    slots = list(range(m)) + [None] * n
    for perm in set(itertools.permutations(slots, n)):
        total, all_correct = 0.0, n == m
        for i, j in enumerate(perm):
            c = None if j is None else credit[i][j]
            if c is None:
                all_correct = False
                continue
            total += c
            all_correct = all_correct and c == 1.0
        if total > best_sum or (total == best_sum and all_correct):
            best_sum, best_all_correct = total, all_correct or best_all_correct
    exact = 1.0 if best_all_correct else 0.0
    params = best_sum / max(n, m)
    return {"exact_match": exact, "function_score": function_score,
            "params_score": params,
            "overall": 0.4 * function_score + 0.4 * params + 0.2 * exact}


def main():
    default = Path(__file__).resolve().parents[2] / "target" / "rewards-corpus.jsonl"
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    examples = [json.loads(line) for line in path.read_text().splitlines() if line]
    expected = [extract_function_calls(e["answer"]) for e in examples]
    completions = [e["completion"] for e in examples]

    def run():
        sums = Counter()
        for completion, want in zip(completions, expected):
            scores = compare_function_calls(extract_function_calls(completion), want)
            sums.update(scores)
        return sums

    sums = run()
    n = len(examples)
    print(f"corpus: {n} completions from {path}")
    print("mean scores: exact {:.4f} function {:.4f} params {:.4f} overall {:.4f}".format(
        sums["exact_match"] / n, sums["function_score"] / n,
        sums["params_score"] / n, sums["overall"] / n))
    best = float("inf")
    for _ in range(15):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    print(f"python ast parse + compare: {n / best:>10.0f} completions/s on one core "
          f"(Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
