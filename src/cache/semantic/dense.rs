//! The encoder's dense layers, with a matrix product made for their shape:
//! a dozen or two tokens against a weight matrix that does not change.
//!
//! With candle's f32 product an embedding waited on memory: MiniLM-L6's
//! layers are 42 MB of f32, streamed from DRAM on every call, and gemm's
//! kernel also costs a whole 16-row tile however few tokens there are.
//! Here the weights are held as f16 (21 MB: half the bytes to wait for),
//! each block of four weight rows is widened to f32 once into a buffer
//! that stays in L1, and multiplied against three tokens at a time with
//! f32 multiply-adds, so any number of tokens costs what it needs. The
//! SIMD width is chosen at run time (`pulp`: AVX2 and FMA where the CPU
//! has them, plain f32 otherwise), so one portable build runs the fast
//! kernel.
//!
//! Rounding the weights to f16 moves MiniLM's similarities by at most
//! 0.0002; the semantic cache's threshold table is the same with it, pair
//! for pair (`switchyard cache pairs`; BENCHMARKS.md).

use half::f16;
use pulp::{Arch, Simd, WithSimd};
use rayon::prelude::*;
use std::ops::Range;

/// Weight rows widened together.
const ROWS: usize = 4;
/// Tokens multiplied together against them.
const TOKENS: usize = 3;
/// Multiply-adds from which a product is worth splitting over threads
/// (MiniLM's smallest, 384×384 against ten tokens, is 1.5 million).
const PARALLEL_FROM: usize = 1 << 19;

/// A dense layer `y = x · Wᵀ + b` with its weight held as f16.
pub struct Dense {
    inputs: usize,
    outputs: usize,
    /// `(outputs, inputs)`, row-major, as the model file holds it: the
    /// bits of f16 values.
    weight: Vec<u16>,
    bias: Vec<f32>,
}

impl Dense {
    /// A layer from an `(outputs, inputs)` row-major weight and its bias.
    pub fn new(weight: &[f32], bias: Vec<f32>, inputs: usize) -> Result<Self, String> {
        let outputs = bias.len();
        if inputs == 0 || weight.len() != outputs * inputs {
            return Err(format!(
                "weight of {} values for {outputs} outputs of {inputs} inputs",
                weight.len()
            ));
        }
        Ok(Dense {
            inputs,
            outputs,
            weight: weight.iter().map(|&w| f16::from_f32(w).to_bits()).collect(),
            bias,
        })
    }

    /// Width of the output.
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// `x` holds whole rows of `inputs` values (one a token); the result
    /// holds as many rows of `outputs` values. A large enough product is
    /// split by output columns over rayon's threads: while one waits for
    /// its weights to arrive from memory, another multiplies.
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        let tokens = x.len() / self.inputs;
        let blocks = self.outputs.div_ceil(ROWS);
        let parts = if tokens * self.weight.len() < PARALLEL_FROM {
            1
        } else {
            rayon::current_num_threads().clamp(1, blocks)
        };
        if parts == 1 {
            return self.columns(0..self.outputs, x);
        }
        let width = blocks.div_ceil(parts) * ROWS;
        let pieces: Vec<(Range<usize>, Vec<f32>)> = (0..self.outputs)
            .into_par_iter()
            .step_by(width)
            .map(|start| {
                let range = start..(start + width).min(self.outputs);
                (range.clone(), self.columns(range, x))
            })
            .collect();
        let mut out = vec![0f32; tokens * self.outputs];
        for (range, piece) in pieces {
            for (t, values) in piece.chunks_exact(range.len()).enumerate() {
                let at = t * self.outputs + range.start;
                out[at..at + range.len()].copy_from_slice(values);
            }
        }
        out
    }

    /// The output columns `range` for every token: `(tokens, range.len())`.
    fn columns(&self, range: Range<usize>, x: &[f32]) -> Vec<f32> {
        let k = self.inputs;
        let tokens = x.len() / k;
        let mut out = vec![0f32; tokens * range.len()];
        let mut widened = vec![0f32; ROWS * k];
        for first in range.clone().step_by(ROWS) {
            let rows = ROWS.min(range.end - first);
            Arch::new().dispatch(Block {
                layer: self,
                weight: &self.weight[first * k..(first + rows) * k],
                widened: &mut widened[..rows * k],
                first,
                column: first - range.start,
                x,
                out: &mut out,
            });
        }
        out
    }
}

/// One block of weight rows against every token.
struct Block<'a> {
    layer: &'a Dense,
    /// The block's rows, as f16 bits.
    weight: &'a [u16],
    /// Room for them as f32.
    widened: &'a mut [f32],
    /// The first row's index in the layer.
    first: usize,
    /// Its column in `out`, whose rows are as wide as `out.len() / tokens`.
    column: usize,
    x: &'a [f32],
    out: &'a mut [f32],
}

impl WithSimd for Block<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Block {
            layer,
            weight,
            widened,
            first,
            column,
            x,
            out,
        } = self;
        widen(weight, widened);
        let widened = &*widened;
        let k = layer.inputs;
        let tokens = x.len() / k;
        let stride = out.len() / tokens.max(1);
        let row = |r: usize| &widened[r * k..(r + 1) * k];
        let token = |t: usize| &x[t * k..(t + 1) * k];
        let mut put = |t: usize, r: usize, dot: f32| {
            out[t * stride + column + r] = dot + layer.bias[first + r];
        };
        if widened.len() == ROWS * k {
            let w: [&[f32]; ROWS] = std::array::from_fn(row);
            let mut t = 0;
            while t + TOKENS <= tokens {
                let xs: [&[f32]; TOKENS] = std::array::from_fn(|j| token(t + j));
                let dots = tile(simd, w, xs);
                for (r, by_token) in dots.iter().enumerate() {
                    for (j, &dot) in by_token.iter().enumerate() {
                        put(t + j, r, dot);
                    }
                }
                t += TOKENS;
            }
            for t in t..tokens {
                for (r, [dot]) in tile(simd, w, [token(t)]).into_iter().enumerate() {
                    put(t, r, dot);
                }
            }
        } else {
            for r in 0..widened.len() / k {
                for t in 0..tokens {
                    let [[dot]] = tile(simd, [row(r)], [token(t)]);
                    put(t, r, dot);
                }
            }
        }
    }
}

/// f16 bits to f32, in a loop the compiler vectorises: the exponent and
/// mantissa shifted into f32's places and scaled by 2^112 (the difference
/// of the two exponent biases; this also widens subnormals exactly), the
/// sign put back. Weights are finite, so infinities and NaNs need no case.
/// (`half`'s own conversion checks the CPU on every call and is not inlined
/// here: a call per eight values, 30% of an embedding when it was used.)
#[inline(always)]
fn widen(half: &[u16], out: &mut [f32]) {
    let scale = f32::from_bits((127 + 112) << 23);
    for (o, &h) in out.iter_mut().zip(half) {
        let h = u32::from(h);
        let magnitude = f32::from_bits((h & 0x7fff) << 13) * scale;
        *o = f32::from_bits(magnitude.to_bits() | ((h & 0x8000) << 16));
    }
}

/// The `R × T` dot products of `R` weight rows with `T` tokens.
#[inline(always)]
fn tile<S: Simd, const R: usize, const T: usize>(
    simd: S,
    w: [&[f32]; R],
    x: [&[f32]; T],
) -> [[f32; T]; R] {
    let w = w.map(S::as_simd_f32s);
    let x = x.map(S::as_simd_f32s);
    let mut acc = [[simd.splat_f32s(0.0); T]; R];
    for i in 0..w[0].0.len() {
        // Filled in a loop: `array::from_fn` is not always inlined here.
        let mut xs = [simd.splat_f32s(0.0); T];
        for (v, x) in xs.iter_mut().zip(&x) {
            *v = x.0[i];
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            let wv = w[r].0[i];
            for (a, &xv) in acc.iter_mut().zip(&xs) {
                *a = simd.mul_add_e_f32s(wv, xv, *a);
            }
        }
    }
    let mut dots = [[0f32; T]; R];
    for (r, (dots, acc)) in dots.iter_mut().zip(&acc).enumerate() {
        for (j, (dot, &acc)) in dots.iter_mut().zip(acc).enumerate() {
            let tail: f32 = w[r].1.iter().zip(x[j].1).map(|(a, b)| a * b).sum();
            *dot = simd.reduce_sum_f32s(acc) + tail;
        }
    }
    dots
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-1, 1) that f16 holds exactly.
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let v = ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0;
                f16::from_f32(v).to_f32()
            })
            .collect()
    }

    fn naive(w: &[f32], b: &[f32], x: &[f32], k: usize) -> Vec<f32> {
        let (n, o) = (x.len() / k, b.len());
        let mut y = vec![0f64; n * o];
        for t in 0..n {
            for r in 0..o {
                let dot: f64 = (0..k)
                    .map(|i| f64::from(w[r * k + i]) * f64::from(x[t * k + i]))
                    .sum();
                y[t * o + r] = dot + f64::from(b[r]);
            }
        }
        y.into_iter().map(|v| v as f32).collect()
    }

    #[test]
    fn multiplies_like_the_textbook_product_at_every_shape() {
        // Row and token counts around the block sizes, widths around the
        // SIMD widths (tails included); the last is split over threads.
        for (outputs, inputs) in [
            (1, 1),
            (3, 7),
            (4, 8),
            (5, 13),
            (9, 16),
            (12, 33),
            (8, 384),
            (66, 2048),
        ] {
            let w = values(outputs * inputs, 1);
            let b = values(outputs, 2);
            let layer = Dense::new(&w, b.clone(), inputs).unwrap();
            for tokens in 1..=7 {
                let x = values(tokens * inputs, tokens as u64 + 3);
                let ours = layer.forward(&x);
                let want = naive(&w, &b, &x, inputs);
                assert_eq!(ours.len(), want.len());
                for (a, b) in ours.iter().zip(&want) {
                    assert!(
                        (a - b).abs() <= 1e-5 * (1.0 + b.abs()) * inputs as f32,
                        "{outputs}×{inputs}, {tokens} tokens: {a} against {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn refuses_a_weight_of_the_wrong_size() {
        assert!(Dense::new(&[1.0; 6], vec![0.0; 2], 4).is_err());
        assert!(Dense::new(&[], vec![], 0).is_err());
        assert_eq!(Dense::new(&[1.0; 8], vec![0.0; 2], 4).unwrap().outputs(), 2);
    }

    #[test]
    fn widens_every_finite_f16_exactly() {
        let bits: Vec<u16> = (0..=u16::MAX)
            .filter(|&b| f16::from_bits(b).is_finite())
            .collect();
        let mut out = vec![0f32; bits.len()];
        widen(&bits, &mut out);
        for (&b, &o) in bits.iter().zip(&out) {
            assert_eq!(
                o.to_bits(),
                f16::from_bits(b).to_f32().to_bits(),
                "{b:#06x}"
            );
        }
    }

    #[test]
    fn rounds_weights_to_f16() {
        let layer = Dense::new(&[1.0 / 3.0], vec![0.0], 1).unwrap();
        let y = layer.forward(&[3.0]);
        assert_eq!(y, vec![f16::from_f32(1.0 / 3.0).to_f32() * 3.0]);
    }
}
