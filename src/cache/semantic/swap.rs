//! Whether two questions differ by a word swapped for one that means
//! something else.
//!
//! A near miss is usually the cached question with a word or two replaced:
//! "read a CSV file" / "read an Excel file", "sort by key" / "sort by
//! value", "run a container" / "stop a container". A paraphrase rewords.
//! So when each question has a content word the other lacks, and there are
//! only one or two such words a side, the guard asks whether the difference
//! is explained — the same word in another form (stem, typo, abbreviation,
//! compound, number word) or a known synonym — and refuses the hit when it
//! is not. The guard then does not have to know every pair of distinct
//! things: an unknown swap is refused, and only known synonyms let one
//! through. Wider rewordings are left to the similarity threshold.
//! When one side only has words the other lacks, it elaborates, unless
//! the extra word asks for an action ("stop a script running in the
//! background" / "run a script in the background"); a verb a terse
//! question leaves out ("convert", "get") elaborates nothing.

use super::synonyms::{COMPOUNDS, IMPLIED, NO_CONTENT, SYNONYMS};
use super::vocab::{ACTIONS, DISTINCT, LOSS, as_digits};
use std::collections::HashMap;
use std::sync::LazyLock;

/// A side with more unexplained words than this rewords; it is not a swap.
const MAX_SWAPPED: usize = 2;

/// How many content words of each question nothing in the other explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unexplained {
    /// In the first question.
    pub first: usize,
    /// In the second.
    pub second: usize,
    /// One of the two has no content word at all ("Why?", "How is that?"):
    /// nothing to explain a difference by.
    pub contentless: bool,
    /// One question asks for an action the other does not mention, every
    /// other word agreeing: "stop a script running in the background" /
    /// "run a script in the background".
    pub added_action: bool,
}

impl Unexplained {
    /// A swap of words not known to mean the same: one or two on each side.
    pub fn is_swap(self) -> bool {
        self.first > 0 && self.second > 0 && self.first.max(self.second) <= MAX_SWAPPED
    }

    /// Every differing word is explained: the same question in other words.
    pub fn is_none(self) -> bool {
        self.first == 0 && self.second == 0 && !self.contentless
    }
}

/// The content words of `a` and of `b` (the guard's lower-cased words) that
/// the other question does not explain.
pub fn unexplained(a: &[String], b: &[String]) -> Unexplained {
    let (ca, cb) = (content(a), content(b));
    let (oa, ob) = (only_in(&ca, &cb, b), only_in(&cb, &ca, a));
    // A word only one side has elaborates; a verb that states the obvious
    // ("convert a timestamp to a date" / "timestamp to date", "get the
    // length" / "length") elaborates nothing. Beside a word of the other
    // side it still counts: "get" / "set" is a swap.
    let heavy = |own: &[&str], other: &[&str]| {
        if other.is_empty() {
            own.iter().filter(|w| !IMPLIED.contains(w)).count()
        } else {
            own.len()
        }
    };
    let acts =
        |own: &[&str], other: &[&str]| other.is_empty() && own.iter().any(|w| ACTIONS.contains(w));
    Unexplained {
        first: heavy(&oa, &ob),
        second: heavy(&ob, &oa),
        contentless: ca.is_empty() || cb.is_empty(),
        added_action: acts(&oa, &ob) || acts(&ob, &oa),
    }
}

/// The content words: compounds written as two words joined, "without
/// losing" read as "keep", words that carry no content dropped.
fn content(ws: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(ws.len());
    let mut i = 0;
    while i < ws.len() {
        if let Some(next) = ws.get(i + 1) {
            if matches!(ws[i].as_str(), "without" | "not") && LOSS.contains(&next.as_str()) {
                out.push("keep".to_string());
                i += 2;
                continue;
            }
            if let Some(compound) = COMPOUNDS.iter().find(|c| joins(c, &ws[i], next)) {
                out.push((*compound).to_string());
                i += 2;
                continue;
            }
        }
        if !NO_CONTENT.contains(&ws[i].as_str()) {
            out.push(ws[i].clone());
        }
        i += 1;
    }
    out
}

/// The words of `x` that no word of `y` explains, nor two adjacent words of
/// `y_all` written together ("node js" / "nodejs").
fn only_in<'a>(x: &'a [String], y: &[String], y_all: &[String]) -> Vec<&'a str> {
    x.iter()
        .map(String::as_str)
        .filter(|w| !y.iter().any(|v| same(w, v)))
        .filter(|w| !y_all.windows(2).any(|p| joins(w, &p[0], &p[1])))
        .collect()
}

/// Whether `word` is `first` and `second` written together.
fn joins(word: &str, first: &str, second: &str) -> bool {
    word.len() == first.len() + second.len() && word.starts_with(first) && word.ends_with(second)
}

/// The word and the forms it may take without a plural or verb ending
/// ("files", "matches", "running", "used").
fn forms(w: &str) -> impl Iterator<Item = &str> {
    let stripped = ["s", "es", "ed", "d", "ing"]
        .into_iter()
        .filter_map(move |suffix| w.strip_suffix(suffix))
        .filter(|s| s.len() >= 3);
    std::iter::once(w).chain(stripped)
}

/// For each word of a synonym group or a member of a group of distinct
/// things, the groups that hold it (built once).
static GROUPS_OF: LazyLock<HashMap<&'static str, Vec<usize>>> = LazyLock::new(|| {
    let distinct = DISTINCT.iter().flat_map(|(_, members)| members.iter());
    let mut of: HashMap<&'static str, Vec<usize>> = HashMap::new();
    for (i, group) in distinct.chain(SYNONYMS.iter()).enumerate() {
        for w in group.iter() {
            of.entry(w).or_default().push(i);
        }
    }
    of
});

/// Whether some group holds both words (in any of their forms).
fn grouped(w: &str, v: &str) -> bool {
    let groups = |x| forms(x).filter_map(|f| GROUPS_OF.get(f)).flatten();
    groups(w).any(|g| groups(v).any(|h| h == g))
}

/// Whether `v` says what `w` says: the same word or number, the same word
/// without its ending, a typo of it (one edit in words of five letters or
/// more), an abbreviation of it ("dict" / "dictionary"), its tail
/// ("string" / "substring"), or a synonym.
fn same(w: &str, v: &str) -> bool {
    if as_digits(w) == as_digits(v) || forms(w).any(|f| forms(v).any(|g| f == g)) {
        return true;
    }
    if w.len() >= 5 && v.len() >= 5 && strsim::osa_distance(w, v) <= 1 {
        return true;
    }
    let (short, long) = if w.len() <= v.len() { (w, v) } else { (v, w) };
    // A tail explains a word behind a head of its own ("sub" + "string"),
    // but not a head that undoes or repeats it ("unmount", "decompress",
    // "rerun") nor a letter or two that name another thing ("preact").
    let undoing = |head: &str| matches!(head, "dis" | "non" | "anti");
    let tail = short.len() >= 5
        && long
            .strip_suffix(short)
            .is_some_and(|head| head.len() >= 3 && !undoing(head));
    if (short.len() >= 3 && long.starts_with(short)) || tail {
        return true;
    }
    grouped(w, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(t: &str) -> Vec<String> {
        t.split_whitespace().map(str::to_lowercase).collect()
    }

    fn swapped(a: &str, b: &str) -> bool {
        unexplained(&words(a), &words(b)).is_swap()
    }

    #[test]
    fn a_swap_of_distinct_things_is_refused() {
        for (a, b) in [
            (
                "read a csv file with pandas",
                "read an excel file with pandas",
            ),
            ("sort a dictionary by key", "sort a dictionary by value"),
            ("undo git add for one file", "undo git commit for one file"),
            (
                "run a container in the foreground",
                "run a container in the background",
            ),
            (
                "activate a virtual environment",
                "create a virtual environment",
            ),
            (
                "mount a volume in a container",
                "unmount a volume from a container",
            ),
            ("compress the folder", "decompress the folder"),
            // an implied verb beside another word is still a swap
            ("get an environment variable", "set an environment variable"),
            ("show the hidden files", "delete the hidden files"),
        ] {
            assert!(swapped(a, b), "{a} | {b}");
            assert!(swapped(b, a), "{b} | {a}");
        }
    }

    #[test]
    fn a_rewording_is_explained_and_a_question_without_content_never_is() {
        let explained = |a: &str, b: &str| unexplained(&words(a), &words(b)).is_none();
        assert!(explained(
            "what are the steps to reset my password",
            "how do i reset my password"
        ));
        assert!(explained(
            "delete 2 local branches",
            "remove two local branch"
        ));
        assert!(!explained(
            "reset my password",
            "reset my forgotten password"
        ));
        // a verb a terse question leaves out
        assert!(explained(
            "how do i convert a timestamp to a date in javascript",
            "javascript timestamp to date"
        ));
        assert!(explained(
            "get the number of cpu cores",
            "number of cpu cores"
        ));
        assert!(!explained("why?", "how?"));
        assert!(!explained("what is it", "what was that"));
    }

    #[test]
    fn explained_differences_are_not_swaps() {
        for (a, b) in [
            // synonyms, stems, typos, abbreviations, compounds, number words
            ("delete a local branch", "remove a local branch"),
            ("list the files", "list files"),
            ("read a file in pyhton", "read a file in python"),
            ("sort a dict by key", "sort a dictionary by key"),
            ("set up a virtual env", "create a virtual environment"),
            ("convert to lower case", "convert to lowercase"),
            ("install node js", "install nodejs"),
            ("join 2 lists", "join two lists"),
            ("replace a substring", "replace a string"),
            // a word only one side has is an elaboration, not a swap
            ("find all files over 100mb", "find files over 100mb"),
            // a wide rewording is left to the similarity threshold
            (
                "formula that takes degrees celsius to fahrenheit",
                "how do i convert celsius to fahrenheit",
            ),
        ] {
            assert!(!swapped(a, b), "{a} | {b}");
            assert!(!swapped(b, a), "{b} | {a}");
        }
    }
}
