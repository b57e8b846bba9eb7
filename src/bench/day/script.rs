//! The simulated working day, as data: for each developer, Claude Code
//! sessions of tasks, each task a person's request and the agent loop it
//! sets off — reads, searches, edits, test runs that fail and pass,
//! subagents, questions, follow-ups — with the pauses between them.
//!
//! Everything is drawn from a seeded generator, so one seed is one day.
//! Tasks get their tier from the labelled prompts they are drawn from, in
//! the dev set's mix (45% local, 30% cheap, 25% premium); the shape of the
//! loop depends on the tier, as it does in real work: a premium task
//! explores, delegates, edits in several places and meets failing tests; a
//! cheap one reads, edits and runs the tests; a local one mostly answers.

use crate::routing::classifier::Level;
use serde_json::{Value, json};

/// A small deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn bits(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A whole number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.bits() % (hi - lo + 1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.bits() % 10_000) as f64 / 10_000.0 < p
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.bits() % items.len() as u64) as usize]
    }
}

/// Why a turn was scripted, for checking what the gateway did with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// A person's request that starts a task.
    Plan,
    /// A follow-up or an answer from the person.
    PersonAgain,
    /// A tool step with nothing wrong.
    Mechanical,
    /// A tool step after a failure (error, refused call, failing run, loop).
    AfterFailure,
    /// A tool step after a subagent reported or a person answered a tool.
    AfterReport,
    /// A subagent's own turn.
    Subagent,
}

/// One move in a developer's day.
#[derive(Debug, Clone)]
pub enum Action {
    /// Virtual seconds pass.
    Wait(u64),
    /// A new Claude Code session starts (its title helper runs).
    NewSession,
    /// The person writes; a request is sent.
    Person {
        text: String,
        level: Level,
        purpose: Purpose,
    },
    /// The model called a tool and it returned; a request is sent.
    Tool {
        name: &'static str,
        input: Value,
        output: String,
        is_error: bool,
        purpose: Purpose,
    },
    /// The model answered in words (nothing is sent).
    Says(String),
    /// A subagent works through its own conversation, then reports.
    Subagent { prompt: String, steps: Vec<Action> },
    /// Claude Code counts the conversation's tokens.
    CountTokens,
}

/// Labelled prompts to draw tasks from, by level.
#[derive(Debug, Clone, Default)]
pub struct Prompts {
    /// Local-level prompts.
    pub local: Vec<String>,
    /// Cheap-level prompts.
    pub cheap: Vec<String>,
    /// Premium-level prompts.
    pub premium: Vec<String>,
}

impl Prompts {
    fn of(&self, level: Level) -> &[String] {
        match level {
            Level::Local => &self.local,
            Level::Cheap => &self.cheap,
            Level::Premium => &self.premium,
        }
    }
}

const FILES: &[&str] = &[
    "src/orders/service.rs",
    "src/billing/invoice.py",
    "web/src/components/Cart.tsx",
    "internal/ledger/store.go",
    "src/main/java/com/acme/Checkout.java",
    "lib/search/index.rb",
];

const FOLLOW_UPS: &[&str] = &[
    "looks good, also update the docs for it",
    "now add tests for the edge cases we discussed",
    "can you also handle the case where the input is empty",
    "ok go ahead with that",
    "great. now do the same for the other two services",
];

const ANSWERS: &[&str] = &[
    "Keep it for one release and log a deprecation warning.",
    "Use the existing retry helper, not a new one.",
    "Yes, but only for the v2 endpoints.",
];

fn text_of(rng: &mut Rng, lines: u64, what: &str) -> String {
    (0..lines)
        .map(|i| format!("{i:>5}\t{what} line {} of the file", rng.range(1, 9999)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn read(rng: &mut Rng, purpose: Purpose) -> Action {
    let file = *rng.pick(FILES);
    let lines = rng.range(40, 300);
    Action::Tool {
        name: "Read",
        input: json!({"file_path": file}),
        output: text_of(rng, lines, "code"),
        is_error: false,
        purpose,
    }
}

fn grep(rng: &mut Rng, pattern: &str) -> Action {
    let hits = rng.range(2, 30);
    Action::Tool {
        name: "Grep",
        input: json!({"pattern": pattern}),
        output: text_of(rng, hits, "match"),
        is_error: false,
        purpose: Purpose::Mechanical,
    }
}

fn edit(rng: &mut Rng, purpose: Purpose) -> Action {
    let file = *rng.pick(FILES);
    Action::Tool {
        name: "Edit",
        input: json!({"file_path": file, "old_string": format!("v{}", rng.bits()), "new_string": "…"}),
        output: format!("The file {file} has been updated."),
        is_error: false,
        purpose,
    }
}

fn run_tests(rng: &mut Rng, pass: bool, purpose: Purpose) -> Action {
    let n = rng.range(20, 400);
    let output = if pass {
        format!("running {n} tests\n…\ntest result: ok. {n} passed; 0 failed")
    } else {
        format!(
            "running {n} tests\ntest orders::totals ... FAILED\n\nfailures:\n---- orders::totals stdout ----\nthread 'orders::totals' panicked at src/orders/service.rs:88:9:\nassertion failed\n\ntest result: FAILED. {} passed; 1 failed",
            n - 1
        )
    };
    Action::Tool {
        name: "Bash",
        input: json!({"command": format!("cargo test --quiet # run {}", rng.bits() % 1000)}),
        output,
        is_error: false,
        purpose,
    }
}

fn think(rng: &mut Rng) -> Action {
    // Tool time and the model's own time.
    Action::Wait(rng.range(4, 25))
}

/// The actions of one task.
fn task(rng: &mut Rng, prompts: &Prompts, level: Level) -> Vec<Action> {
    let pool = prompts.of(level);
    let text = if pool.is_empty() {
        "explain this".to_string()
    } else {
        rng.pick(pool).clone()
    };
    let mut a = vec![Action::Person {
        text,
        level,
        purpose: Purpose::Plan,
    }];
    let push = |a: &mut Vec<Action>, rng: &mut Rng, x: Action| {
        a.push(think(rng));
        a.push(x);
    };
    match level {
        Level::Local => {
            if rng.chance(0.5) {
                let r = read(rng, Purpose::Mechanical);
                push(&mut a, rng, r);
            }
        }
        Level::Cheap => {
            for _ in 0..rng.range(1, 2) {
                let r = read(rng, Purpose::Mechanical);
                push(&mut a, rng, r);
            }
            for _ in 0..rng.range(1, 2) {
                let e = edit(rng, Purpose::Mechanical);
                push(&mut a, rng, e);
            }
            let stubborn = rng.chance(0.08);
            let fails = if stubborn {
                3
            } else {
                u64::from(rng.chance(0.2))
            };
            for _ in 0..fails {
                let t = run_tests(rng, false, Purpose::Mechanical);
                push(&mut a, rng, t);
                let e = edit(rng, Purpose::AfterFailure);
                push(&mut a, rng, e);
            }
            let t = run_tests(rng, true, Purpose::Mechanical);
            push(&mut a, rng, t);
        }
        Level::Premium => premium_loop(rng, &mut a),
    }
    a.push(Action::Says("Done: summary of the change.".into()));
    a
}

fn premium_loop(rng: &mut Rng, a: &mut Vec<Action>) {
    let step = |a: &mut Vec<Action>, rng: &mut Rng, x: Action| {
        a.push(think(rng));
        a.push(x);
    };
    for i in 0..rng.range(3, 6) {
        let x = if i % 2 == 0 {
            read(rng, Purpose::Mechanical)
        } else {
            let pattern = format!("fn handler_{}", rng.bits() % 100);
            grep(rng, &pattern)
        };
        step(a, rng, x);
    }
    if rng.chance(0.4) {
        let mut steps = Vec::new();
        for _ in 0..rng.range(3, 5) {
            steps.push(think(rng));
            let x = if rng.chance(0.5) {
                let pattern = format!("callers_{}", rng.bits() % 100);
                grep(rng, &pattern)
            } else {
                read(rng, Purpose::Subagent)
            };
            steps.push(x);
        }
        a.push(Action::Subagent {
            prompt: "Find every caller of the order totals function and list the files and lines"
                .into(),
            steps,
        });
    }
    if rng.chance(0.15) {
        let x = Action::Tool {
            name: "AskUserQuestion",
            input: json!({"question": "Which API version should change?"}),
            output: "v2 only".into(),
            is_error: false,
            purpose: Purpose::AfterReport,
        };
        step(a, rng, x);
    }
    if rng.chance(0.25) {
        let x = Action::Tool {
            name: "Read",
            input: json!({"file_path": "src/orders/legacy.rs"}),
            output: "File does not exist. Current working directory: /repo".into(),
            is_error: true,
            purpose: Purpose::AfterFailure,
        };
        step(a, rng, x);
    }
    if rng.chance(0.08) {
        let same = grep(rng, "TODO(loop)");
        step(a, rng, same.clone());
        step(a, rng, same);
    }
    for _ in 0..rng.range(2, 5) {
        let e = edit(rng, Purpose::Mechanical);
        step(a, rng, e);
    }
    if rng.chance(0.15) {
        let x = Action::Tool {
            name: "Edit",
            input: json!({"file_path": "src/orders/service.rs", "old_string": "fn totals("}),
            output: "<tool_use_error>String to replace not found in file.</tool_use_error>".into(),
            is_error: true,
            purpose: Purpose::AfterFailure,
        };
        step(a, rng, x);
    }
    if rng.chance(0.6) {
        let t = run_tests(rng, false, Purpose::Mechanical);
        step(a, rng, t);
        let e = edit(rng, Purpose::AfterFailure);
        step(a, rng, e);
    }
    let t = run_tests(rng, true, Purpose::Mechanical);
    step(a, rng, t);
    if rng.chance(0.2) {
        a.push(Action::Says(
            "Should the old endpoint stay available during the migration?".into(),
        ));
        a.push(Action::Wait(rng.range(20, 120)));
        a.push(Action::Person {
            text: rng.pick(ANSWERS).to_string(),
            level: Level::Premium,
            purpose: Purpose::PersonAgain,
        });
        let e = edit(rng, Purpose::Mechanical);
        step(a, rng, e);
    }
    if rng.chance(0.4) {
        a.push(Action::Says(
            "Done. The change is in place and tests pass.".into(),
        ));
        a.push(Action::Wait(rng.range(30, 180)));
        a.push(Action::Person {
            text: rng.pick(FOLLOW_UPS).to_string(),
            level: Level::Premium,
            purpose: Purpose::PersonAgain,
        });
        for _ in 0..rng.range(2, 4) {
            let e = edit(rng, Purpose::Mechanical);
            step(a, rng, e);
        }
        let t = run_tests(rng, true, Purpose::Mechanical);
        step(a, rng, t);
    }
}

/// The tier of a task drawn in the dev set's mix.
fn level(rng: &mut Rng) -> Level {
    match rng.range(1, 100) {
        1..=45 => Level::Local,
        46..=75 => Level::Cheap,
        _ => Level::Premium,
    }
}

/// One developer's day: sessions of one to three tasks until `hours` of
/// virtual time are used.
pub fn developer(rng: &mut Rng, prompts: &Prompts, hours: u64) -> Vec<Action> {
    let mut out = Vec::new();
    let mut clock = 0u64;
    let end = hours * 3600;
    while clock < end {
        out.push(Action::NewSession);
        for t in 0..rng.range(1, 3) {
            if t > 0 {
                out.push(Action::Wait(rng.range(60, 600)));
            }
            let l = level(rng);
            let actions = task(rng, prompts, l);
            clock += actions.iter().map(duration).sum::<u64>();
            out.extend(actions);
            if rng.chance(0.3) {
                out.push(Action::CountTokens);
            }
        }
        let gap = rng.range(5 * 60, 40 * 60);
        out.push(Action::Wait(gap));
        clock += gap;
    }
    out
}

fn duration(a: &Action) -> u64 {
    match a {
        Action::Wait(s) => *s,
        Action::Subagent { steps, .. } => steps.iter().map(duration).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompts() -> Prompts {
        Prompts {
            local: vec!["what does ls -la do".into()],
            cheap: vec!["add a --verbose flag".into()],
            premium: vec!["design the sharding plan".into()],
        }
    }

    #[test]
    fn one_seed_is_one_day() {
        let a = format!("{:?}", developer(&mut Rng::new(7), &prompts(), 8));
        let b = format!("{:?}", developer(&mut Rng::new(7), &prompts(), 8));
        let c = format!("{:?}", developer(&mut Rng::new(8), &prompts(), 8));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn a_day_has_every_kind_of_turn_in_the_dev_set_mix() {
        let mut rng = Rng::new(2026);
        let day: Vec<Action> = (0..6)
            .flat_map(|_| developer(&mut rng, &prompts(), 8))
            .collect();
        let plans: Vec<Level> = day
            .iter()
            .filter_map(|a| match a {
                Action::Person {
                    level,
                    purpose: Purpose::Plan,
                    ..
                } => Some(*level),
                _ => None,
            })
            .collect();
        let share =
            |l: Level| plans.iter().filter(|x| **x == l).count() as f64 / plans.len() as f64;
        assert!(plans.len() > 60, "{} tasks", plans.len());
        assert!((share(Level::Premium) - 0.25).abs() < 0.1);
        assert!((share(Level::Local) - 0.45).abs() < 0.1);
        assert!(day.iter().any(|a| matches!(a, Action::Subagent { .. })));
        assert!(
            day.iter()
                .any(|a| matches!(a, Action::Tool { is_error: true, .. }))
        );
        assert!(day.iter().any(|a| matches!(a, Action::CountTokens)));
    }
}
