//! Config reading helpers: collected errors with their paths and hints, and
//! typed, path-aware access to one TOML table.

use super::units::{parse_duration, parse_size};
use std::fmt;
use std::time::Duration;
use toml::{Table, Value};

/// One problem in a config, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted path of the offending key (empty for the whole file).
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when we can tell.
    pub hint: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)?;
        } else {
            write!(f, "{}: {}", self.path, self.message)?;
        }
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

/// Every problem found in one config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "{n} problem{} in the config:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[derive(Default)]
pub(super) struct Errors(pub(super) Vec<ConfigError>);

impl Errors {
    pub(super) fn add(&mut self, path: &str, message: impl Into<String>, hint: Option<String>) {
        self.0.push(ConfigError {
            path: path.to_string(),
            message: message.into(),
            hint,
        });
    }
}

pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub(super) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(word, c), *c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Typed access to one table, reporting problems under its path.
///
/// The keys a section accepts are listed once, where it is opened; every
/// read goes through [`Section::get`], which (in tests) notes the key, so a
/// test can prove that no accepted key is left unread (see `read_keys`).
pub(super) struct Section<'a> {
    table: &'a Table,
    path: String,
    #[cfg(test)]
    allowed: &'static [&'static str],
}

#[cfg(test)]
thread_local! {
    /// (list, key) pairs read on this thread.
    static READ: std::cell::RefCell<std::collections::HashSet<(usize, &'static str)>> =
        Default::default();
}

/// The keys of `allowed` that some section opened with that list has read
/// on this thread.
#[cfg(test)]
pub(super) fn read_keys(allowed: &'static [&'static str]) -> Vec<&'static str> {
    READ.with(|r| {
        let r = r.borrow();
        allowed
            .iter()
            .copied()
            .filter(|k| r.contains(&(allowed.as_ptr() as usize, *k)))
            .collect()
    })
}

impl<'a> Section<'a> {
    pub(super) fn new(
        table: &'a Table,
        path: &str,
        allowed: &'static [&'static str],
        errors: &mut Errors,
    ) -> Self {
        for key in table.keys() {
            if !allowed.contains(&key.as_str()) {
                let hint = match closest(key, allowed) {
                    Some(c) => format!("did you mean '{c}'?"),
                    None => format!("accepted keys: {}", allowed.join(", ")),
                };
                errors.add(&join(path, key), "unknown key", Some(hint));
            }
        }
        Section {
            table,
            path: path.to_string(),
            #[cfg(test)]
            allowed,
        }
    }

    /// The value of `key`, if present.
    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        #[cfg(test)]
        if let Some(k) = self.allowed.iter().find(|k| **k == key) {
            READ.with(|r| r.borrow_mut().insert((self.allowed.as_ptr() as usize, *k)));
        }
        self.table.get(key)
    }

    /// Whether `key` is present.
    pub(super) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// A number from 0 to 1.
    pub(super) fn fraction(&self, key: &str, errors: &mut Errors) -> Option<f64> {
        match self.get(key)? {
            Value::Float(f) if (0.0..=1.0).contains(f) => Some(*f),
            Value::Integer(i) if (0..=1).contains(i) => Some(*i as f64),
            _ => {
                errors.add(&self.path(key), "expected a number from 0 to 1", None);
                None
            }
        }
    }

    /// A boolean.
    pub(super) fn bool(&self, key: &str, errors: &mut Errors) -> Option<bool> {
        match self.get(key)? {
            Value::Boolean(b) => Some(*b),
            _ => {
                errors.add(&self.path(key), "expected true or false", None);
                None
            }
        }
    }

    pub(super) fn path(&self, key: &str) -> String {
        join(&self.path, key)
    }

    pub(super) fn wrong_type(&self, key: &str, want: &str, got: &Value, errors: &mut Errors) {
        errors.add(
            &self.path(key),
            format!("expected {want}, found {}", got.type_str()),
            None,
        );
    }

    pub(super) fn str(&self, key: &str, errors: &mut Errors) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            other => {
                self.wrong_type(key, "a string", other, errors);
                None
            }
        }
    }

    /// A string that counts as absent when empty (e.g. an unset `${VAR:-}`).
    pub(super) fn non_empty_str(&self, key: &str, errors: &mut Errors) -> Option<String> {
        self.str(key, errors).filter(|s| !s.trim().is_empty())
    }

    pub(super) fn u64(&self, key: &str, errors: &mut Errors) -> Option<u64> {
        match self.get(key)? {
            Value::Integer(i) if *i >= 0 => Some(*i as u64),
            other => {
                self.wrong_type(key, "a non-negative integer", other, errors);
                None
            }
        }
    }

    pub(super) fn parsed<T>(
        &self,
        key: &str,
        what: &str,
        errors: &mut Errors,
        from_str: fn(&str) -> Result<T, String>,
        from_int: fn(u64) -> T,
    ) -> Option<T> {
        match self.get(key)? {
            Value::String(s) => from_str(s)
                .map_err(|e| errors.add(&self.path(key), e, None))
                .ok(),
            Value::Integer(i) if *i >= 0 => Some(from_int(*i as u64)),
            other => {
                self.wrong_type(key, what, other, errors);
                None
            }
        }
    }

    pub(super) fn duration(&self, key: &str, errors: &mut Errors) -> Option<Duration> {
        self.parsed(
            key,
            "a duration like \"30s\"",
            errors,
            parse_duration,
            Duration::from_secs,
        )
    }

    pub(super) fn size(&self, key: &str, errors: &mut Errors) -> Option<u64> {
        self.parsed(key, "a size like \"32MB\"", errors, parse_size, |b| b)
    }

    pub(super) fn str_list(&self, key: &str, errors: &mut Errors) -> Option<Vec<String>> {
        match self.get(key)? {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        other => errors.add(
                            &format!("{}[{i}]", self.path(key)),
                            format!("expected a string, found {}", other.type_str()),
                            None,
                        ),
                    }
                }
                Some(out)
            }
            other => {
                self.wrong_type(key, "a list of strings", other, errors);
                None
            }
        }
    }

    pub(super) fn table(&self, key: &str, errors: &mut Errors) -> Option<&'a Table> {
        match self.get(key)? {
            Value::Table(t) => Some(t),
            other => {
                self.wrong_type(key, "a table", other, errors);
                None
            }
        }
    }
}

/// Read `[[name]]` tables with `one` (given each table and its path, e.g.
/// `budgets[2]`), collecting what it returns.
pub(super) fn tables<T>(
    top: &Section<'_>,
    name: &str,
    errors: &mut Errors,
    mut one: impl FnMut(&Table, &str, &mut Errors) -> Option<T>,
) -> Vec<T> {
    let mut out = Vec::new();
    match top.get(name) {
        None => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let path = format!("{name}[{i}]");
                match item {
                    Value::Table(t) => out.extend(one(t, &path, errors)),
                    _ => errors.add(&path, format!("expected a table ([[{name}]])"), None),
                }
            }
        }
        Some(_) => errors.add(name, format!("expected [[{name}]] tables"), None),
    }
    out
}
