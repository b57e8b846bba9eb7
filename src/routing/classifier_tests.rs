//! Tests of the classifier: on its own, and on the held-out sets.

use super::*;
use crate::routing::devset;

fn level(prompt: &str) -> Level {
    let c = Conversation {
        prompt: prompt.to_string(),
        ..Conversation::default()
    };
    classify(&c, &Thresholds::default()).level
}

fn fixture(name: &str) -> Vec<devset::Line> {
    let path = format!(
        "{}/tests/fixtures/routing/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    devset::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn obvious_cases() {
    assert_eq!(
        level("write a commit message for this change"),
        Level::Local
    );
    assert_eq!(level("what does `git rebase -i` do"), Level::Local);
    assert_eq!(
        level(
            "Design the architecture of a multi-tenant billing system for our 40 microservices, with a migration plan and zero downtime"
        ),
        Level::Premium
    );
}

#[test]
fn pasted_material_does_not_make_work_harder() {
    let code = "def f(x):\n    return x + 1\n".repeat(200);
    assert_eq!(
        level(&format!(
            "add a docstring to the first function only\n\n{code}"
        )),
        Level::Local
    );
}

#[test]
fn words_that_sound_hard_in_a_definition() {
    assert_eq!(level("what is a deadlock, in two sentences"), Level::Local);
    assert_ne!(
        level("why does our service deadlock under load across 12 pods?"),
        Level::Local
    );
}

#[test]
fn follow_ups_inherit() {
    let c = Conversation {
        prompt: "yes go ahead".into(),
        previous: Some(
            "Refactor error handling across our Rust workspace of 9 crates and plan the migration"
                .into(),
        ),
        ..Conversation::default()
    };
    let r = classify(&c, &Thresholds::default());
    assert_eq!(r.level, Level::Premium, "{r:?}");
    assert!(r.reasons.iter().any(|x| x.contains("follow-up")), "{r:?}");
}

#[test]
fn reasons_explain_the_score() {
    let c = Conversation {
        prompt: "regex for an email address".into(),
        ..Conversation::default()
    };
    let r = classify(&c, &Thresholds::default());
    assert!(r.reasons[0].starts_with("a regex"), "{r:?}");
    assert!(r.score < 0.35);
}

/// The 20-query check: simple ones go local, complex ones to Claude.
#[test]
fn check_20() {
    let lines = fixture("check-20.jsonl");
    let score = devset::evaluate(&lines, |c| classify(c, &Thresholds::default()));
    assert_eq!(score.total(), 20);
    assert_eq!(
        score.matrix[0][0],
        10,
        "every simple query goes local:\n{}\n{:?}",
        score.table(),
        score.misses
    );
    assert_eq!(
        score.matrix[2][0],
        0,
        "no complex query goes local:\n{}",
        score.table()
    );
}

/// The 100-query check: 70%+ go to a cheaper model, appropriately.
#[test]
fn realistic_100() {
    let lines = fixture("realistic-100.jsonl");
    let score = devset::evaluate(&lines, |c| classify(c, &Thresholds::default()));
    let m = score.matrix;
    let cheaper = m[0][0] + m[0][1] + m[1][0] + m[1][1] + m[2][0] + m[2][1];
    let wrongly_cheaper = m[2][0] + m[2][1] + m[1][0];
    eprintln!(
        "realistic-100 accuracy {:.0}%\n{}",
        score.accuracy() * 100.0,
        score.table()
    );
    assert!(
        cheaper >= 70,
        "{cheaper}% went to cheaper models\n{}",
        score.table()
    );
    assert!(
        cheaper - wrongly_cheaper >= 65,
        "appropriately: {}\n{}",
        cheaper - wrongly_cheaper,
        score.table()
    );
    assert!(
        m[2][2] >= 18,
        "most premium work stays premium\n{}",
        score.table()
    );
}
