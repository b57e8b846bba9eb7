//! `switchyard route train` and `switchyard route eval`: fit the learned
//! classifier to a labelled set, and score a classifier on labelled sets
//! (accuracy, confusion, how much premium work went to cheaper tiers,
//! calibration).

use crate::routing::classifier::{Classifier, Level, Thresholds};
use crate::routing::devset::{self, Line};
use crate::routing::learned::{Model, train};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// `route train` and `route eval`.
#[derive(Debug, clap::Subcommand)]
pub enum RouteAction {
    /// Train the learned classifier on a labelled set (JSON Lines: tier,
    /// prompt, optional context, tool_steps, split, source).
    Train(TrainArgs),
    /// Score a classifier on labelled sets.
    Eval(EvalArgs),
}

/// Arguments of `route train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// The labelled corpus.
    pub corpus: PathBuf,
    /// Where to write the model.
    #[arg(long)]
    pub out: PathBuf,
    /// Train only on entries of this split (entries without one always count).
    #[arg(long, default_value = "train")]
    pub split: String,
    /// Passes over the corpus.
    #[arg(long, default_value_t = train::Options::default().epochs)]
    pub epochs: usize,
    /// L2 penalty on the weights (larger: smoother, less fitted to the corpus's wording).
    #[arg(long, default_value_t = train::Options::default().l2)]
    pub l2: f32,
}

/// Arguments of `route eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Labelled sets (JSON Lines).
    #[arg(required = true)]
    pub sets: Vec<PathBuf>,
    /// A model file (default: the built-in model).
    #[arg(long, conflicts_with = "rules")]
    pub model: Option<PathBuf>,
    /// Score the hand-weighted rules classifier instead.
    #[arg(long)]
    pub rules: bool,
    /// Only entries of this split (e.g. `test`).
    #[arg(long)]
    pub split: Option<String>,
    /// Score from which the cheap tier is chosen (default: the classifier's).
    #[arg(long)]
    pub cheap_from: Option<f64>,
    /// Score from which the premium tier is chosen (default: the classifier's).
    #[arg(long)]
    pub premium_from: Option<f64>,
    /// Planning cutoff on P(premium) instead of the model's own.
    #[arg(long)]
    pub plan_from: Option<f64>,
    /// Also list the ids that were misrouted.
    #[arg(long)]
    pub misses: bool,
    /// One JSON object per set instead of text.
    #[arg(long)]
    pub json: bool,
}

fn read_set(path: &Path) -> Result<Vec<Line>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    devset::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn in_split(line: &Line, split: Option<&str>) -> bool {
    match (split, line.split.as_deref()) {
        (Some(want), Some(have)) => want == have,
        _ => true,
    }
}

/// Run `route train` or `route eval`.
pub fn run(action: &RouteAction) -> ExitCode {
    let result = match action {
        RouteAction::Train(a) => run_train(a),
        RouteAction::Eval(a) => run_eval(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn run_train(args: &TrainArgs) -> Result<(), String> {
    let lines = read_set(&args.corpus)?;
    let opts = train::Options {
        epochs: args.epochs,
        l2: args.l2,
        ..train::Options::default()
    };
    let mut examples = Vec::new();
    for line in lines.iter().filter(|l| in_split(l, Some(&args.split))) {
        let tier = line.tier.as_deref().unwrap_or("");
        let level = devset::level_named(tier)
            .ok_or_else(|| format!("{}: tier '{tier}' is not local, cheap or premium", line.id))?;
        let c = devset::conversation_of(line)
            .ok_or_else(|| format!("{}: not a readable request", line.id))?;
        let group = line.source.clone().unwrap_or_else(|| line.id.clone());
        examples.push(train::Example::new(&c, level, group, opts.buckets));
    }
    if examples.is_empty() {
        return Err(format!("no labelled entries in split '{}'", args.split));
    }
    let name = args
        .corpus
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let trained = train::train(&examples, &opts, &format!("{name} ({})", args.split));
    let model = trained.model;
    std::fs::write(&args.out, model.to_bytes())
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    let i = &model.info;
    println!(
        "trained on {} examples (local {}, cheap {}, premium {}), {} passes",
        examples.len(),
        i.examples[0],
        i.examples[1],
        i.examples[2],
        i.epochs
    );
    println!(
        "thresholds from out-of-fold predictions: cheap_from {:.2}, premium_from {:.2}",
        i.cheap_from, i.premium_from
    );
    println!(
        "cross-validated accuracy (5 folds grouped by task): {:.1}%",
        trained.cross_validated * 100.0
    );
    if let Some(p) = i.plan_from {
        println!(
            "planning cutoff: plan_from {p:.2} (out of fold, {:.0}% of premium first turns planned on premium)",
            train::PLAN_RECALL * 100.0
        );
    }
    println!("wrote {}", args.out.display());
    Ok(())
}

fn run_eval(args: &EvalArgs) -> Result<(), String> {
    let classifier = if args.rules {
        Classifier::Rules
    } else if let Some(path) = &args.model {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Classifier::Learned(Arc::new(
            Model::from_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))?,
        ))
    } else {
        Classifier::Learned(Arc::new(Model::builtin()?))
    };
    let own = classifier.thresholds();
    let t = Thresholds {
        cheap_from: args.cheap_from.unwrap_or(own.cheap_from),
        premium_from: args.premium_from.unwrap_or(own.premium_from),
    };
    for path in &args.sets {
        let lines: Vec<Line> = read_set(path)?
            .into_iter()
            .filter(|l| in_split(l, args.split.as_deref()))
            .collect();
        let plan_from = args.plan_from.or(classifier.plan_from());
        let report = evaluate(&lines, &classifier, &t, plan_from);
        if args.json {
            let mut v = report.clone();
            v["set"] = json!(path.display().to_string());
            println!("{v}");
        } else {
            print!(
                "{}",
                text(&path.display().to_string(), &report, args.misses)
            );
        }
    }
    Ok(())
}

/// How person turns that start a task (entries that stand alone, and the
/// corpus's `new-topic` entries: a new task after an unrelated exchange)
/// would be planned with the planning cutoff: the share of premium tasks
/// planned on premium, and of the others lifted to premium.
fn planning(lines: &[Line], classifier: &Classifier, t: &Thresholds, plan_from: f64) -> Value {
    let (mut premium, mut kept, mut others, mut lifted) = (0, 0, 0, 0);
    let starts_a_task = |l: &&Line| l.context.is_empty() || l.kind.as_deref() == Some("new-topic");
    for l in lines
        .iter()
        .filter(starts_a_task)
        .filter(|l| l.tool_steps == 0)
    {
        let (Some(want), Some(c)) = (
            l.tier.as_deref().and_then(devset::level_named),
            devset::conversation_of(l),
        ) else {
            continue;
        };
        let got = classifier.classify(&c, t);
        let on_premium = got.planned_on_premium(Some(plan_from));
        if want == Level::Premium {
            premium += 1;
            kept += usize::from(on_premium);
        } else {
            others += 1;
            lifted += usize::from(on_premium && got.level != Level::Premium);
        }
    }
    let share = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    json!({
        "plan_from": plan_from,
        "premium_tasks": premium,
        "premium_planned_on_premium": share(kept, premium),
        "other_tasks": others,
        "others_lifted": share(lifted, others),
    })
}

/// Score one set: the overall figures, then the same per kind of entry.
fn evaluate(
    lines: &[Line],
    classifier: &Classifier,
    t: &Thresholds,
    plan_from: Option<f64>,
) -> Value {
    let score = devset::evaluate(lines, |c| classifier.classify(c, t));
    let mut by_kind: BTreeMap<&str, Vec<&Line>> = BTreeMap::new();
    for l in lines {
        if let Some(k) = l.kind.as_deref() {
            by_kind.entry(k).or_default().push(l);
        }
    }
    let kinds: BTreeMap<&str, Value> = by_kind
        .into_iter()
        .map(|(k, ls)| {
            let s = devset::evaluate(ls, |c| classifier.classify(c, t));
            (k, json!({"entries": s.total(), "accuracy": s.accuracy()}))
        })
        .collect();
    json!({
        "entries": score.total(),
        "accuracy": score.accuracy(),
        "premium_to_local": score.rate(Level::Premium, Level::Local),
        "premium_to_cheap": score.rate(Level::Premium, Level::Cheap),
        "under_routed": score.under_routed(),
        "calibration_error": score.calibration_error(),
        "matrix": score.matrix,
        "thresholds": {"cheap_from": t.cheap_from, "premium_from": t.premium_from},
        "by_kind": kinds,
        "planning": plan_from.map(|p| planning(lines, classifier, t, p)),
        "misses": score.misses.iter().map(|(id, want, got)| json!({"id": id, "expected": want.as_str(), "routed": got.as_str()})).collect::<Vec<_>>(),
    })
}

fn text(set: &str, r: &Value, misses: bool) -> String {
    let pct = |k: &str| r[k].as_f64().unwrap_or(0.0) * 100.0;
    let mut out = format!(
        "{set}: {} entries\n  accuracy        {:.1}%\n  premium → local {:.1}%\n  premium → cheap {:.1}%\n  below label     {}\n",
        r["entries"],
        pct("accuracy"),
        pct("premium_to_local"),
        pct("premium_to_cheap"),
        r["under_routed"],
    );
    if let Some(e) = r["calibration_error"].as_f64() {
        out.push_str(&format!("  calibration err {:.3} (expected, 10 bins)\n", e));
    }
    out.push_str(&format!(
        "  thresholds      cheap_from {:.2}, premium_from {:.2}\n",
        r["thresholds"]["cheap_from"].as_f64().unwrap_or(0.0),
        r["thresholds"]["premium_from"].as_f64().unwrap_or(0.0)
    ));
    let plan = &r["planning"];
    if let Some(p) = plan["plan_from"].as_f64() {
        out.push_str(&format!(
            "  planning turns  plan_from {p:.2}: {:.1}% of {} premium tasks planned on premium, {:.1}% of {} others lifted\n",
            plan["premium_planned_on_premium"].as_f64().unwrap_or(0.0) * 100.0,
            plan["premium_tasks"],
            plan["others_lifted"].as_f64().unwrap_or(0.0) * 100.0,
            plan["other_tasks"],
        ));
    }
    out.push_str("  expected \\ routed   local   cheap premium\n");
    for (i, l) in Level::ALL.iter().enumerate() {
        let row = &r["matrix"][i];
        out.push_str(&format!(
            "  {:<18} {:>7} {:>7} {:>7}\n",
            l.as_str(),
            row[0],
            row[1],
            row[2]
        ));
    }
    if let Some(kinds) = r["by_kind"].as_object().filter(|k| !k.is_empty()) {
        out.push_str("  by kind:");
        for (k, v) in kinds {
            out.push_str(&format!(
                " {k} {:.0}% ({}),",
                v["accuracy"].as_f64().unwrap_or(0.0) * 100.0,
                v["entries"]
            ));
        }
        out.pop();
        out.push('\n');
    }
    if misses {
        for m in r["misses"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "  miss {} {} → {}\n",
                m["id"].as_str().unwrap_or(""),
                m["expected"].as_str().unwrap_or(""),
                m["routed"].as_str().unwrap_or("")
            ));
        }
    }
    out
}
