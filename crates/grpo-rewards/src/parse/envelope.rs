//! The markers around calls: reasoning blocks, tool-call envelopes of chat
//! templates, code fences and end-of-turn tokens.
//!
//! | Marker | Family | Handling |
//! |---|---|---|
//! | `<think>` … `</think>` | reasoning (Qwen3, DeepSeek-R1) | skipped, never calls |
//! | `<tool_call>` … `</tool_call>` | Hermes, Qwen | content must be calls |
//! | `[TOOL_CALLS]` | Mistral | calls follow (JSON list, or `name[ARGS]{…}`) |
//! | `<\|python_tag\|>` | Llama 3.1+ | calls follow, `;`-separated |
//! | `<functioncall>` | Glaive | one JSON call follows |
//! | `<function_call>`, `<\|tool_call\|>` | IBM Granite | a JSON call or a JSON list of calls follows |
//! | `<start_function_call>` … `<end_function_call>`, `<\|tool_call>` … `<tool_call\|>` | Gemma (FunctionGemma, Gemma 4) | `call:name{key:value,…}` |
//! | `<\|tool_call_begin\|>` … `<\|tool_call_end\|>` | Kimi K2 | `functions.name:0<\|tool_call_argument_begin\|>{…}` |
//! | `<minimax:tool_call>` … `</minimax:tool_call>` | MiniMax M2 | `<invoke name="f"><parameter name="k">v</parameter></invoke>` |
//! | `<\|im_start\|>`, `<start_of_turn>` | turn start (ChatML, Gemma) | ignored, with the role word after it |
//! | `` ``` ``/`` ```json `` … `` ``` `` | markdown | content scanned like text |
//! | `<\|im_end\|>`, `<\|eot_id\|>`, `</s>`, any other `<\|word\|>`, … | end of turn, special tokens | ignored |

use crate::parse::Format;

/// A marker recognised at some position of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    ThinkOpen,
    ThinkClose,
    ToolCallOpen,
    ToolCallClose,
    /// A marker after which calls follow without a closing marker.
    Prefix(Format),
    Fence,
    EndOfTurn,
    /// The start of a turn: `<|im_start|>` and its role word.
    TurnStart,
    /// An envelope with a grammar of its own (Gemma, Kimi, MiniMax).
    Tagged(Format),
    /// The close of such an envelope, met outside one.
    StrayClose,
}

pub(crate) const THINK_OPEN: &str = "<think>";
pub(crate) const THINK_CLOSE: &str = "</think>";
pub(crate) const TOOL_CALL_OPEN: &str = "<tool_call>";
pub(crate) const TOOL_CALL_CLOSE: &str = "</tool_call>";
pub(crate) const FENCE: &str = "```";
/// Mistral v11 writes `[TOOL_CALLS]name[ARGS]{…}`.
pub(crate) const MISTRAL_ARGS: &str = "[ARGS]";

/// Markers that start with `<`, with what they are. Where one marker is a
/// prefix of another, the longer comes first.
const ANGLE_MARKERS: [(&str, Marker); 28] = [
    (THINK_OPEN, Marker::ThinkOpen),
    (THINK_CLOSE, Marker::ThinkClose),
    (TOOL_CALL_OPEN, Marker::ToolCallOpen),
    (TOOL_CALL_CLOSE, Marker::ToolCallClose),
    ("<|python_tag|>", Marker::Prefix(Format::Llama)),
    ("<functioncall>", Marker::Prefix(Format::Glaive)),
    ("<function_call>", Marker::Prefix(Format::Granite)),
    ("<|tool_call|>", Marker::Prefix(Format::Granite)),
    (GEMMA_OPEN, Marker::Tagged(Format::Gemma)),
    (GEMMA4_OPEN, Marker::Tagged(Format::Gemma)),
    (GEMMA_CLOSE, Marker::StrayClose),
    (GEMMA4_CLOSE, Marker::StrayClose),
    (KIMI_OPEN, Marker::Tagged(Format::Kimi)),
    (KIMI_CLOSE, Marker::StrayClose),
    ("<|tool_calls_section_begin|>", Marker::EndOfTurn),
    ("<|tool_calls_section_end|>", Marker::EndOfTurn),
    (MINIMAX_OPEN, Marker::Tagged(Format::MiniMax)),
    (MINIMAX_CLOSE, Marker::StrayClose),
    ("<|im_start|>", Marker::TurnStart),
    ("<start_of_turn>", Marker::TurnStart),
    ("<|im_end|>", Marker::EndOfTurn),
    ("<|eot_id|>", Marker::EndOfTurn),
    ("<|eom_id|>", Marker::EndOfTurn),
    ("<|endoftext|>", Marker::EndOfTurn),
    ("<|end|>", Marker::EndOfTurn),
    ("<end_of_turn>", Marker::EndOfTurn),
    ("<eos>", Marker::EndOfTurn),
    ("</s>", Marker::EndOfTurn),
];
pub(crate) const GEMMA_OPEN: &str = "<start_function_call>";
pub(crate) const GEMMA_CLOSE: &str = "<end_function_call>";
pub(crate) const GEMMA4_OPEN: &str = "<|tool_call>";
pub(crate) const GEMMA4_CLOSE: &str = "<tool_call|>";
pub(crate) const KIMI_OPEN: &str = "<|tool_call_begin|>";
pub(crate) const KIMI_ARGS: &str = "<|tool_call_argument_begin|>";
pub(crate) const KIMI_CLOSE: &str = "<|tool_call_end|>";
pub(crate) const MINIMAX_OPEN: &str = "<minimax:tool_call>";
pub(crate) const MINIMAX_CLOSE: &str = "</minimax:tool_call>";

/// The length of a special token `<|word|>` at the start of `s` (the
/// shape of every chat template's control tokens), words of up to 40
/// letters, digits and `_.:-`.
fn special_token_len(s: &str) -> Option<usize> {
    let body = s.strip_prefix("<|")?;
    let n = body
        .bytes()
        .take(41)
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
        .count();
    (n > 0 && n <= 40 && body[n..].starts_with("|>")).then_some(n + 4)
}
const MISTRAL: &str = "[TOOL_CALLS]";

/// The marker at the start of `s`, with its length in bytes.
pub(crate) fn marker_at(s: &str) -> Option<(Marker, usize)> {
    match s.as_bytes().first()? {
        b'<' => ANGLE_MARKERS
            .iter()
            .find(|(text, _)| s.starts_with(text))
            .map(|&(text, marker)| (marker, text.len()))
            .or_else(|| special_token_len(s).map(|len| (Marker::EndOfTurn, len))),
        b'[' if s.starts_with(MISTRAL) => Some((Marker::Prefix(Format::Mistral), MISTRAL.len())),
        b'`' if s.starts_with(FENCE) => Some((Marker::Fence, FENCE.len())),
        _ => None,
    }
}

/// The offset of the first marker in `s`.
pub(crate) fn find_marker(s: &str) -> Option<usize> {
    s.bytes()
        .enumerate()
        .filter(|(_, b)| matches!(b, b'<' | b'[' | b'`'))
        .find(|&(i, _)| marker_at(&s[i..]).is_some())
        .map(|(i, _)| i)
}

/// The next occurrence of a fixed string, remembered: a scan moves forward,
/// so the answer for one position stays valid for every later position up
/// to the occurrence found. Without this, searching for `</tool_call>` (or
/// a line end) after each of many failed envelopes would read the rest of
/// the text each time: quadratic work.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NextMatch {
    needle: &'static str,
    /// The last search started here …
    from: usize,
    /// … and found this (`None`: no occurrence after `from`).
    found: Option<usize>,
}

impl NextMatch {
    pub(crate) fn new(needle: &'static str) -> Self {
        NextMatch {
            needle,
            from: usize::MAX,
            found: None,
        }
    }

    /// The string searched for.
    pub(crate) fn needle(&self) -> &'static str {
        self.needle
    }

    /// The offset of the first occurrence of the needle at or after `pos`
    /// that ends by `end`.
    pub(crate) fn find(&mut self, text: &str, pos: usize, end: usize) -> Option<usize> {
        let cached = pos >= self.from && self.found.is_none_or(|at| pos <= at);
        if !cached {
            self.from = pos;
            self.found = text[pos..].find(self.needle).map(|i| pos + i);
        }
        self.found.filter(|&at| at + self.needle.len() <= end)
    }
}

/// The end of a code fence's opening line: after "```" comes an optional
/// language tag (`json`, `python`, `tool_code`) and the line break. Returns
/// the offset in `s` (the text after the backticks) where content starts.
pub(crate) fn fence_content_start(s: &str) -> usize {
    let tag_len = s
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'.'))
        .count();
    let after_tag = &s[tag_len..];
    let spaces = after_tag
        .bytes()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r'))
        .count();
    if after_tag[spaces..].starts_with('\n') {
        tag_len + spaces + 1
    } else {
        // An inline fence: ```f(x=1)```.
        0
    }
}

/// The closing fence of a block whose content starts at `start`: the
/// first "```" that begins a line (after optional spaces), as in markdown,
/// so backticks inside a string argument do not close the block. An inline
/// block (content on the opening line) closes at its first "```".
pub(crate) fn fence_close(text: &str, start: usize, end: usize, inline: bool) -> Option<usize> {
    let content = &text[start..end];
    content
        .match_indices(FENCE)
        .map(|(i, _)| i)
        .find(|&i| {
            inline || {
                let before = content[..i].trim_end_matches([' ', '\t']);
                before.is_empty() || before.ends_with('\n')
            }
        })
        .map(|i| start + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_recognised_at_the_start_only() {
        assert_eq!(marker_at("<tool_call>{"), Some((Marker::ToolCallOpen, 11)));
        assert_eq!(
            marker_at("[TOOL_CALLS] ["),
            Some((Marker::Prefix(Format::Mistral), 12))
        );
        assert_eq!(marker_at("```json"), Some((Marker::Fence, 3)));
        assert_eq!(marker_at("<|eot_id|>"), Some((Marker::EndOfTurn, 10)));
        assert_eq!(marker_at("<|im_start|>user"), Some((Marker::TurnStart, 12)));
        assert_eq!(
            marker_at("<|tool_call|>["),
            Some((Marker::Prefix(Format::Granite), 13))
        );
        assert_eq!(
            marker_at("<|tool_call>call:f{}"),
            Some((Marker::Tagged(Format::Gemma), 12))
        );
        assert_eq!(marker_at("<|assistant|>"), Some((Marker::EndOfTurn, 13)));
        assert_eq!(marker_at("<| not a token |>"), None);
        assert_eq!(marker_at("<b>"), None);
        assert_eq!(marker_at("[1, 2]"), None);
        assert_eq!(marker_at(" <think>"), None);
    }

    #[test]
    fn find_marker_skips_lookalikes() {
        assert_eq!(find_marker("a < b [c] `d` <think>"), Some(14));
        assert_eq!(find_marker("no markers [here]"), None);
    }

    #[test]
    fn next_match_reuses_its_answer_only_while_valid() {
        let text = "a\nbb\nc";
        let mut eol = NextMatch::new("\n");
        assert_eq!(eol.find(text, 0, text.len()), Some(1));
        assert_eq!(eol.find(text, 1, text.len()), Some(1));
        assert_eq!(eol.find(text, 2, text.len()), Some(4));
        assert_eq!(eol.find(text, 3, 4), None, "ends past the bound");
        assert_eq!(eol.find(text, 5, text.len()), None);
        assert_eq!(eol.find(text, 6, text.len()), None);
    }

    #[test]
    fn fences_close_at_a_line_start() {
        let text = "f(a=\"```\")\n  ```\nrest";
        assert_eq!(fence_close(text, 0, text.len(), false), Some(13));
        assert_eq!(fence_close(text, 0, text.len(), true), Some(5));
        assert_eq!(fence_close("abc", 0, 3, false), None);
    }

    #[test]
    fn fence_language_tags() {
        assert_eq!(fence_content_start("json\n{}"), 5);
        assert_eq!(fence_content_start("\nf()"), 1);
        assert_eq!(fence_content_start("tool_code  \r\nf()"), 13);
        assert_eq!(fence_content_start("f(x=1)```"), 0);
    }
}
