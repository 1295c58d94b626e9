//! What the parser reports: [`ParseResult`] and the types it holds.

use std::fmt;

use crate::call::ToolCall;

/// A syntax family in which calls were written or wrapped.
///
/// ```
/// use grpo_rewards::Format;
///
/// assert_eq!(Format::Hermes.to_string(), "hermes");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Python call syntax: `get_weather(city="Paris")`.
    Python,
    /// A JSON object: `{"name": "get_weather", "arguments": {…}}`.
    Json,
    /// Hermes/Qwen `<tool_call>…</tool_call>`.
    Hermes,
    /// Mistral `[TOOL_CALLS]`.
    Mistral,
    /// Llama `<|python_tag|>`.
    Llama,
    /// Glaive `<functioncall>`.
    Glaive,
    /// A markdown code fence.
    CodeFence,
    /// IBM Granite `<function_call>` / `<|tool_call|>`.
    Granite,
    /// GLM: `name` alone on a line then a JSON object of arguments
    /// (GLM-4), or `name<arg_key>k</arg_key><arg_value>v</arg_value>` in
    /// `<tool_call>` (GLM-4.5, 4.7).
    Glm,
    /// Gemma: `call:name{key:value}` in `<start_function_call>` or
    /// `<|tool_call>`.
    Gemma,
    /// Kimi K2: `<|tool_call_begin|>functions.name:0<|tool_call_argument_begin|>{…}`.
    Kimi,
    /// MiniMax M2: `<minimax:tool_call><invoke name=…>`.
    MiniMax,
    /// Qwen3-Coder: `<function=name><parameter=k>v</parameter></function>`
    /// in `<tool_call>`.
    Qwen3Coder,
}

impl Format {
    /// Every format, in declaration order.
    ///
    /// ```
    /// assert_eq!(grpo_rewards::Format::ALL.len(), 13);
    /// ```
    pub const ALL: [Format; 13] = [
        Format::Python,
        Format::Json,
        Format::Hermes,
        Format::Mistral,
        Format::Llama,
        Format::Glaive,
        Format::CodeFence,
        Format::Granite,
        Format::Glm,
        Format::Gemma,
        Format::Kimi,
        Format::MiniMax,
        Format::Qwen3Coder,
    ];

    /// A short lowercase name.
    ///
    /// ```
    /// assert_eq!(grpo_rewards::Format::CodeFence.name(), "code_fence");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Format::Python => "python",
            Format::Json => "json",
            Format::Hermes => "hermes",
            Format::Mistral => "mistral",
            Format::Llama => "llama",
            Format::Glaive => "glaive",
            Format::CodeFence => "code_fence",
            Format::Granite => "granite",
            Format::Glm => "glm",
            Format::Gemma => "gemma",
            Format::Kimi => "kimi",
            Format::MiniMax => "minimax",
            Format::Qwen3Coder => "qwen3_coder",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of [`Format`]s (a bit set; copying it is free).
///
/// ```
/// use grpo_rewards::{extract_function_calls, Format};
///
/// let parsed = extract_function_calls("<tool_call>{\"name\": \"f\"}</tool_call>");
/// assert!(parsed.formats.contains(Format::Hermes));
/// assert!(parsed.formats.contains(Format::Json));
/// assert_eq!(parsed.formats.iter().count(), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Formats(u16);

impl Formats {
    /// Whether `format` is in the set.
    ///
    /// ```
    /// let set = grpo_rewards::Formats::default();
    /// assert!(!set.contains(grpo_rewards::Format::Json));
    /// ```
    pub fn contains(self, format: Format) -> bool {
        self.0 & format.bit() != 0
    }

    /// Adds `format` to the set.
    ///
    /// ```
    /// use grpo_rewards::{Format, Formats};
    ///
    /// let mut set = Formats::default();
    /// set.insert(Format::Llama);
    /// assert!(set.contains(Format::Llama));
    /// ```
    pub fn insert(&mut self, format: Format) {
        self.0 |= format.bit();
    }

    /// Whether the set is empty.
    ///
    /// ```
    /// assert!(grpo_rewards::Formats::default().is_empty());
    /// ```
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The formats in the set, in [`Format::ALL`] order.
    ///
    /// ```
    /// use grpo_rewards::{Format, Formats};
    ///
    /// let mut set = Formats::default();
    /// set.insert(Format::Json);
    /// set.insert(Format::Python);
    /// assert_eq!(set.iter().collect::<Vec<_>>(), [Format::Python, Format::Json]);
    /// ```
    pub fn iter(self) -> impl Iterator<Item = Format> {
        Format::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

/// Whether, and how, the output held a `<think>` reasoning block.
///
/// ```
/// use grpo_rewards::{extract_function_calls, Reasoning};
///
/// let parsed = extract_function_calls("<think>the user wants…");
/// assert_eq!(parsed.reasoning, Reasoning::Unclosed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Reasoning {
    /// No reasoning block.
    #[default]
    None,
    /// Reasoning closed by `</think>`.
    Closed,
    /// `<think>` never closed: the rest of the text is reasoning.
    Unclosed,
}

/// Something that looked like a call but could not be read.
///
/// ```
/// use grpo_rewards::{extract_function_calls, ParseErrorKind};
///
/// let parsed = extract_function_calls("get_weather(city=\"Par");
/// assert_eq!(parsed.errors[0].kind, ParseErrorKind::Truncated);
/// assert_eq!(parsed.errors[0].to_string(), "at byte 0: the text ends inside a call");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {kind}")]
pub struct ParseError {
    /// Byte offset in the text where the problem starts.
    pub offset: usize,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

/// What is wrong at a [`ParseError`].
///
/// ```
/// use grpo_rewards::{extract_function_calls, Format, ParseErrorKind};
///
/// let parsed = extract_function_calls("<tool_call>I would call f</tool_call>");
/// assert_eq!(parsed.errors[0].kind, ParseErrorKind::NotACall { format: Format::Hermes });
/// assert_eq!(parsed.errors[0].kind.to_string(), "the hermes envelope does not hold a tool call");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The text is longer than [`MAX_INPUT_BYTES`](crate::MAX_INPUT_BYTES); nothing was read.
    #[error("input is {len} bytes, more than the {max} allowed")]
    InputTooLong {
        /// Length of the text.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Brackets or calls nest deeper than [`MAX_DEPTH`](crate::MAX_DEPTH).
    #[error("nesting deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: u32,
    },
    /// The text ends inside a call (generation stopped mid-call).
    #[error("the text ends inside a call")]
    Truncated,
    /// A line starts like a call (`name(`) but is not one: an unbalanced
    /// bracket, a missing quote, a stray token (`f(x=[1, 2)`).
    #[error("a line starts like a call but does not parse")]
    Malformed,
    /// An envelope was opened but not closed.
    #[error("`{open}` is never closed by `{close}`")]
    Unclosed {
        /// The opening marker.
        open: &'static str,
        /// The closing marker that is missing.
        close: &'static str,
    },
    /// An envelope holds something other than calls.
    #[error("the {format} envelope does not hold a tool call")]
    NotACall {
        /// The envelope's format.
        format: Format,
    },
}

/// What [`extract_function_calls`](crate::extract_function_calls) found.
///
/// ```
/// use grpo_rewards::extract_function_calls;
///
/// let parsed = extract_function_calls("Let me check.\nget_weather(city=\"Paris\")");
/// assert_eq!(parsed.calls.len(), 1);
/// assert!(!parsed.clean, "the prose line makes the output unclean");
/// assert!(!parsed.truncated);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParseResult {
    /// The calls, in the order they appear.
    pub calls: Vec<ToolCall>,
    /// The formats of the calls found, and every envelope met (even one
    /// that held no valid call).
    pub formats: Formats,
    /// Whether the text holds nothing but calls, their envelopes,
    /// reasoning, whitespace and end-of-turn tokens, with no errors.
    pub clean: bool,
    /// Whether the text ends inside a call or an unclosed `<tool_call>`.
    pub truncated: bool,
    /// The reasoning block, if any.
    pub reasoning: Reasoning,
    /// Things that looked like calls but could not be read.
    pub errors: Vec<ParseError>,
}
