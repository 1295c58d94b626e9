//! `mlx-grpo data convert --from bfcl DIR OUT`: every single-turn category
//! of a BFCL data directory, one `OUT/<category>.jsonl` each.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use grpo_dataset::bfcl::convert_dir;
use grpo_dataset::prompt::JsonStyle;
use grpo_dataset::write_jsonl;

/// Converts the categories of `input` into `output/<category>.jsonl`,
/// printing what was converted, rejected and left out.
pub fn convert(input: &Path, output: &Path, style: JsonStyle, show: usize) -> Result<ExitCode> {
    if output.is_file() {
        bail!(
            "{} is a file; converting the BFCL directory {} writes one <category>.jsonl per category into a directory",
            output.display(),
            input.display()
        );
    }
    let (found, converted) =
        convert_dir(input, style).with_context(|| format!("converting {}", input.display()))?;
    std::fs::create_dir_all(output).with_context(|| format!("creating {}", output.display()))?;
    let mut out = String::new();
    let mut written = 0;
    for (file, c) in found.files.iter().zip(&converted) {
        let path = output.join(format!("{}.jsonl", file.category));
        if !c.examples.is_empty() {
            write_jsonl(&path, &c.examples)?;
            written += c.examples.len();
        }
        let _ = writeln!(
            out,
            "{}: converted {} of {} records{}; {} rejected",
            file.category,
            c.examples.len(),
            c.read,
            if c.examples.is_empty() {
                " (nothing written)".to_owned()
            } else {
                format!(" to {}", path.display())
            },
            c.rejected.len()
        );
        for r in c.rejected.iter().take(show) {
            let _ = writeln!(out, "  {r}");
        }
        if c.rejected.len() > show {
            let _ = writeln!(out, "  … and {} more", c.rejected.len() - show);
        }
    }
    for (path, why) in &found.skipped {
        let _ = writeln!(out, "left out {}: {why}", path.display());
    }
    print!("{out}");
    if written == 0 {
        bail!("no record of {} could be converted", input.display());
    }
    Ok(ExitCode::SUCCESS)
}
