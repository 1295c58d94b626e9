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
//! | `` ``` ``/`` ```json `` … `` ``` `` | markdown | content scanned like text |
//! | `<\|im_end\|>`, `<\|eot_id\|>`, `</s>`, … | end of turn | ignored |

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
}

pub(crate) const THINK_OPEN: &str = "<think>";
pub(crate) const THINK_CLOSE: &str = "</think>";
pub(crate) const TOOL_CALL_OPEN: &str = "<tool_call>";
pub(crate) const TOOL_CALL_CLOSE: &str = "</tool_call>";
pub(crate) const FENCE: &str = "```";
/// Mistral v11 writes `[TOOL_CALLS]name[ARGS]{…}`.
pub(crate) const MISTRAL_ARGS: &str = "[ARGS]";

/// Markers that start with `<`, with what they are.
const ANGLE_MARKERS: [(&str, Marker); 12] = [
    (THINK_OPEN, Marker::ThinkOpen),
    (THINK_CLOSE, Marker::ThinkClose),
    (TOOL_CALL_OPEN, Marker::ToolCallOpen),
    (TOOL_CALL_CLOSE, Marker::ToolCallClose),
    ("<|python_tag|>", Marker::Prefix(Format::Llama)),
    ("<functioncall>", Marker::Prefix(Format::Glaive)),
    ("<|im_end|>", Marker::EndOfTurn),
    ("<|eot_id|>", Marker::EndOfTurn),
    ("<|eom_id|>", Marker::EndOfTurn),
    ("<|endoftext|>", Marker::EndOfTurn),
    ("<|end|>", Marker::EndOfTurn),
    ("</s>", Marker::EndOfTurn),
];
const MISTRAL: &str = "[TOOL_CALLS]";

/// The marker at the start of `s`, with its length in bytes.
pub(crate) fn marker_at(s: &str) -> Option<(Marker, usize)> {
    match s.as_bytes().first()? {
        b'<' => ANGLE_MARKERS
            .iter()
            .find(|(text, _)| s.starts_with(text))
            .map(|&(text, marker)| (marker, text.len())),
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
