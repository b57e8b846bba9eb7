//! Words of prose in any script.
//!
//! Chinese and Japanese are written without spaces between words, so
//! "split on whitespace" reads a whole sentence of them as one word: a
//! design question in Chinese looked like a three-word request, and the
//! length of a request is one of the strongest signals the classifiers
//! have. Here a run of Han, Hiragana or Katakana characters counts as one
//! word per two characters (about what a translation into English takes),
//! and is read as overlapping character pairs, the usual way to index such
//! text without a dictionary. Korean separates its words with spaces and
//! needs nothing of this.

/// Whether a character belongs to a script written without spaces between
/// words (Han ideographs, Hiragana, Katakana, and their compatibility forms).
pub fn unspaced(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'     // Hiragana, Katakana
        | '\u{31F0}'..='\u{31FF}'   // Katakana phonetic extensions
        | '\u{3400}'..='\u{4DBF}'   // Han extension A
        | '\u{4E00}'..='\u{9FFF}'   // Han
        | '\u{F900}'..='\u{FAFF}'   // Han compatibility
        | '\u{FF66}'..='\u{FF9F}'   // half-width Katakana
        | '\u{20000}'..='\u{2FA1F}' // Han extensions B and later
    )
}

/// Words of prose in `text`: whitespace-separated words that have a letter,
/// with each run of unspaced script counted as one word per two characters.
pub fn count(text: &str) -> usize {
    text.split_whitespace().map(count_in_token).sum()
}

fn count_in_token(token: &str) -> usize {
    let mut unspaced_words = 0;
    let mut run = 0usize;
    let mut spaced_letter = false;
    for c in token.chars() {
        if unspaced(c) {
            run += 1;
        } else {
            unspaced_words += run.div_ceil(2);
            run = 0;
            spaced_letter |= c.is_alphabetic();
        }
    }
    unspaced_words + run.div_ceil(2) + usize::from(spaced_letter)
}

/// Split `word` (already free of spaces and punctuation) into the tokens a
/// model reads: spaced script as it is, each run of unspaced script as its
/// overlapping character pairs (a lone character stays itself).
pub fn tokens(word: &str, out: &mut Vec<String>) {
    let mut spaced = String::new();
    let mut run: Vec<char> = Vec::new();
    let flush_run = |run: &mut Vec<char>, out: &mut Vec<String>| {
        if run.len() == 1 {
            out.push(run[0].to_string());
        }
        out.extend(run.windows(2).map(|p| p.iter().collect::<String>()));
        run.clear();
    };
    for c in word.chars() {
        if unspaced(c) {
            if !spaced.is_empty() {
                out.push(std::mem::take(&mut spaced));
            }
            run.push(c);
        } else {
            flush_run(&mut run, out);
            spaced.push(c);
        }
    }
    flush_run(&mut run, out);
    if !spaced.is_empty() {
        out.push(spaced);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens_of(word: &str) -> Vec<String> {
        let mut out = Vec::new();
        tokens(word, &mut out);
        out
    }

    #[test]
    fn spaced_scripts_count_their_words() {
        assert_eq!(count("rename this variable please"), 4);
        assert_eq!(count("переименуй эту переменную"), 3);
        assert_eq!(count("이 변수 이름을 바꿔줘"), 4);
        assert_eq!(count("-- 42 ==>"), 0, "no letters, no words");
    }

    #[test]
    fn chinese_and_japanese_count_a_word_per_two_characters() {
        // Runs of 17, 4 and 8 characters: about the 16 words of an English
        // translation ("design a push gateway for a million connections…").
        let zh = "设计一个支持百万并发连接的推送网关,包括鉴权、扩容和消息不丢失";
        assert_eq!(count(zh), 9 + 2 + 4);
        assert_eq!(count(&format!("{zh} thank you in advance")), 15 + 4);
        assert_eq!(count("ログ収集基盤を再設計したい。"), 7);
        assert_eq!(count("用Rust写"), 1 + 1 + 1, "mixed scripts in one token");
    }

    #[test]
    fn unspaced_runs_are_read_as_character_pairs() {
        assert_eq!(tokens_of("推送网关"), ["推送", "送网", "网关"]);
        assert_eq!(tokens_of("用rust写"), ["用", "rust", "写"]);
        assert_eq!(tokens_of("deadlock"), ["deadlock"]);
        assert!(tokens_of("").is_empty());
    }
}
