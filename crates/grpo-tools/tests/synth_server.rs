//! The synthetic catalogue's MCP server, over an in-memory pipe with rmcp's
//! own client: what `mlx-grpo tools serve synth` answers on stdio.

use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::ServiceExt;
use serde_json::{json, Value};

use grpo_tools::SynthServer;

#[tokio::test]
async fn lists_the_catalogue_and_answers_calls_deterministically() {
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        let running = SynthServer::new()
            .serve(server_io)
            .await
            .expect("server handshake");
        running.waiting().await.expect("server runs");
    });
    let client = ClientConfig::default()
        .serve(client_io)
        .await
        .expect("client handshake");

    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), grpo_dataset::synth::tools().len());
    let factorial = tools
        .iter()
        .find(|t| t.name == "calculate_factorial")
        .unwrap();
    assert_eq!(factorial.input_schema["required"], json!(["n"]));

    let call = |name: &str, args: Value| {
        CallToolRequestParams::new(name.to_owned())
            .with_arguments(args.as_object().unwrap().clone())
    };
    let result = client
        .call_tool(call("calculate_factorial", json!({"n": 6})))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(false));
    let text = &result.content[0].as_text().unwrap().text;
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap(),
        json!({"factorial": 720})
    );

    let weather = || call("get_weather", json!({"city": "Oslo"}));
    let first = client.call_tool(weather()).await.unwrap();
    let again = client.call_tool(weather()).await.unwrap();
    assert_eq!(
        first.content, again.content,
        "world-facing results are deterministic"
    );

    let bad = client
        .call_tool(call("calculate_factorial", json!({"n": "six"})))
        .await
        .unwrap();
    assert_eq!(bad.is_error, Some(true));
    assert_eq!(
        bad.content[0].as_text().unwrap().text,
        "`calculate_factorial`: `n` must be of type int, not \"six\""
    );

    client.cancel().await.unwrap();
    server.await.unwrap();
}
