//! The model file: a format line, a JSON line describing the model
//! (`ModelInfo`), then the two weight sets (`base`, then `full`), each as a
//! record count (u32) and the non-zero weights as little-endian records of
//! a bucket (u32) and one weight per level (3 × f32). Buckets no training
//! example touched stay zero and are not stored.

use super::{Model, ModelInfo};

const FORMAT: &str = "switchyard-router-model/2";
const RECORD: usize = 16;

fn write_weights(weights: &[[f32; 3]], out: &mut Vec<u8>) {
    let stored: Vec<(usize, &[f32; 3])> = weights
        .iter()
        .enumerate()
        .filter(|(_, w)| w.iter().any(|v| *v != 0.0))
        .collect();
    out.extend_from_slice(&(stored.len() as u32).to_le_bytes());
    for (bucket, w) in stored {
        out.extend_from_slice(&(bucket as u32).to_le_bytes());
        for v in w {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// Read one weight set from the front of `body`; the rest is returned.
fn read_weights(body: &[u8], buckets: usize) -> Result<(Vec<[f32; 3]>, &[u8]), String> {
    let count = body
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or("model weights: truncated")?;
    let records = body
        .get(4..4 + count * RECORD)
        .ok_or_else(|| format!("model weights: {count} records, fewer bytes"))?;
    let mut weights = vec![[0f32; 3]; buckets];
    for r in records.chunks_exact(RECORD) {
        let word = |i: usize| [r[i], r[i + 1], r[i + 2], r[i + 3]];
        let bucket = u32::from_le_bytes(word(0)) as usize;
        let slot = weights
            .get_mut(bucket)
            .ok_or_else(|| format!("model weights: bucket {bucket} out of range"))?;
        *slot = [4, 8, 12].map(|i| f32::from_le_bytes(word(i)));
    }
    Ok((weights, &body[4 + count * RECORD..]))
}

impl Model {
    /// A model from its weights.
    pub(super) fn new(info: ModelInfo, base: Vec<[f32; 3]>, full: Vec<[f32; 3]>) -> Model {
        Model { info, base, full }
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
        let m = Model::new(info, base, full);
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
