//! grpo-tools against a real third-party MCP server: `servers/calc_server.py`,
//! written with the `mcp` package from PyPI and run by the checkout's
//! `.venv` (scripts/setup installs `mcp` there).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use grpo_rewards::ToolCall;
use grpo_tools::{CallStatus, Error, ServerSpec, ToolSet, ToolSetOptions};

/// The venv's Python, or `None` (with the reason printed) when it cannot
/// import `mcp`: the one case in which these tests skip.
fn python() -> Option<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".venv/bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import mcp.server.mcpserver"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!(
            "skipped: {} cannot import `mcp`; run scripts/setup",
            python.display()
        );
        return None;
    }
    Some(python.to_string_lossy().into_owned())
}

fn calc(python: &str, extra: &[&str]) -> ServerSpec {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/servers/calc_server.py");
    let mut command = vec![python, script];
    command.extend_from_slice(extra);
    ServerSpec::new("calc", command)
}

fn start(python: &str, call_timeout: Duration) -> ToolSet {
    let options = ToolSetOptions {
        call_timeout,
        ..ToolSetOptions::default()
    };
    ToolSet::start(&[calc(python, &[])], options).expect("calc server starts")
}

#[test]
fn lists_the_tools_with_their_schemas_and_returns_a_result() {
    let Some(python) = python() else { return };
    let tools = start(&python, Duration::from_secs(10));
    let names: Vec<&str> = tools.tools().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["add", "divide", "hang", "crash"]);
    let add = tools.tool("add").unwrap();
    assert_eq!(add.description, "Adds two integers.");
    assert_eq!(add.server, "calc");
    assert_eq!(add.required().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(
        add.to_chat_template_json()["function"]["parameters"]["properties"]["a"]["type"],
        "integer"
    );

    let output = tools
        .call(&ToolCall::new("add").arg("a", 2).arg("b", 40))
        .unwrap();
    assert_eq!(output.status, CallStatus::Ok);
    assert_eq!(output.text, "42");
    // Positional arguments take the schema's order.
    let output = tools
        .call(&ToolCall::new("add").positional(1).positional(2))
        .unwrap();
    assert_eq!(output.text, "3");
}

#[test]
fn tool_errors_unknown_tools_and_bad_arguments_come_back_as_text() {
    let Some(python) = python() else { return };
    let tools = start(&python, Duration::from_secs(10));
    let failed = tools
        .call(&ToolCall::new("divide").arg("a", 1).arg("b", 0))
        .unwrap();
    assert_eq!(failed.status, CallStatus::ToolError);
    assert!(failed.text.contains("division by zero"), "{}", failed.text);

    let unknown = tools.call(&ToolCall::new("multiply").arg("a", 1)).unwrap();
    assert_eq!(unknown.status, CallStatus::UnknownTool);
    assert_eq!(
        unknown.text,
        "error: there is no tool named `multiply`; the tools are: add, divide, hang, crash"
    );
    let missing = tools.call(&ToolCall::new("add").arg("a", 1)).unwrap();
    assert_eq!(missing.status, CallStatus::InvalidArguments);
    assert!(
        missing.text.contains("missing required argument(s): b"),
        "{}",
        missing.text
    );
    // A type the server's own validation rejects is a tool error.
    let typed = tools
        .call(&ToolCall::new("add").arg("a", "two").arg("b", 1))
        .unwrap();
    assert_eq!(typed.status, CallStatus::ToolError, "{}", typed.text);
}

#[test]
fn a_hanging_tool_times_out_and_the_server_goes_on_answering() {
    let Some(python) = python() else { return };
    let tools = start(&python, Duration::from_millis(1500));
    let calls = [
        ToolCall::new("add").arg("a", 1).arg("b", 1),
        ToolCall::new("hang"),
        ToolCall::new("add").arg("a", 2).arg("b", 2),
    ];
    let outputs = tools.call_batch(&calls).unwrap();
    assert_eq!(outputs[0].text, "2");
    assert_eq!(outputs[1].status, CallStatus::Timeout);
    assert_eq!(outputs[1].text, "error: `hang` did not answer within 1.5 s");
    assert_eq!(outputs[2].text, "4");
    let after = tools
        .call(&ToolCall::new("add").arg("a", 3).arg("b", 3))
        .unwrap();
    assert_eq!(after.text, "6");
}

#[test]
fn a_crashing_server_is_restarted_once_then_reported_with_its_stderr() {
    let Some(python) = python() else { return };
    let tools = start(&python, Duration::from_secs(10));
    let first = tools.call(&ToolCall::new("crash")).unwrap();
    assert_eq!(first.status, CallStatus::ToolError);
    assert_eq!(
        first.text,
        "error: the server of `crash` stopped while running this call"
    );
    // The restarted server answers.
    let output = tools
        .call(&ToolCall::new("add").arg("a", 5).arg("b", 5))
        .unwrap();
    assert_eq!(output.text, "10");

    let err = tools.call(&ToolCall::new("crash")).unwrap_err();
    assert!(matches!(err, Error::ServerDied { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.starts_with("tool server `calc` ("), "{message}");
    assert!(
        message.contains("stopped again after a restart"),
        "{message}"
    );
    assert!(message.contains("the abacus broke"), "{message}");
    // And stays down.
    let err = tools
        .call(&ToolCall::new("add").arg("a", 1).arg("b", 1))
        .unwrap_err();
    assert!(matches!(err, Error::ServerDied { .. }), "{err:?}");
}

#[test]
fn a_server_that_dies_before_the_handshake_is_an_error_naming_it_and_its_stderr() {
    let Some(python) = python() else { return };
    let err = ToolSet::start(
        &[calc(&python, &["--die-at-start"])],
        ToolSetOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Handshake { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.starts_with("tool server `calc` ("), "{message}");
    assert!(message.contains("cannot open the abacus"), "{message}");
}

#[test]
fn a_missing_program_and_a_duplicate_tool_name_are_refused_at_start() {
    let err = ToolSet::start(
        &[ServerSpec::new("ghost", ["./no-such-mcp-server"])],
        ToolSetOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot run `./no-such-mcp-server`"),
        "{err}"
    );

    let Some(python) = python() else { return };
    let mut second = calc(&python, &[]);
    second.name = "calc2".into();
    let err = ToolSet::start(&[calc(&python, &[]), second], ToolSetOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tool `add` is offered by both `calc` and `calc2`; rename one of them, or drop one server from `tools:`"
    );
}
