//! An [`Import`] written out as a commented `switchyard.toml`, and the
//! summary printed beside it.

use super::litellm::{Import, Provider};
use std::fmt::Write;

/// A TOML string literal.
fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A TOML key (quoted unless bare-safe).
fn key(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        s.to_string()
    } else {
        q(s)
    }
}

/// Seconds as a switchyard duration ("600s", "1ms").
fn duration(secs: f64) -> String {
    if secs >= 1.0 && secs.fract() == 0.0 {
        format!("{secs}s")
    } else {
        format!("{}ms", ((secs * 1000.0).round() as u64).max(1))
    }
}

/// The config file.
pub fn render(import: &Import, source: &str) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# switchyard config imported from the LiteLLM config {source}"
    );
    let _ = writeln!(
        t,
        "# by `switchyard import litellm`. Check it with `switchyard check-config`;"
    );
    let _ = writeln!(
        t,
        "# what could not be carried over is listed at the end of this file.\n"
    );
    let _ = writeln!(t, "listen = \"127.0.0.1:4000\"");
    match &import.master_key {
        Some(k) => {
            let _ = writeln!(t, "master_key = {}", q(k));
        }
        None => {
            let _ = writeln!(
                t,
                "# LiteLLM had no master key: any client key is accepted (loopback only)\nauth = \"none\""
            );
        }
    }
    if let Some(url) = &import.database_url {
        let _ = writeln!(
            t,
            "# LiteLLM's database: switchyard adds its own tables (requests, api_keys);\n\
             # LiteLLM's spend history stays in its own tables and is not read.\n\
             database_url = {}",
            q(url)
        );
    } else {
        let _ = writeln!(t, "# the ledger: switchyard.db beside this file (SQLite)");
    }
    if let Some(Some(url)) = &import.cache {
        let _ = writeln!(t, "redis_url = {}", q(url));
    }
    settings(&mut t, import);
    for p in &import.providers {
        provider(&mut t, p);
    }
    for m in &import.models {
        let _ = writeln!(t, "\n[models.{}]", key(&m.name));
        let _ = writeln!(t, "provider = {}", q(&m.provider));
        match &m.id {
            Some(id) => {
                let _ = writeln!(t, "id       = {}", q(id));
            }
            None => {
                let _ = writeln!(t, "# no id: the model name the client asked for is sent");
            }
        }
        if !m.aliases.is_empty() {
            let list: Vec<String> = m.aliases.iter().map(|a| q(a)).collect();
            let _ = writeln!(t, "aliases  = [{}]", list.join(", "));
        }
    }
    for r in &import.routes {
        let targets: Vec<String> = r.targets.iter().map(|a| q(a)).collect();
        let _ = writeln!(
            t,
            "\n# {}\n[[routes]]\nname    = {}\nmatch   = {{ model = {} }}\ntargets = [{}]",
            r.why,
            q(&r.name),
            q(&r.model),
            targets.join(", ")
        );
    }
    let _ = writeln!(
        t,
        "\n# To route by cost, add [tiers] (cheapest first) and a baseline, e.g.\n\
         # [tiers]\n# local    = [\"<an Ollama model>\"]\n# cheap    = [\"<a Haiku model>\"]\n\
         # premium  = [\"<a Sonnet model>\"]\n# baseline = \"<the Sonnet model>\"\n\
         # (README: \"Routing\"; `switchyard init` proposes them from what it finds.)"
    );
    if !import.skipped.is_empty() {
        let _ = writeln!(t, "\n# Not carried over from {source}:");
        for s in &import.skipped {
            let _ = writeln!(t, "#   {}: {}", s.path, s.why);
        }
    }
    t
}

fn settings(t: &mut String, import: &Import) {
    if let Some(r) = import.retries {
        let _ = writeln!(t, "\n[retry]\nretries = {r}");
    }
    if let Some(s) = import.timeout_s {
        let _ = writeln!(t, "\n[timeouts]\ntotal = {}", q(&duration(s)));
    }
    if import.allowed_fails.is_some() || import.cooldown_s.is_some() {
        let _ = writeln!(t, "\n[health]");
        if let Some(f) = import.allowed_fails {
            let _ = writeln!(t, "failures = {}", f.max(1));
        }
        if let Some(c) = import.cooldown_s {
            let _ = writeln!(t, "cooldown = {}", q(&duration(c)));
        }
    }
    if let Some(cache) = &import.cache {
        let backend = if cache.is_some() { "redis" } else { "memory" };
        let _ = writeln!(t, "\n[cache]\nbackend = \"{backend}\"");
        if let Some(ttl) = import.cache_ttl_s {
            let _ = writeln!(t, "ttl     = {}", q(&duration(ttl)));
        }
    }
}

fn provider(t: &mut String, p: &Provider) {
    let _ = writeln!(t, "\n[providers.{}]\nkind = \"{}\"", key(&p.name), p.kind);
    if let Some(u) = &p.base_url {
        let _ = writeln!(t, "base_url = {}", q(u));
    }
    if let Some(k) = &p.api_key {
        let _ = writeln!(t, "api_key = {}", q(k));
    }
    if let Some(r) = &p.region {
        let _ = writeln!(t, "region = {}", q(r));
    }
    if let Some(pr) = &p.profile {
        let _ = writeln!(t, "profile = {}", q(pr));
    }
    if let Some((id, secret)) = &p.access_keys {
        let _ = writeln!(
            t,
            "access_key_id = {}\nsecret_access_key = {}",
            q(id),
            q(secret)
        );
    }
    if p.total_s.is_some() || p.first_byte_s.is_some() {
        let mut parts = Vec::new();
        if let Some(s) = p.total_s {
            parts.push(format!("total = {}", q(&duration(s))));
        }
        if let Some(s) = p.first_byte_s {
            parts.push(format!("first_byte = {}", q(&duration(s))));
        }
        let _ = writeln!(t, "timeouts = {{ {} }}", parts.join(", "));
    }
}

/// What the import did, for the terminal (never a secret's value).
pub fn summary(import: &Import) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "carried over: {} provider(s), {} model(s), {} route(s){}{}{}",
        import.providers.len(),
        import.models.len(),
        import.routes.len(),
        if import.retries.is_some() {
            ", retries"
        } else {
            ""
        },
        if import.cache.is_some() {
            ", cache"
        } else {
            ""
        },
        if import.master_key.is_some() {
            ", master key"
        } else {
            ""
        },
    );
    for m in &import.models {
        let _ = writeln!(
            t,
            "  model {} -> {} on {}",
            m.name,
            m.id.as_deref().unwrap_or("(as asked)"),
            m.provider
        );
    }
    if !import.skipped.is_empty() {
        let _ = writeln!(t, "not carried over ({}):", import.skipped.len());
        for s in &import.skipped {
            let _ = writeln!(t, "  {}: {}", s.path, s.why);
        }
    }
    if !import.literal_secrets.is_empty() {
        let _ = writeln!(
            t,
            "secrets written into the file as LiteLLM had them (move them to the environment, \
             `api_key = \"${{VAR}}\"`): {}",
            import.literal_secrets.join("; ")
        );
    }
    t
}
