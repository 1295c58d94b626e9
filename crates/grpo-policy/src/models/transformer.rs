//! The pre-norm decoder shared by Qwen2/2.5, Qwen3, Llama and Mistral:
//! embedding, `num_hidden_layers` × (RMSNorm → grouped-query attention with
//! RoPE → residual, RMSNorm → SwiGLU MLP → residual), final RMSNorm, and an
//! output head that is the embedding itself when tied.
//!
//! Field layout and parameter names follow `mlx_lm/models/qwen2.py` and
//! `llama.py` (`model.layers.N.self_attn.q_proj`, …), so loading is a name
//! match and adapters carry mlx-lm's keys.

use mlx_rs::{fast, nn, Array};

use crate::cache::KvCache;
use crate::config::TransformerConfig;
use crate::embedding::Embedding;
use crate::error::Result;
use crate::linear::Linear;
use crate::mask::AttentionMask;
use crate::mode::Mode;
use crate::norm::RmsNorm;
use crate::params::{join, parameters, Parameters};
use crate::rope::Rope;
use crate::weights::WeightMap;

/// Grouped-query self-attention.
#[derive(Debug, Clone)]
pub struct Attention {
    /// Query projection.
    pub q_proj: Linear,
    /// Key projection.
    pub k_proj: Linear,
    /// Value projection.
    pub v_proj: Linear,
    /// Output projection.
    pub o_proj: Linear,
    q_norm: Option<RmsNorm>,
    k_norm: Option<RmsNorm>,
    rope: Rope,
    n_heads: i32,
    n_kv_heads: i32,
    head_dim: i32,
}

impl Attention {
    fn load(w: &mut WeightMap, p: &str, c: &TransformerConfig) -> Result<Self> {
        let (d, hd) = (c.hidden_size, c.head_dim);
        let (nh, nkv) = (c.num_attention_heads, c.num_key_value_heads);
        let lin = |w: &mut WeightMap, name: &str, dims, bias| {
            let path = join(p, name);
            Linear::load(w, &path, dims, bias, c.quant_for(&path))
        };
        let norm =
            |w: &mut WeightMap, name: &str| RmsNorm::load(w, &join(p, name), hd, c.rms_norm_eps);
        Ok(Self {
            q_proj: lin(w, "q_proj", (d, nh * hd), c.qkv_bias)?,
            k_proj: lin(w, "k_proj", (d, nkv * hd), c.qkv_bias)?,
            v_proj: lin(w, "v_proj", (d, nkv * hd), c.qkv_bias)?,
            o_proj: lin(w, "o_proj", (nh * hd, d), c.o_bias)?,
            q_norm: c.qk_norm.then(|| norm(w, "q_norm")).transpose()?,
            k_norm: c.qk_norm.then(|| norm(w, "k_norm")).transpose()?,
            rope: Rope::new(
                hd,
                c.rope_theta,
                c.rope_traditional,
                c.rope_scaling.as_ref(),
            )?,
            n_heads: nh,
            n_kv_heads: nkv,
            head_dim: hd,
        })
    }

    /// # Shapes
    /// `x`: `[b, l, hidden]` → `[b, l, hidden]`.
    fn forward(
        &self,
        x: &Array,
        mask: &AttentionMask,
        cache: &mut KvCache,
        mode: &Mode,
    ) -> Result<Array> {
        let (b, l) = (x.shape()[0], x.shape()[1]);
        let heads = |proj: &Linear, n: i32, norm: &Option<RmsNorm>| -> Result<Array> {
            let h = proj.forward(x, mode)?.reshape(&[b, l, n, self.head_dim])?; // [b, l, n, hd]
            let h = match norm {
                Some(norm) => norm.forward(&h)?,
                None => h,
            };
            Ok(h.transpose_axes(&[0, 2, 1, 3])?) // [b, n, l, hd]
        };
        let offset = cache.len();
        let q = self
            .rope
            .forward(&heads(&self.q_proj, self.n_heads, &self.q_norm)?, offset)?;
        let k = self
            .rope
            .forward(&heads(&self.k_proj, self.n_kv_heads, &self.k_norm)?, offset)?;
        let v = heads(&self.v_proj, self.n_kv_heads, &None)?;
        let (k, v) = cache.update_and_fetch(&k, &v)?; // [b, kv, offset + l, hd]
        let scale = (self.head_dim as f32).powf(-0.5);
        let out = fast::scaled_dot_product_attention(&q, &k, &v, scale, mask.as_sdpa(), None)?;
        let out = out
            .transpose_axes(&[0, 2, 1, 3])? // [b, l, nh, hd]
            .reshape(&[b, l, self.n_heads * self.head_dim])?;
        self.o_proj.forward(&out, mode)
    }
}

/// SwiGLU feed-forward: `down(silu(gate(x)) * up(x))`.
#[derive(Debug, Clone)]
pub struct Mlp {
    /// Gate projection.
    pub gate_proj: Linear,
    /// Up projection.
    pub up_proj: Linear,
    /// Down projection.
    pub down_proj: Linear,
}

impl Mlp {
    fn load(w: &mut WeightMap, p: &str, c: &TransformerConfig) -> Result<Self> {
        let (d, f) = (c.hidden_size, c.intermediate_size);
        let lin = |w: &mut WeightMap, name: &str, dims| {
            let path = join(p, name);
            Linear::load(w, &path, dims, c.mlp_bias, c.quant_for(&path))
        };
        Ok(Self {
            gate_proj: lin(w, "gate_proj", (d, f))?,
            up_proj: lin(w, "up_proj", (d, f))?,
            down_proj: lin(w, "down_proj", (f, d))?,
        })
    }

    fn forward(&self, x: &Array, mode: &Mode) -> Result<Array> {
        let gate = nn::silu(self.gate_proj.forward(x, mode)?)?;
        self.down_proj
            .forward(&gate.multiply(self.up_proj.forward(x, mode)?)?, mode)
    }
}

/// One decoder block.
#[derive(Debug, Clone)]
pub struct DecoderLayer {
    /// Attention.
    pub self_attn: Attention,
    /// Feed-forward.
    pub mlp: Mlp,
    input_layernorm: RmsNorm,
    post_attention_layernorm: RmsNorm,
}

impl DecoderLayer {
    fn load(w: &mut WeightMap, p: &str, c: &TransformerConfig) -> Result<Self> {
        Ok(Self {
            self_attn: Attention::load(w, &join(p, "self_attn"), c)?,
            mlp: Mlp::load(w, &join(p, "mlp"), c)?,
            input_layernorm: RmsNorm::load(
                w,
                &join(p, "input_layernorm"),
                c.hidden_size,
                c.rms_norm_eps,
            )?,
            post_attention_layernorm: RmsNorm::load(
                w,
                &join(p, "post_attention_layernorm"),
                c.hidden_size,
                c.rms_norm_eps,
            )?,
        })
    }

    /// # Shapes
    /// `x`: `[b, l, hidden]` → same.
    pub fn forward(
        &self,
        x: &Array,
        mask: &AttentionMask,
        cache: &mut KvCache,
        mode: &Mode,
    ) -> Result<Array> {
        let h =
            x.add(
                self.self_attn
                    .forward(&self.input_layernorm.forward(x)?, mask, cache, mode)?,
            )?;
        Ok(h.add(
            self.mlp
                .forward(&self.post_attention_layernorm.forward(&h)?, mode)?,
        )?)
    }

    /// The block's projections by their name inside the block
    /// (`self_attn.q_proj`, …, `mlp.down_proj`), the names mlx-lm's
    /// `lora_parameters.keys` use.
    pub fn projections_mut(&mut self) -> [(&'static str, &mut Linear); 7] {
        let a = &mut self.self_attn;
        let m = &mut self.mlp;
        [
            ("self_attn.q_proj", &mut a.q_proj),
            ("self_attn.k_proj", &mut a.k_proj),
            ("self_attn.v_proj", &mut a.v_proj),
            ("self_attn.o_proj", &mut a.o_proj),
            ("mlp.gate_proj", &mut m.gate_proj),
            ("mlp.up_proj", &mut m.up_proj),
            ("mlp.down_proj", &mut m.down_proj),
        ]
    }
}

/// A causal language model.
#[derive(Debug, Clone)]
pub struct Transformer {
    config: TransformerConfig,
    embed_tokens: Embedding,
    /// The decoder blocks, first to last.
    pub layers: Vec<DecoderLayer>,
    norm: RmsNorm,
    lm_head: Option<Linear>,
}

impl Transformer {
    /// Builds the model from checkpoint tensors, failing with every missing,
    /// unexpected or misshapen tensor named.
    pub fn from_weights(config: TransformerConfig, mut weights: WeightMap) -> Result<Self> {
        let model = Self::build(config, &mut weights)?;
        weights.finish()?;
        Ok(model)
    }

    /// A model with freshly initialised weights, as training from scratch
    /// starts: normal(0, 0.02) matrices, unit norms, zero biases (the
    /// Hugging Face initialisation of these architectures).
    pub fn random(config: TransformerConfig, seed: u64) -> Result<Self> {
        let mut empty = WeightMap::from_tensors("<random>", Default::default());
        let mut model = Self::build(config, &mut empty)?;
        let mut key = mlx_rs::random::key(seed)?;
        let mut failure = None;
        model.visit_mut("", &mut |name, a| {
            let init = if name.ends_with("norm.weight") {
                mlx_rs::ops::ones_like(&*a)
            } else if name.ends_with(".bias") {
                mlx_rs::ops::zeros_like(&*a)
            } else {
                mlx_rs::random::split(&key, 2).and_then(|(next, sub)| {
                    key = next;
                    mlx_rs::random::normal::<f32>(a.shape(), 0.0, 0.02, &sub)
                })
            };
            match init {
                Ok(v) => *a = v,
                Err(e) => failure = Some(e),
            }
        });
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(model),
        }
    }

    /// Builds the layers, taking their tensors out of `weights` (missing ones
    /// become zero placeholders and are reported by `weights.finish()`).
    fn build(config: TransformerConfig, weights: &mut WeightMap) -> Result<Self> {
        let weights = &mut *weights;
        config.architecture.sanitize(weights);
        let tied = config
            .tie_word_embeddings
            .unwrap_or(!weights.contains("lm_head.weight"));
        if tied {
            // Some tied checkpoints still store a copy of the head.
            weights.discard("lm_head.weight");
        }
        let c = &config;
        let embed_tokens = Embedding::load(
            weights,
            "model.embed_tokens",
            (c.vocab_size, c.hidden_size),
            c.quant_for("model.embed_tokens"),
        )?;
        let layers = (0..c.num_hidden_layers)
            .map(|i| DecoderLayer::load(weights, &format!("model.layers.{i}"), c))
            .collect::<Result<Vec<_>>>()?;
        let norm = RmsNorm::load(weights, "model.norm", c.hidden_size, c.rms_norm_eps)?;
        let lm_head = if tied {
            None
        } else {
            Some(Linear::load(
                weights,
                "lm_head",
                (c.hidden_size, c.vocab_size),
                false,
                c.quant_for("lm_head"),
            )?)
        };
        Ok(Self {
            config,
            embed_tokens,
            layers,
            norm,
            lm_head,
        })
    }

    /// Loads `dir/config.json` and the checkpoint's safetensors.
    pub fn load(dir: &std::path::Path) -> Result<Self> {
        let config = TransformerConfig::load(dir)?;
        let model = Self::from_weights(config, WeightMap::load_dir(dir)?)?;
        // Read the files now: lazily loaded arrays would read them at first
        // use, after they may have changed.
        let params = crate::params::named_parameters(&model);
        mlx_rs::transforms::eval(params.values())?;
        Ok(model)
    }

    /// Writes `dir/config.json` (the given JSON) and `dir/model.safetensors`
    /// (every parameter under its checkpoint name): a Hugging Face-layout
    /// model directory that mlx-lm loads too.
    pub fn save(&self, dir: &std::path::Path, config_json: &serde_json::Value) -> Result<()> {
        use crate::error::Error;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join("config.json");
        let text = serde_json::to_string_pretty(config_json).expect("JSON values serialize");
        std::fs::write(&path, text + "\n").map_err(|e| Error::io(&path, e))?;
        let params = crate::params::named_parameters(self);
        crate::weights::save_safetensors(
            &dir.join("model.safetensors"),
            params.iter().map(|(k, v)| (k.as_str(), v)),
        )
    }

    /// The configuration the model was built from.
    pub fn config(&self) -> &TransformerConfig {
        &self.config
    }

    /// One empty cache per layer.
    pub fn new_cache(&self) -> Vec<KvCache> {
        KvCache::for_layers(self.layers.len())
    }

    /// Final-norm hidden states of `tokens`, appended after what `cache` holds.
    /// With [`Mode::grad_checkpoint`], each layer runs checkpointed.
    ///
    /// # Shapes
    /// `tokens`: `[b, l]` (int32) → `[b, l, hidden]`.
    pub fn hidden(
        &self,
        tokens: &Array,
        cache: &mut [KvCache],
        mask: &AttentionMask,
        mode: &Mode,
    ) -> Result<Array> {
        let mut h = self.embed_tokens.forward(tokens)?;
        for (layer, c) in self.layers.iter().zip(cache.iter_mut()) {
            h = if mode.grad_checkpoint() {
                crate::grad_checkpoint::layer_forward(layer, &h, mask, c, mode)?
            } else {
                layer.forward(&h, mask, c, mode)?
            };
        }
        self.norm.forward(&h)
    }

    /// `cache` (one per layer) moved `by` positions later, each layer's
    /// keys rotated by its own RoPE ([`KvCache::shifted`]).
    pub fn shifted_cache(&self, cache: &[KvCache], by: i32) -> Result<Vec<KvCache>> {
        self.layers
            .iter()
            .zip(cache)
            .map(|(layer, c)| {
                if by == 0 {
                    Ok(c.clone())
                } else {
                    c.shifted(by, |k| layer.self_attn.rope.shift(k, by))
                }
            })
            .collect()
    }

    /// Logits over the vocabulary from hidden states.
    ///
    /// # Shapes
    /// `hidden`: `[.., hidden]` → `[.., vocab]`.
    pub fn logits(&self, hidden: &Array) -> Result<Array> {
        match &self.lm_head {
            Some(head) => head.forward(hidden, &Mode::inference()),
            None => self.embed_tokens.as_linear(hidden),
        }
    }

    /// `logits(hidden(tokens))`.
    pub fn forward(
        &self,
        tokens: &Array,
        cache: &mut [KvCache],
        mask: &AttentionMask,
        mode: &Mode,
    ) -> Result<Array> {
        self.logits(&self.hidden(tokens, cache, mask, mode)?)
    }
}

parameters!(Attention {
    q_proj: "q_proj",
    k_proj: "k_proj",
    v_proj: "v_proj",
    o_proj: "o_proj",
    q_norm: "q_norm",
    k_norm: "k_norm",
});
parameters!(Mlp {
    gate_proj: "gate_proj",
    up_proj: "up_proj",
    down_proj: "down_proj",
});
parameters!(DecoderLayer {
    self_attn: "self_attn",
    mlp: "mlp",
    input_layernorm: "input_layernorm",
    post_attention_layernorm: "post_attention_layernorm",
});
parameters!(Transformer {
    embed_tokens: "model.embed_tokens",
    layers: "model.layers",
    norm: "model.norm",
    lm_head: "lm_head",
});
