//! Secrets in text: private keys, cloud credentials, provider and service
//! tokens, passwords in connection strings, `.env`-style assignments, and a
//! team's own patterns. One `RegexSet` pass says which kinds may be present;
//! only those are then located. Documented example credentials (AWS's
//! `…EXAMPLE` keys), placeholders (`${VAR}`, `<token>`, `your_…`,
//! `changeme`) and test-mode keys are not findings, nor is a `.env` value
//! that is one plain lowercase word (a setting, not a password). A finding carries a
//! fingerprint (the first 12 hex digits of the secret's SHA-256), never the
//! secret, so it can be logged and audited.

use regex::bytes::{Regex, RegexSet};
use sha2::{Digest, Sha256};

/// One secret found: its kind, where it is, and a fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `aws_access_key_id`, `private_key`, `env_assignment`, …
    pub kind: String,
    /// Byte range of the secret in the scanned text.
    pub start: usize,
    /// End of that range.
    pub end: usize,
    /// First 12 hex digits of the secret's SHA-256.
    pub fingerprint: String,
}

/// A kind of secret: its name and pattern. The pattern's first capture
/// group, when it has one, is the secret itself (else the whole match).
const BUILT_IN: &[(&str, &str)] = &[
    (
        "private_key",
        // A header with key material after it (newlines raw or escaped,
        // `Proc-Type:`-style lines): a header alone, as in docs, is not a
        // key. The finding is widened to the whole block in `scan`.
        r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----(?:\\[rn]|[ \t\r\n]|[A-Za-z-]+: [^\n\\]*)*[A-Za-z0-9+/]{40}",
    ),
    (
        "aws_access_key_id",
        r"\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
    ),
    (
        "aws_secret_access_key",
        r#"(?i)aws_?secret_?(?:access_?)?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{40})\b"#,
    ),
    (
        "aws_session_token",
        r#"(?i)aws_?session_?token["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{100,})"#,
    ),
    (
        "anthropic_api_key",
        r"\b(sk-ant-[a-z]{2,8}\d{0,3}-[A-Za-z0-9_\-]{40,})",
    ),
    (
        "openai_api_key",
        r"\b(sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,}T3BlbkFJ[A-Za-z0-9_\-]{16,}|sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,})",
    ),
    (
        "github_token",
        r"\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{60,})\b",
    ),
    ("gitlab_token", r"\b(glpat-[A-Za-z0-9_\-]{20})\b"),
    ("slack_token", r"\b(xox[abposr]-[A-Za-z0-9\-]{10,})"),
    ("stripe_live_key", r"\b((?:sk|rk)_live_[A-Za-z0-9]{24,})\b"),
    ("google_api_key", r"\b(AIza[0-9A-Za-z_\-]{35})"),
    ("npm_token", r"\b(npm_[A-Za-z0-9]{36})\b"),
    ("switchyard_key", r"\b(sk-sy-[A-Za-z0-9_\-]{43})"),
    (
        "connection_string_password",
        r"\b[a-z][a-z0-9+.\-]*://[^\s:/@]+:([^\s@/]{3,})@[^\s/]",
    ),
    (
        "env_assignment",
        r#"(?m)^[ \t]*(?:export[ \t]+)?[A-Z][A-Z0-9_]*(?:SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|APIKEY|PRIVATE_KEY|ACCESS_KEY|CREDENTIALS?)[A-Z0-9_]*[ \t]*=[ \t]*["']?([^\s"']{8,})"#,
    ),
];

/// Values that stand for a secret rather than being one.
fn placeholder(value: &str) -> bool {
    let v = value.to_ascii_lowercase();
    v.contains("example")
        || v.starts_with("${")
        || v.starts_with('$')
        || v.starts_with('<')
        || v.starts_with('{')
        || v.starts_with("%(")
        || v.starts_with("your")
        || v.contains("changeme")
        || v.contains("placeholder")
        || v.contains("dummy")
        || v.contains("redacted")
        || v.contains("xxxx")
        || v.contains("...")
        || v.chars().all(|c| c == '*' || c == 'x' || c == '.')
        || matches!(
            v.as_str(),
            "password" | "pass" | "secret" | "token" | "true" | "false"
        )
        || v.chars().all(|c| c.is_ascii_digit())
}

/// Lowercase letters with at most `-` or `_` between them.
fn plain_word(value: &str) -> bool {
    value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_')
}

/// The secret detector: built-in kinds plus a team's own patterns.
pub struct Detector {
    set: RegexSet,
    kinds: Vec<(String, Regex)>,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Detector({} kinds)", self.kinds.len())
    }
}

impl Detector {
    /// The built-in kinds and `custom` (name, pattern) ones.
    pub fn new(custom: &[(String, String)]) -> Result<Detector, String> {
        let mut kinds: Vec<(String, Regex)> = Vec::new();
        // ASCII word boundaries and classes: a Unicode `\b` would make the
        // scan of a large body two orders of magnitude slower.
        let all = BUILT_IN
            .iter()
            .map(|(n, p)| (n.to_string(), format!("(?-u){p}")))
            .chain(custom.iter().cloned());
        for (name, pattern) in all {
            let re = Regex::new(&pattern).map_err(|e| format!("secret pattern {name}: {e}"))?;
            kinds.push((name, re));
        }
        let set = RegexSet::new(kinds.iter().map(|(_, re)| re.as_str()))
            .map_err(|e| format!("secret patterns: {e}"))?;
        Ok(Detector { set, kinds })
    }

    /// Every secret in `text`, in order.
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        for i in self.set.matches(bytes).iter() {
            let (kind, re) = &self.kinds[i];
            for caps in re.captures_iter(bytes) {
                let Some(m) = caps.get(1).or_else(|| caps.get(0)) else {
                    continue;
                };
                let value = String::from_utf8_lossy(m.as_bytes());
                if kind != "private_key" && placeholder(&value) {
                    continue;
                }
                // A setting's value that is one plain word (`authorization`,
                // `strict`) names something; a secret mixes characters.
                if kind == "env_assignment" && plain_word(&value) {
                    continue;
                }
                let end = if kind == "private_key" {
                    key_block_end(bytes, m.end())
                } else {
                    m.end()
                };
                out.push(Finding {
                    kind: kind.clone(),
                    start: m.start(),
                    end,
                    fingerprint: hex::encode(&Sha256::digest(&bytes[m.start()..end])[..6]),
                });
            }
        }
        out.sort_by_key(|f| (f.start, f.end));
        out.dedup_by(|a, b| a.start < b.end && b.start < a.end);
        out
    }
}

/// Where a private key block that starts before `from` ends: after its
/// `-----END …-----` line, or (without one) where its base64 lines stop
/// (a space ends them: PEM lines hold no spaces).
fn key_block_end(bytes: &[u8], from: usize) -> usize {
    /// Longest key block looked through (an RSA-8192 PEM is about 6.5 KB).
    const MAX_BLOCK: usize = 16 * 1024;
    let rest = &bytes[from..bytes.len().min(from + MAX_BLOCK)];
    if let Some(at) = memchr::memmem::find(rest, b"-----END ") {
        let tail = &rest[at + 9..];
        if let Some(close) = memchr::memmem::find(tail, b"-----") {
            return from + at + 9 + close + 5;
        }
    }
    let mut end = from;
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => {
                i += 1;
                end = from + i;
            }
            b'\r' | b'\n' => i += 1,
            b'\\' if matches!(rest.get(i + 1), Some(b'n' | b'r')) => i += 2,
            _ => break,
        }
    }
    end
}

#[cfg(test)]
#[path = "secrets_tests.rs"]
mod tests;
