//! The errors of grpo-tools: what went wrong with a server itself, as
//! opposed to a call the model got wrong (that is a [`ToolOutput`] with an
//! error [`CallStatus`], whose text goes back to the model).
//!
//! [`ToolOutput`]: crate::ToolOutput
//! [`CallStatus`]: crate::CallStatus

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A server could not be started, listed, or kept running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A `tools:` entry is unusable as written.
    #[error("tool server `{server}`: {problem}")]
    BadSpec {
        /// The entry's `name`.
        server: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The command could not be started at all (not found, not executable).
    #[error("tool server `{server}`: cannot run `{command}`: {source}; check the `command` of this server")]
    Spawn {
        /// The entry's `name`.
        server: String,
        /// The command line, as configured.
        command: String,
        /// Why the operating system refused.
        source: std::io::Error,
    },
    /// The process started but did not complete the MCP handshake or the
    /// `tools/list` request.
    #[error("tool server `{server}` (`{command}`) did not start: {reason}{stderr}")]
    Handshake {
        /// The entry's `name`.
        server: String,
        /// The command line, as configured.
        command: String,
        /// What failed.
        reason: String,
        /// The last lines the server wrote on stderr, prefixed for display,
        /// or empty.
        stderr: String,
    },
    /// Two servers offer a tool of the same name, so calls cannot be routed.
    #[error("tool `{tool}` is offered by both `{first}` and `{second}`; rename one of them, or drop one server from `tools:`")]
    DuplicateTool {
        /// The tool's name.
        tool: String,
        /// The server listed first.
        first: String,
        /// The server listed later.
        second: String,
    },
    /// The server exited (or closed its pipes) again after its one restart.
    #[error(
        "tool server `{server}` (`{command}`) stopped again after a restart: {reason}{stderr}"
    )]
    ServerDied {
        /// The entry's `name`.
        server: String,
        /// The command line, as configured.
        command: String,
        /// The last failure seen.
        reason: String,
        /// The last lines the server wrote on stderr, prefixed for display,
        /// or empty.
        stderr: String,
    },
    /// The async runtime that drives the servers could not be created.
    #[error("cannot start the runtime for tool servers: {0}")]
    Runtime(std::io::Error),
}
