//! `mlx-grpo tools …`: serve the synthetic catalogue as an MCP server, and
//! try any MCP server by hand (list its tools, make one call).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use grpo_rewards::extract_function_calls;
use grpo_tools::{serve_stdio, ServerSpec, SynthServer, ToolSet, ToolSetOptions};

/// Arguments of `mlx-grpo tools`.
#[derive(Debug, Args)]
pub struct ToolsArgs {
    #[command(subcommand)]
    command: ToolsCommand,
}

#[derive(Debug, Subcommand)]
enum ToolsCommand {
    /// Run a built-in MCP server on stdin/stdout (for a `tools:` entry such
    /// as `command: [mlx-grpo, tools, serve, synth]`).
    Serve(ServeArgs),
    /// Start an MCP server and print the tools it offers.
    List(ListArgs),
    /// Start an MCP server, make one call and print its result; exits
    /// with status 1 when the call fails.
    Call(CallArgs),
}

/// The built-in servers.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum BuiltIn {
    /// The functions of `data synth`'s catalogue, computed deterministically.
    Synth,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Which server.
    #[arg(value_enum)]
    server: BuiltIn,
}

#[derive(Debug, Args)]
struct ServerArgs {
    /// Seconds a call may take.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// The server's command line, after `--` (e.g. `-- python tools.py`).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Print the tools as the JSON list a chat template's `tools` takes.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Debug, Args)]
struct CallArgs {
    /// The call, in any format the rewards parse: `add(a=2, b=3)`, or
    /// `{"name": "add", "arguments": {"a": 2, "b": 3}}`.
    call: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// Runs `mlx-grpo tools`.
pub fn run(args: ToolsArgs) -> Result<ExitCode> {
    match args.command {
        ToolsCommand::Serve(args) => serve(args),
        ToolsCommand::List(args) => list(args),
        ToolsCommand::Call(args) => call(args),
    }
}

fn serve(args: ServeArgs) -> Result<ExitCode> {
    match args.server {
        BuiltIn::Synth => {
            serve_stdio(SynthServer::new()).context("serving the synth tools on stdio")?
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn start(args: &ServerArgs) -> Result<ToolSet> {
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        bail!(
            "--timeout must be a positive number of seconds, not {}",
            args.timeout
        );
    }
    let options = ToolSetOptions {
        call_timeout: Duration::from_secs_f64(args.timeout),
        ..ToolSetOptions::default()
    };
    let name = args.command[0]
        .rsplit('/')
        .next()
        .unwrap_or("server")
        .to_owned();
    Ok(ToolSet::start(
        &[ServerSpec::new(name, args.command.clone())],
        options,
    )?)
}

fn list(args: ListArgs) -> Result<ExitCode> {
    let tools = start(&args.server)?;
    if args.json {
        let list: Vec<_> = tools
            .tools()
            .iter()
            .map(|t| t.to_chat_template_json())
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    for tool in tools.tools() {
        let params: Vec<String> = tool
            .properties()
            .map(|(name, schema)| {
                let ty = schema.get("type").and_then(|t| t.as_str()).unwrap_or("any");
                let optional = if tool.required().any(|r| r == name) {
                    ""
                } else {
                    "?"
                };
                format!("{name}{optional}: {ty}")
            })
            .collect();
        println!("{}({})", tool.name, params.join(", "));
        if !tool.description.is_empty() {
            println!("    {}", tool.description);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn call(args: CallArgs) -> Result<ExitCode> {
    let parsed = extract_function_calls(args.call.trim());
    let [call] = parsed.calls.as_slice() else {
        bail!(
            "expected one call such as `add(a=2, b=3)`, found {} in {:?}",
            parsed.calls.len(),
            args.call
        );
    };
    let tools = start(&args.server)?;
    let output = tools.call(call)?;
    println!("{}", output.text);
    if output.is_error() {
        eprintln!("the call failed ({})", output.status.as_str());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
