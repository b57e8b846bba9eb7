//! An experiment, not a feature: would the in-process MiniLM embedder help
//! the router where the shipped linear model is unsure? Embeds every corpus
//! prompt, trains a softmax head on the training split's embeddings, and
//! scores on the test and holdout splits: the linear model alone, the head
//! alone, their average, and the average used only where the linear model's
//! top probability is below a cutoff (how often that slow path runs is
//! printed). BENCHMARKS.md ("Routing: the MiniLM slow path") has the result.
//!
//! eval "$(scripts/local-model.sh)"
//! cargo run --release --example route_embed -- routing/corpus.jsonl "$SWITCHYARD_MINILM_DIR"

use switchyard::cache::semantic::local::LocalEmbedder;
use switchyard::routing::classifier::{Level, level_of_probabilities};
use switchyard::routing::devset::{self, Line};
use switchyard::routing::learned::Model;

const DIM: usize = 384;

struct Item {
    split: String,
    level: usize,
    linear: [f64; 3],
    vector: Vec<f32>,
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn softmax(z: [f64; 3]) -> [f64; 3] {
    let m = z.iter().cloned().fold(f64::MIN, f64::max);
    let e = z.map(|x| (x - m).exp());
    let s: f64 = e.iter().sum();
    e.map(|x| x / s)
}

/// A softmax regression on the vectors (full-batch gradient descent, L2).
struct Head {
    w: Vec<[f64; 3]>,
    b: [f64; 3],
}

impl Head {
    fn probabilities(&self, v: &[f32]) -> [f64; 3] {
        let mut z = self.b;
        for (x, w) in v.iter().zip(&self.w) {
            for k in 0..3 {
                z[k] += f64::from(*x) * w[k];
            }
        }
        softmax(z)
    }

    fn train(items: &[&Item], epochs: usize, rate: f64, l2: f64) -> Head {
        let mut h = Head {
            w: vec![[0.0; 3]; DIM],
            b: [0.0; 3],
        };
        let n = items.len() as f64;
        for _ in 0..epochs {
            let mut gw = vec![[0.0; 3]; DIM];
            let mut gb = [0.0; 3];
            for it in items {
                let p = h.probabilities(&it.vector);
                for k in 0..3 {
                    let g = p[k] - if it.level == k { 1.0 } else { 0.0 };
                    gb[k] += g;
                    for (d, x) in it.vector.iter().enumerate() {
                        gw[d][k] += g * f64::from(*x);
                    }
                }
            }
            for (w, g) in h.w.iter_mut().zip(&gw) {
                for (wk, gk) in w.iter_mut().zip(g) {
                    *wk -= rate * (gk / n + l2 * *wk);
                }
            }
            for (b, g) in h.b.iter_mut().zip(&gb) {
                *b -= rate * g / n;
            }
        }
        h
    }
}

#[derive(Default)]
struct Tally {
    n: usize,
    right: usize,
    premium: usize,
    premium_local: usize,
    premium_cheap: usize,
    slow: usize,
}

impl Tally {
    fn add(&mut self, want: usize, got: Level, slow: bool) {
        let got = got as usize;
        self.n += 1;
        self.right += usize::from(want == got);
        self.slow += usize::from(slow);
        if want == 2 {
            self.premium += 1;
            self.premium_local += usize::from(got == 0);
            self.premium_cheap += usize::from(got == 1);
        }
    }

    fn line(&self, name: &str) -> String {
        let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
        format!(
            "{name:<34} {:>5.1}%  premium→local {:>4.1}%  premium→cheap {:>4.1}%  slow path {:>5.1}%",
            pct(self.right, self.n),
            pct(self.premium_local, self.premium),
            pct(self.premium_cheap, self.premium),
            pct(self.slow, self.n)
        )
    }
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [corpus, model_dir] = args.as_slice() else {
        return Err("usage: route_embed CORPUS.jsonl MINILM_DIR".into());
    };
    let text = std::fs::read_to_string(corpus).map_err(|e| format!("{corpus}: {e}"))?;
    let lines: Vec<Line> = devset::parse(&text)?;
    let embedder = LocalEmbedder::load(std::path::Path::new(model_dir))?;
    let model = Model::builtin()?;
    let thresholds = model.thresholds();
    let started = std::time::Instant::now();
    let mut items = Vec::new();
    for line in &lines {
        let (Some(c), Some(level)) = (
            devset::conversation_of(line),
            line.tier.as_deref().and_then(devset::level_named),
        ) else {
            continue;
        };
        items.push(Item {
            split: line.split.clone().unwrap_or_default(),
            level: level as usize,
            linear: model.probabilities(&model.features(&c)),
            vector: unit(embedder.embed(&c.prompt)?),
        });
    }
    eprintln!(
        "embedded {} prompts in {:.1} s ({:.1} ms each)",
        items.len(),
        started.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64() * 1000.0 / items.len() as f64
    );
    let train: Vec<&Item> = items.iter().filter(|i| i.split == "train").collect();
    let epochs = std::env::var("EPOCHS")
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(2000);
    let head = Head::train(&train, epochs, 4.0, 1e-5);
    let fit = train
        .iter()
        .filter(|i| {
            let p = head.probabilities(&i.vector);
            let best = (0..3).fold(0, |b, k| if p[k] > p[b] { k } else { b });
            best == i.level
        })
        .count();
    println!(
        "softmax head: {epochs} passes, {:.1}% right on its own training split",
        100.0 * fit as f64 / train.len().max(1) as f64
    );
    for split in ["test", "holdout"] {
        let set: Vec<&Item> = items.iter().filter(|i| i.split == split).collect();
        let mut linear = Tally::default();
        let mut embedded = Tally::default();
        let mut averaged = Tally::default();
        let mut gated: Vec<(f64, Tally)> = [0.6, 0.7, 0.8, 0.9]
            .into_iter()
            .map(|c| (c, Tally::default()))
            .collect();
        for it in &set {
            let e = head.probabilities(&it.vector);
            let avg = [0, 1, 2].map(|k| (it.linear[k] + e[k]) / 2.0);
            linear.add(
                it.level,
                level_of_probabilities(&it.linear, &thresholds),
                false,
            );
            embedded.add(it.level, level_of_probabilities(&e, &thresholds), true);
            averaged.add(it.level, level_of_probabilities(&avg, &thresholds), true);
            let top = it.linear.iter().cloned().fold(0.0, f64::max);
            for (cut, t) in &mut gated {
                let slow = top < *cut;
                let p = if slow { avg } else { it.linear };
                t.add(it.level, level_of_probabilities(&p, &thresholds), slow);
            }
        }
        println!("{split} split ({} entries):", set.len());
        println!("  {}", linear.line("linear model (shipped)"));
        println!("  {}", embedded.line("MiniLM + softmax head"));
        println!("  {}", averaged.line("average of both, always"));
        for (cut, t) in &gated {
            println!(
                "  {}",
                t.line(&format!("average where linear top < {cut:.1}"))
            );
        }
    }
    Ok(())
}
