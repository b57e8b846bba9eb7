//! A sentence-embedding BERT model (e.g. all-MiniLM-L6-v2) run in this
//! process ([`super::bert`], on candle), from a directory holding
//! `model.safetensors`, `config.json` and `tokenizer.json`. The vector is
//! the mean of the last hidden states over the text's tokens (one text, no
//! padding), scaled to unit length by the caller — what
//! sentence-transformers computes for these models.

use super::bert::{self, BertConfig, BertEncoder};
use std::path::Path;
use tokenizers::{Tokenizer, TruncationParams};

/// Longest input, in tokens (the model's `max_seq_length`).
const MAX_TOKENS: usize = 256;

/// Threads one embedding is split over at most: its products are small
/// (a few hundred output columns), and other requests need the other cores.
const MAX_THREADS: usize = 4;

/// A loaded model, its tokenizer, and the threads it runs on.
pub struct LocalEmbedder {
    model: BertEncoder,
    tokenizer: Tokenizer,
    /// One a core up to [`MAX_THREADS`] (or `RAYON_NUM_THREADS`). An
    /// embedding runs inside the pool, so splitting its products over the
    /// threads is work stealing between threads already awake, not a
    /// wake-up and a wait on a lock for each of its two dozen products.
    threads: rayon::ThreadPool,
}

fn read(dir: &Path, name: &str) -> Result<Vec<u8>, String> {
    std::fs::read(dir.join(name)).map_err(|e| format!("{}: {e}", dir.join(name).display()))
}

impl LocalEmbedder {
    /// Load the model in `dir`.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let config: BertConfig = serde_json::from_slice(&read(dir, "config.json")?)
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
        let model = bert::load_cpu(read(dir, "model.safetensors")?, &config)
            .map_err(|e| format!("{}/model.safetensors: {e}", dir.display()))?;
        // 0: rayon's own choice (`RAYON_NUM_THREADS`, else one a core).
        let count = match std::env::var_os("RAYON_NUM_THREADS") {
            Some(_) => 0,
            None => std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS)),
        };
        let threads = rayon::ThreadPoolBuilder::new()
            .num_threads(count)
            .thread_name(|i| format!("switchyard-embed-{i}"))
            .build()
            .map_err(|e| format!("embedding threads: {e}"))?;
        Ok(LocalEmbedder {
            model,
            tokenizer,
            threads,
        })
    }

    /// The (not yet normalised) mean-pooled vector of `text`.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, String> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| format!("tokenizer: {e}"))?;
        self.threads
            .install(|| self.model.mean_pooled(enc.get_ids()))
            .map_err(|e| format!("embedding: {e}"))
    }

    /// The unit vector the semantic cache compares for a question: that of
    /// what it asks ([`super::phrasing::asked`]), as the gateway embeds it.
    pub fn embed_question(&self, question: &str) -> Result<Vec<f32>, String> {
        self.embed(super::phrasing::asked(question))
            .map(super::normalize)
    }
}
