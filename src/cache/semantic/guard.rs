//! The lexical guard in front of every semantic hit.
//!
//! Sentence embeddings put "Convert 10 miles to kilometers" and "Convert 10
//! kilometers to miles" at cosine 0.99, "Should I use tabs" and "Should I
//! not use tabs" at 0.98, and "ascending" next to "descending" (all-MiniLM-
//! L6-v2, measured). A close vector is therefore necessary but not enough:
//! the two questions must also agree on their numbers, their negations, the
//! order of the same words, must not differ by a known pair of opposites or
//! name another member of a group of distinct things, and must not swap a
//! word for one not known to mean the same ([`super::swap`]). A refused
//! pair is simply a miss.

/// Words that negate or exclude.
const NEGATIONS: &[&str] = &[
    "not",
    "no",
    "never",
    "without",
    "none",
    "nothing",
    "cannot",
    "cant",
    "dont",
    "doesnt",
    "isnt",
    "arent",
    "wont",
    "shouldnt",
    "didnt",
    "neither",
    "nor",
    "except",
    "excluding",
];

use super::vocab::{ALL, DISTINCT, LOSS, ONE, ONE_SIDED, OPPOSITES, ORDERED_BY, as_digits};

fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for w in
        text.split(|c: char| !c.is_alphanumeric() && !matches!(c, '\'' | '.' | '%' | '+' | '#'))
    {
        let w = w
            .trim_matches(|c: char| matches!(c, '.' | '\''))
            .replace('\'', "")
            .to_lowercase();
        match split_unit(&w) {
            Some((number, unit)) => out.extend([number.to_string(), unit.to_string()]),
            None if !w.is_empty() => out.push(w),
            None => {}
        }
    }
    out
}

/// A number written with its unit ("100mb", "5min") as the two words it
/// is when written apart ("100 mb").
fn split_unit(w: &str) -> Option<(&str, &str)> {
    let at = w.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (number, unit) = w.split_at(at);
    let is_number = number.starts_with(|c: char| c.is_ascii_digit());
    (is_number && unit.chars().all(|c| c.is_ascii_alphabetic())).then_some((number, unit))
}

fn is_number(w: &str) -> bool {
    w.chars().any(|c| c.is_ascii_digit())
}

fn sorted<'a>(it: impl Iterator<Item = &'a String>) -> Vec<&'a String> {
    let mut v: Vec<&String> = it.collect();
    v.sort();
    v
}

/// Words skipped when reading what follows "from" or "to".
const FILLER: &[&str] = &["a", "an", "the", "my", "your", "our", "this", "that", "its"];

/// A word as the guard compares it: a number word as its digits, a known
/// thing as its group's first name for it (plurals and synonyms alike).
fn canonical(w: &str) -> String {
    let digits = as_digits(w);
    if digits != w {
        return digits.to_string();
    }
    for (_, members) in DISTINCT {
        if let Some(m) = members.iter().find(|m| m.contains(&w)) {
            return m[0].to_string();
        }
    }
    w.to_string()
}

/// The numbers of `ws`, "one" read as 1 where the other question has a 1
/// ("between one and ten" = "between 1 and 10"; elsewhere "one" is "a").
fn numbers<'a>(ws: &'a [String], other: &[String]) -> Vec<&'a str> {
    let other_has_1 = other.iter().any(|w| w == "1");
    let mut v: Vec<&str> = ws
        .iter()
        .filter_map(|w| match w.as_str() {
            "one" if other_has_1 => Some("1"),
            w if is_number(w) => Some(w),
            _ => None,
        })
        .collect();
    v.sort_unstable();
    v
}

/// Whether `ws` asks for an order: "smallest first", "newest last".
fn ordered(ws: &[String]) -> bool {
    ws.windows(2)
        .any(|p| ORDERED_BY.contains(&p[0].as_str()) && matches!(p[1].as_str(), "first" | "last"))
}

/// Negations and exclusions ("except one", "all but one"); "without
/// losing" is "keeping", not a negation.
fn negations(ws: &[String]) -> usize {
    let next = |i: usize| ws.get(i + 1).map(String::as_str);
    ws.iter()
        .enumerate()
        .filter(|(i, w)| match w.as_str() {
            "but" => next(*i).is_some_and(|n| n == "one" || is_number(as_digits(n))),
            w => NEGATIONS.contains(&w) && !next(*i).is_some_and(|n| LOSS.contains(&n)),
        })
        .count()
}

/// The words with the operands of "X and Y", "X or Y", "X vs Y" put in
/// order: a coordination reads the same either way round.
fn coordinations_sorted(ws: &[String]) -> Vec<String> {
    let mut v = ws.to_vec();
    for i in 1..v.len().saturating_sub(1) {
        if matches!(v[i].as_str(), "and" | "or" | "vs" | "versus") && v[i - 1] > v[i + 1] {
            v.swap(i - 1, i + 1);
        }
    }
    v
}

/// What follows the first "from", and the "to"/"into" after it.
fn from_to(ws: &[String]) -> Option<(&str, &str)> {
    let next = |from: usize| {
        ws[from..]
            .iter()
            .map(String::as_str)
            .find(|w| !FILLER.contains(w))
    };
    let f = ws.iter().position(|w| w == "from")?;
    let t = f + ws[f..]
        .iter()
        .position(|w| matches!(w.as_str(), "to" | "into" | "onto"))?;
    Some((next(f + 1)?, next(t + 1)?))
}

/// "list" is a thing after a determiner ("a list", "of lists") and a verb
/// otherwise ("list the files"); the thing is marked `list#n`.
fn nouns(ws: &[String]) -> Vec<String> {
    let mut out = ws.to_vec();
    for i in 1..out.len() {
        let after_determiner = matches!(
            ws[i - 1].as_str(),
            "a" | "an" | "the" | "this" | "my" | "of" | "python" | "linked"
        );
        if after_determiner && matches!(ws[i].as_str(), "list" | "lists") {
            out[i] = "list#n".to_string();
        }
    }
    out
}

/// Single letters other than "a" and "I": flags (`-r`), names (`x`).
fn letters(ws: &[String]) -> Vec<&str> {
    ws.iter()
        .map(String::as_str)
        .filter(|w| w.len() == 1 && !matches!(*w, "a" | "i") && w.chars().all(char::is_alphabetic))
        .collect()
}

/// The members of a group of distinct things a text names.
fn named<'a>(ws: &[String], members: &'a [&'a [&'a str]]) -> Vec<&'a str> {
    members
        .iter()
        .filter(|m| ws.iter().any(|w| m.contains(&w.as_str())))
        .map(|m| m[0])
        .collect()
}

/// How far the guard vouches for a pair it lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// Every content word that differs is explained: a rewording, served
    /// from the lower `explained_threshold`.
    Explained,
    /// Nothing refused, but words differ that the guard cannot explain:
    /// served from `threshold`.
    Reworded,
}

impl Agreement {
    /// The similarity a pair so judged needs to be served.
    pub fn needs(self, threshold: f32, explained_threshold: f32) -> f32 {
        match self {
            Agreement::Explained => explained_threshold.min(threshold),
            Agreement::Reworded => threshold,
        }
    }
}

/// `Ok` when a cached answer to `cached` may answer `asked`; else why not.
pub fn compatible(asked: &str, cached: &str) -> Result<(), &'static str> {
    judge(asked, cached).map(|_| ())
}

/// [`compatible`], saying also whether every differing word is explained.
pub fn judge(asked: &str, cached: &str) -> Result<Agreement, &'static str> {
    let (a, b) = (words(asked), words(cached));
    let (ca, cb): (Vec<String>, Vec<String>) = (
        a.iter().map(|w| canonical(w)).collect(),
        b.iter().map(|w| canonical(w)).collect(),
    );
    if numbers(&ca, &cb) != numbers(&cb, &ca) {
        return Err("different numbers");
    }
    if negations(&a) != negations(&b) {
        return Err("a negation differs");
    }
    if ca != cb
        && sorted(ca.iter()) == sorted(cb.iter())
        && coordinations_sorted(&ca) != coordinations_sorted(&cb)
    {
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
    let any = |ws: &[String], set: &[&str]| ws.iter().any(|w| set.contains(&w.as_str()));
    if any(&a, ALL) != any(&b, ALL) && (any(&a, ONE) || any(&b, ONE)) {
        return Err("all versus one");
    }
    if let (Some((fa, ta)), Some((fb, tb))) = (from_to(&ca), from_to(&cb))
        && (fa == tb || ta == fb)
        && (fa, ta) != (fb, tb)
    {
        return Err("the other direction");
    }
    if ONE_SIDED.iter().any(|w| has(&a, w) != has(&b, w)) || ordered(&a) != ordered(&b) {
        return Err("a modifier only one has");
    }
    // Each names something the other does not: a substitution, not an
    // elaboration.
    let swapped = |na: &[&str], nb: &[&str]| {
        na.iter().any(|x| !nb.contains(x)) && nb.iter().any(|x| !na.contains(x))
    };
    let (na, nb) = (nouns(&a), nouns(&b));
    for (_, members) in DISTINCT {
        if swapped(&named(&na, members), &named(&nb, members)) {
            return Err("names another thing");
        }
    }
    if swapped(&letters(&a), &letters(&b)) {
        return Err("names another flag or letter");
    }
    let unexplained = super::swap::unexplained(&a, &b);
    if unexplained.is_swap() {
        return Err("a word swapped for one not known to mean the same");
    }
    if unexplained.added_action {
        return Err("an action only one asks for");
    }
    Ok(if unexplained.is_none() {
        Agreement::Explained
    } else {
        Agreement::Reworded
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each pair refused, whichever of the two is the cached question.
    fn refused_both_ways(pairs: &[(&str, &str)]) {
        for (a, b) in pairs {
            assert!(compatible(a, b).is_err(), "{a} | {b}");
            assert!(compatible(b, a).is_err(), "{b} | {a}");
        }
    }

    #[test]
    fn paraphrases_pass() {
        for (a, b) in [
            (
                "What's the capital of France?",
                "Which city is the capital of France?",
            ),
            (
                "How do I change my password?",
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

    /// The wrong answers issue 23 found served at 0.92 and 0.8, each
    /// refused now.
    #[test]
    fn the_reported_wrong_answers_are_refused() {
        refused_both_ways(&[
            (
                "undo the last git commit and discard the changes",
                "undo the last git commit and keep the changes",
            ),
            (
                "run a command only if the previous one failed",
                "run a command only if the previous one succeeded",
            ),
            (
                "stop all running Docker containers",
                "stop a running container",
            ),
            (
                "copy a file out of a container to the host",
                "copy a file from the host into a container",
            ),
            (
                "copy a file from a container to my host",
                "copy a file from my host into a container",
            ),
            ("list local branches", "list remote branches"),
            ("center a div vertically", "center a div horizontally"),
            ("redirect stdout to a file", "redirect stderr to a file"),
            (
                "send a GET request with curl",
                "send a POST request with curl",
            ),
            ("how many bits are in a byte", "how many bytes are in a bit"),
            (
                "time complexity of quicksort",
                "space complexity of quicksort",
            ),
            ("a GET request with requests", "a GET request with httpx"),
            ("install node on Linux", "install node on Windows"),
            ("loop over files in bash", "loop over files in PowerShell"),
            ("what does rm -r do", "what does rm -f do"),
            ("sort a list in reverse order", "sort a list"),
            ("reverse a list in Python", "reverse a string in Python"),
        ]);
    }

    /// Wrong answers the held-out splits found served (holdout2, holdout3),
    /// each refused now: a modifier or a quantifier on one side only.
    #[test]
    fn the_held_out_wrong_answers_are_refused() {
        refused_both_ways(&[
            (
                "trim whitespace from the end of a string in Go",
                "trim whitespace from both ends of a string in Go",
            ),
            (
                "find the public IP address of my machine",
                "find the IP address of my machine",
            ),
            (
                "count the distinct rows in a table",
                "count the rows in a table",
            ),
            (
                "make a div scrollable horizontally",
                "make a div scrollable",
            ),
            (
                "show relative line numbers in vim",
                "show line numbers in vim",
            ),
            (
                "see the logs of the previous container of a pod",
                "see the logs of a pod",
            ),
            (
                "delete every file in a directory except one on linux",
                "delete every file in a directory on linux",
            ),
            (
                "remove all files but one from a folder",
                "remove all files from a folder",
            ),
            (
                "run a python script in the background on linux",
                "stop a python script running in the background on linux",
            ),
        ]);
        // A verb that describes ("installed", "running") asks for nothing.
        assert!(compatible("list the installed pip packages", "list the pip packages").is_ok());
        // An exclusion said two ways is the same question.
        assert!(
            compatible(
                "linux: remove all files in a folder but one",
                "delete every file in a directory except one on linux"
            )
            .is_ok()
        );
    }

    /// Names a typo, an abbreviation or a tail away from each other are
    /// still other things.
    #[test]
    fn names_close_in_spelling_are_other_things() {
        refused_both_ways(&[
            ("create a table in mysql", "create a table in mssql"),
            ("render a list with react", "render a list with preact"),
            ("create a tag in git", "create a tag on github"),
            ("store state with vue", "store state with vuex"),
            ("read a json file", "read a jsonl file"),
        ]);
    }

    /// Paraphrases the first guard refused.
    #[test]
    fn paraphrases_it_used_to_refuse_pass() {
        for (a, b) in [
            ("round to 2 decimal places", "round to two decimal places"),
            (
                "undo the last commit but keep the changes",
                "undo the last commit without losing the changes",
            ),
            (
                "difference between TCP and UDP",
                "difference between UDP and TCP",
            ),
            (
                "list all local git branches",
                "show every local branch in git",
            ),
            (
                "join two tables in SQL",
                "sql: combine rows from two tables with a join",
            ),
            (
                "find the largest file in a directory",
                "which file in this folder is the biggest",
            ),
            (
                "find files larger than 100MB",
                "search for files bigger than 100 MB",
            ),
            (
                "replace all occurrences of a substring",
                "replace all matches of a substring",
            ),
        ] {
            assert_eq!(compatible(a, b), Ok(()), "{a} | {b}");
        }
    }
}
