//! `switchyard report` and `switchyard export`: the ledger, read straight
//! from its database (the gateway need not run).

use super::{ConfigArgs, load_config_offline};
use crate::store::Who;
use crate::usage::decision::{Given, decide, markdown as decision_markdown};
use crate::usage::render::{EXPORT_HEADER, Format, csv, export_csv, export_json, markdown};
use crate::usage::reports::{Kind, Range, build, parse_date, range_of};
use std::io::Write;
use std::process::ExitCode;

/// Arguments of `report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Config source (for the database and fixed costs).
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The report.
    #[arg(value_enum)]
    pub kind: Kind,
    /// The day (daily) or last day (weekly), YYYY-MM-DD (default: today, UTC).
    #[arg(long)]
    pub date: Option<String>,
    /// First day of the range (models, sessions; default: 7 days back).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day of the range (default: today).
    #[arg(long)]
    pub to: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "md")]
    pub format: Format,
    /// How many of the most expensive requests to list.
    #[arg(long, default_value_t = 10)]
    pub top: i64,
    /// Only this developer's requests (their client keys' user).
    #[arg(long, conflicts_with = "team")]
    pub user: Option<String>,
    /// Only this team's requests.
    #[arg(long)]
    pub team: Option<String>,
    /// A team template instead of the full report: `log` (daily) or
    /// `summary` (weekly).
    #[arg(long, value_enum)]
    pub template: Option<Template>,
    /// decision: hours from nothing to the first successful Claude Code
    /// request (default: measured from `switchyard init` to the ledger).
    #[arg(long)]
    pub setup_hours: Option<f64>,
    /// decision: the team's UX score, 1 (unacceptable) to 5 (exceeds).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub ux: Option<u8>,
}

/// The team templates (`crate::usage::templates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Template {
    /// The daily log: date, cost, requests, distribution, issues, notes.
    Log,
    /// The weekly summary: cost vs baseline, savings, success, findings,
    /// recommendation.
    Summary,
}

/// Arguments of `export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Config source (for the database).
    #[command(flatten)]
    pub config: ConfigArgs,
    /// First day, YYYY-MM-DD.
    #[arg(long)]
    pub from: String,
    /// Last day, YYYY-MM-DD (included).
    #[arg(long)]
    pub to: String,
    /// csv or jsonl.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("{e}");
    ExitCode::FAILURE
}

/// Run `report`.
pub fn report(args: &ReportArgs) -> ExitCode {
    match (args.template, args.kind) {
        (None, _)
        | (Some(Template::Log), Kind::Daily)
        | (Some(Template::Summary), Kind::Weekly) => {}
        (Some(Template::Log), _) => {
            return fail("--template log is a daily report: `report daily --template log`");
        }
        (Some(Template::Summary), _) => {
            return fail(
                "--template summary is a weekly report: `report weekly --template summary`",
            );
        }
    }
    let config = match load_config_offline(&args.config) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let range = match range_of(
        args.kind,
        args.date.as_deref(),
        args.from.as_deref(),
        args.to.as_deref(),
    ) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let rt = match crate::server::runtime(false) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let kind = format!("{:?}", args.kind).to_lowercase();
    let result = rt.block_on(async {
        let who = match (&args.user, &args.team) {
            (Some(u), _) => Some(Who::User(u.clone())),
            (_, Some(t)) => Some(Who::Team(t.clone())),
            _ => None,
        };
        let store = crate::usage::setup::open_existing_store(&config)
            .await?
            .only(who);
        let built = if args.kind == Kind::Decision {
            "weekly"
        } else {
            kind.as_str()
        };
        let report = build(&store, built, range, &config.ledger.fixed_monthly, args.top)
            .await
            .map_err(|e| e.to_string())?;
        let setup = match args.kind {
            Kind::Decision => measured_setup_hours(&config, &store).await?,
            _ => None,
        };
        Ok::<_, String>((report, setup))
    });
    let (report, measured_setup_hours) = match result {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if args.kind == Kind::Decision {
        let given = Given {
            setup_hours: args.setup_hours,
            measured_setup_hours,
            ux: args.ux,
        };
        let m = decide(&report, &config, &given);
        let text = match args.format {
            Format::Json | Format::Jsonl => {
                serde_json::to_string_pretty(&m).unwrap_or_default() + "\n"
            }
            _ => decision_markdown(&m),
        };
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
        return ExitCode::SUCCESS;
    }
    let text = match (args.template, args.format) {
        (Some(Template::Log), _) => crate::usage::templates::daily_log(&report),
        (Some(Template::Summary), _) => crate::usage::templates::weekly_summary(&report),
        (None, format) => match format {
            Format::Md => markdown(&report),
            Format::Csv => csv(&report),
            Format::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
            Format::Jsonl => serde_json::to_string(&report).unwrap_or_default() + "\n",
        },
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitCode::SUCCESS
}

/// Hours from `switchyard init` (its mark beside a SQLite ledger) to the
/// first successful Claude Code request in the ledger.
async fn measured_setup_hours(
    config: &crate::config::Config,
    store: &crate::store::Store,
) -> Result<Option<f64>, String> {
    let Some(ledger) = crate::config::sqlite_path(&config.database_url()) else {
        return Ok(None);
    };
    let Some(started) = crate::adopt::init::setup_started(&ledger) else {
        return Ok(None);
    };
    let first = store
        .first_session_success(started)
        .await
        .map_err(|e| e.to_string())?;
    Ok(first.map(|t| (t - started) as f64 / 3_600_000.0))
}

/// Run `export`.
pub fn export(args: &ExportArgs) -> ExitCode {
    let config = match load_config_offline(&args.config) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if args.format == Format::Md {
        return fail(
            "export writes csv, json or jsonl (one row a line); for Markdown use `switchyard report`",
        );
    }
    let (from, to) = match (parse_date(&args.from), parse_date(&args.to)) {
        (Ok(f), Ok(t)) if f <= t => (f, t),
        (Ok(_), Ok(_)) => return fail("--from is after --to"),
        (Err(e), _) | (_, Err(e)) => return fail(e),
    };
    let rt = match crate::server::runtime(false) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let result: Result<(), String> = rt.block_on(async {
        let store = crate::usage::setup::open_existing_store(&config).await?;
        let (start, end) = Range { from, to }.millis();
        let mut after: Option<(i64, String)> = None;
        let mut out = std::io::stdout().lock();
        if args.format == Format::Csv {
            writeln!(out, "{EXPORT_HEADER}").map_err(|e| e.to_string())?;
        }
        // Page through by time so a long range never sits in memory at once.
        loop {
            let cursor = after.as_ref().map(|(t, i)| (*t, i.as_str()));
            let page = store
                .rows_after(start, end, cursor, 5000)
                .await
                .map_err(|e| e.to_string())?;
            for r in &page {
                let line = match args.format {
                    Format::Jsonl | Format::Json => export_json(r).to_string(),
                    _ => export_csv(r),
                };
                if writeln!(out, "{line}").is_err() {
                    return Ok(()); // closed pipe
                }
            }
            match page.last() {
                Some(last) if page.len() == 5000 => after = Some((last.ts_ms, last.id.clone())),
                _ => return Ok(()),
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}
