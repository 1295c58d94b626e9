//! The weight formats `mlx-grpo convert` writes.

/// `--dtype` of `mlx-grpo convert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ConvertDtype {
    /// Keep quantized blocks quantized.
    Keep,
    /// float32.
    F32,
    /// float16.
    F16,
    /// bfloat16.
    Bf16,
}
