//! One weight set of the classifier as the gateway keeps it in memory.
//!
//! A model has 2^18 hash buckets with three weights each, but training
//! touches only the buckets its corpus's features hash to (about one in
//! ten for the built-in model): held densely, the two sets were 6.3 MB of
//! mostly zeros, the largest part of an idle gateway's heap. Here a bucket
//! holds the index of its weights in a packed table (0: all zero), so a
//! lookup is still two loads and no hashing, at 4 bytes a bucket plus 12 a
//! weighted one.

/// The weights of every bucket, zero where none is stored.
#[derive(Clone)]
pub struct Weights {
    /// For each bucket, 1 + its position in `values`, or 0 when its
    /// weights are all zero.
    slots: Vec<u32>,
    /// The non-zero weights, in bucket order.
    values: Vec<[f32; 3]>,
}

impl Weights {
    /// From one weight triple per bucket.
    pub fn from_dense(dense: &[[f32; 3]]) -> Weights {
        let mut weights = Weights::zero(dense.len());
        for (bucket, w) in dense.iter().enumerate() {
            weights.set(bucket, *w);
        }
        weights
    }

    /// `buckets` buckets, all zero.
    pub fn zero(buckets: usize) -> Weights {
        Weights {
            slots: vec![0; buckets],
            values: Vec::new(),
        }
    }

    /// Give `bucket` the weights `w`; `None` when there is no such bucket.
    pub fn set(&mut self, bucket: usize, w: [f32; 3]) -> Option<()> {
        let slot = self.slots.get_mut(bucket)?;
        if *slot != 0 {
            self.values[*slot as usize - 1] = w;
        } else if w.iter().any(|v| *v != 0.0) {
            self.values.push(w);
            *slot = self.values.len() as u32;
        }
        Some(())
    }

    /// The weights of `bucket` (zero for one outside the table).
    #[inline]
    pub fn get(&self, bucket: u32) -> [f32; 3] {
        match self.slots.get(bucket as usize) {
            Some(&slot) if slot != 0 => self.values[slot as usize - 1],
            _ => [0.0; 3],
        }
    }

    /// The buckets with a non-zero weight and their weights, in bucket order.
    pub fn stored(&self) -> impl Iterator<Item = (usize, [f32; 3])> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| **s != 0)
            .map(|(bucket, s)| (bucket, self.values[*s as usize - 1]))
            .filter(|(_, w)| w.iter().any(|v| *v != 0.0))
    }

    /// Bytes held on the heap.
    #[cfg(test)]
    pub fn heap_bytes(&self) -> usize {
        self.slots.capacity() * 4 + self.values.capacity() * 12
    }
}

/// Equal when every bucket reads the same.
impl PartialEq for Weights {
    fn eq(&self, other: &Weights) -> bool {
        self.slots.len() == other.slots.len() && self.stored().eq(other.stored())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bucket_reads_back_as_the_dense_table_held_it() {
        let mut dense = vec![[0f32; 3]; 1000];
        for (i, w) in dense.iter_mut().enumerate().filter(|(i, _)| i % 7 == 3) {
            *w = [i as f32, -0.5, 0.0];
        }
        dense[999] = [0.0, 0.0, 1e-30];
        let weights = Weights::from_dense(&dense);
        for (bucket, w) in dense.iter().enumerate() {
            assert_eq!(weights.get(bucket as u32), *w, "bucket {bucket}");
        }
        assert_eq!(weights.get(5000), [0.0; 3]);
        let stored: Vec<usize> = weights.stored().map(|(b, _)| b).collect();
        let want: Vec<usize> = (0..1000).filter(|i| i % 7 == 3 || *i == 999).collect();
        assert_eq!(stored, want);
        assert!(weights.heap_bytes() < 1000 * 12);
    }

    #[test]
    fn setting_a_bucket_twice_keeps_the_last_weights() {
        let mut weights = Weights::zero(4);
        assert_eq!(weights.set(2, [1.0, 2.0, 3.0]), Some(()));
        assert_eq!(weights.set(2, [0.0, 0.0, 0.0]), Some(()));
        assert_eq!(weights.set(4, [1.0, 1.0, 1.0]), None);
        assert_eq!(weights.get(2), [0.0; 3]);
        assert_eq!(weights.stored().count(), 0);
        assert!(weights == Weights::zero(4));
        assert!(weights != Weights::zero(5));
    }
}
