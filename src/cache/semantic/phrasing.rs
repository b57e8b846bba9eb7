//! What a question asks, without how it is put. "How do I squash commits?",
//! "how to squash commits" and "What's the best way to squash commits" ask
//! the same thing; the opening words only pull the vectors of different
//! questions put the same way together. The semantic cache embeds what is
//! left after them (the guard still reads the whole question).
//!
//! Measured on the labelled pairs at 0.92 (`switchyard cache pairs`): 4–8
//! points more paraphrases served on three of four splits, no more wrong
//! answers (BENCHMARKS.md).

use regex::Regex;
use std::sync::LazyLock;

/// Openings that say how a question is put, not what it asks.
static OPENINGS: LazyLock<Regex> = LazyLock::new(|| {
    let openings = [
        r"(how|what|which|where|when|why)\s+(do|can|could|should|would|shall|will)\s+(i|you|we|one)",
        r"how\s+to",
        r"what'?s?\s+(is\s+)?the\s+((best|easiest|simplest|right|proper|correct|recommended|quickest|fastest)\s+)?(way|command|method)\s+(to|for)",
        r"is\s+there\s+a\s+(way|command)\s+to",
        r"(please\s+)?(tell|show)\s+me\s+how\s+to",
        r"(i\s+)?(want|need)\s+to",
    ];
    let pattern = format!(r"(?i)^\s*({})\s+", openings.join("|"));
    #[allow(clippy::expect_used)] // a constant pattern, covered by the tests
    Regex::new(&pattern).expect("the openings compile")
});

/// The part of `question` the semantic cache embeds: without its opening
/// ("How do I", "what's the best way to") and closing punctuation. A
/// question that is nothing but an opening is kept whole.
pub fn asked(question: &str) -> &str {
    let mut rest = question.trim();
    while let Some(m) = OPENINGS.find(rest) {
        if m.end() == rest.len() {
            break;
        }
        rest = &rest[m.end()..];
    }
    let rest = rest.trim_end_matches(['?', '!', '.', ' ', '\n', '\t']);
    if rest.is_empty() { question } else { rest }
}

#[cfg(test)]
mod tests {
    use super::asked;

    #[test]
    fn openings_and_closing_punctuation_go() {
        for (question, what) in [
            ("How do I squash commits?", "squash commits"),
            ("how to squash commits", "squash commits"),
            ("What's the best way to squash commits?", "squash commits"),
            ("What is the command to squash commits", "squash commits"),
            ("whats the way to squash commits?!", "squash commits"),
            ("Is there a way to squash commits?", "squash commits"),
            ("Please tell me how to squash commits.", "squash commits"),
            ("I want to squash commits", "squash commits"),
            ("How can I   squash commits?", "squash commits"),
            ("git: squash commits", "git: squash commits"),
        ] {
            assert_eq!(asked(question), what, "{question}");
        }
    }

    #[test]
    fn the_rest_of_a_question_is_kept() {
        // Only openings go: words that ask something stay.
        for question in [
            "What is a mutex",
            "Why does this compile",
            "How many bits are in a byte",
            "Which port does PostgreSQL use",
        ] {
            assert_eq!(asked(&format!("{question}?")), question);
        }
        assert_eq!(asked("How do I?"), "How do I");
        assert_eq!(asked("   "), "   ");
    }
}
