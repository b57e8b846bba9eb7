//! What the learned classifier sees of a conversation: hashed features.
//!
//! From the latest human request's prose (never the code, logs or data
//! pasted with it): words, word pairs and the letter trigrams of each word
//! (typos, other languages and scripts); Chinese and Japanese, written
//! without spaces, as overlapping character pairs (`routing::words`).
//! From its shape: how long the prose
//! is, how much material came with it, whether that carries an error, a
//! quick-fact opening, marks of scale, the lexicon's cues and the rules
//! classifier's own score (`own`). From the conversation (`context`): how
//! the request before it was classified on its own, weighed by how much the
//! latest one continues it ("yes go ahead" inherits the work before it; a
//! full new request does not). The depth of an agent loop is not a feature:
//! the label is the work asked for, however many tool calls it has taken.
//!
//! Each feature is a name hashed (FNV-1a) into a fixed number of buckets;
//! names are kept only for the features an explanation can show.

use super::super::classifier::{self, Split};
use super::super::lexicon::{CHEAP, LOCAL, PREMIUM};
use super::super::words::{count as count_words, tokens as script_tokens};

/// Words of prose read at most (the opening of a request says what it is).
const MAX_WORDS: usize = 400;
/// A follow-up this short (in words of prose) continues the work before it.
const SHORT_FOLLOW_UP: usize = 8;

/// One feature: its bucket, its value and, when it can explain, its name.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// Bucket index.
    pub bucket: u32,
    /// Value (1 for a present indicator; scaled within text groups).
    pub value: f32,
    /// Readable name, for explanations (`None` for letter trigrams).
    pub name: Option<String>,
}

/// Hash a feature name into `buckets` (FNV-1a, 64 bit).
fn bucket(kind: &str, text: &str, buckets: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in kind.bytes().chain([0xff]).chain(text.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % u64::from(buckets)) as u32
}

/// Collects features for one conversation.
struct Sink {
    buckets: u32,
    out: Vec<Feature>,
}

impl Sink {
    fn named(&mut self, kind: &str, text: &str, value: f32) {
        self.out.push(Feature {
            bucket: bucket(kind, text, self.buckets),
            value,
            name: Some(format!("{kind}:{text}")),
        });
    }

    fn flag(&mut self, kind: &str, text: &str) {
        self.named(kind, text, 1.0);
    }

    /// Words, word pairs and letter trigrams of prose.
    fn text(&mut self, prose: &str) {
        let mut words: Vec<String> = Vec::new();
        for w in prose
            .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '_' || c == '-'))
            .map(|w| w.trim_matches(['\'', '-']))
            .filter(|w| !w.is_empty())
        {
            if words.len() >= MAX_WORDS {
                break;
            }
            script_tokens(w, &mut words);
        }
        words.truncate(MAX_WORDS);
        if words.is_empty() {
            return;
        }
        let v = 1.0 / (words.len() as f32).sqrt();
        for w in &words {
            self.named("w", w, v);
        }
        for pair in words.windows(2) {
            self.named("b", &format!("{} {}", pair[0], pair[1]), v);
        }
        let mut grams = 0usize;
        let start = self.out.len();
        for w in &words {
            let chars: Vec<char> = std::iter::once('<')
                .chain(w.chars())
                .chain(std::iter::once('>'))
                .collect();
            for g in chars.windows(3) {
                let g: String = g.iter().collect();
                self.out.push(Feature {
                    bucket: bucket("t", &g, self.buckets),
                    value: 0.0,
                    name: None,
                });
                grams += 1;
            }
        }
        let tv = 1.0 / (grams.max(1) as f32).sqrt();
        self.out[start..].iter_mut().for_each(|f| f.value = tv);
    }
}

fn bucket_of(n: usize, edges: &[(usize, &'static str)]) -> &'static str {
    edges
        .iter()
        .find(|(upto, _)| n <= *upto)
        .map_or("many", |(_, name)| name)
}

fn prose_words(split: &Split) -> usize {
    count_words(&split.prose)
}

/// Cues of the lexicon that occur in `prose`, as features.
fn cues(sink: &mut Sink, kind: &str, prose: &str) {
    let mut reasons = Vec::new();
    for list in [PREMIUM, CHEAP, LOCAL] {
        classifier::weigh(prose, list, &mut reasons);
    }
    for (_, reason) in reasons {
        sink.flag(kind, &reason);
    }
}

/// What the context features need to know about the latest request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// Words of prose in it.
    pub words: usize,
    /// It asks for something trivial of its own (a quick fact, a strong
    /// local cue): it does not continue the work before it.
    pub trivial: bool,
    /// It opens a new task of its own (`asks_anew`).
    pub new_ask: bool,
}

/// Verbs a request opens with when it sets a task.
const TASK_VERBS: &[&str] = &[
    "add",
    "audit",
    "build",
    "convert",
    "create",
    "debug",
    "design",
    "document",
    "explain",
    "find",
    "fix",
    "generate",
    "implement",
    "investigate",
    "make",
    "migrate",
    "optimize",
    "plan",
    "port",
    "profile",
    "propose",
    "redesign",
    "refactor",
    "review",
    "rewrite",
    "set",
    "translate",
    "write",
];

/// Openings that only address the reader ("hi, could you please …").
const ADDRESS: &[&str] = &[
    "hi", "hey", "hello", "please", "pls", "can", "could", "would", "you", "help", "me", "i",
    "need", "want", "to", "let's", "lets",
];

/// Words that point back at what came before ("do it for the others too").
const BACK_REFERENCES: &[&str] = &[
    "it",
    "its",
    "them",
    "those",
    "same",
    "also",
    "too",
    "again",
    "instead",
    "above",
    "previous",
    "earlier",
    "discussed",
    "mentioned",
];

/// Whether a request sets a task of its own rather than carrying on the
/// one before it: a full request (six words or more) whose first word,
/// past any address to the reader, is a task verb, and that points back at
/// nothing ("implement a b-tree with range scans and property tests" after
/// an unrelated question; not "now write tests for it", not "agreed. write
/// the code", not "ok do it").
pub fn asks_anew(prose: &str, words: usize) -> bool {
    if words < 6 {
        return false;
    }
    let tokens: Vec<&str> = prose
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .collect();
    let opening = tokens.iter().find(|w| !ADDRESS.contains(w));
    opening.is_some_and(|w| TASK_VERBS.contains(w))
        && !tokens.iter().any(|w| BACK_REFERENCES.contains(w))
}

/// The features of one request on its own (no conversation), and its shape.
pub fn own(prompt: &str, buckets: u32) -> (Vec<Feature>, Shape) {
    let mut sink = Sink {
        buckets,
        out: Vec::with_capacity(256),
    };
    sink.flag("bias", "");
    let split = classifier::split(prompt);
    let prose = split.prose.to_lowercase();
    let words = prose_words(&split);
    sink.text(&prose);
    cues(&mut sink, "cue", &prose);
    let rules = classifier::score_prompt(prompt, &mut Vec::new());
    sink.named("rules", "score", (rules.score - 0.45) as f32 * 2.0);
    const WORDS: &[(usize, &str)] = &[
        (0, "0"),
        (3, "1-3"),
        (6, "4-6"),
        (10, "7-10"),
        (15, "11-15"),
        (25, "16-25"),
        (40, "26-40"),
        (80, "41-80"),
    ];
    sink.flag("prose words", bucket_of(words, WORDS));
    const LINES: &[(usize, &str)] = &[(0, "0"), (5, "1-5"), (20, "6-20"), (60, "21-60")];
    sink.flag("pasted lines", bucket_of(split.material_lines, LINES));
    if split.material_lines > 0 && classifier::has_trace(prompt) {
        sink.flag("shape", "pasted error or failing test");
    }
    let first_line = prose.lines().next().unwrap_or("");
    if classifier::is_fact_question(first_line, words) {
        sink.flag("shape", "a definition or quick fact");
    }
    let marks = classifier::scale_marks(&prose).min(2);
    if marks > 0 {
        sink.flag(
            "shape",
            if marks == 1 {
                "one mark of scale"
            } else {
                "marks of scale"
            },
        );
    }
    if classifier::has_cue(&prose, "we") || classifier::has_cue(&prose, "our") {
        sink.flag("shape", "about the team's own system");
    }
    let shape = Shape {
        words,
        trivial: rules.trivial,
        new_ask: asks_anew(&prose, words),
    };
    (sink.out, shape)
}

/// How much a request continues the one before it rather than asking
/// something new: 1 for a short follow-up ("yes go ahead"), less the more
/// it says, 0 when it asks for something trivial or sets a task of its own.
pub fn continuation(shape: Shape) -> f32 {
    if shape.trivial || shape.new_ask {
        0.0
    } else {
        (SHORT_FOLLOW_UP as f32 / shape.words.max(1) as f32).min(1.0)
    }
}

/// The features of the conversation around a request: how the request
/// before it was classified on its own (`previous`, the level
/// probabilities), weighed by how much this one continues it; none for a
/// request that sets a new task (`Shape::new_ask`).
pub fn context(
    shape: Shape,
    previous: Option<[f64; 3]>,
    out_of_reach: bool,
    buckets: u32,
) -> Vec<Feature> {
    let mut sink = Sink {
        buckets,
        out: Vec::new(),
    };
    if out_of_reach {
        sink.flag("shape", "request out of reach");
    }
    // A request that sets a task of its own is read on its own.
    if let Some(p) = previous.filter(|_| !shape.new_ask) {
        let s = continuation(shape);
        sink.named("follow-up", "after", s);
        sink.named("follow-up", "background", 1.0 - s);
        for (level, prob) in ["local", "cheap", "premium"].iter().zip(p) {
            sink.named("after level", level, prob as f32 * s);
            sink.named("background level", level, prob as f32 * (1.0 - s));
        }
    }
    sink.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(prompt: &str) -> Vec<String> {
        own(prompt, 1 << 18)
            .0
            .into_iter()
            .filter_map(|f| f.name)
            .collect()
    }

    #[test]
    fn prose_is_read_and_pasted_code_is_not() {
        let n = names("add a docstring\n\n```\nfn deadlock_here() {}\n```");
        assert!(n.contains(&"w:docstring".to_string()), "{n:?}");
        assert!(n.contains(&"b:a docstring".to_string()));
        assert!(!n.iter().any(|f| f.contains("deadlock")), "{n:?}");
        assert!(n.contains(&"pasted lines:1-5".to_string()));
    }

    #[test]
    fn a_short_follow_up_continues_the_work_before_it() {
        let (_, short) = own("yes go ahead", 1 << 18);
        let (_, long) = own(
            "now write a function that reads the config file and validates every field in it against the schema",
            1 << 18,
        );
        let (_, trivial) = own("what is a mutex", 1 << 18);
        assert_eq!(continuation(short), 1.0);
        assert!(continuation(long) < 0.5, "{long:?}");
        assert_eq!(continuation(trivial), 0.0);
        let f = context(short, Some([0.0, 0.1, 0.9]), false, 1 << 18);
        let after = f
            .iter()
            .find(|f| f.name.as_deref() == Some("after level:premium"))
            .unwrap();
        assert!((after.value - 0.9).abs() < 1e-6);
        assert!(context(short, None, false, 1 << 18).is_empty());
    }

    #[test]
    fn a_new_task_does_not_continue_the_one_before_it() {
        for prompt in [
            "implement a b-tree with insert, delete and range scans, with property tests",
            "hi, could you please write a migration that splits the users table in two",
        ] {
            let (_, shape) = own(prompt, 1 << 18);
            assert!(shape.new_ask, "{prompt}");
            assert_eq!(continuation(shape), 0.0, "{prompt}");
        }
        for prompt in [
            "now write unit tests for the function you wrote",
            "agreed. write the code",
            "sounds good, implement it",
            "add input validation to those endpoints as well please",
            "fix the same bug in the billing service too",
        ] {
            let (_, shape) = own(prompt, 1 << 18);
            assert!(!shape.new_ask, "{prompt}");
        }
    }

    #[test]
    fn buckets_are_stable_and_in_range() {
        assert_eq!(
            bucket("w", "deadlock", 1 << 18),
            bucket("w", "deadlock", 1 << 18)
        );
        assert_ne!(bucket("w", "ab", 1 << 18), bucket("wa", "b", 1 << 18));
        let (f, _) = own("как удалить все контейнеры docker?", 1000);
        assert!(f.iter().all(|f| f.bucket < 1000));
    }
}
