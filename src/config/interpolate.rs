//! `${VAR}`, `${VAR:-default}` and `${VAR:?message}` in config values.
//!
//! Interpolation runs on string values after the TOML is parsed, so a value
//! can never change the structure of the file. `$$` is a literal `$`.

/// Why a value could not be interpolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolateError {
    /// `${VAR}` with VAR unset.
    Unset(String),
    /// `${VAR:?message}` with VAR unset or empty.
    Required {
        /// The variable.
        var: String,
        /// The message the config author wrote.
        message: String,
    },
    /// `${` without a closing `}`, or an empty name.
    Syntax(String),
}

impl std::fmt::Display for InterpolateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InterpolateError::Unset(v) => write!(f, "environment variable {v} is not set"),
            InterpolateError::Required { var, message } => write!(f, "{var}: {message}"),
            InterpolateError::Syntax(s) => write!(f, "bad variable reference: {s}"),
        }
    }
}

/// Replace every variable reference in `input`, looking names up with `lookup`.
pub fn interpolate(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, InterpolateError> {
    if !input.contains('$') {
        return Ok(input.to_string());
    }
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| InterpolateError::Syntax(format!("unclosed '${{' in {input:?}")))?;
            out.push_str(&expand(&body[..end], lookup)?);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn expand(
    reference: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, InterpolateError> {
    let (name, op) = match reference.find(":-").or_else(|| reference.find(":?")) {
        Some(i) => (
            &reference[..i],
            Some((&reference[i..i + 2], &reference[i + 2..])),
        ),
        None => (reference, None),
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(InterpolateError::Syntax(format!("'${{{reference}}}'")));
    }
    let value = lookup(name);
    match op {
        None => value.ok_or_else(|| InterpolateError::Unset(name.to_string())),
        Some((":-", default)) => Ok(value
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string())),
        Some((_, message)) => {
            value
                .filter(|v| !v.is_empty())
                .ok_or_else(|| InterpolateError::Required {
                    var: name.to_string(),
                    message: if message.is_empty() {
                        "is required".to_string()
                    } else {
                        message.to_string()
                    },
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "KEY" => Some("sk-123".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn table() {
        let ok: &[(&str, &str)] = &[
            ("plain", "plain"),
            ("${KEY}", "sk-123"),
            ("a-${KEY}-b", "a-sk-123-b"),
            ("${MISSING:-dflt}", "dflt"),
            ("${EMPTY:-dflt}", "dflt"),
            ("${KEY:-dflt}", "sk-123"),
            ("${KEY:?needed}", "sk-123"),
            ("${EMPTY}", ""),
            ("$$5", "$5"),
            ("cost $5", "cost $5"),
            ("${MISSING:-}", ""),
            ("${MISSING:-http://h:1/x}", "http://h:1/x"),
        ];
        for (input, want) in ok {
            assert_eq!(interpolate(input, &env).as_deref(), Ok(*want), "{input}");
        }
    }

    #[test]
    fn errors() {
        assert_eq!(
            interpolate("${MISSING}", &env),
            Err(InterpolateError::Unset("MISSING".into()))
        );
        assert_eq!(
            interpolate("${EMPTY:?set it in .env}", &env),
            Err(InterpolateError::Required {
                var: "EMPTY".into(),
                message: "set it in .env".into()
            })
        );
        assert!(matches!(
            interpolate("${KEY", &env),
            Err(InterpolateError::Syntax(_))
        ));
        assert!(matches!(
            interpolate("${}", &env),
            Err(InterpolateError::Syntax(_))
        ));
        assert!(matches!(
            interpolate("${A B}", &env),
            Err(InterpolateError::Syntax(_))
        ));
    }
}
