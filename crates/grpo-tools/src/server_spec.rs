//! [`ServerSpec`]: one entry of the `tools:` list in a configuration.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// An MCP server to run over stdio, as declared in a configuration:
///
/// ```yaml
/// tools:
///   - name: calc
///     command: [python, tools.py]
/// ```
///
/// The name identifies the server in messages and metrics; the tools it
/// offers are named by the server itself (`tools/list`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// A short name for the server, used in messages.
    pub name: String,
    /// The program and its arguments; the program is looked up on `PATH`.
    pub command: Vec<String>,
}

impl ServerSpec {
    /// A server named `name` started by `command` (program first).
    pub fn new<S: Into<String>>(
        name: impl Into<String>,
        command: impl IntoIterator<Item = S>,
    ) -> Self {
        ServerSpec {
            name: name.into(),
            command: command.into_iter().map(Into::into).collect(),
        }
    }

    /// Checks that the entry can be run: a name and a program.
    pub fn validate(&self) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(Error::BadSpec {
                server: self.name.clone(),
                problem: "`name` is empty; give each server a short name".into(),
            });
        }
        if self.command.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(Error::BadSpec {
                server: self.name.clone(),
                problem: "`command` is empty; write the program and its arguments as a list, e.g. [python, tools.py]".into(),
            });
        }
        Ok(())
    }

    /// The command line as one string, for messages.
    pub fn command_line(&self) -> String {
        self.command.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_configuration_form_and_rejects_unknown_keys() {
        let spec: ServerSpec =
            serde_json::from_str(r#"{"name": "calc", "command": ["python", "tools.py"]}"#).unwrap();
        assert_eq!(spec, ServerSpec::new("calc", ["python", "tools.py"]));
        assert_eq!(spec.command_line(), "python tools.py");
        assert!(spec.validate().is_ok());
        let typo = serde_json::from_str::<ServerSpec>(r#"{"name": "c", "cmd": ["x"]}"#);
        assert!(typo
            .unwrap_err()
            .to_string()
            .contains("unknown field `cmd`"));
    }

    #[test]
    fn an_empty_name_or_command_is_refused_with_the_fix() {
        let err = ServerSpec::new("calc", Vec::<String>::new())
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("`command` is empty"), "{err}");
        let err = ServerSpec::new(" ", ["x"]).validate().unwrap_err();
        assert!(err.to_string().contains("`name` is empty"), "{err}");
    }
}
