//! Prices through the gateway, as the ledger records them: current models,
//! 1-hour cache writes in a stream whose final event repeats the total
//! without the split (what the API sends), a per-model long-context
//! threshold, an unknown Claude model priced by estimate and named in the
//! report, and token counts kept apart from model requests.

use crate::support::mock::ev;
use crate::support::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::time::Duration;
use switchyard::usage::ledger::from_nanos;
use switchyard::usage::reports::{Range, today};

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn config(upstream: &str) -> String {
    format!(
        r#"[retry]
attempts = 0
[providers.anthropic]
kind = "anthropic"
base_url = "{upstream}"
api_key = "{UPSTREAM_KEY}"
[models.claude]
provider = "anthropic"
aliases = ["claude-*"]
"#
    )
}

fn body(model: &str, stream: bool) -> String {
    json!({"model": model, "max_tokens": 100, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}).to_string()
}

fn answer(model: &str, usage: Value) -> Reply {
    let mut m = crate::support::mock::text_message(model, "done");
    m["usage"] = usage;
    Reply::Json {
        status: 200,
        headers: vec![],
        body: m.to_string(),
    }
}

/// A stream as the API writes it with prompt caching: the split in
/// `message_start`, the total alone in the final `message_delta`.
fn cached_stream(model: &str) -> Reply {
    let start = json!({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":model,"content":[],"stop_reason":null,"stop_sequence":null,
        "usage":{"input_tokens":10,"cache_creation_input_tokens":3000,"cache_read_input_tokens":20000,
                 "cache_creation":{"ephemeral_5m_input_tokens":1000,"ephemeral_1h_input_tokens":2000},"output_tokens":1}}});
    let events = vec![
        ev("message_start", start),
        ev(
            "content_block_start",
            json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
        ),
        ev(
            "content_block_delta",
            json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ok"}}),
        ),
        ev(
            "content_block_stop",
            json!({"type":"content_block_stop","index":0}),
        ),
        ev(
            "message_delta",
            json!({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},
            "usage":{"input_tokens":10,"cache_creation_input_tokens":3000,"cache_read_input_tokens":20000,"output_tokens":500}}),
        ),
        ev("message_stop", json!({"type":"message_stop"})),
    ];
    Reply::Sse {
        events,
        gap: Duration::ZERO,
        tail: StreamTail::Complete,
    }
}

#[tokio::test]
async fn every_price_dimension_lands_in_the_ledger() {
    let upstream = MockUpstream::start().await;
    let mut gw = TestGateway::with_ledger(&config(&upstream.url())).await;
    // Opus 5.5, streamed, with 1-hour writes: 10×4 + 1000×5 + 2000×8 + 20000×0.20 + 500×20
    // (had the final total erased the split: 0.02904).
    upstream.push(cached_stream("claude-opus-5-5"));
    let r = gw
        .post("/v1/messages", &body("claude-opus-5-5", true))
        .await;
    assert_eq!(r.status(), 200);
    r.text().await.unwrap();
    // Haiku 5.5 past its 100K threshold: (90000×0.50 + 20000×0.05 + 1000×2.50).
    upstream.push(answer(
        "claude-haiku-5-5",
        json!({"input_tokens": 90000, "cache_read_input_tokens": 20000, "output_tokens": 1000}),
    ));
    assert_eq!(
        gw.post("/v1/messages", &body("claude-haiku-5-5", false))
            .await
            .status(),
        200
    );
    // An unknown Opus: priced as Opus 5.5, estimated (1000×4 + 100×20).
    upstream.push(answer(
        "claude-opus-6",
        json!({"input_tokens": 1000, "output_tokens": 100}),
    ));
    assert_eq!(
        gw.post("/v1/messages", &body("claude-opus-6", false))
            .await
            .status(),
        200
    );
    // A token count: apart from the model requests.
    upstream.push(Reply::Json {
        status: 200,
        headers: vec![],
        body: json!({"input_tokens": 42}).to_string(),
    });
    let counted = gw
        .post(
            "/v1/messages/count_tokens",
            &json!({"model": "claude-opus-5-5", "messages": [{"role": "user", "content": "hi"}]})
                .to_string(),
        )
        .await;
    assert_eq!(counted.status(), 200);
    gw.records.wait_for(4).await;
    let store = gw.store.clone().unwrap();
    let (from, to) = Range::day(today()).millis();
    // The writer batches for up to a quarter second.
    for _ in 0..250 {
        let t = store.totals(from, to).await.unwrap();
        if t.requests + t.count_calls >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let report = gw.get_json("/admin/report/daily?format=json").await;
    let rows = gw.flushed_rows().await;
    let cost = |model: &str| {
        let r = rows
            .iter()
            .find(|r| r.upstream_model.as_deref() == Some(model) && r.endpoint == "messages")
            .unwrap_or_else(|| panic!("no row for {model}"));
        (from_nanos(r.cost_nusd), r.priced_as.clone())
    };
    assert_eq!(cost("claude-opus-5-5"), (d("0.03504"), None));
    assert_eq!(cost("claude-haiku-5-5"), (d("0.0485"), None));
    assert_eq!(
        cost("claude-opus-6"),
        (d("0.006"), Some("claude-opus-5-5".into()))
    );
    // The report counts three requests and one token count, and names the estimate.
    let s = &report["summary"];
    assert_eq!(
        (s["requests"].as_i64(), s["count_calls"].as_i64()),
        (Some(3), Some(1)),
        "{s}"
    );
    assert_eq!(s["estimated"], 1);
    assert_eq!(
        report["pricing"],
        json!(["claude-opus-6: priced as claude-opus-5-5, estimated (1 requests)"])
    );
    assert_eq!(d(s["cost_usd"].as_str().unwrap()), d("0.0895"));
    // Prompt tokens read from the provider's cache: 40000 of 23010 + 110000 + 1000.
    assert_eq!(d(s["prompt_cache_read_pct"].as_str().unwrap()), d("29.8"));
}

/// `switchyard reconcile` on the ledger of a real run against a console
/// export of the same usage: clean when it matches, flagged when the bill
/// is 10% higher.
#[tokio::test]
async fn reconcile_the_ledger_with_a_console_export() {
    let upstream = MockUpstream::start().await;
    let mut gw = TestGateway::with_ledger(&config(&upstream.url())).await;
    for _ in 0..2 {
        upstream.push(answer(
            "claude-sonnet-5-5",
            json!({"input_tokens": 1000, "output_tokens": 100, "cache_read_input_tokens": 10000}),
        ));
        assert_eq!(
            gw.post("/v1/messages", &body("claude-sonnet-5-5", false))
                .await
                .status(),
            200
        );
    }
    gw.records.wait_for(2).await;
    gw.flush_ledger().await;
    // Per request 1000×2 + 100×10 + 10000×0.10 = $0.004; two: $0.008.
    let day = today().to_string();
    let dir = std::env::temp_dir().join(format!("switchyard-reconcile-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("switchyard.toml");
    std::fs::write(
        &cfg,
        format!(
            "auth = \"none\"\ndatabase_url = \"{}\"\n{}",
            gw.database_url,
            config(&upstream.url())
        ),
    )
    .unwrap();
    let run = async |cost: &str| {
        let export = dir.join(format!("usage-{cost}.csv"));
        std::fs::write(
            &export,
            format!(
                "usage_date_utc,model,workspace,uncached_input_tokens,output_tokens,cache_read_input_tokens,cache_creation_input_tokens,cost_usd\n\
                 {day},claude-sonnet-5-5,Default,2000,200,20000,0,{cost}\n"
            ),
        )
        .unwrap();
        switchyard_cli([
            "reconcile".as_ref(),
            "--config".as_ref(),
            cfg.as_os_str(),
            export.as_os_str(),
        ])
        .await
    };
    let clean = run("0.008").await;
    let text = String::from_utf8_lossy(&clean.stdout);
    assert!(
        clean.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    assert!(
        text.contains("| sonnet-5.5 | $0.0080 | $0.0080 | +0.00% | ok |"),
        "{text}"
    );
    let off = run("0.0088").await;
    let text = String::from_utf8_lossy(&off.stdout);
    assert!(!off.status.success(), "{text}");
    assert!(
        text.contains("-9.09%") && text.contains("price change"),
        "{text}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
