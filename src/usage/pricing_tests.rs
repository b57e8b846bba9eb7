//! Golden tests: recorded cost equals the hand-computed provider price.

use super::*;
use crate::core::Usage;

fn usage(input: u64, output: u64, w5: u64, w1h: u64, read: u64) -> Usage {
    Usage {
        input_tokens: input,
        output_tokens: output,
        cache_write_5m_tokens: w5,
        cache_write_1h_tokens: w1h,
        cache_read_tokens: read,
    }
}

fn cost(model: &str, u: Usage) -> Decimal {
    let priced = PriceBook::default()
        .lookup(model)
        .unwrap_or_else(|| panic!("no price for {model}"));
    assert_eq!(priced.estimated_from, None, "{model} is in the table");
    priced.price.cost(&u)
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[test]
fn sonnet_on_the_api_with_both_cache_ttls() {
    // 1000×3 + 500×15 + 2000×3.75 + 1000×6 + 10000×0.30 = 27000 per million
    assert_eq!(
        cost(
            "claude-sonnet-4-5-20250929",
            usage(1000, 500, 2000, 1000, 10_000)
        ),
        d("0.027")
    );
}

#[test]
fn long_context_bills_the_whole_request_higher() {
    // prompt 150000 + 60000 = 210000 > 200K: 150000×6 + 60000×0.60 + 1000×22.50
    assert_eq!(
        cost("claude-sonnet-4-5", usage(150_000, 1000, 0, 0, 60_000)),
        d("0.9585")
    );
    // exactly 200K is not over: 140000×3 + 60000×0.30 + 1000×15
    assert_eq!(
        cost("claude-sonnet-4-5", usage(140_000, 1000, 0, 0, 60_000)),
        d("0.453")
    );
    // cache writes count towards the 200K: 100000×6 + 101000×7.50 + 10×22.5
    assert_eq!(
        cost(
            "claude-sonnet-4-20250514",
            usage(100_000, 10, 101_000, 0, 0)
        ),
        d("1.357725")
    );
}

#[test]
fn bedrock_regional_profiles_cost_ten_percent_more() {
    let u = usage(1000, 1000, 0, 0, 0);
    assert_eq!(
        cost("global.anthropic.claude-sonnet-4-5-20250929-v1:0", u),
        d("0.018")
    );
    assert_eq!(
        cost("us.anthropic.claude-sonnet-4-5-20250929-v1:0", u),
        d("0.0198")
    );
    assert_eq!(
        cost("eu.anthropic.claude-haiku-4-5-20251001-v1:0", u),
        d("0.0066")
    );
    assert_eq!(
        cost("anthropic.claude-haiku-4-5-20251001-v1:0", u),
        d("0.006")
    );
    // regional cache writes: 1000×4.125 + 1000×6.60 + 1000×0.33
    assert_eq!(
        cost(
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            usage(0, 0, 1000, 1000, 1000)
        ),
        d("0.011055")
    );
    assert_eq!(
        cost(
            "us.anthropic.claude-opus-4-5-20251101-v1:0",
            usage(1000, 0, 0, 0, 0)
        ),
        d("0.0055")
    );
}

#[test]
fn haiku_and_older_models() {
    // 2000×1 + 300×5 + 5000×0.10
    assert_eq!(
        cost("claude-haiku-4-5-20251001", usage(2000, 300, 0, 0, 5000)),
        d("0.004")
    );
    // 1000×0.80 + 1000×4 + 1000×1 (5m write) + 1000×0.08
    assert_eq!(
        cost(
            "claude-3-5-haiku-20241022",
            usage(1000, 1000, 1000, 0, 1000)
        ),
        d("0.00588")
    );
    assert_eq!(
        cost("claude-opus-4-1-20250805", usage(1000, 1000, 0, 0, 0)),
        d("0.09")
    );
}

#[test]
fn current_models_on_the_api() {
    // Opus 5.5: 1000×4 + 1000×20 + 1000×5 + 1000×8 + 10000×0.20
    assert_eq!(
        cost("claude-opus-5-5", usage(1000, 1000, 1000, 1000, 10_000)),
        d("0.039")
    );
    // Sonnet 5.5: 1000×2 + 1000×10 + 1000×0.10
    assert_eq!(
        cost("claude-sonnet-5-5", usage(1000, 1000, 0, 0, 1000)),
        d("0.0121")
    );
    // Opus 4.6–4.8 and 5 at 5 / 25.
    for m in [
        "claude-opus-4-6",
        "claude-opus-4-7-20260416",
        "claude-opus-4-8",
        "claude-opus-5",
    ] {
        assert_eq!(cost(m, usage(1000, 1000, 0, 0, 0)), d("0.03"), "{m}");
    }
}

#[test]
fn haiku_5_5_is_dearer_past_100k() {
    // 100000 is not over: 100000×0.10 + 1000×0.50
    assert_eq!(
        cost("claude-haiku-5-5", usage(100_000, 1000, 0, 0, 0)),
        d("0.0105")
    );
    // 90000 + 20000 cached = 110000 > 100K: every token at the higher rates
    // (90000×0.50 + 20000×0.05 + 1000×2.50)
    assert_eq!(
        cost("claude-haiku-5-5", usage(90_000, 1000, 0, 0, 20_000)),
        d("0.0485")
    );
}

#[test]
fn bedrock_profiles_and_govcloud() {
    let u = usage(1000, 1000, 0, 0, 0);
    assert_eq!(cost("global.anthropic.claude-opus-5-5", u), d("0.024"));
    assert_eq!(cost("us.anthropic.claude-opus-5-5", u), d("0.0264"));
    assert_eq!(cost("eu.anthropic.claude-sonnet-5-5", u), d("0.0132"));
    assert_eq!(cost("apac.anthropic.claude-sonnet-5", u), d("0.0132"));
    // GovCloud is 20% over the commercial list, not the same.
    assert_eq!(cost("us-gov.anthropic.claude-sonnet-5-5", u), d("0.0144"));
    assert_eq!(
        cost(
            "arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-opus-5-5",
            u
        ),
        d("0.0264")
    );
}

#[test]
fn unknown_claude_models_are_estimated_from_their_family() {
    let book = PriceBook::default();
    let p = book.lookup("claude-opus-6").unwrap();
    assert_eq!(p.estimated_from.as_deref(), Some("claude-opus-5-5"));
    assert_eq!(p.price, book.lookup("claude-opus-5-5").unwrap().price);
    let p = book.lookup("claude-sonnet-5-7-20270101").unwrap();
    assert_eq!(p.estimated_from.as_deref(), Some("claude-sonnet-5-5"));
    // Under a Bedrock profile: the profile's own newest.
    let p = book.lookup("us.anthropic.claude-haiku-6-v1:0").unwrap();
    assert_eq!(
        p.estimated_from.as_deref(),
        Some("us.anthropic.claude-haiku-5-5")
    );
    // A known id is never an estimate; other models are unpriced.
    assert_eq!(book.lookup("claude-opus-5").unwrap().estimated_from, None);
    assert!(book.lookup("gpt-4o").is_none());
    assert!(book.lookup("qwen2.5-coder:7b").is_none());
}

#[test]
fn overrides_win() {
    let custom = Price {
        base: Rates {
            input: d("2.5"),
            output: d("10"),
            ..Rates::default()
        },
        long_context: None,
    };
    let book = PriceBook::new(vec![("claude-sonnet-4-5".into(), custom)], Vec::new());
    assert_eq!(
        book.lookup("claude-sonnet-4-5")
            .unwrap()
            .price
            .cost(&usage(1000, 1000, 0, 0, 0)),
        d("0.0125")
    );
    assert_eq!(
        Price::free().cost(&usage(9_999, 9_999, 9, 9, 9)),
        Decimal::ZERO
    );
}

#[test]
fn litellm_price_files() {
    let json = r#"{
        "sample_spec": {"input_cost_per_token": "description"},
        "claude-sonnet-4-5-20250929": {"litellm_provider": "anthropic", "mode": "chat",
            "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
            "cache_creation_input_token_cost": 3.75e-06, "cache_creation_input_token_cost_above_1hr": 6e-06,
            "cache_read_input_token_cost": 3e-07,
            "input_cost_per_token_above_200k_tokens": 6e-06, "output_cost_per_token_above_200k_tokens": 2.25e-05,
            "cache_creation_input_token_cost_above_200k_tokens": 7.5e-06,
            "cache_creation_input_token_cost_above_1hr_above_200k_tokens": 1.2e-05,
            "cache_read_input_token_cost_above_200k_tokens": 6e-07},
        "claude-haiku-5-5": {"input_cost_per_token": 1e-07, "output_cost_per_token": 5e-07,
            "cache_creation_input_token_cost": 1.25e-07, "cache_creation_input_token_cost_above_1hr": 2e-07,
            "cache_read_input_token_cost": 1e-08,
            "input_cost_per_token_above_100k_tokens": 5e-07, "output_cost_per_token_above_100k_tokens": 2.5e-06,
            "cache_creation_input_token_cost_above_100k_tokens": 6.25e-07,
            "cache_creation_input_token_cost_above_1hr_above_100k_tokens": 1e-06,
            "cache_read_input_token_cost_above_100k_tokens": 5e-08},
        "bedrock/us-gov-west-1/anthropic.claude-3-haiku": {"input_cost_per_token": 3e-07, "output_cost_per_token": 1.5e-06},
        "text-embedding-3-small": {"input_cost_per_token": 2e-08, "mode": "embedding"},
        "broken": {"output_cost_per_token": "n/a"}
    }"#;
    let file = parse_litellm(json, "test", "2026-12-04").unwrap();
    let book = PriceBook::new(Vec::new(), file);
    for model in ["claude-sonnet-4-5-20250929", "claude-haiku-5-5"] {
        assert_eq!(
            book.lookup(model).unwrap().price,
            PriceBook::default().lookup(model).unwrap().price,
            "{model}: the same numbers as the embedded table"
        );
    }
    assert_eq!(
        book.lookup("anthropic.claude-3-haiku")
            .unwrap()
            .price
            .base
            .output,
        d("1.5")
    );
    assert!(book.lookup("broken").is_none());
    assert!(parse_litellm("[]", "x", "").is_err());
}

/// Every model the current Claude Code release asks for (as captured by
/// the shared probe from Claude Code 2.1.332's real requests) has a price
/// of its own, not an estimate.
#[test]
fn claude_codes_default_models_are_priced() {
    let models: Vec<String> = crate::core::fixtures::captured_bodies()
        .into_iter()
        .filter_map(|(_, body)| {
            body.get("model")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .collect();
    assert!(!models.is_empty(), "no model in the captures");
    let book = PriceBook::default();
    for m in models {
        let p = book.lookup(&m).unwrap_or_else(|| panic!("{m} is unpriced"));
        assert_eq!(p.estimated_from, None, "{m} is only estimated");
    }
}
