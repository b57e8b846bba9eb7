//! The lexical guard in front of every semantic hit.
//!
//! Sentence embeddings put "Convert 10 miles to kilometers" and "Convert 10
//! kilometers to miles" at cosine 0.99, "Should I use tabs" and "Should I
//! not use tabs" at 0.98, and "ascending" next to "descending" (all-MiniLM-
//! L6-v2, measured). A close vector is therefore necessary but not enough:
//! the two questions must also agree on their numbers, their negations, the
//! order of the same words, and must not differ by a known pair of
//! opposites. A refused pair is simply a miss.

/// Words that negate.
const NEGATIONS: &[&str] = &[
    "not", "no", "never", "without", "none", "nothing", "cannot", "cant", "dont", "doesnt", "isnt",
    "arent", "wont", "shouldnt", "didnt", "neither", "nor",
];

/// Pairs of words whose swap changes what the right answer is.
const OPPOSITES: &[(&str, &str)] = &[
    ("ascending", "descending"),
    ("asc", "desc"),
    ("increase", "decrease"),
    ("increment", "decrement"),
    ("min", "max"),
    ("minimum", "maximum"),
    ("smallest", "largest"),
    ("first", "last"),
    ("before", "after"),
    ("above", "below"),
    ("add", "remove"),
    ("enable", "disable"),
    ("enabled", "disabled"),
    ("encrypt", "decrypt"),
    ("encode", "decode"),
    ("compress", "decompress"),
    ("serialize", "deserialize"),
    ("push", "pull"),
    ("upload", "download"),
    ("import", "export"),
    ("open", "close"),
    ("start", "stop"),
    ("true", "false"),
    ("left", "right"),
    ("upper", "lower"),
    ("uppercase", "lowercase"),
    ("input", "output"),
    ("read", "write"),
    ("show", "hide"),
    ("lock", "unlock"),
    ("install", "uninstall"),
    ("create", "delete"),
    ("insert", "delete"),
    ("celsius", "fahrenheit"),
    ("miles", "kilometers"),
    ("kg", "lb"),
    ("buy", "sell"),
    ("win", "lose"),
    ("best", "worst"),
    ("faster", "slower"),
    ("more", "less"),
    ("better", "worse"),
    ("success", "failure"),
    ("valid", "invalid"),
    ("sync", "async"),
    ("synchronous", "asynchronous"),
];

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '.' && c != '%')
        .map(|w| {
            w.trim_matches(|c: char| c == '.' || c == '\'')
                .replace('\'', "")
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

fn is_number(w: &str) -> bool {
    w.chars().any(|c| c.is_ascii_digit())
}

fn sorted<'a>(it: impl Iterator<Item = &'a String>) -> Vec<&'a String> {
    let mut v: Vec<&String> = it.collect();
    v.sort();
    v
}

/// `Ok` when a cached answer to `cached` may answer `asked`; else why not.
pub fn compatible(asked: &str, cached: &str) -> Result<(), &'static str> {
    let (a, b) = (words(asked), words(cached));
    if sorted(a.iter().filter(|w| is_number(w))) != sorted(b.iter().filter(|w| is_number(w))) {
        return Err("different numbers");
    }
    let negations = |ws: &[String]| {
        ws.iter()
            .filter(|w| NEGATIONS.contains(&w.as_str()))
            .count()
    };
    if negations(&a) != negations(&b) {
        return Err("a negation differs");
    }
    if a != b && sorted(a.iter()) == sorted(b.iter()) {
        return Err("the same words in another order");
    }
    let has = |ws: &[String], w: &str| ws.iter().any(|x| x == w);
    for (x, y) in OPPOSITES {
        let swapped = (has(&a, x) && !has(&a, y) && has(&b, y) && !has(&b, x))
            || (has(&a, y) && !has(&a, x) && has(&b, x) && !has(&b, y));
        if swapped {
            return Err("opposite words");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paraphrases_pass() {
        for (a, b) in [
            (
                "What's the capital of France?",
                "Which city is the capital of France?",
            ),
            (
                "How do I reset my password?",
                "What is the procedure to change my password?",
            ),
            (
                "How do I delete a git branch?",
                "How can I remove a branch in git?",
            ),
            (
                "How many days are in a leap year?",
                "How many days does a leap year have?",
            ),
            ("Explain what a mutex is", "What is a mutex?"),
        ] {
            assert_eq!(compatible(a, b), Ok(()), "{a} | {b}");
        }
    }

    #[test]
    fn near_misses_are_refused() {
        for (a, b, why) in [
            (
                "Convert 10 miles to kilometers",
                "Convert 10 kilometers to miles",
                "the same words in another order",
            ),
            (
                "Is Python faster than Java?",
                "Is Java faster than Python?",
                "the same words in another order",
            ),
            (
                "Should I use tabs or spaces?",
                "Should I not use tabs or spaces?",
                "a negation differs",
            ),
            (
                "Why doesn't this compile?",
                "Why does this compile?",
                "a negation differs",
            ),
            (
                "What is 15% of 80?",
                "What is 15% of 90?",
                "different numbers",
            ),
            (
                "Sort this list in ascending order",
                "Sort this list in descending order",
                "opposite words",
            ),
            (
                "Convert 100 Celsius to Kelvin",
                "Convert 100 Fahrenheit to Kelvin",
                "opposite words",
            ),
        ] {
            assert_eq!(compatible(a, b), Err(why), "{a} | {b}");
        }
    }
}
