//! Which of a repo's files make a model directory, and whether a snapshot in
//! the cache already has them.
//!
//! A repo on the Hub holds more than the loader reads (READMEs, PyTorch
//! `.bin` weights next to safetensors ones, GGUF files, ONNX exports), often
//! many gigabytes more, so a download takes the files that
//! [`Transformer::load`](crate::models::transformer::Transformer::load) and
//! [`Tokenizer::from_dir`](crate::Tokenizer::from_dir) read, out of the
//! repo's file listing, and nothing else.

use std::collections::BTreeSet;
use std::path::{Component, Path};

use crate::error::{Error, Result};

/// The configuration and tokenizer files the loader reads, when the repo has
/// them. `config.json` is required; the rest are optional here (the loader
/// says which one it misses, and a tokenizer may need only some).
const CONFIG_FILES: &[&str] = &[
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
];

/// Named chat templates saved by recent transformers, next to
/// `chat_template.jinja`.
const EXTRA_TEMPLATES_DIR: &str = "additional_chat_templates/";

/// The index of sharded safetensors weights.
pub(crate) const INDEX: &str = "model.safetensors.index.json";

/// Unsharded safetensors weights.
const SINGLE: &str = "model.safetensors";

/// The files to download, in order, before the shards (which only the
/// index names).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Repo paths, configuration first, then the index or the weights.
    pub files: Vec<String>,
    /// Whether the weights are sharded: the shards come from the index.
    pub sharded: bool,
}

/// The files of `listing` (the repo's paths) that a model directory needs.
pub(crate) fn plan(model: &str, listing: &BTreeSet<String>) -> Result<Plan> {
    let incomplete = |what: &'static str| Error::HubIncomplete {
        model: model.to_string(),
        what,
    };
    if !listing.contains("config.json") {
        return Err(incomplete("config.json"));
    }
    let mut files: Vec<String> = CONFIG_FILES
        .iter()
        .filter(|f| listing.contains(**f))
        .map(|f| f.to_string())
        .collect();
    files.extend(
        listing
            .iter()
            .filter(|f| f.starts_with(EXTRA_TEMPLATES_DIR) && f.ends_with(".jinja"))
            .cloned(),
    );
    let sharded = listing.contains(INDEX);
    if sharded {
        files.push(INDEX.to_string());
    } else if listing.contains(SINGLE) {
        files.push(SINGLE.to_string());
    } else {
        // Shards without an index, which the loader also reads.
        let loose: Vec<String> = listing
            .iter()
            .filter(|f| !f.contains('/') && f.starts_with("model") && f.ends_with(".safetensors"))
            .cloned()
            .collect();
        if loose.is_empty() {
            return Err(incomplete(
                "safetensors weights (model.safetensors or model.safetensors.index.json)",
            ));
        }
        files.extend(loose);
    }
    Ok(Plan { files, sharded })
}

/// The shard files an index names, each once, in a stable order. Every one
/// must be in the repo's listing: the index is the repo's own file, and a
/// name outside the listing would be a broken repo (or a path that is not a
/// repo file at all).
pub(crate) fn shards(model: &str, index: &Path, listing: &BTreeSet<String>) -> Result<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Index {
        weight_map: std::collections::BTreeMap<String, String>,
    }
    let text = std::fs::read_to_string(index).map_err(|e| Error::io(index, e))?;
    let parsed: Index = serde_json::from_str(&text).map_err(|source| Error::Json {
        path: index.to_path_buf(),
        source,
    })?;
    let shards: BTreeSet<String> = parsed.weight_map.into_values().collect();
    if let Some(absent) = shards.iter().find(|s| !listing.contains(*s)) {
        return Err(Error::HubRequest {
            model: model.to_string(),
            reason: format!("{INDEX} names the shard {absent}, which the repo does not have"),
        });
    }
    Ok(shards.into_iter().collect())
}

/// Whether a repo path stays inside the snapshot directory (no `..`, not
/// absolute): the paths come from the server, and each becomes a file in the
/// cache.
pub(crate) fn is_safe(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// Whether a snapshot has everything the loader needs, so that it can be used
/// without asking the Hub: the configuration, the tokenizer and every weight
/// file. (Files enter a snapshot only once fully downloaded, by hf-hub as by
/// Python, so a present file is a complete one.)
pub(crate) fn is_complete(dir: &Path) -> bool {
    ["config.json", "tokenizer.json", "tokenizer_config.json"]
        .iter()
        .all(|f| dir.join(f).is_file())
        && crate::weights::weight_files(dir).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn takes_what_the_loader_reads_and_nothing_else() {
        let repo = listing(&[
            ".gitattributes",
            "README.md",
            "config.json",
            "model.safetensors",
            "pytorch_model.bin",
            "tokenizer.json",
            "tokenizer_config.json",
            "additional_chat_templates/tool_use.jinja",
            "onnx/model.onnx",
        ]);
        let plan = plan("org/m", &repo).unwrap();
        assert_eq!(
            plan.files,
            [
                "config.json",
                "tokenizer.json",
                "tokenizer_config.json",
                "additional_chat_templates/tool_use.jinja",
                "model.safetensors",
            ]
        );
        assert!(!plan.sharded);
    }

    #[test]
    fn an_index_means_shards() {
        let repo = listing(&[
            "config.json",
            "model.safetensors.index.json",
            "model-00001-of-00002.safetensors",
            "model-00002-of-00002.safetensors",
        ]);
        let plan = plan("org/m", &repo).unwrap();
        assert_eq!(plan.files, ["config.json", INDEX]);
        assert!(plan.sharded);

        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join(INDEX);
        let map = r#"{"weight_map": {"a": "model-00002-of-00002.safetensors",
            "b": "model-00001-of-00002.safetensors", "c": "model-00001-of-00002.safetensors"}}"#;
        std::fs::write(&index, map).unwrap();
        assert_eq!(
            shards("org/m", &index, &repo).unwrap(),
            [
                "model-00001-of-00002.safetensors",
                "model-00002-of-00002.safetensors"
            ]
        );
        std::fs::write(&index, r#"{"weight_map": {"a": "../../elsewhere"}}"#).unwrap();
        let err = shards("org/m", &index, &repo).unwrap_err().to_string();
        assert!(err.contains("does not have"), "{err}");
    }

    #[test]
    fn a_repo_without_a_config_or_weights_is_not_a_model() {
        let err = plan("org/m", &listing(&["model.safetensors"])).unwrap_err();
        assert!(err.to_string().contains("has no config.json"), "{err}");
        let err = plan("org/m", &listing(&["config.json", "model.gguf"])).unwrap_err();
        assert!(err.to_string().contains("safetensors"), "{err}");
    }

    #[test]
    fn paths_stay_in_the_snapshot() {
        assert!(is_safe("config.json"));
        assert!(is_safe("additional_chat_templates/a.jinja"));
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "./x"] {
            assert!(!is_safe(bad), "{bad}");
        }
    }
}
