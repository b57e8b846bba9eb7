//! `switchyard reconcile FILE`: the ledger against the provider's own usage
//! and cost export (AWS CUR, Cost Explorer CSV, Anthropic Console CSV), per
//! day × model, with rows beyond the tolerance flagged and explained.

use super::{ConfigArgs, load_config_offline};
use crate::usage::reconcile::{markdown, read::read, reconcile};
use crate::usage::reports::{Range, parse_date};
use rust_decimal::Decimal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `reconcile`.
#[derive(Debug, clap::Args)]
pub struct ReconcileArgs {
    /// The provider's export (CSV).
    pub file: PathBuf,
    /// Config source (for the ledger's database).
    #[command(flatten)]
    pub config: ConfigArgs,
    /// First day (default: the export's first day).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day (default: the export's last day).
    #[arg(long)]
    pub to: Option<String>,
    /// Deviation that flags a row, percent.
    #[arg(long, default_value = "5")]
    pub tolerance: Decimal,
    /// Output as JSON.
    #[arg(long)]
    pub json: bool,
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("{e}");
    ExitCode::FAILURE
}

/// Run `reconcile`; fails when a row is flagged.
pub fn run(args: &ReconcileArgs) -> ExitCode {
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => return fail(format!("cannot read {}: {e}", args.file.display())),
    };
    let (format, mut lines) = match read(&text) {
        Ok(r) => r,
        Err(e) => return fail(format!("{}: {e}", args.file.display())),
    };
    let first = lines.iter().map(|l| l.day.clone()).min();
    let last = lines.iter().map(|l| l.day.clone()).max();
    let (Some(from), Some(to)) = (args.from.clone().or(first), args.to.clone().or(last)) else {
        return fail("the export has no Claude usage");
    };
    let range = match (parse_date(&from), parse_date(&to)) {
        (Ok(from), Ok(to)) if from <= to => Range { from, to },
        (Ok(_), Ok(_)) => return fail("--from is after --to"),
        (Err(e), _) | (_, Err(e)) => return fail(e),
    };
    lines.retain(|l| l.day >= from && l.day <= to);
    let config = match load_config_offline(&args.config) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let rt = match crate::server::runtime(false) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let ledger = rt.block_on(async {
        let store = crate::usage::setup::open_existing_store(&config).await?;
        let (a, b) = range.millis();
        store.day_models(a, b).await.map_err(|e| e.to_string())
    });
    let ledger = match ledger {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    let r = reconcile(&ledger, &lines, args.tolerance);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
    } else {
        println!("{format:?} export {}, {from} → {to}\n", args.file.display());
        print!("{}", markdown(&r));
    }
    if r.rows.iter().any(|x| x.flagged) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
