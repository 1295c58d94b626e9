//! [`ToolSet`]: the servers of a configuration, with calls routed by tool
//! name and run concurrently.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use grpo_rewards::ToolCall;
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

use crate::arguments::call_arguments;
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::server_spec::ServerSpec;
use crate::tool_info::ToolInfo;
use crate::tool_output::{CallStatus, ToolOutput};

/// Limits of a [`ToolSet`].
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSetOptions {
    /// How long one call may take before it counts as a timeout.
    pub call_timeout: Duration,
    /// How long a server may take to start and list its tools.
    pub startup_timeout: Duration,
    /// How many times each server is restarted after its process stops.
    pub restarts: u32,
}

impl Default for ToolSetOptions {
    fn default() -> Self {
        ToolSetOptions {
            call_timeout: Duration::from_secs(10),
            startup_timeout: Duration::from_secs(30),
            restarts: 1,
        }
    }
}

/// Several MCP servers behind one blocking API.
///
/// The servers run as child processes for as long as the set lives and
/// are shut down when it is dropped. Tool names must be unique across the
/// servers. Calls are made with the parsed [`ToolCall`]s of grpo-rewards;
/// whatever the model got wrong comes back as a [`ToolOutput`] whose text
/// it can read, and only a server that is gone for good is an `Err`.
pub struct ToolSet {
    runtime: Runtime,
    servers: Vec<Arc<Connection>>,
    tools: Vec<ToolInfo>,
    /// Tool name to its index in `tools` and the index of its server.
    routes: HashMap<String, (usize, usize)>,
    options: ToolSetOptions,
}

impl std::fmt::Debug for ToolSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolSet")
            .field(
                "tools",
                &self.tools.iter().map(|t| &t.name).collect::<Vec<_>>(),
            )
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl ToolSet {
    /// Starts every server (concurrently) and lists their tools.
    pub fn start(specs: &[ServerSpec], options: ToolSetOptions) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("grpo-tools")
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let started = runtime.block_on(async {
            let mut starting = JoinSet::new();
            for (i, spec) in specs.iter().enumerate() {
                let spec = spec.clone();
                let (timeout, restarts) = (options.startup_timeout, options.restarts);
                starting
                    .spawn(async move { (i, Connection::start(spec, timeout, restarts).await) });
            }
            let mut started: Vec<_> = starting.join_all().await;
            started.sort_by_key(|(i, _)| *i);
            started
        });
        let mut servers = Vec::with_capacity(specs.len());
        let mut tools = Vec::new();
        let mut routes = HashMap::new();
        let mut first_error = None;
        for (server, (_, result)) in started.into_iter().enumerate() {
            match result {
                Ok((connection, listed)) => {
                    servers.push(Arc::new(connection));
                    for tool in listed {
                        if let Some(&(other, _)) = routes.get(&tool.name) {
                            let other: &ToolInfo = &tools[other];
                            first_error.get_or_insert(Error::DuplicateTool {
                                tool: tool.name.clone(),
                                first: other.server.clone(),
                                second: tool.server.clone(),
                            });
                            continue;
                        }
                        routes.insert(tool.name.clone(), (tools.len(), server));
                        tools.push(tool);
                    }
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let set = ToolSet {
            runtime,
            servers,
            tools,
            routes,
            options,
        };
        match first_error {
            // Dropping `set` shuts down the servers that did start.
            Some(e) => Err(e),
            None => Ok(set),
        }
    }

    /// Every tool of every server, in the order of the servers and of
    /// their listings.
    pub fn tools(&self) -> &[ToolInfo] {
        &self.tools
    }

    /// The tool named `name`, if a server offers it.
    pub fn tool(&self, name: &str) -> Option<&ToolInfo> {
        self.routes.get(name).map(|&(i, _)| &self.tools[i])
    }

    /// The options the set runs with.
    pub fn options(&self) -> &ToolSetOptions {
        &self.options
    }

    /// Executes one call.
    pub fn call(&self, call: &ToolCall) -> Result<ToolOutput> {
        let mut outputs = self.call_batch(std::slice::from_ref(call))?;
        Ok(outputs.remove(0))
    }

    /// Executes `calls` concurrently (across servers and on each server)
    /// and returns their outputs in the order of `calls`.
    ///
    /// `Err` when a server stopped with no restart left; the other calls
    /// of the batch have run by then.
    pub fn call_batch(&self, calls: &[ToolCall]) -> Result<Vec<ToolOutput>> {
        let mut outputs: Vec<Option<ToolOutput>> = vec![None; calls.len()];
        let mut running = Vec::new();
        for (i, call) in calls.iter().enumerate() {
            match self.prepare(call) {
                Ok(job) => running.push((i, job)),
                Err(output) => outputs[i] = Some(output),
            }
        }
        let timeout = self.options.call_timeout;
        let finished = self.runtime.block_on(async {
            let mut set = JoinSet::new();
            for (i, (server, name, arguments)) in running {
                set.spawn(async move { (i, server.call(&name, arguments, timeout).await) });
            }
            set.join_all().await
        });
        let mut first_error = None;
        for (i, result) in finished {
            match result {
                Ok(output) => outputs[i] = Some(output),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        Ok(outputs
            .into_iter()
            .map(|o| o.expect("every call has an output"))
            .collect())
    }

    /// Routes a call to its server with its JSON arguments, or answers it
    /// at once when the tool is unknown or the arguments do not fit.
    #[allow(clippy::type_complexity)]
    fn prepare(
        &self,
        call: &ToolCall,
    ) -> Result<
        (
            Arc<Connection>,
            String,
            serde_json::Map<String, serde_json::Value>,
        ),
        ToolOutput,
    > {
        let Some(&(tool, server)) = self.routes.get(&call.name) else {
            let known: Vec<&str> = self.tools.iter().map(|t| t.name.as_str()).collect();
            return Err(ToolOutput::error(
                CallStatus::UnknownTool,
                format!(
                    "error: there is no tool named `{}`; the tools are: {}",
                    call.name,
                    if known.is_empty() {
                        "(none)".into()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        };
        let arguments = call_arguments(call, &self.tools[tool])
            .map_err(|e| ToolOutput::error(CallStatus::InvalidArguments, format!("error: {e}")))?;
        Ok((
            Arc::clone(&self.servers[server]),
            call.name.clone(),
            arguments,
        ))
    }
}

impl Drop for ToolSet {
    fn drop(&mut self) {
        let servers = std::mem::take(&mut self.servers);
        self.runtime.block_on(async {
            let mut closing = JoinSet::new();
            for server in servers {
                closing.spawn(async move { server.shutdown().await });
            }
            closing.join_all().await;
        });
    }
}
