use super::*;

/// Deterministic filler: `n` characters from `alphabet`, seeded.
fn filler(seed: &str, n: usize, alphabet: &str) -> String {
    let chars: Vec<char> = alphabet.chars().collect();
    let mut out = String::new();
    let mut block = 0u32;
    while out.len() < n {
        let d = Sha256::digest(format!("{seed}/{block}").as_bytes());
        for b in d {
            if out.len() < n {
                out.push(chars[usize::from(b) % chars.len()]);
            }
        }
        block += 1;
    }
    out
}

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const HEX: &str = "0123456789abcdef";

fn detector() -> Detector {
    Detector::new(&[("acme_token".into(), r"\b(acme_[a-z0-9]{24})\b".into())]).unwrap()
}

/// One sample of each documented format (built here, not real secrets).
fn samples() -> Vec<(&'static str, String)> {
    vec![
        (
            "private_key",
            format!(
                "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----",
                filler("pk", 70, B64)
            ),
        ),
        (
            "aws_access_key_id",
            format!(
                "aws_access_key_id = AKIA{}",
                filler("ak", 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
            ),
        ),
        (
            "aws_secret_access_key",
            format!("aws_secret_access_key = \"{}\"", filler("sk", 40, B64)),
        ),
        (
            "aws_session_token",
            format!("AWS_SESSION_TOKEN: {}", filler("st", 160, B64)),
        ),
        (
            "anthropic_api_key",
            format!("ANTHROPIC_KEY is sk-ant-api03-{}", filler("an", 95, ALNUM)),
        ),
        (
            "openai_api_key",
            format!("key: sk-proj-{}", filler("oa", 64, ALNUM)),
        ),
        (
            "github_token",
            format!("token ghp_{}", filler("gh", 36, ALNUM)),
        ),
        ("gitlab_token", format!("glpat-{}", filler("gl", 20, ALNUM))),
        (
            "slack_token",
            format!(
                "xoxb-{}-{}",
                filler("sl1", 12, "0123456789"),
                filler("sl2", 24, ALNUM)
            ),
        ),
        (
            "stripe_live_key",
            format!("sk_live_{}", filler("st", 24, ALNUM)),
        ),
        (
            "google_api_key",
            format!("key=AIza{}", filler("gg", 35, ALNUM)),
        ),
        (
            "npm_token",
            format!(
                "//registry.npmjs.org/:_authToken=npm_{}",
                filler("np", 36, ALNUM)
            ),
        ),
        (
            "switchyard_key",
            format!("sk-sy-{}", filler("sy", 43, ALNUM)),
        ),
        (
            "connection_string_password",
            format!(
                "DATABASE_URL=postgres://app:{}@db.internal:5432/prod",
                filler("pw", 14, ALNUM)
            ),
        ),
        (
            "env_assignment",
            format!(
                "DB_HOST=db\nexport STRIPE_SECRET={}\n",
                filler("env", 20, ALNUM)
            ),
        ),
        (
            "acme_token",
            format!(
                "acme_{}",
                filler("acme", 24, "abcdefghijklmnopqrstuvwxyz0123456789")
            ),
        ),
    ]
}

#[test]
fn every_documented_format_is_found_and_only_fingerprinted() {
    let d = detector();
    for (kind, text) in samples() {
        let found = d.scan(&text);
        assert!(
            found.iter().any(|f| f.kind == kind),
            "{kind} not found in {text:?}: {found:?}"
        );
        for f in &found {
            assert_eq!(f.fingerprint.len(), 12);
            assert!(!text[f.start..f.end].contains(&f.fingerprint));
        }
    }
}

#[test]
fn a_private_key_is_found_whole() {
    let body = filler("pem", 64, B64);
    let tail = filler("pem2", 40, B64);
    for nl in ["\n", "\\n"] {
        let key = format!(
            "-----BEGIN EC PRIVATE KEY-----{nl}{body}{nl}{tail}=={nl}-----END EC PRIVATE KEY-----"
        );
        let text = format!("{{\"dpopKey\": \"{key}{nl}\", \"next\": 1}}");
        let found = detector().scan(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(&text[found[0].start..found[0].end], key, "the whole block");
        // Without its END line: up to where the base64 stops.
        let cut = format!("key: -----BEGIN PRIVATE KEY-----{nl}{body}{nl}{tail} and more text");
        let found = detector().scan(&cut);
        assert!(
            cut[found[0].end..].starts_with(" and more"),
            "{:?}",
            &cut[found[0].end..]
        );
    }
    // Encrypted PEM with its header lines.
    let enc = format!(
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0A1B2C\n\n{body}\n-----END RSA PRIVATE KEY-----"
    );
    assert_eq!(detector().scan(&enc)[0].end, enc.len());
}

#[test]
fn a_secret_is_located_exactly() {
    let secret = filler("loc", 40, B64);
    let text = format!("[default]\naws_secret_access_key={secret}\nregion=eu-west-1\n");
    let found = detector().scan(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(&text[found[0].start..found[0].end], secret);
    // The same secret elsewhere has the same fingerprint.
    let again = detector().scan(&format!("AWS_SECRET_KEY: '{secret}'"));
    assert_eq!(again[0].fingerprint, found[0].fingerprint);
}

/// Text that looks like secrets and is not: hashes, ids, fixtures,
/// documented examples, placeholders, test-mode keys, settings.
fn look_alikes() -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..60 {
        out.push(format!(
            "commit {} (HEAD -> main)",
            filler(&format!("sha{i}"), 40, HEX)
        ));
    }
    for i in 0..40 {
        let h = filler(&format!("uuid{i}"), 32, HEX);
        out.push(format!(
            "\"request_id\": \"{}-{}-{}-{}-{}\"",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        ));
    }
    for i in 0..30 {
        out.push(format!(
            "integrity sha256-{}",
            filler(&format!("int{i}"), 64, HEX)
        ));
    }
    for i in 0..30 {
        out.push(format!(
            "const FIXTURE_{i}: &str = \"{}\";",
            filler(&format!("fx{i}"), 40, B64)
        ));
    }
    for i in 0..20 {
        out.push(format!(
            "let digest = \"{}\"; // sha-1 of the fixture",
            filler(&format!("dg{i}"), 40, ALNUM)
        ));
    }
    out.extend(
        [
            "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "STRIPE_KEY=sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "API_KEY=your_api_key_here",
            "DB_PASSWORD=${DB_PASSWORD}",
            "export GITHUB_TOKEN=<token>",
            "SECRET_KEY=changeme-in-production",
            "PASSWORD_MIN_LENGTH=12345678",
            "MAX_TOKENS=32000000",
            "DEBUG_TOKEN_CACHE=true",
            "AUTH_TOKEN_HEADER=authorization",
            "postgres://user:password@localhost:5432/app",
            "redis://:${REDIS_PASSWORD}@cache:6379",
            "mysql://root:***@db/app",
            "https://user@github.com/org/repo.git",
            "http://localhost:8080/v1/messages",
            "git@github.com:org/repo.git",
            "sk-switchyard-local",
            "let token = headers.get(\"authorization\");",
            "ANTHROPIC_API_KEY=sk-ant-...",
            "OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxx",
            "-----BEGIN PUBLIC KEY-----",
            "-----BEGIN CERTIFICATE-----",
            // Headers without key material: docs and empty fixtures.
            "/// This should be an ASCII-encoded blob that starts with `-----BEGIN PRIVATE KEY-----`.",
            "let value = \"-----BEGIN PRIVATE KEY-----\\n-----END PRIVATE KEY-----\\n\";",
            "b\"-----BEGIN RSA PRIVATE KEY-----\\n-----END RSA PRIVATE KEY-----\\n\"",
            "ghp_ is the prefix of a GitHub token",
            "AIza prefixes Google keys",
            "TOKEN_TTL=3600",
            "password: str = Field(..., min_length=8)",
            "export PATH=$HOME/.cargo/bin:$PATH",
            "CLIENT_SECRET=REDACTED",
            "ACCESS_KEY=dummy-access-key",
        ]
        .map(String::from),
    );
    out
}

#[test]
fn look_alikes_are_not_secrets() {
    let d = detector();
    let all = look_alikes();
    assert!(all.len() >= 200, "{} look-alikes", all.len());
    let flagged: Vec<(&String, Vec<Finding>)> = all
        .iter()
        .map(|t| (t, d.scan(t)))
        .filter(|(_, f)| !f.is_empty())
        .collect();
    println!(
        "false positives: {} of {} look-alikes",
        flagged.len(),
        all.len()
    );
    assert!(flagged.is_empty(), "{flagged:?}");
}

#[test]
fn a_bad_custom_pattern_is_named() {
    let e = Detector::new(&[("mine".into(), "(unclosed".into())]).unwrap_err();
    assert!(e.contains("secret pattern mine"), "{e}");
}
