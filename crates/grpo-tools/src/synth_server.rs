//! [`SynthServer`]: an MCP server for the synthetic catalogue of
//! grpo-dataset, so that tasks made by `data synth` can be trained
//! multi-turn with no tool of the user's.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};

use crate::error::{Error, Result};

/// The catalogue's functions as MCP tools, computed by
/// [`grpo_dataset::synth::execute`]: deterministic, the true answer where
/// there is one. A bad call is a tool error (`isError`) whose text says
/// what to fix.
#[derive(Debug, Clone)]
pub struct SynthServer {
    tools: Vec<Tool>,
}

impl Default for SynthServer {
    fn default() -> Self {
        Self::new()
    }
}

impl SynthServer {
    /// A server for the whole catalogue.
    pub fn new() -> Self {
        let tools = grpo_dataset::synth::tools()
            .into_iter()
            .map(|t| {
                let schema = t["inputSchema"].as_object().cloned().unwrap_or_default();
                Tool::new(
                    t["name"].as_str().unwrap_or_default().to_owned(),
                    t["description"].as_str().unwrap_or_default().to_owned(),
                    Arc::new(schema),
                )
            })
            .collect();
        SynthServer { tools }
    }

    /// The tools it offers.
    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }
}

impl ServerHandler for SynthServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "mlx-grpo-synth",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "The functions of mlx-grpo's synthetic catalogue, computed deterministically.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.clone()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = request.arguments.unwrap_or_default();
        let result = match grpo_dataset::synth::execute(&request.name, &arguments) {
            Ok(value) => CallToolResult::success(vec![ContentBlock::text(value.to_string())]),
            Err(text) => CallToolResult::error(vec![ContentBlock::text(text)]),
        };
        Ok(result.into())
    }
}

/// Serves `handler` over this process's stdin and stdout until the client
/// closes stdin. Blocking: it runs its own runtime.
pub fn serve_stdio<H: ServerHandler>(handler: H) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    runtime.block_on(async move {
        let service = handler.serve(rmcp::transport::stdio()).await.map_err(|e| {
            Error::Runtime(std::io::Error::other(format!(
                "MCP handshake on stdio failed: {e}"
            )))
        })?;
        service
            .waiting()
            .await
            .map_err(|e| Error::Runtime(std::io::Error::other(e)))?;
        Ok(())
    })
}
