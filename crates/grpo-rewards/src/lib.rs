//! Parse tool calls in every common format and score them against expected
//! calls: the rewards of mlx-grpo's GRPO trainer, usable on their own.
//!
//! A language model trained to call tools writes its calls in many shapes:
//! Python call syntax (`get_weather(city="Paris")`), JSON objects, chat
//! template envelopes (`<tool_call>…</tool_call>`), code fences, with or
//! without reasoning first. This crate reads all of them into one typed form
//! with a real grammar (nom; nothing is evaluated), compares the calls with
//! the expected ones by an optimal one-to-one matching, and turns the
//! comparison into the named rewards of the user's guide. It never panics on
//! any input, and its work is linear in the input's length.
//!
//! # Overview
//!
//! - [`extract_function_calls`] → [`ParseResult`]: the [`ToolCall`]s (with
//!   typed [`Value`]s), the [`Formats`] seen, whether the text was clean or
//!   truncated, and [`ParseError`]s.
//! - [`Reference`]: the expected answer of one example, from the guide's
//!   `answer` string, optionally with per-parameter alternatives (the
//!   Berkeley Function Calling Leaderboard's possible answers) and tool
//!   schemas.
//! - [`compare_function_calls`] / [`Reference::compare`] → [`Comparison`]:
//!   `exact_match`, `function_score`, `params_score`, `overall`, and a
//!   [`CallMatch`] with a [`Verdict`] per parameter.
//! - [`RewardSet`]: the rewards named by `--reward-functions` with their
//!   `--reward-weights`; scores one completion ([`Scores`]) or a batch in
//!   parallel ([`BatchScores`]). [`Reward`] and [`KNOWN_REWARDS`] list the
//!   rewards; each is a pure function of an [`Evaluation`] (the completion,
//!   its parse, its comparison and the reference), which is where new
//!   rewards plug in.
//!
//! # Example: scoring a group of completions
//!
//! ```
//! use grpo_rewards::{Reference, RewardSet};
//!
//! let rewards = RewardSet::new(
//!     &["tool_call_exact", "tool_call_function", "tool_call_overall"],
//!     Some(&[0.3, 0.4, 0.3]),
//! )?;
//! let reference = Reference::from_answer("calculate_factorial(n=5)")?;
//! let completions = [
//!     "calculate_factorial(n=5)",
//!     "<tool_call>\n{\"name\": \"calculate_factorial\", \"arguments\": {\"n\": 5}}\n</tool_call>",
//!     "calculate_factorial(n=6)",
//!     "The factorial of 5 is 120.",
//! ];
//! let batch = rewards.score_batch(&completions, &[&reference; 4])?;
//! assert_eq!(batch.per_reward[0], [1.0, 1.0, 0.0, 0.0]); // tool_call_exact
//! assert_eq!(batch.per_reward[1], [1.0, 1.0, 1.0, 0.0]); // tool_call_function
//! assert_eq!(batch.total[0], 1.0); // 0.3 + 0.4 + 0.3
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Formats
//!
//! | Format | Example |
//! |---|---|
//! | Python call syntax | `f(a=1)`, one per line, `f(); g()`, `f(), g()`, `[f(), g()]` |
//! | JSON | `{"name": "f", "arguments": {"a": 1}}`, lists of those |
//! | JSON key variants | `function`/`tool`/`tool_name` for the name, `parameters`/`args` for the arguments, arguments as a JSON string |
//! | OpenAI | `{"type": "function", "function": {…}}`, `{"tool_calls": […]}` |
//! | Hermes, Qwen | `<tool_call>{…}</tool_call>` |
//! | Mistral | `[TOOL_CALLS] [{…}]`, `[TOOL_CALLS]f[ARGS]{…}` |
//! | Llama 3.1+ | `<\|python_tag\|>{"name": …, "parameters": …}`, `;`-separated |
//! | Glaive | `<functioncall> {"name": …, "arguments": '{…}'}` |
//! | IBM Granite | `<function_call> {"name": …, "arguments": {…}}`, a JSON list of calls after the tag, `<\|tool_call\|>[…]` |
//! | GLM-4 | `get_weather` alone on a line, then `{"city": "Paris"}` (bare, after a role token, or in `<tool_call>`) |
//! | GLM-4.5/4.7 | `<tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value></tool_call>` |
//! | Qwen3-Coder | `<tool_call><function=get_weather><parameter=city>Paris</parameter></function></tool_call>` |
//! | MiniMax M2 | `<minimax:tool_call><invoke name="get_weather"><parameter name="city">Paris</parameter></invoke></minimax:tool_call>` |
//! | Gemma | `<start_function_call>call:get_weather{city:<escape>Paris<escape>}<end_function_call>`, Gemma 4's `<\|tool_call>call:f{city:<\|"\|>Paris<\|"\|>}<tool_call\|>` |
//! | Kimi K2 | `<\|tool_call_begin\|>functions.get_weather:0<\|tool_call_argument_begin\|>{…}<\|tool_call_end\|>` |
//! | Turn tokens | `<\|im_start\|>{…}<\|im_end\|>` (a turn token as the envelope), `<\|im_start\|>assistant`, `<start_of_turn>model`; any `<\|word\|>` special token is skipped |
//! | Python-literal JSON | `{'name': 'f', 'arguments': {'a': True, 'b': None}}` in any envelope |
//! | Markdown-escaped names | `get\_weather(city="Paris")` (Mistral-family models) reads as `get_weather` |
//! | Markdown | fences with or without a language tag |
//!
//! Values written as raw text between tags (Qwen3-Coder, GLM-4.5, MiniMax,
//! Gemma) are read as literals when the whole text is one (`3`, `true`,
//! `[1, 2]`), else as strings: those formats leave typing to the schema.
//! [`parse_literal`] is the value grammar on its own: one Python or JSON
//! literal, keys in the order written.
//!
//! Python values: single, double and triple-quoted strings with escapes
//! (and `r`/`u`/`b` prefixes, implicit concatenation), ints (`_`, `0x`,
//! `0o`, `0b`), floats (`.5`, `1e-3`), negatives, `True`/`False`/`None` and
//! `true`/`false`/`null`, lists, tuples (read as lists), dicts, and calls
//! as values. Dotted names (`math.factorial`) and positional arguments are
//! kept.
//!
//! ```
//! use grpo_rewards::{extract_function_calls, ToolCall};
//!
//! let want = [ToolCall::new("get_weather").arg("city", "Paris")];
//! for text in [
//!     "get_weather(city='Paris')",
//!     "[get_weather(city=\"Paris\")]",
//!     r#"{"name": "get_weather", "arguments": {"city": "Paris"}}"#,
//!     r#"{"type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}"#,
//!     "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
//!     r#"[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}]"#,
//!     r#"<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}<|eom_id|>"#,
//!     r#"<functioncall> {"name": "get_weather", "arguments": '{"city": "Paris"}'}"#,
//!     "```python\nget_weather(city='Paris')\n```",
//!     "<function_call> [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]",
//!     "get_weather\n{\"city\": \"Paris\"}",
//!     "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>",
//!     "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value></tool_call>",
//!     "<minimax:tool_call><invoke name=\"get_weather\"><parameter name=\"city\">Paris</parameter></invoke></minimax:tool_call>",
//!     "<start_function_call>call:get_weather{city:<escape>Paris<escape>}<end_function_call>",
//!     "<|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{\"city\": \"Paris\"}<|tool_call_end|>",
//!     "<|im_start|>assistant\n{'name': 'get_weather', 'arguments': {'city': 'Paris'}}<|im_end|>",
//!     "get\\_weather(city=\"Paris\")",
//! ] {
//!     let parsed = extract_function_calls(text);
//!     assert_eq!(parsed.calls, want, "{text}");
//!     assert!(parsed.clean);
//! }
//! ```
//!
//! # What counts as a call
//!
//! - Bare calls count when they stand on their own lines (a call may span
//!   lines inside its brackets) or form the whole answer. A call mentioned
//!   inside a sentence is prose, not a call.
//! - `<think>…</think>` is reasoning and never searched; so is everything
//!   before a `</think>` that has no opening tag (templates that open the
//!   block in the prompt), and everything after an unclosed `<think>`.
//! - The output is *clean* when it holds only calls, their envelopes,
//!   reasoning, whitespace and end-of-turn tokens. It is *truncated* when it
//!   ends inside a call or inside an unclosed `<tool_call>`; complete calls
//!   before the cut still count, and so do those of an unclosed
//!   `<tool_call>` that the next turn token (`<|im_start|>`, `<|eot_id|>`,
//!   …) interrupts.
//! - A line that opens a call (`name(`, `[name(`, `{"name"`, `[{"name"`)
//!   and does not parse is a broken call: it leaves a
//!   [`ParseErrorKind::Malformed`] error, so it is not an abstention.
//!
//! ```
//! use grpo_rewards::extract_function_calls;
//!
//! let prose = extract_function_calls("You could use get_weather(city='Paris') for that.");
//! assert!(prose.calls.is_empty() && !prose.clean);
//!
//! let reasoned = extract_function_calls("<think>maybe f(x=2)?</think>\nf(x=1)");
//! assert_eq!(reasoned.calls.len(), 1);
//! assert!(reasoned.clean);
//!
//! let cut = extract_function_calls("f(x=1)\ng(y=");
//! assert_eq!(cut.calls.len(), 1);
//! assert!(cut.truncated);
//! ```
//!
//! # Matching rules
//!
//! **Order does not matter; the pairing is optimal, not greedy.** A greedy
//! pass can give an expected call a partner that another expected call
//! needed; the Hungarian method maximises the total parameter credit.
//!
//! ```
//! use grpo_rewards::{compare_function_calls, extract_function_calls};
//!
//! let expected = extract_function_calls("f(a=1)\nf(a=1, b=2)").calls;
//! let predicted = extract_function_calls("f(a=1, b=2)\nf(a=1)").calls;
//! assert_eq!(compare_function_calls(&predicted, &expected).exact_match, 1.0);
//! ```
//!
//! **Duplicates are extra calls**, and extra calls cost: `function_score`
//! is the F1 of the name multisets, so calling every tool does not pay.
//!
//! ```
//! use grpo_rewards::{compare_function_calls, extract_function_calls};
//!
//! let expected = extract_function_calls("get_weather(city='Paris')").calls;
//! let spam = extract_function_calls(
//!     "get_weather(city='Paris')\nget_weather(city='Paris')\nget_time()\nget_news()",
//! )
//! .calls;
//! let c = compare_function_calls(&spam, &expected);
//! assert_eq!(c.exact_match, 0.0);
//! assert_eq!(c.function_score, 0.4); // 2·1 / (4 + 1)
//! assert_eq!(c.params_score, 0.25); // 1 / max(4, 1)
//! ```
//!
//! **Values are typed.** Ints equal floats of the same value (lenient
//! mode, the default; [`NumberMode::Strict`] turns it off), but a string is
//! never a number and a bool is never an int. Lists compare in order, dicts
//! key by key in any order. Strings compare exactly by default;
//! [`StringMode::Normalized`] ignores case, whitespace and punctuation, and
//! [`CompareOptions::bfcl`] checks as the Berkeley Function Calling
//! Leaderboard does (below).
//!
//! ```
//! use grpo_rewards::{compare_function_calls, extract_function_calls, Verdict};
//!
//! let expected = extract_function_calls("f(n=5, tags=['a', 'b'], opts={'x': 1, 'y': 2})").calls;
//! let good = extract_function_calls("f(n=5.0, tags=['a', 'b'], opts={'y': 2, 'x': 1})").calls;
//! assert_eq!(compare_function_calls(&good, &expected).exact_match, 1.0);
//!
//! let bad = extract_function_calls("f(n='5', tags=['b', 'a'], opts={'x': 1, 'y': 2})").calls;
//! let c = compare_function_calls(&bad, &expected);
//! let verdicts: Vec<Verdict> = c.calls[0].params.iter().map(|p| p.verdict).collect();
//! assert_eq!(
//!     verdicts,
//!     [Verdict::WrongType { expected: "int", got: "str" }, Verdict::WrongValue, Verdict::Correct]
//! );
//! assert!((c.params_score - 1.0 / 3.0).abs() < 1e-6);
//! ```
//!
//! **Parameter credit needs the right function, and is divided by the
//! larger call count.** A pair's credit is correct parameters over
//! parameters counted (missing, unexpected and wrong ones all count);
//! `params_score` sums the pairs' credit and divides by
//! max(#predicted, #expected).
//!
//! ```
//! use grpo_rewards::{compare_function_calls, extract_function_calls};
//!
//! let expected = extract_function_calls("f(a=1, b=2)").calls;
//! let wrong_function = extract_function_calls("g(a=1, b=2)").calls;
//! assert_eq!(compare_function_calls(&wrong_function, &expected).params_score, 0.0);
//! let extra_param = extract_function_calls("f(a=1, b=2, c=3)").calls;
//! let c = compare_function_calls(&extra_param, &expected);
//! assert!((c.params_score - 2.0 / 3.0).abs() < 1e-6);
//! assert_eq!(c.exact_match, 0.0);
//! ```
//!
//! **Alternatives and optional parameters** come from a possible answer:
//! a list of allowed values per parameter, `""` meaning "may be omitted".
//!
//! ```
//! use grpo_rewards::{extract_function_calls, CompareOptions, Reference};
//! use serde_json::json;
//!
//! let reference = Reference::default().with_possible_answers(&json!([
//!     {"get_weather": {"city": ["Paris", "Paris, France"], "unit": ["celsius", ""]}}
//! ]))?;
//! let options = CompareOptions::default();
//! for output in ["get_weather(city='Paris, France')", "get_weather(city='Paris', unit='celsius')"] {
//!     let calls = extract_function_calls(output).calls;
//!     assert_eq!(reference.compare(&calls, &options).exact_match, 1.0, "{output}");
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Dict-valued parameters are written the same way, recursively, as BFCL
//! does: `{"budget": [{"min": [300000], "max": [400000, ""]}]}` allows a
//! dict whose `min` is 300000 and whose `max` is 400000 or absent, and a
//! list of such dicts allows a list whose items match them in order (see
//! [`Reference::with_possible_answers`]).
//!
//! **A tool schema** names positional arguments (in declaration order) and
//! makes a value equal to the parameter's default the same as leaving it
//! out, unless the schema lists the parameter under `required`: a required
//! parameter must be given. Without a schema, positional arguments compare
//! by position.
//!
//! ```
//! use grpo_rewards::{extract_function_calls, CompareOptions, Reference};
//! use serde_json::json;
//!
//! let tools = [json!({"type": "function", "function": {"name": "search", "parameters": {
//!     "type": "object",
//!     "properties": {"query": {"type": "string"}, "limit": {"type": "integer", "default": 10}}
//! }}})];
//! let reference = Reference::from_answer("search(query='rust')")?.with_tools(&tools)?;
//! let calls = extract_function_calls("search('rust', limit=10)").calls;
//! assert_eq!(reference.compare(&calls, &CompareOptions::default()).exact_match, 1.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! **`exact_match`** is 1 iff every expected call pairs with a fully
//! correct call and nothing extra was called; **`overall`** is
//! 0.4·function + 0.4·params + 0.2·exact. **When no call is expected**
//! (the request matches no tool), exact, function and params are 1 iff
//! nothing was called; as rewards ([`Evaluation`]), a broken or truncated
//! call attempt also scores 0 there, so that garbage cannot pass for an
//! abstention.
//!
//! ```
//! use grpo_rewards::{compare_function_calls, extract_function_calls};
//!
//! let nothing_expected = extract_function_calls("").calls;
//! let c = compare_function_calls(&extract_function_calls("I can't do that.").calls, &nothing_expected);
//! assert_eq!(c.overall, 1.0);
//! let c = compare_function_calls(&extract_function_calls("get_weather(city='Paris')").calls, &nothing_expected);
//! assert_eq!(c.overall, 0.0);
//! ```
//!
//! # The BFCL checking mode
//!
//! [`CompareOptions::bfcl`] (`mlx-grpo eval --match bfcl`) checks values as
//! the Berkeley Function Calling Leaderboard's AST checker does, so
//! evaluation numbers can be set beside the leaderboard's. The rewards keep
//! the stricter defaults. Every difference, and what the two share:
//!
//! | | default (rewards) | `bfcl` |
//! |---|---|---|
//! | Strings | identical | equal after lower-casing, removing spaces and `,./-_*^`, and reading `'` as `"` ([`StringMode::Bfcl`]); tabs, newlines and other punctuation still count |
//! | An int where a float is expected (`5` for `5.0`) | right | right |
//! | A float where an int is expected (`5.0` for `5`) | right | wrong type ([`NumberMode::IntAsFloat`]) |
//! | Strings inside lists and dicts | identical | standardized as above |
//! | Same in both: tuples | read as lists | read as lists |
//! | Same in both: bools and ints, strings and numbers | never equal | never equal |
//! | Same in both: lists, dicts | lists in order, dicts by key in any order | the same |
//! | Same in both: possible answers | alternatives, `""` for optional, nested dicts expanded | the same |
//! | Same in both: schema | `required` parameters must be given; defaults count as omissions | the same |
//!
//! ```
//! use grpo_rewards::{CompareOptions, Reference, RewardSet};
//!
//! let reference = Reference::from_answer("plan(city='San Francisco, CA', nights=2)")?;
//! let output = "plan(city='san francisco ca', nights=2)";
//! let default = RewardSet::new(&["tool_call_exact"], None)?;
//! let bfcl = default.clone().with_options(CompareOptions::bfcl());
//! assert_eq!(default.score(output, &reference).total, 0.0);
//! assert_eq!(bfcl.score(output, &reference).total, 1.0);
//! assert_eq!(bfcl.score("plan(city='San Francisco, CA', nights=2.0)", &reference).total, 0.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Rewards
//!
//! | Name | Score |
//! |---|---|
//! | `tool_call_exact` | [`Comparison::exact_match`] |
//! | `tool_call_function` | [`Comparison::function_score`] |
//! | `tool_call_params` | [`Comparison::params_score`] |
//! | `tool_call_overall` | [`Comparison::overall`] |
//! | `tool_call_parseable` | 1 if the output holds any parseable call |
//! | `tool_call_format` | 1 iff the output has the right shape (below) |
//! | `tool_call_concise` | 1 down to 0 as the prose around the calls grows ([`prose_chars`]) |
//! | `final_answer` | 1 if the output gives the row's `final_answer` ([`FinalAnswer`]) |
//!
//! `tool_call_parseable` keeps the guide's meaning, so it pays a model for
//! calling a tool when none applies. `tool_call_format` does not: when
//! calls are expected it is 1 iff the output is clean, not truncated and
//! holds calls; when none are expected it is 1 iff the output calls nothing
//! and holds no broken call (a plain-text reply is then the right shape).
//! The weighted total of a [`RewardSet`] is the plain sum Σ wᵢ·rᵢ, as in
//! TRL; weights default to 1.0. Rewards of your own ([`CustomReward`], a
//! closure or a type) join the built-in ones with
//! [`RewardSet::with_custom`], without editing this crate.
//!
//! # Features
//!
//! - `rayon` (default): [`RewardSet::score_batch`] scores in parallel.
//! - `preserve_order` (default): turns on serde_json's `preserve_order`, so
//!   that [`Reference::with_tools`] sees schema properties in declaration
//!   order. Without it, use [`Reference::with_tools_json`], which keeps
//!   that order by reading the JSON text itself.
//!
//! ```
//! use grpo_rewards::{Reference, RewardSet};
//!
//! let set = RewardSet::new(&["tool_call_parseable", "tool_call_format"], None)?;
//! let no_tool_applies = Reference::from_answer("")?;
//! assert_eq!(set.score("get_weather(city='Paris')", &no_tool_applies).values, [1.0, 0.0]);
//! assert_eq!(set.score("No tool can answer that.", &no_tool_applies).values, [0.0, 1.0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Limits
//!
//! Input longer than [`MAX_INPUT_BYTES`] is refused with an error, and
//! nesting deeper than [`MAX_DEPTH`] stops the parse of that call with an
//! error, so no input overflows the stack. Every alternative of the grammar
//! is chosen by its first byte, failed attempts resume scanning where they
//! stopped, and searches for closing markers are remembered, so the work is
//! linear in the input's length whatever the input.
//!
//! ```
//! use grpo_rewards::{extract_function_calls, ParseErrorKind};
//!
//! let deep = format!("f{}", "(".repeat(100_000));
//! let parsed = extract_function_calls(&deep);
//! assert_eq!(parsed.errors[0].kind, ParseErrorKind::TooDeep { max: 32 });
//! ```

#![deny(missing_docs)]

mod assign;
mod call;
mod compare;
mod error;
mod final_answer;
mod parse;
mod reference;
mod registry;
mod score;

pub use call::{ToolCall, Value};
pub use compare::{
    compare_function_calls, compare_with, CallMatch, CompareOptions, Comparison, NumberMode,
    ParamCheck, StringMode, Verdict,
};
pub use error::{AnswerProblem, Error, Result};
pub use final_answer::{AnswerMatch, FinalAnswer, DEFAULT_TOLERANCE};
pub use parse::{
    extract_function_calls, parse_literal, Format, Formats, ParseError, ParseErrorKind,
    ParseResult, Reasoning, MAX_DEPTH, MAX_INPUT_BYTES,
};
pub use reference::{ExpectedCall, ExpectedParam, ParamKey, Reference};
pub use registry::{
    register_batch_reward, registered_rewards, BatchReward, BatchScores, CustomReward, RewardSet,
    Scores,
};
pub use score::{
    prose_chars, Evaluation, Reward, FREE_PROSE_WITHOUT_CALLS, FREE_PROSE_WITH_CALLS,
    KNOWN_REWARDS, PROSE_FOR_ZERO,
};
