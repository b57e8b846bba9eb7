//! OpenTelemetry traces: a request's spans reach an OTLP/HTTP collector
//! (a small one here, taking JSON) with GenAI attributes; the client's
//! trace is continued and each attempt's span is the parent the upstream
//! is told about.

use crate::support::*;
use axum::extract::State;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Collects what is posted to `/v1/traces`.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Value>>>);

impl Collector {
    async fn start(self) -> String {
        async fn take(State(c): State<Collector>, body: axum::body::Bytes) -> &'static str {
            if let Ok(v) = serde_json::from_slice(&body) {
                c.0.lock().unwrap().push(v);
            }
            "{}"
        }
        let app = axum::Router::new()
            .route("/v1/traces", axum::routing::post(take))
            .with_state(self);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    /// Every span received so far, with its resource's attributes.
    fn spans(&self) -> Vec<(Value, Value)> {
        let mut out = Vec::new();
        for batch in self.0.lock().unwrap().iter() {
            for rs in batch["resourceSpans"].as_array().into_iter().flatten() {
                for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                    for s in ss["spans"].as_array().into_iter().flatten() {
                        out.push((rs["resource"].clone(), s.clone()));
                    }
                }
            }
        }
        out
    }

    async fn wait_for(&self, n: usize) -> Vec<(Value, Value)> {
        let started = Instant::now();
        loop {
            let spans = self.spans();
            if spans.len() >= n || started.elapsed() > Duration::from_secs(10) {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// An attribute's value (strings, and integers however they are written).
fn attr(span: &Value, key: &str) -> Option<String> {
    let a = span["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)?;
    let v = &a["value"];
    for kind in ["stringValue", "intValue", "doubleValue", "boolValue"] {
        match &v[kind] {
            Value::String(s) => return Some(s.clone()),
            Value::Null => {}
            other => return Some(other.to_string()),
        }
    }
    v.get("arrayValue").map(|a| a.to_string())
}

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

#[tokio::test]
async fn a_requests_spans_reach_the_collector_and_its_context_the_upstreams() {
    let collector = Collector::default();
    let endpoint = collector.clone().start().await;
    let (first, second) = (MockUpstream::start().await, MockUpstream::start().await);
    let config = format!(
        "[traces]\notlp_endpoint = \"{endpoint}\"\nservice_name = \"gw-test\"\nexport_delay = \"50ms\"\n\
         [retry]\nretries = 0\n\
         [providers.first]\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key = \"k\"\n\
         [providers.second]\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key = \"k\"\n\
         [models.a]\nprovider = \"first\"\nid = \"claude-a\"\n\
         [models.b]\nprovider = \"second\"\nid = \"claude-b\"\n\
         [[routes]]\nmatch = {{ model = \"pair\" }}\ntargets = [\"a\", \"b\"]\n",
        first.url(),
        second.url()
    );
    let gw = TestGateway::custom(&config).await;
    first.push(Reply::error(529, "overloaded_error", "busy"));
    let resp = gw
        .client()
        .post(format!("{}/v1/messages", gw.url))
        .header("x-api-key", MASTER_KEY)
        .header("traceparent", format!("00-{TRACE}-{CLIENT_SPAN}-01"))
        .body(body("pair", true))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap();

    // Each upstream was told the trace and its own attempt's span.
    let told = |m: &MockUpstream| {
        let seen = m.seen();
        let tp = seen[0].headers["traceparent"].to_str().unwrap().to_string();
        let parts: Vec<String> = tp.split('-').map(str::to_string).collect();
        assert_eq!(
            (parts[0].as_str(), parts[1].as_str(), parts[3].as_str()),
            ("00", TRACE, "01"),
            "{tp}"
        );
        parts[2].clone()
    };
    let (first_span, second_span) = (told(&first), told(&second));
    assert_ne!(first_span, second_span);

    let spans = collector.wait_for(3).await;
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let (resource, request) = spans
        .iter()
        .find(|(_, s)| s["kind"] == 2 || s["kind"] == "SPAN_KIND_SERVER")
        .expect("the request's server span");
    assert!(resource.to_string().contains("gw-test"), "{resource}");
    assert_eq!(request["traceId"], TRACE);
    assert_eq!(
        request["parentSpanId"], CLIENT_SPAN,
        "continues the client's span"
    );
    assert_eq!(request["name"], "chat pair");
    for (key, want) in [
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.request.model", "pair"),
        ("gen_ai.provider.name", "anthropic"),
        ("switchyard.model", "b"),
        ("switchyard.attempts", "2"),
        ("http.response.status_code", "200"),
    ] {
        assert_eq!(
            attr(request, key).as_deref(),
            Some(want),
            "{key}: {request:#}"
        );
    }
    for key in [
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.response.model",
        "switchyard.request_id",
    ] {
        assert!(attr(request, key).is_some(), "{key}: {request:#}");
    }
    let request_id = request["spanId"].as_str().unwrap();
    let attempt = |span_id: &str| {
        spans
            .iter()
            .map(|(_, s)| s)
            .find(|s| s["spanId"] == span_id)
            .unwrap_or_else(|| panic!("no span {span_id}: {spans:#?}"))
            .clone()
    };
    let (failed, served) = (attempt(&first_span), attempt(&second_span));
    for (span, model) in [(&failed, "claude-a"), (&served, "claude-b")] {
        assert_eq!(span["parentSpanId"], request_id);
        assert_eq!(span["traceId"], TRACE);
        assert_eq!(span["name"], format!("chat {model}"));
        assert_eq!(attr(span, "gen_ai.request.model").as_deref(), Some(model));
    }
    assert_eq!(attr(&failed, "error.type").as_deref(), Some("overloaded"));
    assert!(attr(&served, "error.type").is_none());
    assert!(attr(&served, "gen_ai.usage.output_tokens").is_some());
}

#[tokio::test]
async fn without_a_client_trace_a_new_one_begins_and_unsampled_ones_are_not_sent() {
    let collector = Collector::default();
    let endpoint = collector.clone().start().await;
    let upstream = MockUpstream::start().await;
    let gw = TestGateway::start(
        &upstream.url(),
        &format!("[traces]\notlp_endpoint = \"{endpoint}/v1/traces\"\nexport_delay = \"50ms\"\n"),
    )
    .await;
    // Not sampled by the client: passed on as such, never exported.
    let resp = gw
        .client()
        .post(format!("{}/v1/messages", gw.url))
        .header("x-api-key", MASTER_KEY)
        .header("traceparent", format!("00-{TRACE}-{CLIENT_SPAN}-00"))
        .body(body("claude-sonnet-4-5", false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let tp = upstream.seen()[0].headers["traceparent"].clone();
    assert!(tp.to_str().unwrap().ends_with("-00"), "{tp:?}");
    // No client trace: a new, sampled one.
    let resp = gw
        .post("/v1/messages", &body("claude-sonnet-4-5", false))
        .await;
    assert_eq!(resp.status(), 200);
    let tp = upstream.seen()[1].headers["traceparent"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(!tp.contains(TRACE) && tp.ends_with("-01"), "{tp}");
    let spans = collector.wait_for(2).await;
    assert_eq!(spans.len(), 2, "only the sampled request: {spans:#?}");
    assert!(spans.iter().all(|(_, s)| s["traceId"] != TRACE));
    assert!(
        spans
            .iter()
            .any(|(_, s)| s["parentSpanId"].as_str().unwrap_or("").is_empty()),
        "the new trace's root span"
    );
}
