"""Reference token ids and chat renders for the SmolLM2 GGUF, from
transformers' own GGUF conversion (``AutoTokenizer.from_pretrained(dir,
gguf_file=...)``): an implementation independent of mlx-grpo's importer.

Run once, when the strings below change, with a Python that has
transformers, torch and gguf (none of which the tests need):

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install transformers==5.24.0 torch gguf
    /tmp/ref/bin/python crates/grpo-policy/tests/data/smollm2/reference.py \
        "$(scripts/get-model smollm2 --gguf-only)"

It writes ``reference.json`` next to itself.
"""

import json
import os
import sys

from transformers import AutoTokenizer

GUIDE_PROMPT = (
    "You are a helpful assistant with access to the following functions. Use them if required.\n\n"
    '[{"name":"get_news","description":"Gets the latest headlines on a topic.","parameters":'
    '{"limit":{"description":"How many headlines to return.","type":"int","default":5},'
    '"topic":{"description":"The news topic.","type":"str","enum":["technology","sports"]}}}]'
    "\n\nWhat's the latest news in sports?"
)

STRINGS = [
    "Hello world",
    "The capital of France is Paris.",
    " leading space and  two  spaces",
    "tabs\tand\nnewlines\n\n\nthree",
    "trailing spaces   ",
    "numbers 0 7 42 2024 1234567890 3.14159 -17 1e-5 $1,299.99",
    "dates 2026-12-01 and times 09:30",
    "unicode: héllo wörld café naïve — “quotes” ‘single’ …",
    "CJK 世界 日本語 한국어, emoji 🎉🚀👍🏽, math ∑∫√∞",
    "Ελληνικά кириллица עברית العربية",
    "def add(a, b):\n    return a + b\n\nprint(add(1, 2))",
    "for (int i = 0; i < n; ++i) { sum += x[i]; }",
    '{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}',
    'get_weather(city="San Francisco", unit="fahrenheit")',
    '[get_news(topic="sports", limit=3), calculate_loan_payment(principal=250000, annual_rate=6.5, years=30)]',
    "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>",
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    "special in text: <|endoftext|> and <file_sep> mid-sentence",
    "I'm sure they'll say it's what we've done, isn't it? DON'T",
    "URL https://example.com/path?q=1&x=y#frag and email a.b@c.org",
    "   ",
    "",
    GUIDE_PROMPT,
]

CONVERSATIONS = [
    {"messages": [{"role": "user", "content": "What is the capital of France?"}], "add_generation_prompt": True},
    {"messages": [{"role": "user", "content": GUIDE_PROMPT}], "add_generation_prompt": True},
    {
        "messages": [
            {"role": "system", "content": "You call functions."},
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": 'get_weather(city="Paris")'},
            {"role": "user", "content": "And in Rome?"},
        ],
        "add_generation_prompt": True,
    },
    {
        "messages": [
            {"role": "user", "content": "2 + 2?"},
            {"role": "assistant", "content": "4"},
        ],
        "add_generation_prompt": False,
    },
]


def main() -> None:
    gguf = sys.argv[1]
    tok = AutoTokenizer.from_pretrained(os.path.dirname(gguf), gguf_file=os.path.basename(gguf))
    strings = [
        {
            "text": s,
            "ids": tok.encode(s, add_special_tokens=False),
            "ids_with_special": tok.encode(s, add_special_tokens=True),
        }
        for s in STRINGS
    ]
    chats = []
    for c in CONVERSATIONS:
        text = tok.apply_chat_template(c["messages"], tokenize=False, add_generation_prompt=c["add_generation_prompt"])
        ids = tok.apply_chat_template(
            c["messages"], tokenize=True, add_generation_prompt=c["add_generation_prompt"], return_dict=False
        )
        chats.append({**c, "text": text, "ids": list(ids)})
    out = {
        "generator": "transformers " + __import__("transformers").__version__ + " GGUF tokenizer conversion",
        "bos_token": tok.bos_token,
        "eos_token": tok.eos_token,
        "pad_token": tok.pad_token,
        "strings": strings,
        "chats": chats,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {path}: {len(strings)} strings, {len(chats)} chats")


if __name__ == "__main__":
    main()
