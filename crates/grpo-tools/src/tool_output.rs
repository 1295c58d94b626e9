//! [`ToolOutput`] and [`CallStatus`]: what one call gave back.

/// How a call ended. Every status but [`CallStatus::Ok`] is an error that
/// goes back to the model as the tool's text, so that it can correct itself;
/// the statuses are kept apart for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallStatus {
    /// The tool ran and returned a result.
    Ok,
    /// The tool ran and reported an error (`isError`), or the server refused
    /// the request.
    ToolError,
    /// No server offers a tool of that name.
    UnknownTool,
    /// The arguments do not fit the tool's schema (missing, unknown, or
    /// positional beyond the declared parameters).
    InvalidArguments,
    /// The tool did not answer within the per-call timeout.
    Timeout,
}

impl CallStatus {
    /// A short lowercase name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Ok => "ok",
            CallStatus::ToolError => "tool_error",
            CallStatus::UnknownTool => "unknown_tool",
            CallStatus::InvalidArguments => "invalid_arguments",
            CallStatus::Timeout => "timeout",
        }
    }
}

/// The result of one call: the text that goes back to the model in a
/// `tool` message, and how the call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutput {
    /// The tool's text content (its text blocks joined by newlines), or the
    /// error text.
    pub text: String,
    /// How the call ended.
    pub status: CallStatus,
}

impl ToolOutput {
    /// A successful result.
    pub fn ok(text: impl Into<String>) -> Self {
        ToolOutput {
            text: text.into(),
            status: CallStatus::Ok,
        }
    }

    /// An error of the given kind; the text is what the model reads.
    pub fn error(status: CallStatus, text: impl Into<String>) -> Self {
        ToolOutput {
            text: text.into(),
            status,
        }
    }

    /// Whether the call failed in any way.
    pub fn is_error(&self) -> bool {
        self.status != CallStatus::Ok
    }
}
