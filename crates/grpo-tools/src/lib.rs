//! Tools for multi-turn tool-calling rollouts, as MCP servers over stdio.
//!
//! A configuration declares servers as `[{name, command}]`
//! ([`ServerSpec`]). A [`ToolSet`] starts them, reads their tools with
//! `tools/list` ([`ToolInfo`], rendered for a chat template's `tools`
//! argument or the guide's in-prompt list), and executes parsed
//! [`ToolCall`](grpo_rewards::ToolCall)s with `tools/call`, concurrently
//! and with a per-call timeout. What the model gets wrong (an unknown
//! tool, arguments that do not fit, a tool error, a timeout) comes back as
//! a [`ToolOutput`] whose text goes to the model in a `tool` message; a
//! server that stops is restarted once, and an [`Error`] says why it
//! stopped when it stops again.
//!
//! [`SynthServer`] is the server side: the synthetic catalogue's functions
//! of grpo-dataset, computed deterministically, so that multi-turn tasks
//! train offline (`mlx-grpo tools serve synth`).

mod arguments;
mod connection;
mod error;
mod server_spec;
mod stderr_tail;
mod synth_server;
mod tool_info;
mod tool_output;
mod tool_set;

pub use error::{Error, Result};
pub use server_spec::ServerSpec;
pub use synth_server::{serve_stdio, SynthServer};
pub use tool_info::ToolInfo;
pub use tool_output::{CallStatus, ToolOutput};
pub use tool_set::{ToolSet, ToolSetOptions};
