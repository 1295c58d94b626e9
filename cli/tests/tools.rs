//! `mlx-grpo tools`: the built-in synth server on stdio, driven by the
//! binary's own client commands (`tools list`, `tools call`).

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_mlx-grpo");

fn mlx_grpo(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the binary runs")
}

/// `mlx-grpo tools <sub> <args> -- mlx-grpo tools serve synth`.
fn against_synth(sub: &str, args: &[&str]) -> Output {
    let mut all = vec!["tools", sub];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--", BIN, "tools", "serve", "synth"]);
    mlx_grpo(&all)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_synth_server_answers_a_call_with_the_true_result() {
    let out = against_synth("call", &["calculate_factorial(n=6)"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), r#"{"factorial":720}"#);

    // JSON calls parse too.
    let out = against_synth(
        "call",
        &[r#"{"name": "greatest_common_divisor", "arguments": {"a": 84, "b": 36}}"#],
    );
    assert_eq!(
        text(&out.stdout).trim(),
        r#"{"gcd":12}"#,
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_bad_call_prints_the_tools_error_and_exits_1() {
    let out = against_synth("call", &[r#"calculate_factorial(n="six")"#]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout).trim(),
        r#"error: `calculate_factorial`: `n` must be of type int, not "six""#
    );
    assert!(text(&out.stderr).contains("the call failed (tool_error)"));

    let out = against_synth("call", &["get_weather(town=\"Oslo\")"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("has no parameter `town`"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn tools_list_shows_each_tool_with_its_parameters() {
    let out = against_synth("list", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    assert!(
        listing.contains("calculate_factorial(n: integer)\n    Calculates the factorial"),
        "{listing}"
    );
    assert!(
        listing.contains("get_weather(city: string, unit?: string)"),
        "{listing}"
    );

    let out = against_synth("list", &["--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json[0]["type"], "function");
    assert_eq!(json[0]["function"]["name"], "calculate_factorial");
}

#[test]
fn a_server_that_cannot_run_is_named_in_the_error() {
    let out = mlx_grpo(&["tools", "list", "--", "./no-such-mcp-server"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("cannot run `./no-such-mcp-server`"), "{err}");

    let out = mlx_grpo(&[
        "tools",
        "call",
        "not a call",
        "--",
        BIN,
        "tools",
        "serve",
        "synth",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("expected one call such as `add(a=2, b=3)`, found 0"));
}
