//! The `[models.NAME]` sections: provider, upstream id, aliases,
//! capabilities, context window and an optional price override.

use super::section::{Errors, Section, closest, join};
use super::{Capabilities, ModelConfig};
use toml::{Table, Value};

pub(super) static LONG_KEYS: &[&str] = &[
    "above",
    "input",
    "output",
    "cache_write_5m",
    "cache_write_1h",
    "cache_read",
];
pub(super) static PRICE_KEYS: &[&str] = &[
    "input",
    "output",
    "cache_write_5m",
    "cache_write_1h",
    "cache_read",
    "long_context",
];
pub(super) static MODEL_KEYS: &[&str] = &[
    "provider",
    "id",
    "aliases",
    "capabilities",
    "context_window",
    "price",
];

pub(super) fn read_model(
    name: &str,
    table: &Table,
    path: &str,
    names: &[&str],
    errors: &mut Errors,
) -> Option<ModelConfig> {
    let s = Section::new(table, path, MODEL_KEYS, errors);
    let provider = s.str("provider", errors);
    match &provider {
        None => errors.add(
            &s.path("provider"),
            "missing",
            Some("name a [providers.NAME] section".into()),
        ),
        Some(p) if !names.contains(&p.as_str()) => {
            let hint = match closest(p, names) {
                Some(c) => format!("did you mean '{c}'?"),
                None if names.is_empty() => {
                    "no providers are defined; add a [providers.NAME] section".into()
                }
                None => format!("defined providers: {}", names.join(", ")),
            };
            errors.add(
                &s.path("provider"),
                format!("unknown provider '{p}'"),
                Some(hint),
            );
        }
        Some(_) => {}
    }
    let id = s.str("id", errors);
    if id.as_deref().is_some_and(|i| i.trim().is_empty()) {
        errors.add(
            &s.path("id"),
            "empty",
            Some("leave it out to forward the name the client asked for".into()),
        );
    }
    let aliases = s.str_list("aliases", errors).unwrap_or_default();
    for (i, a) in aliases.iter().enumerate() {
        if a.trim().is_empty() {
            errors.add(&format!("{}[{i}]", s.path("aliases")), "empty alias", None);
        }
    }
    let capabilities = match s.str_list("capabilities", errors) {
        None => Capabilities::all(),
        Some(list) => {
            let mut c = Capabilities::default();
            for (i, cap) in list.iter().enumerate() {
                match cap.as_str() {
                    "tools" => c.tools = true,
                    "vision" => c.vision = true,
                    "thinking" => c.thinking = true,
                    other => errors.add(
                        &format!("{}[{i}]", s.path("capabilities")),
                        format!("unknown capability '{other}'"),
                        Some(format!("one of: {}", Capabilities::NAMES.join(", "))),
                    ),
                }
            }
            c
        }
    };
    let context_window = s.u64("context_window", errors);
    let price = s
        .table("price", errors)
        .map(|t| read_price(t, &s.path("price"), errors));
    Some(ModelConfig {
        name: name.to_string(),
        provider: provider?,
        id,
        aliases,
        capabilities,
        context_window,
        price,
    })
}

fn read_rates(s: &Section<'_>, errors: &mut Errors) -> crate::core::Rates {
    use rust_decimal::Decimal;
    let mut get = |key: &str| -> Option<Decimal> {
        match s.get(key)? {
            Value::Integer(i) if *i >= 0 => Some(Decimal::from(*i)),
            Value::Float(f) if *f >= 0.0 => f.to_string().parse().ok(),
            _ => {
                errors.add(
                    &s.path(key),
                    "expected a price in USD per million tokens",
                    Some("e.g. 3.75".into()),
                );
                None
            }
        }
    };
    let input = get("input").unwrap_or_default();
    let output = get("output").unwrap_or_default();
    // Anthropic's rule: 5m writes 1.25x input, 1h writes 2x, reads 0.1x.
    let cache_write_5m = get("cache_write_5m").unwrap_or(input * Decimal::new(125, 2));
    let cache_write_1h = get("cache_write_1h").unwrap_or(input * Decimal::from(2));
    let cache_read = get("cache_read").unwrap_or(input * Decimal::new(1, 1));
    crate::core::Rates {
        input,
        output,
        cache_write_5m,
        cache_write_1h,
        cache_read,
    }
}

fn read_price(t: &Table, path: &str, errors: &mut Errors) -> crate::core::Price {
    let s = Section::new(t, path, PRICE_KEYS, errors);
    let long_path = join(path, "long_context");
    let long_context = match s.get("long_context") {
        Some(Value::Table(l)) => {
            let long = Section::new(l, &long_path, LONG_KEYS, errors);
            let above = long
                .u64("above", errors)
                .unwrap_or(crate::core::LONG_CONTEXT_TOKENS);
            Some(crate::core::LongContext {
                above,
                rates: read_rates(&long, errors),
            })
        }
        Some(_) => {
            errors.add(&long_path, "expected a table of rates", None);
            None
        }
        None => None,
    };
    crate::core::Price {
        base: read_rates(&s, errors),
        long_context,
    }
}
