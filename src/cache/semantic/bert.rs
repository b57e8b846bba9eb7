//! The BERT encoder of a sentence-embedding model (all-MiniLM-L6-v2 and its
//! kind), for one short text at a time on a CPU, on candle's tensors. It
//! computes what Hugging Face's `BertModel` (and candle-transformers' port
//! of it) computes; what differs is how the dense layers multiply: with
//! [`super::dense`]'s kernel for a few tokens against f16 weights, instead
//! of candle's f32 matmul (which, written as `x · Wᵀ`, also copied every
//! weight matrix into gemm's packed layout on every call). A layer's query,
//! key and value projections are one product. One text needs no padding,
//! so there is no attention mask.

use super::dense::Dense;
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{LayerNorm, VarBuilder};
use serde::Deserialize;

/// The fields of a BERT `config.json` the encoder needs.
#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
    /// Width of the hidden states.
    pub hidden_size: usize,
    /// Attention heads per layer.
    pub num_attention_heads: usize,
    /// Encoder layers.
    pub num_hidden_layers: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Longest input the position table covers.
    pub max_position_embeddings: usize,
    /// Layer-norm epsilon.
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// Activation of the feed-forward layer (only `gelu`, the exact one).
    #[serde(default = "default_act")]
    pub hidden_act: String,
}

fn default_eps() -> f64 {
    1e-12
}

fn default_act() -> String {
    "gelu".into()
}

/// The `(out, in)` weights and biases of `names` (one or more layers of the
/// same input), side by side as one layer.
fn dense(
    vb: &VarBuilder,
    names: &[&str],
    input: usize,
    output: usize,
) -> candle_core::Result<Dense> {
    let mut weights = Vec::with_capacity(names.len() * input * output);
    let mut biases = Vec::with_capacity(names.len() * output);
    for name in names {
        let vb = vb.pp(*name);
        weights.extend(
            vb.get((output, input), "weight")?
                .flatten_all()?
                .to_vec1::<f32>()?,
        );
        biases.extend(vb.get(output, "bias")?.to_vec1::<f32>()?);
    }
    Dense::new(&weights, biases, input).map_err(candle_core::Error::msg)
}

/// `(tokens, in)` → `(tokens, out)` through `layer`.
fn apply(layer: &Dense, x: &Tensor) -> candle_core::Result<Tensor> {
    let tokens = x.dim(0)?;
    let y = layer.forward(&x.flatten_all()?.to_vec1::<f32>()?);
    Tensor::from_vec(y, (tokens, layer.outputs()), x.device())
}

struct Layer {
    qkv: Dense,
    attention_out: Dense,
    attention_norm: LayerNorm,
    up: Dense,
    down: Dense,
    output_norm: LayerNorm,
}

/// The encoder: embeddings and layers.
pub struct BertEncoder {
    words: Tensor,
    positions: Tensor,
    token_type: Tensor,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    max_positions: usize,
}

fn norm(vb: VarBuilder, size: usize, eps: f64) -> candle_core::Result<LayerNorm> {
    Ok(LayerNorm::new(
        vb.get(size, "weight")?,
        vb.get(size, "bias")?,
        eps,
    ))
}

impl BertEncoder {
    /// Load from a `VarBuilder` over the model's weights (names with or
    /// without a `bert.` prefix).
    pub fn load(vb: VarBuilder, config: &BertConfig) -> candle_core::Result<Self> {
        if config.hidden_act != "gelu" {
            candle_core::bail!("unsupported activation {:?} (only gelu)", config.hidden_act);
        }
        if config.num_attention_heads == 0
            || !config
                .hidden_size
                .is_multiple_of(config.num_attention_heads)
        {
            candle_core::bail!(
                "hidden size {} does not split into {} heads",
                config.hidden_size,
                config.num_attention_heads
            );
        }
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb
        };
        let (h, eps) = (config.hidden_size, config.layer_norm_eps);
        let e = vb.pp("embeddings");
        let words = e.get_unchecked("word_embeddings.weight")?;
        let positions = e.get(
            (config.max_position_embeddings, h),
            "position_embeddings.weight",
        )?;
        let token_type = e.get_unchecked("token_type_embeddings.weight")?.get(0)?;
        let embedding_norm = norm(e.pp("LayerNorm"), h, eps)?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let a = l.pp("attention");
            layers.push(Layer {
                qkv: dense(&a.pp("self"), &["query", "key", "value"], h, h)?,
                attention_out: dense(&a.pp("output"), &["dense"], h, h)?,
                attention_norm: norm(a.pp("output").pp("LayerNorm"), h, eps)?,
                up: dense(
                    &l.pp("intermediate"),
                    &["dense"],
                    h,
                    config.intermediate_size,
                )?,
                down: dense(&l.pp("output"), &["dense"], config.intermediate_size, h)?,
                output_norm: norm(l.pp("output").pp("LayerNorm"), h, eps)?,
            });
        }
        Ok(BertEncoder {
            words,
            positions,
            token_type,
            embedding_norm,
            layers,
            heads: config.num_attention_heads,
            max_positions: config.max_position_embeddings,
        })
    }

    /// The last hidden states `(tokens, hidden)` of one text's token ids.
    pub fn forward(&self, ids: &[u32]) -> candle_core::Result<Tensor> {
        let n = ids.len();
        if n == 0 || n > self.max_positions {
            candle_core::bail!("{n} tokens (1 to {} fit)", self.max_positions);
        }
        let vocab = self.words.dim(0)?;
        if let Some(id) = ids.iter().find(|&&id| id as usize >= vocab) {
            candle_core::bail!("token id {id} is outside the vocabulary of {vocab}");
        }
        let device = self.words.device();
        let ids = Tensor::from_slice(ids, n, device)?;
        let x = self
            .words
            .index_select(&ids, 0)?
            .add(&self.positions.narrow(0, 0, n)?)?
            .broadcast_add(&self.token_type)?;
        let mut x = self.embedding_norm.forward(&x)?;
        for layer in &self.layers {
            x = self.layer(layer, &x)?;
        }
        Ok(x)
    }

    fn layer(&self, layer: &Layer, x: &Tensor) -> candle_core::Result<Tensor> {
        let (n, h) = x.dims2()?;
        let d = h / self.heads;
        let qkv = apply(&layer.qkv, x)?;
        // (tokens, hidden) → (heads, tokens, head width)
        let split = |i: usize| {
            qkv.narrow(1, i * h, h)?
                .reshape((n, self.heads, d))?
                .transpose(0, 1)?
                .contiguous()
        };
        let (q, k, v) = (split(0)?, split(1)?, split(2)?);
        let scores = (q.matmul(&k.t()?)? / (d as f64).sqrt())?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = probs.matmul(&v)?.transpose(0, 1)?.reshape((n, h))?;
        let attended = layer
            .attention_norm
            .forward(&apply(&layer.attention_out, &context)?.add(x)?)?;
        let inner = gelu(&apply(&layer.up, &attended)?)?;
        layer
            .output_norm
            .forward(&apply(&layer.down, &inner)?.add(&attended)?)
    }

    /// The mean of the last hidden states of one text (not normalised).
    pub fn mean_pooled(&self, ids: &[u32]) -> candle_core::Result<Vec<f32>> {
        self.forward(ids)?.mean(0)?.to_vec1()
    }
}

/// erf in f32 as x·P(x²)/Q(x²) on x clamped to [-4, 4] (beyond which erf
/// is ±1 in f32): the rational approximation Eigen and XLA use, within
/// 5e-7 of the exact value. Branch-free, so a loop over a tensor
/// vectorises; candle's `gelu_erf` calls a scalar erf per element, 12% of
/// an embedding.
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    // Plain multiply-adds: `mul_add` is a libm call without a target FMA.
    let mut p = -2.726_142_3e-10_f32;
    for c in [
        2.770_681_4e-8,
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906_3e-4,
        -2.954_6e-3,
        -1.609_603_3e-2,
    ] {
        p = p * x2 + c;
    }
    let mut q = -1.456_607_2e-5_f32;
    for c in [-2.133_740_6e-4, -1.682_827e-3, -7.373_329e-3, -1.426_474e-2] {
        q = q * x2 + c;
    }
    x * p / q
}

/// The exact (erf) GELU of every element of an f32 tensor.
fn gelu(t: &Tensor) -> candle_core::Result<Tensor> {
    let mut v = t.flatten_all()?.to_vec1::<f32>()?;
    for x in &mut v {
        *x *= 0.5 * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
    }
    Tensor::from_vec(v, t.shape(), t.device())
}

/// Load on the CPU from safetensors bytes.
pub fn load_cpu(weights: Vec<u8>, config: &BertConfig) -> candle_core::Result<BertEncoder> {
    let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)?;
    BertEncoder::load(vb, config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_transformers::models::bert as reference;
    use std::collections::HashMap;

    /// A small BERT with random weights, under Hugging Face's names.
    fn random_weights(config: &BertConfig, vocab: usize) -> HashMap<String, Tensor> {
        let (h, i) = (config.hidden_size, config.intermediate_size);
        let mut shapes: Vec<(String, Vec<usize>)> = vec![
            ("embeddings.word_embeddings.weight".into(), vec![vocab, h]),
            (
                "embeddings.position_embeddings.weight".into(),
                vec![config.max_position_embeddings, h],
            ),
            ("embeddings.token_type_embeddings.weight".into(), vec![2, h]),
            ("embeddings.LayerNorm.weight".into(), vec![h]),
            ("embeddings.LayerNorm.bias".into(), vec![h]),
        ];
        for l in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{l}");
            for (name, out, input) in [
                ("attention.self.query", h, h),
                ("attention.self.key", h, h),
                ("attention.self.value", h, h),
                ("attention.output.dense", h, h),
                ("intermediate.dense", i, h),
                ("output.dense", h, i),
            ] {
                shapes.push((format!("{p}.{name}.weight"), vec![out, input]));
                shapes.push((format!("{p}.{name}.bias"), vec![out]));
            }
            for norm in ["attention.output.LayerNorm", "output.LayerNorm"] {
                shapes.push((format!("{p}.{norm}.weight"), vec![h]));
                shapes.push((format!("{p}.{norm}.bias"), vec![h]));
            }
        }
        shapes
            .into_iter()
            .map(|(name, shape)| {
                // Values f16 holds exactly, as the encoder's dense layers
                // keep them: both models then multiply the same weights.
                let t = Tensor::randn(0f32, 0.5, shape, &Device::Cpu)
                    .and_then(|t| t.to_dtype(DType::F16)?.to_dtype(DType::F32))
                    .unwrap();
                (name, t)
            })
            .collect()
    }

    #[test]
    fn computes_what_the_reference_bert_computes() {
        let config = BertConfig {
            hidden_size: 16,
            num_attention_heads: 4,
            num_hidden_layers: 3,
            intermediate_size: 64,
            max_position_embeddings: 32,
            layer_norm_eps: 1e-12,
            hidden_act: "gelu".into(),
        };
        let weights = random_weights(&config, 50);
        let vb = VarBuilder::from_tensors(weights.clone(), DType::F32, &Device::Cpu);
        let ours = BertEncoder::load(vb, &config).unwrap();
        let json = serde_json::json!({
            "vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 3,
            "num_attention_heads": 4, "intermediate_size": 64, "hidden_act": "gelu",
            "hidden_dropout_prob": 0.0, "max_position_embeddings": 32,
            "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12,
            "pad_token_id": 0, "position_embedding_type": "absolute",
            "use_cache": false, "model_type": "bert"
        });
        let ref_config: reference::Config = serde_json::from_value(json).unwrap();
        let vb = VarBuilder::from_tensors(weights, DType::F32, &Device::Cpu);
        let theirs = reference::BertModel::load(vb, &ref_config).unwrap();
        for ids in [vec![1u32], vec![3, 9, 27, 4], (0..32).collect::<Vec<u32>>()] {
            let n = ids.len();
            let ours = ours.forward(&ids).unwrap();
            let input = Tensor::from_slice(&ids, (1, n), &Device::Cpu).unwrap();
            let types = input.zeros_like().unwrap();
            let theirs = theirs
                .forward(&input, &types, None)
                .unwrap()
                .squeeze(0)
                .unwrap();
            let diff = (ours - theirs)
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(diff < 1e-4, "{n} tokens: largest difference {diff}");
        }
    }

    #[test]
    fn erf_is_within_5e7_of_the_exact_value() {
        let worst = (-600_000..=600_000)
            .map(|i| i as f64 * 1e-5)
            .map(|x| (erf(x as f32) as f64 - candle_core::cpu::erf::erf_f64(x)).abs())
            .fold(0.0, f64::max);
        assert!(worst < 5e-7, "largest error {worst}");
        assert!((erf(30.0) - 1.0).abs() < 5e-7 && (erf(-30.0) + 1.0).abs() < 5e-7);
        assert!(erf(f32::NAN).is_nan());
    }

    #[test]
    fn refuses_what_it_cannot_run() {
        let mut config = BertConfig {
            hidden_size: 16,
            num_attention_heads: 4,
            num_hidden_layers: 1,
            intermediate_size: 64,
            max_position_embeddings: 8,
            layer_norm_eps: 1e-12,
            hidden_act: "gelu".into(),
        };
        let weights = random_weights(&config, 10);
        let load = |config: &BertConfig| {
            let vb = VarBuilder::from_tensors(weights.clone(), DType::F32, &Device::Cpu);
            BertEncoder::load(vb, config)
        };
        let model = load(&config).unwrap();
        assert!(model.forward(&[]).is_err());
        assert!(model.forward(&[1; 9]).is_err());
        assert!(model.forward(&[1; 8]).is_ok());
        assert!(model.forward(&[1, 10]).is_err());
        config.hidden_act = "relu".into();
        assert!(load(&config).is_err());
        config.hidden_act = "gelu".into();
        config.num_attention_heads = 5;
        assert!(load(&config).is_err());
    }
}
