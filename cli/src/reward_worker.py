"""mlx-grpo's reward worker: runs the reward functions of a TRL-style file.

Started once per run as `python reward_worker.py REWARDS.py`. It loads the
file, answers one line of JSON, then serves one request per line on stdin
with one response per line on stdout (the protocol of docs/rewards.md):

  -> {"functions": ["f", "g"]}                          (after loading)
  -> {"error": "traceback"}                             (the file failed)
  <- {"function": "f", "completions": [...], "prompts": [...],
      "completion_ids": [[...], ...] | null, "columns": {"answer": [...]}}
  -> {"scores": [0.5, null, ...]}                       (None: not applicable)
  -> {"error": "traceback", "row": 3}                   (the function raised)

Each function is called as TRL's GRPOTrainer calls it:
f(completions=..., prompts=..., completion_ids=..., **columns), with every
data set column as a list, one item per completion. What the functions
print goes to standard error, so that stdout carries the protocol only.
"""

import importlib.util
import inspect
import json
import math
import signal
import sys
import traceback

PROTOCOL = sys.stdout
signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the run; the run stops the worker
sys.stdout = sys.stderr  # print() in reward code must not break the protocol


def send(obj):
    PROTOCOL.write(json.dumps(obj, allow_nan=True) + "\n")
    PROTOCOL.flush()


def load(path):
    spec = importlib.util.spec_from_file_location("rewards", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["rewards"] = module
    spec.loader.exec_module(module)
    functions = {}
    for name, value in vars(module).items():
        if name.startswith("_") or not inspect.isfunction(value):
            continue
        if getattr(value, "__module__", None) != "rewards":
            continue  # imported, not defined here
        functions[name] = value
    return functions


def check_signature(name, f):
    """A function must take `completions`, `prompts` and `completion_ids` by
    keyword (named or through **kwargs); other parameters may be columns."""
    try:
        inspect.signature(f).bind_partial(completions=[], prompts=[], completion_ids=None)
    except TypeError as e:
        return (
            f"reward function `{name}` cannot be called as "
            f"{name}(completions, prompts=None, completion_ids=None, **kwargs): {e}"
        )
    return None


def call(f, request, rows=None):
    pick = (lambda xs: xs) if rows is None else (lambda xs: [xs[i] for i in rows])
    columns = {k: pick(v) for k, v in request.get("columns", {}).items()}
    ids = request.get("completion_ids")
    columns.pop("completions", None)
    columns.pop("prompts", None)
    columns.pop("completion_ids", None)
    return f(
        completions=pick(request["completions"]),
        prompts=pick(request.get("prompts") or [None] * len(request["completions"])),
        completion_ids=None if ids is None else pick(ids),
        **columns,
    )


def user_traceback():
    """The current exception's traceback without this worker's frames."""
    e = traceback.TracebackException(*sys.exc_info())
    e.stack = traceback.StackSummary.from_list(
        [
            f
            for f in e.stack
            if f.filename not in ("<string>", globals().get("__file__"))
            and not f.filename.startswith("<frozen ")
        ]
    )
    return "".join(e.format())


def to_scores(result):
    if result is None:
        raise TypeError("returned None; return a list with one score (or None) per completion")
    try:
        items = list(result)
    except TypeError:
        raise TypeError(f"returned {type(result).__name__}, not a list of scores") from None
    out = []
    for i, v in enumerate(items):
        if v is None:
            out.append(None)
        elif isinstance(v, bool) or not isinstance(v, (int, float)) and not hasattr(v, "__float__"):
            raise TypeError(f"score {i} is {v!r} ({type(v).__name__}), not a number or None")
        else:
            x = float(v)
            if math.isnan(x) or math.isinf(x):
                raise ValueError(f"score {i} is {x}, not a finite number")
            out.append(x)
    return out


def main():
    if len(sys.argv) != 2:
        send({"error": "usage: reward_worker.py REWARDS.py"})
        return 2
    try:
        functions = load(sys.argv[1])
    except BaseException:
        send({"error": user_traceback()})
        return 1
    problems = [p for p in (check_signature(n, f) for n, f in functions.items()) if p]
    if problems:
        send({"error": "\n".join(problems)})
        return 1
    send({"functions": list(functions)})
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        name = request.get("function")
        f = functions.get(name)
        if f is None:
            send({"error": f"no reward function `{name}` in {sys.argv[1]}"})
            continue
        failed = None
        try:
            result = call(f, request)
        except Exception:
            failed = user_traceback()
        if failed is not None:
            # Find the first row that raises alone, to name it.
            row = None
            for i in range(len(request["completions"])):
                try:
                    call(f, request, [i])
                except Exception:
                    failed, row = user_traceback(), i
                    break
            send({"error": failed, "row": row})
            continue
        try:
            send({"scores": to_scores(result)})
        except Exception as e:
            send({"error": str(e), "kind": "value"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
