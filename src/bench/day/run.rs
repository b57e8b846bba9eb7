//! Replaying the day: the gateway and the upstream in this process, one
//! task per developer sending its requests as Claude Code would, what each
//! answer's routing headers said, and the ledger's daily report at the end.

use super::script::{self, Action, Prompts, Purpose, Rng};
use super::shapes::{self, Frame};
use super::{DayArgs, upstream};
use crate::routing::classifier::Level;
use crate::routing::devset;
use crate::usage::reports::{Range, Report, build, today};
use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// The built-in prompts: the routing corpus's test split (wordings the
/// classifier was never trained on), standalone requests only.
const CORPUS: &str = include_str!("../../../routing/corpus.jsonl");

/// What the replay saw, and the ledger's report.
#[derive(Debug, Default, Serialize)]
pub struct DayOutcome {
    /// Tasks by level (local, cheap, premium).
    pub tasks: BTreeMap<String, usize>,
    /// Requests sent (count_tokens included).
    pub requests: usize,
    /// Answers that were not 200.
    pub errors: usize,
    /// Premium tasks whose planning turn was served below premium.
    pub premium_plans_below: Vec<String>,
    /// Premium tasks' planning turns.
    pub premium_plans: usize,
    /// Escalations and cache decisions by kind, from the reason headers.
    pub decisions: BTreeMap<String, usize>,
    /// Main-loop requests by the tier that served them.
    pub tiers: BTreeMap<String, usize>,
    /// The ledger's daily report.
    pub report: Option<Report>,
}

/// The reason-header phrases of each escalation path.
pub const PATHS: &[(&str, &str)] = &[
    ("a tool reported an error", "tool error"),
    ("refused or malformed", "refused call"),
    ("failing tests", "failing run"),
    ("repeated its last tool call", "loop"),
    ("a subagent reported back", "subagent report"),
    ("a person answered through a tool", "person via tool"),
    ("third failure in this task", "third failure: tier up"),
    ("answers a question the", "question answered"),
];

/// Load labelled prompts: a file, or the built-in test split.
pub fn prompts(path: Option<&std::path::Path>) -> Result<Prompts, String> {
    let text = match path {
        Some(p) => std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?,
        None => CORPUS.to_string(),
    };
    let mut out = Prompts::default();
    for line in devset::parse(&text)? {
        let standalone = line.context.is_empty() && line.tool_steps == 0;
        if path.is_none() && (line.split.as_deref() != Some("test") || !standalone) {
            continue;
        }
        match line.tier.as_deref().and_then(devset::level_named) {
            Some(Level::Local) => out.local.push(line.prompt),
            Some(Level::Cheap) => out.cheap.push(line.prompt),
            Some(Level::Premium) => out.premium.push(line.prompt),
            None => {}
        }
    }
    if out.local.is_empty() || out.cheap.is_empty() || out.premium.is_empty() {
        return Err("the prompts need at least one of each tier (local, cheap, premium)".into());
    }
    Ok(out)
}

struct Replay {
    client: crate::bench::load::HttpClient,
    base: String,
    frame: Frame,
    speed: f64,
    outcome: Mutex<DayOutcome>,
}

struct Sent<'a> {
    body: Value,
    path: &'a str,
    session: &'a str,
    agent: Option<&'a str>,
    purpose: Option<(Purpose, Level, &'a str)>,
}

impl Replay {
    async fn pause(&self, virtual_secs: u64) {
        tokio::time::sleep(Duration::from_secs_f64(virtual_secs as f64 / self.speed)).await;
    }

    /// Send a request; the upstream model that answered, if one did.
    async fn send(&self, s: Sent<'_>) -> Option<String> {
        let mut req = Request::post(format!("{}{}", self.base, s.path))
            .header("content-type", "application/json")
            .header("anthropic-version", "2023-06-01")
            .header("x-app", "cli")
            .header("x-claude-code-session-id", s.session);
        if let Some(a) = s.agent {
            req = req.header("x-claude-code-agent-id", a);
        }
        let Ok(req) = req.body(Full::new(Bytes::from(s.body.to_string()))) else {
            return None;
        };
        let answer = self.client.request(req).await;
        let mut o = self.outcome.lock().await;
        o.requests += 1;
        let Ok(resp) = answer else {
            o.errors += 1;
            return None;
        };
        let text = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let (tier, reason) = (text("x-switchyard-tier"), text("x-switchyard-reason"));
        let answered = resp
            .status()
            .is_success()
            .then(|| text("x-switchyard-model"));
        if answered.is_none() {
            o.errors += 1;
        }
        if let Some((purpose, level, prompt)) = s.purpose {
            *o.tiers.entry(tier.clone()).or_default() += 1;
            if purpose == Purpose::Plan && level == Level::Premium {
                o.premium_plans += 1;
                if tier != "premium" {
                    let words: Vec<&str> = prompt.split_whitespace().collect();
                    o.premium_plans_below
                        .push(words.join(" ").chars().take(100).collect());
                }
            }
            for (phrase, name) in PATHS {
                if reason.contains(phrase) {
                    *o.decisions.entry(name.to_string()).or_default() += 1;
                }
            }
            if reason.contains("whose prompt cache makes it cheaper") {
                *o.decisions.entry("kept by the cache".into()).or_default() += 1;
            }
        }
        drop(o);
        let _ = resp.into_body().collect().await;
        answered
    }

    /// One developer's day.
    async fn developer(&self, dev: u64, actions: Vec<Action>) {
        let mut session = String::new();
        let mut sessions = 0;
        let mut messages: Vec<Value> = Vec::new();
        let mut title: Option<String> = None;
        let mut ids = 0u64;
        let mut task: (Level, String) = (Level::Local, String::new());
        // The model that wrote the next assistant turn (its thinking signed).
        let mut signer: Option<String> = None;
        for action in actions {
            match action {
                Action::Wait(s) => self.pause(s).await,
                Action::NewSession => {
                    sessions += 1;
                    session = format!("day-{dev}-{sessions}");
                    messages.clear();
                    title = Some(String::new());
                }
                Action::Person {
                    text,
                    level,
                    purpose,
                } => {
                    if purpose == Purpose::Plan {
                        task = (level, text.clone());
                        let key = format!("{level:?}").to_lowercase();
                        *self.outcome.lock().await.tasks.entry(key).or_default() += 1;
                    }
                    messages.push(if messages.is_empty() {
                        self.frame.first_turn(&text)
                    } else {
                        shapes::person(&text)
                    });
                    signer = self.main(&session, &messages, purpose, &task).await;
                    if title.take().is_some() {
                        let body = self.frame.title(&text);
                        self.plain(body, "/v1/messages", &session, None).await;
                    }
                }
                Action::Tool {
                    name,
                    input,
                    output,
                    is_error,
                    purpose,
                } => {
                    ids += 1;
                    let id = format!("toolu_{dev}_{ids}");
                    let s = signer.as_deref();
                    messages.extend(shapes::tool_turns(&id, name, &input, &output, is_error, s));
                    signer = self.main(&session, &messages, purpose, &task).await;
                }
                Action::Says(text) => messages.push(shapes::says(&text, signer.as_deref())),
                Action::Subagent { prompt, steps } => {
                    ids += 1;
                    let agent = format!("agent-{dev}-{ids}");
                    self.subagent(&session, &agent, &prompt, steps, &task).await;
                    let id = format!("toolu_{dev}_{ids}");
                    let report = "Found 7 callers in 4 files: src/orders/service.rs:88, …";
                    let input = json!({"prompt": prompt});
                    let s = signer.as_deref();
                    messages.extend(shapes::tool_turns(&id, "Agent", &input, report, false, s));
                    signer = self
                        .main(&session, &messages, Purpose::AfterReport, &task)
                        .await;
                }
                Action::CountTokens => {
                    let body = self.frame.count(&messages);
                    self.plain(body, "/v1/messages/count_tokens", &session, None)
                        .await;
                }
            }
        }
    }

    /// A main-loop request; the model that answered.
    async fn main(
        &self,
        session: &str,
        messages: &[Value],
        purpose: Purpose,
        task: &(Level, String),
    ) -> Option<String> {
        self.send(Sent {
            body: self.frame.request(messages),
            path: "/v1/messages",
            session,
            agent: None,
            purpose: Some((purpose, task.0, &task.1)),
        })
        .await
    }

    async fn plain(&self, body: Value, path: &str, session: &str, agent: Option<&str>) {
        self.send(Sent {
            body,
            path,
            session,
            agent,
            purpose: None,
        })
        .await;
    }

    async fn subagent(
        &self,
        session: &str,
        agent: &str,
        prompt: &str,
        steps: Vec<Action>,
        task: &(Level, String),
    ) {
        let mut messages = vec![self.frame.first_turn(prompt)];
        let send = |messages: Vec<Value>| Sent {
            body: self.frame.request(&messages),
            path: "/v1/messages",
            session,
            agent: Some(agent),
            purpose: Some((Purpose::Subagent, task.0, &task.1)),
        };
        let mut signer = self.send(send(messages.clone())).await;
        for (i, step) in steps.into_iter().enumerate() {
            match step {
                Action::Wait(s) => self.pause(s).await,
                Action::Tool {
                    name,
                    input,
                    output,
                    is_error,
                    ..
                } => {
                    let id = format!("toolu_{agent}_{i}");
                    let s = signer.as_deref();
                    messages.extend(shapes::tool_turns(&id, name, &input, &output, is_error, s));
                    signer = self.send(send(messages.clone())).await;
                }
                _ => {}
            }
        }
    }
}

/// Run the day and read its report from the ledger.
pub async fn day(args: &DayArgs) -> Result<DayOutcome, String> {
    let prompts = prompts(args.prompts.as_deref())?;
    let first_day = today();
    let speed = args.speed.max(1) as f64;
    let ttl = Duration::from_secs_f64(300.0 / speed);
    let upstream = upstream::start(ttl)
        .await
        .map_err(|e| format!("upstream: {e}"))?;
    let dir = std::env::temp_dir().join(format!("switchyard-day-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let _ = std::fs::remove_file(dir.join("day.db"));
    let config = crate::config::load_str(
        &super::config(upstream, &dir, args),
        crate::config::ConfigSource::Embedded,
        &|_| None,
    )
    .map_err(|e| e.to_string())?;
    let (ledger, writer, store) = crate::usage::setup::open_ledger(&config).await?;
    let gateway = crate::server::Gateway::bind(config, vec![ledger], Some(store.clone())).await?;
    let addr = gateway.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(gateway.run(async {
        let _ = stopped.await;
    }));
    let replay = Arc::new(Replay {
        client: crate::bench::load::client(),
        base: format!("http://{addr}"),
        frame: Frame::default(),
        speed,
        outcome: Mutex::new(DayOutcome::default()),
    });
    let mut rng = Rng::new(args.seed);
    let mut workers = Vec::new();
    for dev in 0..args.developers {
        let actions = script::developer(&mut rng, &prompts, args.hours);
        let r = replay.clone();
        workers.push(tokio::spawn(async move { r.developer(dev, actions).await }));
    }
    for w in workers {
        w.await
            .map_err(|e| format!("a developer's replay failed: {e}"))?;
    }
    let _ = stop.send(());
    serving
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    writer.close().await;
    let range = Range {
        from: first_day,
        to: today(),
    };
    let report = build(&store, "daily", range, &[], 10)
        .await
        .map_err(|e| format!("report: {e}"))?;
    let _ = std::fs::remove_dir_all(&dir);
    let mut outcome = std::mem::take(&mut *replay.outcome.lock().await);
    outcome.report = Some(report);
    Ok(outcome)
}
