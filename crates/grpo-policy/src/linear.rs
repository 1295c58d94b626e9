//! Projections: a frozen base weight (dense or MLX-quantized), an optional
//! bias, and an optional trainable adapter (LoRA or DoRA).
//!
//! Parameter names follow mlx-lm exactly, so adapters load in Python:
//! a plain projection is `weight` (+ `scales`, `biases` when quantized) and
//! `bias`; an adapted one wraps those under `linear.` and adds `lora_a`
//! (`[in, rank]`), `lora_b` (`[rank, out]`) and, for DoRA, `m` (`[out]`), as
//! `mlx_lm/tuner/lora.py` and `dora.py` do.

use mlx_rs::{ops, random, Array, Dtype};

use crate::error::{Error, Result};
use crate::mode::Mode;
use crate::params::{join, parameters, Parameters};
use crate::weights::WeightMap;

/// MLX affine quantization of a weight: `group_size` consecutive inputs share
/// one scale and bias, values are stored in `bits` bits packed into `u32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QuantSpec {
    /// Inputs per scale/bias group (32, 64 or 128).
    pub group_size: i32,
    /// Bits per weight (2, 3, 4, 6 or 8).
    pub bits: i32,
}

/// A quantized weight matrix: packed `[rows, cols * bits / 32]` values with
/// `[rows, cols / group_size]` scales and biases.
///
/// On MLX's CPU backend the matrix is also kept unpacked (`dense`), and
/// products use that: the CPU's quantized matmul is scalar code, 30× slower
/// than a BLAS product of the unpacked matrix at 512 rows and 2.6× at 8
/// (`cargo bench -p grpo-benches --bench matmul`), so a 4-bit SmolLM2 step
/// took ten times as long as a float one. The unpacked values are exactly
/// the quantized ones (`scale · q + bias`, as the quantized matmul computes
/// them); only the order of the sums differs. The saving in memory is lost
/// on the CPU (the packed matrix is kept besides, for saving and fusing);
/// on a GPU nothing is unpacked.
#[derive(Debug, Clone)]
pub(crate) struct Packed {
    pub(crate) weight: Array,
    pub(crate) scales: Array,
    pub(crate) biases: Array,
    pub(crate) spec: QuantSpec,
    dense: Option<Array>,
}

/// Whether quantized matrices compute unpacked (see [`Packed`]): on the CPU
/// backend.
fn unpack_quantized() -> bool {
    mlx_rs::Device::try_default()
        .and_then(|d| d.get_type())
        .is_ok_and(|t| matches!(t, mlx_rs::DeviceType::Cpu))
}

impl Packed {
    /// A quantized matrix from its packed values, scales and biases.
    pub(crate) fn new(
        weight: Array,
        scales: Array,
        biases: Array,
        spec: QuantSpec,
    ) -> Result<Self> {
        let mut packed = Self {
            weight,
            scales,
            biases,
            spec,
            dense: None,
        };
        if unpack_quantized() {
            let dense = packed.unpack(None)?;
            mlx_rs::transforms::eval([&dense])?;
            packed.dense = Some(dense);
        }
        Ok(packed)
    }

    /// Takes `prefix.{weight,scales,biases}` for a `[rows, cols]` matrix.
    pub(crate) fn load(
        weights: &mut WeightMap,
        prefix: &str,
        (rows, cols): (i32, i32),
        spec: QuantSpec,
    ) -> Result<Self> {
        let groups = cols / spec.group_size;
        Self::new(
            weights.take(
                &join(prefix, "weight"),
                Some(&[rows, cols * spec.bits / 32]),
            )?,
            weights.take(&join(prefix, "scales"), Some(&[rows, groups]))?,
            weights.take(&join(prefix, "biases"), Some(&[rows, groups]))?,
            spec,
        )
    }

    /// `x M^T`.
    pub(crate) fn matmul_t(&self, x: &Array) -> Result<Array> {
        if let Some(dense) = &self.dense {
            return Ok(x.matmul(dense.t())?);
        }
        Ok(ops::quantized_matmul(
            x,
            &self.weight,
            &self.scales,
            &self.biases,
            true,
            self.spec.group_size,
            self.spec.bits,
        )?)
    }

    /// The matrix unpacked to `[rows, cols]` (only rows `ids` when given).
    pub(crate) fn dequantize(&self, ids: Option<&Array>) -> Result<Array> {
        use mlx_rs::ops::indexing::IndexOp;
        match (&self.dense, ids) {
            (Some(dense), Some(ids)) => Ok(dense.index(ids)),
            (Some(dense), None) => Ok(dense.clone()),
            (None, _) => self.unpack(ids),
        }
    }

    fn unpack(&self, ids: Option<&Array>) -> Result<Array> {
        use mlx_rs::ops::indexing::IndexOp;
        let pick = |a: &Array| ids.map_or_else(|| a.clone(), |i| a.index(i));
        Ok(ops::dequantize(
            pick(&self.weight),
            pick(&self.scales),
            &pick(&self.biases),
            self.spec.group_size,
            self.spec.bits,
        )?)
    }
}

parameters!(Packed {
    weight: "weight",
    scales: "scales",
    biases: "biases",
});

/// A weight matrix `[rows, cols]`, stored dense or quantized.
#[derive(Debug, Clone)]
pub(crate) enum Matrix {
    Dense(Array),
    Quantized(Packed),
}

impl Matrix {
    /// Takes `prefix.weight`, with `prefix.scales`/`prefix.biases` when the
    /// checkpoint quantized it (which needs `quant`).
    pub(crate) fn load(
        weights: &mut WeightMap,
        prefix: &str,
        (rows, cols): (i32, i32),
        quant: Option<QuantSpec>,
    ) -> Result<Self> {
        if weights.contains(&join(prefix, "scales")) {
            let spec = quant.ok_or_else(|| {
                Error::config(
                    "config.json",
                    format!("{prefix} is quantized but config.json has no `quantization` entry"),
                )
            })?;
            Ok(Matrix::Quantized(Packed::load(
                weights,
                prefix,
                (rows, cols),
                spec,
            )?))
        } else {
            Ok(Matrix::Dense(
                weights.take(&join(prefix, "weight"), Some(&[rows, cols]))?,
            ))
        }
    }

    /// `(rows, cols)`.
    pub(crate) fn dims(&self) -> (i32, i32) {
        match self {
            Matrix::Dense(w) => (w.shape()[0], w.shape()[1]),
            Matrix::Quantized(q) => (q.weight.shape()[0], q.weight.shape()[1] * 32 / q.spec.bits),
        }
    }

    /// `x M^T`.
    pub(crate) fn matmul_t(&self, x: &Array) -> Result<Array> {
        match self {
            Matrix::Dense(w) => Ok(x.matmul(w.t())?),
            Matrix::Quantized(q) => q.matmul_t(x),
        }
    }

    /// The matrix as dense values (only rows `ids` when given).
    pub(crate) fn dense(&self, ids: Option<&Array>) -> Result<Array> {
        use mlx_rs::ops::indexing::IndexOp;
        match self {
            Matrix::Dense(w) => Ok(ids.map_or_else(|| w.clone(), |i| w.index(i))),
            Matrix::Quantized(q) => q.dequantize(ids),
        }
    }
}

impl Parameters for Matrix {
    fn visit<'a>(&'a self, p: &str, f: &mut dyn FnMut(&str, &'a Array)) {
        match self {
            Matrix::Dense(w) => f(&join(p, "weight"), w),
            Matrix::Quantized(q) => q.visit(p, f),
        }
    }

    fn visit_mut(&mut self, p: &str, f: &mut dyn FnMut(&str, &mut Array)) {
        match self {
            Matrix::Dense(w) => f(&join(p, "weight"), w),
            Matrix::Quantized(q) => q.visit_mut(p, f),
        }
    }
}

/// Which adapter a projection carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdapterKind {
    /// Low-rank update `W + scale * (A B)^T` (Hu et al., 2021).
    Lora,
    /// LoRA with a learned per-output magnitude `m` (Liu et al., 2024).
    Dora,
}

/// Settings of the adapters added to a model.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdapterSpec {
    /// LoRA or DoRA.
    pub kind: AdapterKind,
    /// Rank `r` of `A` (`[in, r]`) and `B` (`[r, out]`).
    pub rank: i32,
    /// Multiplier of the low-rank update. mlx-lm's convention: this is the
    /// `scale` of `adapter_config.json`; from a PEFT-style alpha it is
    /// `alpha / rank`.
    pub scale: f32,
    /// Dropout on the adapter's input while training.
    pub dropout: f32,
}

#[derive(Debug, Clone)]
struct Adapter {
    kind: AdapterKind,
    lora_a: Array,
    lora_b: Array,
    /// DoRA magnitude, `[out]`.
    m: Option<Array>,
    scale: f32,
    dropout: f32,
}

/// A linear projection `y = x W^T + b`, possibly quantized and adapted.
#[derive(Debug, Clone)]
pub struct Linear {
    base: Matrix,
    bias: Option<Array>,
    adapter: Option<Adapter>,
}

impl Linear {
    /// Takes `prefix.weight` (and `prefix.scales`/`prefix.biases` when the
    /// checkpoint quantized this projection, `prefix.bias` when `bias`) out of
    /// `weights`. `quant` is the model's quantization for this path.
    pub fn load(
        weights: &mut WeightMap,
        prefix: &str,
        (input, output): (i32, i32),
        bias: bool,
        quant: Option<QuantSpec>,
    ) -> Result<Self> {
        let base = Matrix::load(weights, prefix, (output, input), quant)?;
        let bias = if bias {
            Some(weights.take(&join(prefix, "bias"), Some(&[output]))?)
        } else {
            None
        };
        Ok(Self {
            base,
            bias,
            adapter: None,
        })
    }

    /// Input and output sizes.
    pub fn dims(&self) -> (i32, i32) {
        let (rows, cols) = self.base.dims();
        (cols, rows)
    }

    /// Whether the base weight is quantized.
    pub fn is_quantized(&self) -> bool {
        matches!(self.base, Matrix::Quantized(_))
    }

    /// Adds a fresh adapter as mlx-lm initialises one: `A ~ U(±1/√in)`, `B = 0`
    /// (so the adapted model starts equal to the base), DoRA's `m` = the row
    /// norms of the base weight.
    pub fn add_adapter(&mut self, spec: &AdapterSpec, key: &Array) -> Result<()> {
        let (input, output) = self.dims();
        let bound = 1.0 / (input as f32).sqrt();
        let lora_a = random::uniform::<_, f32>(-bound, bound, &[input, spec.rank], Some(key))?;
        let lora_b = Array::zeros::<f32>(&[spec.rank, output])?;
        let m = match spec.kind {
            AdapterKind::Lora => None,
            AdapterKind::Dora => Some(row_norms(&self.dense_weight()?.as_dtype(Dtype::Float32)?)?),
        };
        self.adapter = Some(Adapter {
            kind: spec.kind,
            lora_a,
            lora_b,
            m,
            scale: spec.scale,
            dropout: spec.dropout,
        });
        Ok(())
    }

    /// Whether an adapter is attached.
    pub fn has_adapter(&self) -> bool {
        self.adapter.is_some()
    }

    /// `x W^T + b`, plus the adapter's update when `mode` applies adapters.
    ///
    /// # Shapes
    /// `x`: `[.., in]` → `[.., out]`.
    pub fn forward(&self, x: &Array, mode: &Mode) -> Result<Array> {
        let adapter = self.adapter.as_ref().filter(|_| mode.adapters());
        let Some(adapter) = adapter else {
            return self.base_forward(x, true);
        };
        let z = mode
            .dropout(x, adapter.dropout)?
            .matmul(&adapter.lora_a)?
            .matmul(&adapter.lora_b)?;
        let update = z
            .multiply(Array::from_f32(adapter.scale))?
            .as_dtype(x.dtype())?;
        match adapter.kind {
            AdapterKind::Lora => Ok(self.base_forward(x, true)?.add(&update)?),
            AdapterKind::Dora => {
                let m = adapter
                    .m
                    .as_ref()
                    .expect("a DoRA adapter always has a magnitude");
                let out = self.base_forward(x, false)?.add(&update)?;
                // Row norms of the adapted weight, not differentiated (as DoRA
                // and mlx-lm do, to save memory).
                let w = self.dense_weight()?;
                let delta = adapter
                    .lora_b
                    .t()
                    .matmul(adapter.lora_a.t())?
                    .multiply(Array::from_f32(adapter.scale))?;
                let denom =
                    mlx_rs::stop_gradient(row_norms(&w.add(&delta.as_dtype(w.dtype())?)?)?)?;
                let out = out.multiply(m.divide(&denom)?.as_dtype(x.dtype())?)?;
                match &self.bias {
                    Some(b) => Ok(out.add(b)?),
                    None => Ok(out),
                }
            }
        }
    }

    fn base_forward(&self, x: &Array, with_bias: bool) -> Result<Array> {
        let y = self.base.matmul_t(x)?;
        match (&self.bias, with_bias) {
            (Some(b), true) => Ok(y.add(b)?),
            _ => Ok(y),
        }
    }

    /// The base weight as a dense `[out, in]` array (dequantized if needed).
    fn dense_weight(&self) -> Result<Array> {
        self.base.dense(None)
    }

    /// Folds the adapter into the base weight (as `mlx_lm.fuse`), requantizing
    /// a quantized base unless `dequantize`.
    pub fn fuse(&mut self, dequantize: bool) -> Result<()> {
        let Some(adapter) = self.adapter.take() else {
            return Ok(());
        };
        let w = self.dense_weight()?;
        let delta = adapter
            .lora_b
            .t()
            .matmul(adapter.lora_a.t())?
            .multiply(Array::from_f32(adapter.scale))?;
        let mut fused = w.add(&delta)?;
        if let Some(m) = &adapter.m {
            fused = fused.multiply(&m.divide(&row_norms(&fused)?)?.expand_dims(-1)?)?;
        }
        let fused = fused.as_dtype(w.dtype())?;
        self.base = match (&self.base, dequantize) {
            (Matrix::Quantized(q), false) => {
                let spec = q.spec;
                let (weight, scales, biases) = ops::quantize(&fused, spec.group_size, spec.bits)?;
                Matrix::Quantized(Packed::new(weight, scales, biases, spec)?)
            }
            _ => Matrix::Dense(fused),
        };
        Ok(())
    }
}

impl Linear {
    /// mlx-lm moves the base of an adapted projection under `linear.`.
    fn base_prefix(&self, prefix: &str) -> String {
        if self.adapter.is_some() {
            join(prefix, "linear")
        } else {
            prefix.to_string()
        }
    }
}

/// `sqrt(sum(w^2, axis=1))` of a `[out, in]` matrix.
fn row_norms(w: &Array) -> Result<Array> {
    Ok(w.square()?.sum_axis(1, false)?.sqrt()?)
}

impl Parameters for Linear {
    fn visit<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, &'a Array)) {
        let base = self.base_prefix(prefix);
        self.base.visit(&base, f);
        self.bias.visit(&join(&base, "bias"), f);
        if let Some(a) = &self.adapter {
            a.visit(prefix, f);
        }
    }

    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Array)) {
        let base = self.base_prefix(prefix);
        self.base.visit_mut(&base, f);
        self.bias.visit_mut(&join(&base, "bias"), f);
        if let Some(a) = &mut self.adapter {
            a.visit_mut(prefix, f);
        }
    }
}

parameters!(Adapter {
    lora_a: "lora_a",
    lora_b: "lora_b",
    m: "m",
});
