//! `switchyard route --explain`: how a request would be routed — route,
//! tier, model, score and reasons — without calling any model. Same config
//! and code path as `serve`.

use super::{ConfigArgs, load_config_offline};
use crate::core::{BodyKind, RawRequest};
use crate::routing::{Router, devset};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `route`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RouteArgs {
    /// Train or evaluate the classifier instead of explaining a request.
    #[command(subcommand)]
    pub action: Option<super::route_model::RouteAction>,
    /// Config source.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Explain the decision (the only mode; kept for the documented form).
    #[arg(long)]
    pub explain: bool,
    /// One JSON object per request instead of text.
    #[arg(long)]
    pub json: bool,
    /// A prompt to route as a one-turn conversation.
    #[arg(long, conflicts_with = "input")]
    pub prompt: Option<String>,
    /// The model the request asks for (Claude Code's main requests ask for
    /// claude-opus-5-5).
    #[arg(long, default_value = "claude-opus-5-5")]
    pub model: String,
    /// A Claude Code session id (as x-claude-code-session-id).
    #[arg(long)]
    pub session: Option<String>,
    /// A request body (.json, Anthropic or OpenAI) or a prompt set (.jsonl:
    /// id, prompt, optional context).
    pub input: Option<PathBuf>,
}

fn explain(
    router: &Router,
    raw: &RawRequest,
    headers: &HeaderMap,
    id: Option<&str>,
    expected: Option<&str>,
) -> Value {
    let mut out = match router.plan(raw, headers) {
        Ok(plan) => {
            let first = &plan.targets[0];
            let c = plan.classification.as_ref();
            json!({
                "route": plan.route,
                "tier": first.tier.clone().or(plan.tier.clone()),
                "model": first.model.name,
                "upstream_model": first.upstream_model,
                "provider": first.provider.name,
                "score": c.map(|c| c.score),
                "probabilities": c.and_then(|c| c.probabilities),
                "reasons": c.map(|c| c.reasons.clone()).unwrap_or_default(),
                "decision": plan.reason,
                "fallbacks": plan.targets.iter().skip(1).map(|t| t.model.name.clone()).collect::<Vec<_>>(),
            })
        }
        Err(e) => json!({"error": e.to_string()}),
    };
    if let Some(id) = id {
        out["id"] = json!(id);
    }
    if let Some(t) = expected {
        out["expected"] = json!(t);
    }
    out
}

fn text(v: &Value) -> String {
    let mut out = String::new();
    if let Some(id) = v["id"].as_str() {
        out.push_str(&format!("{id}\n"));
    }
    if let Some(e) = v["error"].as_str() {
        out.push_str(&format!("  error: {e}\n"));
        return out;
    }
    let s = |k: &str| v[k].as_str().unwrap_or("-").to_string();
    out.push_str(&format!(
        "  route:    {}\n  tier:     {}\n",
        s("route"),
        s("tier")
    ));
    out.push_str(&format!(
        "  model:    {} ({} on {})\n",
        s("model"),
        s("upstream_model"),
        s("provider")
    ));
    if let Some(score) = v["score"].as_f64() {
        out.push_str(&format!("  score:    {score:.3}\n"));
    }
    out.push_str(&format!("  decision: {}\n", s("decision")));
    for r in v["reasons"].as_array().into_iter().flatten() {
        out.push_str(&format!("    - {}\n", r.as_str().unwrap_or("")));
    }
    let fallbacks: Vec<&str> = v["fallbacks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !fallbacks.is_empty() {
        out.push_str(&format!("  then:     {}\n", fallbacks.join(" → ")));
    }
    out
}

fn parse_body(bytes: Bytes) -> Result<RawRequest, String> {
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| format!("not JSON: {e}"))?;
    let anthropic = v.get("max_tokens").is_some() && v.get("max_completion_tokens").is_none()
        || v.get("system").is_some();
    let kind = if anthropic {
        BodyKind::Messages
    } else {
        BodyKind::ChatCompletions
    };
    RawRequest::parse(bytes, kind)
}

/// Run the command.
pub fn run(args: &RouteArgs) -> ExitCode {
    if let Some(action) = &args.action {
        return super::route_model::run(action);
    }
    let config = match load_config_offline(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let router = match Router::new(&config).and_then(|mut r| {
        r.set_prices(crate::usage::setup::model_prices(&config)?);
        Ok(r)
    }) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut headers = HeaderMap::new();
    if let Some(s) = args
        .session
        .as_deref()
        .and_then(|s| HeaderValue::from_str(s).ok())
    {
        headers.insert(crate::routing::SESSION_HEADER, s);
    }
    // A closed pipe (`| head`) ends the output quietly; a request that
    // cannot be routed makes the exit status non-zero.
    let failed = std::cell::Cell::new(false);
    let emit = |v: Value| {
        if v.get("error").is_some() {
            failed.set(true);
        }
        use std::io::Write;
        let line = if args.json {
            format!("{v}\n")
        } else {
            text(&v)
        };
        if std::io::stdout().lock().write_all(line.as_bytes()).is_err() {
            std::process::exit(0);
        }
    };
    let one = |bytes: Bytes, id: Option<&str>, expected: Option<&str>| match RawRequest::parse(
        bytes,
        BodyKind::Messages,
    ) {
        Ok(raw) => explain(&router, &raw, &headers, id, expected),
        Err(e) => json!({"id": id, "error": e}),
    };
    match (&args.prompt, &args.input) {
        (Some(prompt), _) => {
            let line = devset::Line::prompt(prompt);
            emit(one(devset::body_for(&line, &args.model), None, None));
        }
        (None, Some(path)) => {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("cannot read {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            };
            if path.extension().is_some_and(|e| e == "jsonl") {
                let lines = match devset::parse(&text) {
                    Ok(l) => l,
                    Err(e) => {
                        eprintln!("{}: {e}", path.display());
                        return ExitCode::FAILURE;
                    }
                };
                for line in &lines {
                    emit(one(
                        devset::body_for(line, &args.model),
                        Some(&line.id),
                        line.tier.as_deref(),
                    ));
                }
            } else {
                match parse_body(Bytes::from(text)) {
                    Ok(raw) => emit(explain(&router, &raw, &headers, None, None)),
                    Err(e) => {
                        eprintln!("{}: {e}", path.display());
                        return ExitCode::FAILURE;
                    }
                }
            }
        }
        (None, None) => {
            eprintln!("give a request body (.json), a prompt set (.jsonl) or --prompt TEXT");
            return ExitCode::FAILURE;
        }
    }
    if failed.get() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
