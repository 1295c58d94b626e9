//! [`ToolInfo`]: a tool as a server lists it (`tools/list`).

use serde_json::{json, Map, Value};

/// One tool offered by a server: its name, description and the JSON Schema
/// of its arguments, plus the server that runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolInfo {
    /// The tool's name, which calls use.
    pub name: String,
    /// What the tool does, as the server describes it (may be empty).
    pub description: String,
    /// The JSON Schema of the arguments object (`{"type": "object", ...}`).
    pub input_schema: Map<String, Value>,
    /// The name of the [`ServerSpec`](crate::ServerSpec) that offers it.
    pub server: String,
}

impl ToolInfo {
    /// The tool in the OpenAI function form that chat templates take as
    /// their `tools` argument:
    /// `{"type": "function", "function": {"name", "description", "parameters"}}`.
    pub fn to_chat_template_json(&self) -> Value {
        json!({
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": Value::Object(self.input_schema.clone()),
            }
        })
    }

    /// The tool as the user's guide lists functions inside a prompt:
    /// `{"name", "description", "parameters": {param: {"description", "type"}}}`,
    /// with JSON Schema types written the Python way (`int`, `List[str]`).
    pub fn to_guide_json(&self) -> Value {
        let mut params = Map::new();
        for (name, schema) in self.properties() {
            let mut spec = Map::new();
            if let Some(d) = schema.get("description") {
                spec.insert("description".into(), d.clone());
            }
            spec.insert("type".into(), json!(python_type(schema)));
            for key in ["enum", "default"] {
                if let Some(v) = schema.get(key) {
                    spec.insert(key.into(), v.clone());
                }
            }
            params.insert(name.clone(), Value::Object(spec));
        }
        json!({
            "name": self.name,
            "description": self.description,
            "parameters": params,
        })
    }

    /// The declared properties, in the schema's order (which names
    /// positional arguments).
    pub fn properties(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.input_schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
    }

    /// The names listed under `required`.
    pub fn required(&self) -> impl Iterator<Item = &str> {
        self.input_schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }

    /// Whether the schema accepts properties it does not list: true unless
    /// it lists properties and sets `additionalProperties: false`, or lists
    /// properties without saying (servers written with typed handlers
    /// reject what they do not declare).
    pub(crate) fn accepts_unlisted(&self) -> bool {
        match self.input_schema.get("additionalProperties") {
            Some(Value::Bool(b)) => *b,
            Some(Value::Object(_)) => true,
            _ => self.properties().next().is_none(),
        }
    }
}

/// A JSON Schema type in the guide's Python spelling.
fn python_type(schema: &Value) -> String {
    match schema.get("type").and_then(Value::as_str) {
        Some("integer") => "int".into(),
        Some("number") => "float".into(),
        Some("string") => "str".into(),
        Some("boolean") => "bool".into(),
        Some("object") => "dict".into(),
        Some("array") => match schema.get("items") {
            Some(items) => format!("List[{}]", python_type(items)),
            None => "list".into(),
        },
        Some(other) => other.into(),
        None => "any".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add() -> ToolInfo {
        let schema = json!({
            "type": "object",
            "properties": {
                "a": {"type": "integer", "description": "First."},
                "tags": {"type": "array", "items": {"type": "string"}, "default": []}
            },
            "required": ["a"]
        });
        ToolInfo {
            name: "add".into(),
            description: "Adds.".into(),
            input_schema: schema.as_object().unwrap().clone(),
            server: "calc".into(),
        }
    }

    #[test]
    fn renders_the_chat_template_form_with_the_schema_as_parameters() {
        let json = add().to_chat_template_json();
        assert_eq!(json["type"], "function");
        assert_eq!(json["function"]["name"], "add");
        assert_eq!(json["function"]["parameters"]["required"], json!(["a"]));
    }

    #[test]
    fn renders_the_guide_form_with_python_type_names() {
        let json = add().to_guide_json();
        assert_eq!(
            json["parameters"],
            json!({
                "a": {"description": "First.", "type": "int"},
                "tags": {"type": "List[str]", "default": []}
            })
        );
        assert_eq!(add().required().collect::<Vec<_>>(), ["a"]);
        assert!(!add().accepts_unlisted());
    }
}
