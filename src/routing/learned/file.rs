//! The model file: a format line, a JSON line describing the model
//! (`ModelInfo`), then the two weight sets (`base`, then `full`), each as a
//! record count (u32) and the non-zero weights as little-endian records of
//! a bucket (u32) and one weight per level (3 × f32). Buckets no training
//! example touched stay zero and are not stored.

use super::{Model, ModelInfo, Weights};

const FORMAT: &str = "switchyard-router-model/2";
const RECORD: usize = 16;

fn write_weights(weights: &Weights, out: &mut Vec<u8>) {
    let stored: Vec<(usize, [f32; 3])> = weights.stored().collect();
    out.extend_from_slice(&(stored.len() as u32).to_le_bytes());
    for (bucket, w) in stored {
        out.extend_from_slice(&(bucket as u32).to_le_bytes());
        for v in w {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// Read one weight set from the front of `body`; the rest is returned.
fn read_weights(body: &[u8], buckets: usize) -> Result<(Weights, &[u8]), String> {
    let count = body
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or("model weights: truncated")?;
    let records = body
        .get(4..4 + count * RECORD)
        .ok_or_else(|| format!("model weights: {count} records, fewer bytes"))?;
    let mut weights = Weights::zero(buckets);
    for r in records.chunks_exact(RECORD) {
        let word = |i: usize| [r[i], r[i + 1], r[i + 2], r[i + 3]];
        let bucket = u32::from_le_bytes(word(0)) as usize;
        weights
            .set(bucket, [4, 8, 12].map(|i| f32::from_le_bytes(word(i))))
            .ok_or_else(|| format!("model weights: bucket {bucket} out of range"))?;
    }
    Ok((weights, &body[4 + count * RECORD..]))
}

impl Model {
    /// A model from its weights, one triple per bucket.
    pub(super) fn new(info: ModelInfo, base: &[[f32; 3]], full: &[[f32; 3]]) -> Model {
        Model {
            info,
            base: Weights::from_dense(base),
            full: Weights::from_dense(full),
        }
    }

    /// Serialize.
    pub fn to_bytes(&self) -> Vec<u8> {
        let info = serde_json::to_string(&self.info).unwrap_or_default();
        let mut out = format!("{FORMAT}\n{info}\n").into_bytes();
        write_weights(&self.base, &mut out);
        write_weights(&self.full, &mut out);
        out
    }

    /// Parse a model file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, String> {
        let mut lines = bytes.splitn(3, |b| *b == b'\n');
        if lines.next() != Some(FORMAT.as_bytes()) {
            return Err(format!("not a routing model (expected a {FORMAT} file)"));
        }
        let info: ModelInfo = serde_json::from_slice(lines.next().unwrap_or_default())
            .map_err(|e| format!("model header: {e}"))?;
        if !(1..=1 << 24).contains(&info.buckets) {
            return Err(format!("model header: {} buckets", info.buckets));
        }
        let body = lines.next().unwrap_or_default();
        let (base, rest) = read_weights(body, info.buckets as usize)?;
        let (full, rest) = read_weights(rest, info.buckets as usize)?;
        if !rest.is_empty() {
            return Err(format!("model weights: {} bytes too many", rest.len()));
        }
        Ok(Model { info, base, full })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_model_holds_its_weights_packed() {
        let m = Model::from_bytes(super::super::DEFAULT_MODEL).unwrap();
        let buckets = m.info.buckets as usize;
        let held = m.base.heap_bytes() + m.full.heap_bytes();
        // Densely the two sets were 2 × 12 bytes a bucket (6.3 MB).
        assert!(held < buckets * 12, "{held} bytes for {buckets} buckets");
        assert_eq!(
            Model::from_bytes(&m.to_bytes()).unwrap().to_bytes(),
            m.to_bytes()
        );
        assert_eq!(m.to_bytes(), super::super::DEFAULT_MODEL);
    }

    #[test]
    fn round_trip_and_bad_files() {
        let info = ModelInfo {
            buckets: 8,
            cheap_from: 0.3,
            premium_from: 0.7,
            plan_from: Some(0.1),
            trained_on: "t".into(),
            examples: [1, 2, 3],
            epochs: 4,
        };
        let mut base = vec![[0f32; 3]; 8];
        base[5] = [0.5, -1.25, 3.0];
        let mut full = vec![[0f32; 3]; 8];
        full[7] = [1.0, 0.0, -2.0];
        let m = Model::new(info, &base, &full);
        let bytes = m.to_bytes();
        assert_eq!(Model::from_bytes(&bytes).unwrap(), m);
        assert!(
            Model::from_bytes(b"hello")
                .unwrap_err()
                .contains("not a routing model")
        );
        assert!(
            Model::from_bytes(&bytes[..bytes.len() - 3])
                .unwrap_err()
                .contains("fewer bytes")
        );
    }
}
