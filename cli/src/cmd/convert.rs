//! `mlx-grpo convert --from-gguf`: a GGUF file as a model directory.

use std::process::ExitCode;

use anyhow::{Context, Result};
use grpo_policy::gguf::{import_gguf, GgufDtype};

use crate::args::{ConvertArgs, ConvertDtype};

/// Imports the GGUF file and says what was written.
pub fn run(args: ConvertArgs) -> Result<ExitCode> {
    let dtype = match args.dtype {
        ConvertDtype::Keep => GgufDtype::Keep,
        ConvertDtype::F32 => GgufDtype::F32,
        ConvertDtype::F16 => GgufDtype::F16,
        ConvertDtype::Bf16 => GgufDtype::Bf16,
    };
    eprintln!("Importing {} …", args.from_gguf.display());
    let report = import_gguf(&args.from_gguf, &args.out, dtype, args.force)
        .with_context(|| format!("importing {}", args.from_gguf.display()))?;
    let precision = if report.bits.is_empty() {
        format!("{:?} weights", args.dtype).to_lowercase()
    } else {
        let parts: Vec<String> = report
            .bits
            .iter()
            .map(|(bits, n)| format!("{n} modules at {bits}-bit"))
            .collect();
        format!("quantized: {}", parts.join(", "))
    };
    println!(
        "Wrote {} ({}{}, {} layers, vocabulary {}, {} tensors; {precision})",
        report.dir.display(),
        report.architecture,
        report
            .name
            .as_deref()
            .map(|n| format!(" \"{n}\""))
            .unwrap_or_default(),
        report.layers,
        report.vocab_size,
        report.tensors,
    );
    Ok(ExitCode::SUCCESS)
}
