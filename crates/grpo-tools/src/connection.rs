//! [`Connection`]: one MCP server over stdio, restarted once if it stops.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation,
};
use rmcp::service::{Peer, RunningService, ServiceError};
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::server_spec::ServerSpec;
use crate::stderr_tail::StderrTail;
use crate::tool_info::ToolInfo;
use crate::tool_output::{CallStatus, ToolOutput};

/// A running server process and its MCP session.
struct Live {
    service: RunningService<RoleClient, ClientConfig>,
    stderr: StderrTail,
}

/// What a [`Connection`] holds behind its lock.
struct State {
    live: Option<Live>,
    /// Bumped on every restart, so that calls that failed together restart
    /// the server once, not once each.
    generation: u64,
    restarts_left: u32,
    /// Why and with what last words the server stopped for good, once it
    /// stopped with no restart left.
    dead: Option<(String, String)>,
}

/// One server: started from its [`ServerSpec`], listed, called; restarted
/// `restarts` times at most when its process stops, after which every
/// call fails with [`Error::ServerDied`].
pub(crate) struct Connection {
    spec: ServerSpec,
    startup_timeout: Duration,
    state: Mutex<State>,
}

impl Connection {
    /// Starts the server and lists its tools.
    pub(crate) async fn start(
        spec: ServerSpec,
        startup_timeout: Duration,
        restarts: u32,
    ) -> Result<(Self, Vec<ToolInfo>)> {
        spec.validate()?;
        let (live, tools) = launch(&spec, startup_timeout).await?;
        let connection = Connection {
            spec,
            startup_timeout,
            state: Mutex::new(State {
                live: Some(live),
                generation: 0,
                restarts_left: restarts,
                dead: None,
            }),
        };
        Ok((connection, tools))
    }

    /// Calls tool `name` with `arguments`, waiting at most `timeout`.
    ///
    /// Tool errors, refusals and timeouts are [`ToolOutput`]s for the model;
    /// `Err` only when the server is gone for good.
    pub(crate) async fn call(
        &self,
        name: &str,
        arguments: Map<String, Value>,
        timeout: Duration,
    ) -> Result<ToolOutput> {
        let (peer, generation) = self.peer().await?;
        let request = CallToolRequestParams::new(name.to_owned()).with_arguments(arguments);
        match tokio::time::timeout(timeout, peer.call_tool(request)).await {
            Err(_) => Ok(ToolOutput::error(
                CallStatus::Timeout,
                format!("error: `{name}` did not answer within {}", seconds(timeout)),
            )),
            Ok(Ok(result)) => Ok(output_of(result)),
            Ok(Err(ServiceError::McpError(e))) => Ok(ToolOutput::error(
                CallStatus::ToolError,
                format!("error: {}", e.message),
            )),
            Ok(Err(
                e @ (ServiceError::TransportClosed
                | ServiceError::TransportSend(_)
                | ServiceError::Cancelled { .. }),
            )) => {
                self.recover(generation, e.to_string()).await?;
                Ok(ToolOutput::error(
                    CallStatus::ToolError,
                    format!("error: the server of `{name}` stopped while running this call"),
                ))
            }
            // A reply this client does not take (a task, a request for
            // input): the call failed, the session is fine.
            Ok(Err(e)) => Ok(ToolOutput::error(
                CallStatus::ToolError,
                format!("error: {e}"),
            )),
        }
    }

    /// The session to send on, restarting a server found stopped.
    async fn peer(&self) -> Result<(Peer<RoleClient>, u64)> {
        let generation = {
            let state = self.state.lock().await;
            if let Some((reason, stderr)) = &state.dead {
                return Err(self.died(reason.clone(), stderr.clone()));
            }
            match &state.live {
                Some(live) if !live.service.is_closed() => {
                    return Ok((live.service.peer().clone(), state.generation));
                }
                _ => state.generation,
            }
        };
        self.recover(generation, "its process exited".into())
            .await?;
        let state = self.state.lock().await;
        match &state.live {
            Some(live) => Ok((live.service.peer().clone(), state.generation)),
            None => {
                let (reason, stderr) = state.dead.clone().unwrap_or_default();
                Err(self.died(reason, stderr))
            }
        }
    }

    /// Restarts the server after a failure seen at `generation`, unless
    /// another call already did; `Err` when no restart is left or the
    /// restart fails.
    async fn recover(&self, generation: u64, reason: String) -> Result<()> {
        let mut state = self.state.lock().await;
        if let Some((reason, stderr)) = &state.dead {
            return Err(self.died(reason.clone(), stderr.clone()));
        }
        if state.generation != generation {
            return Ok(());
        }
        let stderr = match state.live.take() {
            Some(mut live) => {
                let _ = live
                    .service
                    .close_with_timeout(Duration::from_secs(1))
                    .await;
                live.stderr.render().await
            }
            None => String::new(),
        };
        if state.restarts_left == 0 {
            state.dead = Some((reason.clone(), stderr.clone()));
            return Err(self.died(reason, stderr));
        }
        state.restarts_left -= 1;
        state.generation += 1;
        match launch(&self.spec, self.startup_timeout).await {
            Ok((live, _tools)) => {
                state.live = Some(live);
                Ok(())
            }
            Err(e) => {
                let reason = format!("{reason}; the restart failed: {e}");
                state.dead = Some((reason.clone(), stderr.clone()));
                Err(self.died(reason, stderr))
            }
        }
    }

    fn died(&self, reason: String, stderr: String) -> Error {
        Error::ServerDied {
            server: self.spec.name.clone(),
            command: self.spec.command_line(),
            reason,
            stderr,
        }
    }

    /// Ends the session and the process.
    pub(crate) async fn shutdown(&self) {
        if let Some(mut live) = self.state.lock().await.live.take() {
            let _ = live
                .service
                .close_with_timeout(Duration::from_secs(2))
                .await;
        }
    }
}

/// Spawns the process, completes the handshake and lists the tools.
async fn launch(spec: &ServerSpec, startup_timeout: Duration) -> Result<(Live, Vec<ToolInfo>)> {
    let mut command = tokio::process::Command::new(&spec.command[0]);
    command.args(&spec.command[1..]).kill_on_drop(true);
    let (transport, stderr) = TokioChildProcess::builder(command)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| Error::Spawn {
            server: spec.name.clone(),
            command: spec.command_line(),
            source,
        })?;
    let stderr = StderrTail::follow(stderr);
    let handshake_failed = |reason: String, stderr: String| Error::Handshake {
        server: spec.name.clone(),
        command: spec.command_line(),
        reason,
        stderr,
    };
    let config = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("mlx-grpo", env!("CARGO_PKG_VERSION")),
    );
    let service = match tokio::time::timeout(startup_timeout, config.serve(transport)).await {
        Ok(Ok(service)) => service,
        Ok(Err(e)) => {
            return Err(handshake_failed(
                format!("the MCP handshake failed ({e})"),
                stderr.render().await,
            ))
        }
        Err(_) => {
            return Err(handshake_failed(
                format!(
                    "no MCP handshake within {}; is it an MCP server on stdio?",
                    seconds(startup_timeout)
                ),
                stderr.render().await,
            ))
        }
    };
    let listed = match tokio::time::timeout(startup_timeout, service.list_all_tools()).await {
        Ok(Ok(tools)) => tools,
        Ok(Err(e)) => {
            return Err(handshake_failed(
                format!("`tools/list` failed ({e})"),
                stderr.render().await,
            ))
        }
        Err(_) => {
            return Err(handshake_failed(
                format!(
                    "`tools/list` got no answer within {}",
                    seconds(startup_timeout)
                ),
                stderr.render().await,
            ))
        }
    };
    let tools = listed
        .into_iter()
        .map(|tool| ToolInfo {
            name: tool.name.to_string(),
            description: tool.description.as_deref().unwrap_or_default().to_owned(),
            input_schema: Arc::unwrap_or_clone(tool.input_schema),
            server: spec.name.clone(),
        })
        .collect();
    Ok((Live { service, stderr }, tools))
}

/// The text the model reads: the text blocks of the result, or its
/// structured content when it has no text.
fn output_of(result: CallToolResult) -> ToolOutput {
    let mut text: Vec<&str> = result
        .content
        .iter()
        .filter_map(|block| block.as_text().map(|t| t.text.as_str()))
        .collect();
    let structured;
    if text.is_empty() {
        if let Some(value) = &result.structured_content {
            structured = value.to_string();
            text.push(&structured);
        }
    }
    let text = text.join("\n");
    if result.is_error == Some(true) {
        let text = if text.starts_with("error") {
            text
        } else {
            format!("error: {text}")
        };
        ToolOutput::error(CallStatus::ToolError, text)
    } else {
        ToolOutput::ok(text)
    }
}

fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}
