//! Wildcard matching for model aliases and file names: `*` (any run) and
//! `?` (one character), ASCII case-insensitive.

/// Whether `text` matches `pattern`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    let (mut pi, mut ti) = (0, 0);
    // Position of the last '*' and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            // Let the last '*' swallow one more character.
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn table() {
        let rows = [
            ("claude-*", "claude-opus-5-5", true),
            ("claude-*", "claude-", true),
            ("claude-*", "claud", false),
            ("claude-*haiku*", "claude-haiku-5-5", true),
            ("claude-*haiku*", "claude-3-5-haiku-20241022", true),
            ("claude-*haiku*", "claude-sonnet-4-5", false),
            ("*", "", true),
            ("", "", true),
            ("", "x", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*a*b*c*", "xxaxxbxxcxx", true),
            ("*a*b*c", "abcab", false),
            ("Claude-*", "claude-X", true),
        ];
        for (p, t, want) in rows {
            assert_eq!(glob_match(p, t), want, "{p} vs {t}");
        }
    }
}
