//! Measuring the semantic cache on labelled pairs: for each question, lines
//! that mean the same (a hit would be right) and near misses (a hit would
//! serve the wrong answer). For every threshold it counts the paraphrases
//! served and the wrong answers served, with and without the lexical guard,
//! so a team can see what a setting means on its own questions.
//!
//! The file format, one line each (blank lines and `#` comments skipped):
//!
//! ```text
//! Q How do I undo the last git commit but keep my changes?
//! = How can I revert my most recent commit without losing the changes?
//! ! direction: How do I undo the last git commit and discard my changes?
//! ```
//!
//! `Q` starts a question (its answer is the cached one); `=` is a request
//! that should be served that answer; `!` one that must not, with its
//! category before the colon. Questions alternate between the `dev` split
//! (the first, third, …) and the `test` split; after a line `@ holdout`
//! (or `@ holdout2`, …) every question is in that held-out split (written
//! before a change and scored once after it).

use super::{cosine, guard};

/// One labelled pair: a request, the cached question it is compared with.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// The question whose answer is in the cache.
    pub cached: String,
    /// The request that looks it up.
    pub asked: String,
    /// Serving the cached answer would be right.
    pub same: bool,
    /// The near miss's category (`""` for paraphrases).
    pub category: String,
    /// `dev`, `test` or a held-out split's name.
    pub split: &'static str,
}

/// Read the pairs file format.
pub fn parse(text: &str) -> Result<Vec<Pair>, String> {
    let mut out = Vec::new();
    let mut question: Option<(String, &'static str)> = None;
    let mut questions = 0usize;
    let mut holdout: Option<&'static str> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (mark, rest) = line.split_at(1);
        let rest = rest.trim();
        let no_question = || format!("line {}: a pair before any `Q` line", n + 1);
        match mark {
            "@" => holdout = Some(held_out(rest).ok_or_else(|| unknown_split(n, rest))?),
            "Q" => {
                let split = if let Some(name) = holdout {
                    name
                } else if questions.is_multiple_of(2) {
                    "dev"
                } else {
                    "test"
                };
                questions += 1;
                question = Some((rest.to_string(), split));
            }
            "=" => {
                let (q, split) = question.as_ref().ok_or_else(no_question)?;
                out.push(Pair {
                    cached: q.clone(),
                    asked: rest.to_string(),
                    same: true,
                    category: String::new(),
                    split,
                });
            }
            "!" => {
                let (q, split) = question.as_ref().ok_or_else(no_question)?;
                let (category, asked) = rest
                    .split_once(": ")
                    .ok_or_else(|| format!("line {}: expected `! category: text`", n + 1))?;
                out.push(Pair {
                    cached: q.clone(),
                    asked: asked.trim().to_string(),
                    same: false,
                    category: category.trim().to_string(),
                    split,
                });
            }
            _ => {
                return Err(format!(
                    "line {}: starts with neither Q, =, ! nor `@ holdout…`",
                    n + 1
                ));
            }
        }
    }
    Ok(out)
}

/// The held-out splits a pairs file may name after `@`.
pub const HELD_OUT: &[&str] = &[
    "holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6", "holdout7",
];

fn held_out(name: &str) -> Option<&'static str> {
    HELD_OUT.iter().copied().find(|h| *h == name)
}

fn unknown_split(line: usize, name: &str) -> String {
    format!(
        "line {}: `@ {name}` names no held-out split (one of {})",
        line + 1,
        HELD_OUT.join(", ")
    )
}

/// A pair with its similarity and the guard's verdict.
#[derive(Debug, Clone)]
pub struct Scored {
    /// The pair.
    pub pair: Pair,
    /// Cosine similarity of the two embeddings.
    pub similarity: f32,
    /// Why the guard refuses it (`None`: it lets it through).
    pub refused: Option<&'static str>,
    /// The guard explains every content word that differs.
    pub explained: bool,
}

impl Scored {
    /// Whether the gateway serves it at these settings (with the guard).
    pub fn served(&self, threshold: f32, explained_threshold: f32) -> bool {
        let agreement = if self.explained {
            guard::Agreement::Explained
        } else {
            guard::Agreement::Reworded
        };
        self.refused.is_none() && self.similarity >= agreement.needs(threshold, explained_threshold)
    }
}

/// Score pairs with an embedder (`embed` returns a unit vector).
pub fn score<E>(pairs: &[Pair], mut embed: E) -> Result<Vec<Scored>, String>
where
    E: FnMut(&str) -> Result<Vec<f32>, String>,
{
    let mut cache: std::collections::HashMap<String, Vec<f32>> = Default::default();
    let mut vector = |text: &str| -> Result<Vec<f32>, String> {
        if let Some(v) = cache.get(text) {
            return Ok(v.clone());
        }
        let v = embed(text)?;
        cache.insert(text.to_string(), v.clone());
        Ok(v)
    };
    pairs
        .iter()
        .map(|p| {
            let similarity = cosine(&vector(&p.asked)?, &vector(&p.cached)?);
            let verdict = guard::judge(&p.asked, &p.cached);
            Ok(Scored {
                pair: p.clone(),
                similarity,
                refused: verdict.err(),
                explained: verdict == Ok(guard::Agreement::Explained),
            })
        })
        .collect()
}

/// What one threshold does.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The similarity threshold.
    pub threshold: f32,
    /// Paraphrases served from the cache.
    pub served: usize,
    /// Near misses served (wrong answers).
    pub wrong: usize,
}

impl Row {
    /// Right hits among all hits (1 when nothing was served).
    pub fn precision(&self) -> f64 {
        let hits = self.served + self.wrong;
        if hits == 0 {
            1.0
        } else {
            self.served as f64 / hits as f64
        }
    }
}

/// Hits at `threshold` on similarity alone, or (`guarded`) as the gateway
/// serves them: through the guard, pairs whose every differing word it
/// explains from `explained_threshold`.
pub fn at(scored: &[Scored], threshold: f32, explained_threshold: f32, guarded: bool) -> Row {
    let hit = |s: &&Scored| {
        if guarded {
            s.served(threshold, explained_threshold)
        } else {
            s.similarity >= threshold
        }
    };
    Row {
        threshold,
        served: scored.iter().filter(|s| s.pair.same).filter(hit).count(),
        wrong: scored.iter().filter(|s| !s.pair.same).filter(hit).count(),
    }
}

/// The median similarity of paraphrases (`same`) or of near misses.
pub fn median(scored: &[Scored], same: bool) -> Option<f32> {
    let mut v: Vec<f32> = scored
        .iter()
        .filter(|s| s.pair.same == same)
        .map(|s| s.similarity)
        .collect();
    v.sort_by(f32::total_cmp);
    v.get(v.len() / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str =
        "# c\nQ pear apple\n= apple pear\n! object: pear apple plum\nQ kiwi\n= kiwi!\n";

    #[test]
    fn parses_questions_and_splits() {
        let p = parse(FILE).unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!((p[0].same, p[0].split), (true, "dev"));
        assert_eq!(
            (p[1].category.as_str(), p[1].asked.as_str()),
            ("object", "pear apple plum")
        );
        assert_eq!((p[2].split, p[2].cached.as_str()), ("test", "kiwi"));
        assert!(parse("= x").unwrap_err().contains("before any `Q`"));
        assert!(parse("Q a\n! no colon").unwrap_err().contains("category"));
        assert!(parse("? a").unwrap_err().contains("neither"));
        let later = parse(&format!("{FILE}@ holdout\nQ fig\n= figs\n")).unwrap();
        assert_eq!(later[3].split, "holdout");
        let two = format!("{FILE}@ holdout\nQ fig\n= figs\n@ holdout2\nQ lime\n= limes\n");
        let two = parse(&two).unwrap();
        assert_eq!((two[3].split, two[4].split), ("holdout", "holdout2"));
        let unknown = parse("@ later\nQ a\n").unwrap_err();
        assert!(
            unknown.contains("`@ later` names no held-out split"),
            "{unknown}"
        );
    }

    #[test]
    fn an_explained_rewording_is_served_from_the_lower_threshold() {
        let pair = parse("Q delete a branch\n= remove a branch\n").unwrap()[0].clone();
        let scored = |explained, refused| Scored {
            pair: pair.clone(),
            similarity: 0.85,
            refused,
            explained,
        };
        assert!(scored(true, None).served(0.92, 0.80));
        assert!(!scored(false, None).served(0.92, 0.80));
        assert!(!scored(true, Some("different numbers")).served(0.92, 0.80));
        // The lower threshold never raises the bar.
        assert!(scored(false, None).served(0.85, 0.90));
        assert!(!scored(true, None).served(0.92, 0.90));
    }

    #[test]
    fn counts_hits_with_and_without_the_guard() {
        // Orthogonal vectors unless the texts share their first word.
        let embed = |t: &str| -> Result<Vec<f32>, String> {
            Ok(match t.split(' ').next() {
                Some("pear") => vec![1.0, 0.0],
                Some("apple") => vec![0.8, 0.6],
                _ => vec![0.0, 1.0],
            })
        };
        let s = score(&parse(FILE).unwrap(), embed).unwrap();
        // "apple pear" vs "pear apple": similarity 0.8, the guard refuses
        // the same words in another order.
        assert_eq!(s[0].refused, Some("the same words in another order"));
        assert_eq!(
            at(&s, 0.7, 0.7, false),
            Row {
                threshold: 0.7,
                served: 2,
                wrong: 1
            }
        );
        assert_eq!(
            at(&s, 0.7, 0.7, true),
            Row {
                threshold: 0.7,
                served: 1,
                wrong: 1
            }
        );
        assert_eq!(at(&s, 0.9, 0.9, false).served, 1);
        assert!((at(&s, 0.7, 0.7, false).precision() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(median(&s, false), Some(1.0));
    }
}
