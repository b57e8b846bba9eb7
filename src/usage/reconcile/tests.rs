//! Reconciliation against exports generated from a known set of requests:
//! exact where complete; a planted discrepancy, an unpriced model and
//! traffic that bypassed the gateway flagged with their causes.

use super::read::{Format, read};
use super::*;
use crate::usage::pricing::PriceBook;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// The ledger of a known day: (day, upstream model, tokens, doubtful).
fn ledger() -> Vec<DayModel> {
    let book = PriceBook::default();
    let row = |day: &str, model: &str, tokens: [i64; 4], doubtful: i64| {
        let p = book.lookup(model).unwrap().price;
        let u = crate::core::Usage {
            input_tokens: tokens[0] as u64,
            output_tokens: tokens[1] as u64,
            cache_read_tokens: tokens[2] as u64,
            cache_write_5m_tokens: tokens[3] as u64,
            cache_write_1h_tokens: 0,
        };
        DayModel {
            day: day.into(),
            model: model.into(),
            requests: 10,
            tokens,
            cost_nusd: crate::usage::ledger::to_nanos(p.cost(&u)),
            doubtful,
        }
    };
    vec![
        row(
            "2026-12-01",
            "us.anthropic.claude-sonnet-4-6",
            [100_000, 20_000, 900_000, 50_000],
            0,
        ),
        row(
            "2026-12-01",
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            [40_000, 5_000, 0, 0],
            0,
        ),
        row(
            "2026-12-02",
            "us.anthropic.claude-sonnet-4-6",
            [80_000, 10_000, 700_000, 30_000],
            0,
        ),
    ]
}

/// A CUR 2.0 export of the same usage, priced as AWS would.
fn cur(scale_sonnet_day2: &str) -> String {
    let mut out = String::from(
        "identity_line_item_id,line_item_usage_start_date,line_item_product_code,line_item_usage_type,line_item_usage_amount,pricing_unit,line_item_unblended_cost,product_region\n",
    );
    let book = PriceBook::default();
    for dm in ledger() {
        let rates = book.lookup(&dm.model).unwrap().price.base;
        let label = if dm.model.contains("sonnet") {
            "Claude4.6Sonnet"
        } else {
            "Claude4.5Haiku"
        };
        let scale = if dm.day == "2026-12-02" {
            d(scale_sonnet_day2)
        } else {
            Decimal::ONE
        };
        let kinds = [
            ("input-tokens", rates.input),
            ("output-tokens", rates.output),
            ("cache-read-input-token-count", rates.cache_read),
            ("cache-write-input-token-count", rates.cache_write_5m),
        ];
        for (i, (kind, rate)) in kinds.iter().enumerate() {
            let n = Decimal::from(dm.tokens[i]);
            if n.is_zero() {
                continue;
            }
            let cost = n * rate / Decimal::from(1_000_000) * scale;
            out.push_str(&format!(
                "x{i},{}T00:00:00Z,AmazonBedrock,\"USE1-{label}-{kind}\",{},1K tokens,{cost},us-east-1\n",
                dm.day,
                n / Decimal::from(1000)
            ));
        }
    }
    // Something else on the same bill.
    out.push_str("y,2026-12-01T00:00:00Z,AmazonEC2,BoxUsage:t3.micro,24,Hrs,0.25,us-east-1\n");
    out
}

#[test]
fn model_keys_match_across_exports() {
    for (text, key) in [
        ("us.anthropic.claude-sonnet-4-6", "sonnet-4.6"),
        ("claude-sonnet-4-6-20260101", "sonnet-4.6"),
        ("USE1-Claude4.6Sonnet-input-tokens", "sonnet-4.6"),
        (
            "USW2-Claude-Sonnet-4-5-cache-read-input-token-count",
            "sonnet-4.5",
        ),
        ("Claude Opus 5.5", "opus-5.5"),
        ("anthropic.claude-haiku-4-5-20251001-v1:0", "haiku-4.5"),
        ("claude-3-5-haiku", "haiku-3.5"),
    ] {
        assert_eq!(model_key(text).as_deref(), Some(key), "{text}");
    }
    assert_eq!(model_key("BoxUsage:t3.micro"), None);
}

#[test]
fn a_complete_cur_reconciles_within_a_tenth_of_a_percent() {
    let (format, lines) = read(&cur("1")).unwrap();
    assert_eq!(format, Format::AwsCur);
    assert_eq!(lines.len(), 10, "EC2 left out");
    let r = reconcile(&ledger(), &lines, d("5"));
    assert_eq!(r.rows.len(), 3);
    assert!(r.rows.iter().all(|x| !x.flagged), "{r:#?}");
    assert!(
        r.deviation_pct.unwrap().abs() <= d("0.1"),
        "{:?}",
        r.deviation_pct
    );
    // Tokens agree exactly too (the CUR counts them in thousands).
    let row = &r.rows[0];
    assert_eq!(row.ledger.tokens, row.bill.tokens);
}

#[test]
fn a_planted_ten_percent_discrepancy_is_flagged() {
    let (_, lines) = read(&cur("1.10")).unwrap();
    let r = reconcile(&ledger(), &lines, d("5"));
    let flagged: Vec<&Row> = r.rows.iter().filter(|x| x.flagged).collect();
    assert_eq!(flagged.len(), 1);
    assert_eq!(
        (flagged[0].day.as_str(), flagged[0].model.as_str()),
        ("2026-12-02", "sonnet-4.6")
    );
    assert_eq!(flagged[0].deviation_pct, Some(d("-9.09")));
    assert!(
        flagged[0]
            .cause
            .as_deref()
            .unwrap()
            .contains("price change"),
        "{:?}",
        flagged[0].cause
    );
    assert!(markdown(&r).contains("1 of 3 rows flagged"));
}

#[test]
fn unpriced_models_and_bypassing_traffic_are_named() {
    let mut ours = ledger();
    ours[1].doubtful = 10;
    ours[1].cost_nusd = 0;
    ours.remove(2);
    let (_, lines) = read(&cur("1")).unwrap();
    let r = reconcile(&ours, &lines, d("5"));
    let cause = |day: &str, model: &str| {
        r.rows
            .iter()
            .find(|x| x.day == day && x.model == model)
            .and_then(|x| x.cause.clone())
            .unwrap_or_default()
    };
    assert!(
        cause("2026-12-01", "haiku-4.5").contains("unpriced"),
        "{r:#?}"
    );
    assert!(cause("2026-12-02", "sonnet-4.6").contains("did not pass the gateway"));
}

#[test]
fn legacy_cur_cost_explorer_and_anthropic_exports() {
    let legacy = "lineItem/UsageStartDate,lineItem/ProductCode,lineItem/UsageType,lineItem/UsageAmount,lineItem/UnblendedCost\n\
                  2026-12-01T00:00:00Z,AmazonBedrock,USE1-Claude4.5Haiku-input-tokens,40000,0.044\n";
    let (f, lines) = read(legacy).unwrap();
    assert_eq!(
        (f, lines[0].model.as_str(), lines[0].tokens),
        (Format::AwsCur, "haiku-4.5", Some(d("40000")))
    );
    let ce = "Usage type,USE1-Claude4.6Sonnet-input-tokens($),USE1-Claude4.6Sonnet-output-tokens($),Total costs($)\n\
              Usage type total,0.66,0.495,1.155\n\
              2026-12-01,0.33,0.33,0.66\n\
              2026-12-02,0.33,0.165,0.495\n";
    let (f, lines) = read(ce).unwrap();
    assert_eq!(f, Format::AwsCostExplorer);
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines.iter().filter_map(|l| l.usd).sum::<Decimal>(),
        d("1.155")
    );
    let console = "usage_date_utc,model,workspace,api_key,uncached_input_tokens,output_tokens,cache_read_input_tokens,cache_creation_input_tokens,cost_usd\n\
                   2026-12-01,claude-opus-5-5,Default,key-1,1000,100,10000,500,0.0115\n";
    let (f, lines) = read(console).unwrap();
    assert_eq!(f, Format::Anthropic);
    assert_eq!(
        lines.iter().filter_map(|l| l.usd).sum::<Decimal>(),
        d("0.0115")
    );
    assert_eq!(
        lines.iter().filter_map(|l| l.tokens).sum::<Decimal>(),
        d("11600")
    );
    assert!(read("a,b\n1,2\n").is_err());
}
