//! Human units in config values: durations ("500ms", "30s", "10m") and sizes
//! ("64KB", "32MiB"). Bare integers are seconds and bytes.

use serde::Deserialize;
use std::time::Duration;

/// A duration written as a string with a unit, or an integer of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationValue(pub Duration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(s) => Ok(DurationValue(Duration::from_secs(s))),
            Raw::Text(t) => parse_duration(&t)
                .map(DurationValue)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// A size written as a string with a unit, or an integer of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeValue(pub u64);

impl<'de> Deserialize<'de> for SizeValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bytes(b) => Ok(SizeValue(b)),
            Raw::Text(t) => parse_size(&t)
                .map(SizeValue)
                .map_err(serde::de::Error::custom),
        }
    }
}

fn split_number(s: &str) -> Result<(f64, &str), String> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let number: f64 = s[..end]
        .parse()
        .map_err(|_| format!("'{s}' does not start with a number"))?;
    Ok((number, s[end..].trim()))
}

/// Parse "250ms", "30s", "10m", "1h" (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (n, unit) = split_number(s)?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        other => {
            return Err(format!(
                "unknown duration unit '{other}' in '{s}' (use ms, s, m, h or d)"
            ));
        }
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("'{s}': {e}"))
}

/// Parse "512", "64KB", "32MB", "32MiB" (KB/MB/GB are 1000-based, KiB/MiB/GiB 1024-based).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let (n, unit) = split_number(s)?;
    let mult: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "unknown size unit '{unit}' in '{s}' (use B, KB, MB, GB, KiB, MiB or GiB)"
            ));
        }
    };
    Ok((n * mult).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let rows: &[(&str, u64)] = &[
            ("250ms", 250),
            ("30s", 30_000),
            ("30", 30_000),
            ("1.5s", 1_500),
            ("10m", 600_000),
            ("1h", 3_600_000),
            (" 2 s ", 2_000),
        ];
        for (s, ms) in rows {
            assert_eq!(
                parse_duration(s).unwrap(),
                Duration::from_millis(*ms),
                "{s}"
            );
        }
        assert!(parse_duration("10 parsecs").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn sizes() {
        let rows: &[(&str, u64)] = &[
            ("512", 512),
            ("64KB", 64_000),
            ("32MB", 32_000_000),
            ("32MiB", 33_554_432),
            ("1.5kib", 1536),
        ];
        for (s, b) in rows {
            assert_eq!(parse_size(s).unwrap(), *b, "{s}");
        }
        assert!(parse_size("3 furlongs").is_err());
    }
}
