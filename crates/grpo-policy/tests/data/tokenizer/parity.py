"""Reference outputs of Python transformers (and mlx_lm) for tests/tokenizer.rs.

Reads one JSON request on stdin and writes one JSON answer on stdout:

  {"mode": "chat", "dir": D, "cases": [{"messages", "tools", "add_generation_prompt", "variables"}]}
      -> {"results": [{"text", "ids"} or {"error"}]}   via AutoTokenizer.apply_chat_template
  {"mode": "snippets", "cases": [{"template", "context"}]}
      -> {"results": [{"text"} or {"error"}]}          via transformers' Jinja environment
  {"mode": "load", "dir": D, "texts": [...]}
      -> ids with and without special tokens, decodes, special ids, and what mlx_lm makes of D

Every answer carries the library versions it was produced with.
"""

import json
import sys
from pathlib import Path


def chat(request):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(request["dir"])
    results = []
    for case in request["cases"]:
        kwargs = dict(
            tools=case.get("tools"),
            add_generation_prompt=case.get("add_generation_prompt", False),
            **case.get("variables", {}),
        )
        try:
            text = tok.apply_chat_template(case["messages"], tokenize=False, **kwargs)
            ids = tok.apply_chat_template(case["messages"], tokenize=True, return_dict=False, **kwargs)
            results.append({"text": text, "ids": list(ids)})
        except Exception as e:  # the Rust side must fail too
            results.append({"error": f"{type(e).__name__}: {e}"})
    return {"results": results}


def snippets(request):
    from transformers.utils.chat_template_utils import _compile_jinja_template

    results = []
    for case in request["cases"]:
        try:
            text = _compile_jinja_template(case["template"]).render(**case["context"])
            results.append({"text": text})
        except Exception as e:
            results.append({"error": f"{type(e).__name__}: {e}"})
    return {"results": results}


def load(request):
    from transformers import AutoTokenizer
    from mlx_lm.tokenizer_utils import load as mlx_load

    tok = AutoTokenizer.from_pretrained(request["dir"])
    texts = request["texts"]
    plain = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    wrapper = mlx_load(Path(request["dir"]))
    return {
        "class": type(tok).__name__,
        "plain": plain,
        "with_special": [tok(t)["input_ids"] for t in texts],
        "decoded": [tok.decode(ids) for ids in plain],
        "decoded_skip": [tok.decode(ids, skip_special_tokens=True) for ids in plain],
        "eos_token_id": tok.eos_token_id,
        "pad_token_id": tok.pad_token_id,
        "bos_token_id": tok.bos_token_id,
        "vocab_size": len(tok),
        "mlx_lm": {
            "eos_token_ids": sorted(wrapper.eos_token_ids),
            "has_tool_calling": bool(wrapper.has_tool_calling),
            "tool_call_start": wrapper.tool_call_start,
            "plain": [wrapper.encode(t, add_special_tokens=False) for t in texts],
        },
    }


def versions():
    import jinja2
    import tokenizers
    import transformers

    out = {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__, "jinja2": jinja2.__version__}
    try:
        import mlx_lm

        out["mlx_lm"] = mlx_lm.__version__
    except Exception:
        pass
    return out


def main():
    request = json.loads(sys.stdin.read())
    answer = {"chat": chat, "snippets": snippets, "load": load}[request["mode"]](request)
    answer["versions"] = versions()
    json.dump(answer, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
