//! BFCL's functions in the shape chat templates take as `tools`.

use serde_json::{json, Value};

/// BFCL's parameter types as JSON Schema types, as its function-calling
/// handlers map them before sending tools (`GORILLA_TO_OPENAPI` in
/// `bfcl_eval/constants/type_mappings.py`); other names become `string`.
fn schema_type(bfcl: &str) -> &'static str {
    match bfcl {
        "integer" | "byte" | "short" | "long" | "Bigint" => "integer",
        "number" | "float" | "double" => "number",
        "boolean" | "bool" => "boolean",
        "array" | "list" | "tuple" | "ArrayList" | "Array" | "Queue" | "Stack" => "array",
        "dict" | "object" | "HashMap" | "Hashtable" => "object",
        _ => "string",
    }
}

/// BFCL's function list as OpenAI-style tools
/// (`{"type": "function", "function": {…}}`) with JSON Schema types
/// (`dict` → `object`, `float` → `number`, `tuple` → `array`, …), the form
/// chat templates expect in their `tools` argument. The list is left as it
/// is when its entries already have that shape.
///
/// ```
/// use grpo_dataset::bfcl::template_tools;
/// use serde_json::json;
///
/// let tools = template_tools(&[json!({"name": "area", "parameters": {"type": "dict",
///     "properties": {"r": {"type": "float"}, "pts": {"type": "tuple", "items": {"type": "float"}}},
///     "required": ["r"]}})]);
/// assert_eq!(tools[0]["type"], "function");
/// let params = &tools[0]["function"]["parameters"];
/// assert_eq!(params["type"], "object");
/// assert_eq!(params["properties"]["r"]["type"], "number");
/// assert_eq!(params["properties"]["pts"]["items"]["type"], "number");
/// ```
pub fn template_tools(tools: &[Value]) -> Vec<Value> {
    tools
        .iter()
        .map(|tool| {
            if tool.get("function").is_some_and(Value::is_object) {
                return tool.clone();
            }
            let mut function = tool.clone();
            if let Some(params) = function.get_mut("parameters") {
                convert_schema(params);
            }
            json!({"type": "function", "function": function})
        })
        .collect()
}

/// Maps `type` in a schema and in the schemas nested in it.
fn convert_schema(schema: &mut Value) {
    let Value::Object(map) = schema else {
        return;
    };
    if let Some(Value::String(t)) = map.get("type") {
        let mapped = schema_type(t);
        map.insert("type".into(), Value::from(mapped));
    }
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        for prop in props.values_mut() {
            if let Value::Object(p) = prop {
                p.entry("type").or_insert_with(|| Value::from("string"));
            }
            convert_schema(prop);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = map.get_mut(key) {
            convert_schema(inner);
        }
    }
}
