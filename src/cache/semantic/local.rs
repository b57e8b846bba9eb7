//! A sentence-embedding BERT model (e.g. all-MiniLM-L6-v2) run in this
//! process with candle, from a directory holding `model.safetensors`,
//! `config.json` and `tokenizer.json`. The vector is the mean of the last
//! hidden states over the real tokens only (the attention mask), scaled to
//! unit length — what sentence-transformers computes for these models.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use std::path::Path;
use tokenizers::{Tokenizer, TruncationParams};

/// Longest input, in tokens (the model's `max_seq_length`).
const MAX_TOKENS: usize = 256;

/// A loaded model and its tokenizer.
pub struct LocalEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

fn read(dir: &Path, name: &str) -> Result<Vec<u8>, String> {
    std::fs::read(dir.join(name)).map_err(|e| format!("{}: {e}", dir.join(name).display()))
}

impl LocalEmbedder {
    /// Load the model in `dir`.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let config: Config = serde_json::from_slice(&read(dir, "config.json")?)
            .map_err(|e| format!("{}/config.json: {e}", dir.display()))?;
        let mut tokenizer = Tokenizer::from_bytes(read(dir, "tokenizer.json")?)
            .map_err(|e| format!("{}/tokenizer.json: {e}", dir.display()))?;
        // The shipped tokenizer pads to a fixed 128; one text needs no padding.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| format!("tokenizer: {e}"))?;
        let device = Device::Cpu;
        let weights = read(dir, "model.safetensors")?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| format!("{}/model.safetensors: {e}", dir.display()))?;
        let model = BertModel::load(vb, &config).map_err(|e| format!("BERT model: {e}"))?;
        Ok(LocalEmbedder {
            model,
            tokenizer,
            device,
        })
    }

    /// The (not yet normalised) mean-pooled vector of `text`.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, String> {
        let e = |e: candle_core::Error| format!("embedding: {e}");
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| format!("tokenizer: {e}"))?;
        let n = enc.get_ids().len();
        let row = |v: &[u32]| Tensor::from_slice(v, (1, n), &self.device);
        let ids = row(enc.get_ids()).map_err(e)?;
        let types = row(enc.get_type_ids()).map_err(e)?;
        let mask = row(enc.get_attention_mask()).map_err(e)?;
        let hidden = self.model.forward(&ids, &types, Some(&mask)).map_err(e)?;
        let weights = mask
            .to_dtype(DType::F32)
            .map_err(e)?
            .unsqueeze(2)
            .map_err(e)?;
        let summed = hidden
            .broadcast_mul(&weights)
            .map_err(e)?
            .sum(1)
            .map_err(e)?;
        let count = weights.sum(1).map_err(e)?;
        let mean = summed.broadcast_div(&count).map_err(e)?;
        mean.squeeze(0).map_err(e)?.to_vec1::<f32>().map_err(e)
    }
}
