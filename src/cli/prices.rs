//! `switchyard prices`: what the price table says (`show`), how each
//! configured model is priced (`check`), and what a price file — LiteLLM's
//! `model_prices_and_context_window.json` or the table format — would
//! change (`diff`) or become in the table format (`import`).

use super::{ConfigArgs, load_config_offline};
use crate::usage::price_check::{Basis, basis};
use crate::usage::price_table::{Row, base_id, claude, render};
use crate::usage::pricing::{Price, PriceBook, Rates, embedded_rows, parse_file};
use crate::usage::reports::today;
use crate::usage::setup::price_book;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `prices`.
#[derive(Debug, clap::Args)]
pub struct PricesArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: PricesAction,
}

/// `prices` subcommands.
#[derive(Debug, Subcommand)]
pub enum PricesAction {
    /// The price of MODEL (exact, estimated or unpriced), or the whole table.
    Show {
        /// A model id, as sent upstream.
        model: Option<String>,
        /// Config source (for `prices_file`).
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// How each configured model is priced; fails when one is unpriced.
    Check {
        /// Config source.
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// What FILE would change in the embedded table (Claude models).
    Diff {
        /// LiteLLM's model_prices_and_context_window.json, or a table file.
        file: PathBuf,
    },
    /// FILE's Claude models in the table format (for prices_file, or to
    /// update prices/claude.csv).
    Import {
        /// LiteLLM's model_prices_and_context_window.json, or a table file.
        file: PathBuf,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Keep every priced model, not only Claude.
        #[arg(long)]
        all: bool,
    },
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("{e}");
    ExitCode::FAILURE
}

/// Run `prices`.
pub fn run(args: &PricesArgs) -> ExitCode {
    match &args.action {
        PricesAction::Show { model, config } => show(model.as_deref(), config),
        PricesAction::Check { config } => check(config),
        PricesAction::Diff { file } => match read_rows(file, false) {
            Ok(rows) => {
                print!("{}", diff(&embedded_rows(), &rows));
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        PricesAction::Import { file, out, all } => match read_rows(file, *all) {
            Ok(rows) => {
                let text = render(&rows);
                match out {
                    Some(path) => match std::fs::write(path, text) {
                        Ok(()) => {
                            eprintln!("{} rows written to {}", rows.len(), path.display());
                            ExitCode::SUCCESS
                        }
                        Err(e) => fail(format!("{}: {e}", path.display())),
                    },
                    None => {
                        print!("{text}");
                        ExitCode::SUCCESS
                    }
                }
            }
            Err(e) => fail(e),
        },
    }
}

fn book_for(config: &ConfigArgs) -> Result<(PriceBook, Option<crate::config::Config>), String> {
    match load_config_offline(config) {
        Ok(c) => Ok((price_book(&c)?, Some(c))),
        // Without a usable config the embedded table still answers.
        Err(_) if config.config.is_none() => Ok((PriceBook::default(), None)),
        Err(e) => Err(e.to_string()),
    }
}

/// `rates` as one line of text.
pub fn rates_line(r: &Rates) -> String {
    format!(
        "input {}  output {}  cache write 5m {}  1h {}  cache read {}",
        r.input.normalize(),
        r.output.normalize(),
        r.cache_write_5m.normalize(),
        r.cache_write_1h.normalize(),
        r.cache_read.normalize()
    )
}

fn price_lines(p: &Price) -> Vec<String> {
    let mut out = vec![format!(
        "  {}  (USD per million tokens)",
        rates_line(&p.base)
    )];
    if let Some(l) = &p.long_context {
        out.push(format!(
            "  prompts over {} tokens: {}",
            l.above,
            rates_line(&l.rates)
        ));
    }
    out
}

fn show(model: Option<&str>, config: &ConfigArgs) -> ExitCode {
    let book = match book_for(config) {
        Ok((b, _)) => b,
        Err(e) => return fail(e),
    };
    let Some(model) = model else {
        print!("{}", render(&embedded_rows()));
        return ExitCode::SUCCESS;
    };
    match (book.row(model), book.lookup(model)) {
        (Some(row), _) => {
            println!(
                "{model}: exact (row {}; {}, {})",
                row.id, row.source, row.date
            );
            price_lines(&row.price).iter().for_each(|l| println!("{l}"));
            ExitCode::SUCCESS
        }
        (None, Some(p)) => {
            let from = p.estimated_from.unwrap_or_default();
            println!("{model}: priced as {from}, estimated (not in the table)");
            price_lines(&p.price).iter().for_each(|l| println!("{l}"));
            ExitCode::SUCCESS
        }
        (None, None) => {
            println!("{model}: unpriced (set `price = {{…}}` on its model in the config)");
            ExitCode::FAILURE
        }
    }
}

fn check(config: &ConfigArgs) -> ExitCode {
    let config = match load_config_offline(config) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let book = match price_book(&config) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let mut unpriced = 0;
    for m in &config.models {
        let b = basis(&config, &book, m);
        unpriced += usize::from(matches!(b, Basis::Unpriced { .. }));
        let mark = if b.is_doubtful() { "!" } else { " " };
        println!("{mark} {:<16} {}", m.name, b.describe());
    }
    match config.routing.baseline.as_deref() {
        Some(name) => match config.models.iter().find(|m| m.name == name) {
            Some(m) => println!("  baseline {name}: {}", basis(&config, &book, m).describe()),
            None => println!("  baseline {name}: not a configured model"),
        },
        None => println!("  no baseline: savings are not computed"),
    }
    if unpriced > 0 {
        eprintln!("{unpriced} model(s) unpriced: set `price = {{…}}` on them, or a prices_file");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Read a price file's rows: Claude models only unless `all`, ids reduced
/// to their base, LiteLLM's path-keyed duplicates left out.
fn read_rows(path: &PathBuf, all: bool) -> Result<Vec<Row>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let date = today().to_string();
    let rows = parse_file(&text, &format!("import:{name}"), &date)?;
    let mut out: Vec<Row> = rows
        .into_iter()
        .filter(|r| !r.id.contains('/'))
        .filter(|r| all || claude(&r.id).is_some())
        .map(|mut r| {
            r.id = base_id(&r.id).to_string();
            r
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup_by(|a, b| a.id == b.id);
    Ok(out)
}

/// What `new` changes against `old`: changed prices, new ids, and ids that
/// `new` no longer lists.
pub fn diff(old: &[Row], new: &[Row]) -> String {
    let find = |rows: &[Row], id: &str| rows.iter().find(|r| r.id == id).map(|r| r.price);
    let mut out = String::new();
    let (mut changed, mut added, mut gone) = (0, 0, 0);
    for r in new {
        match find(old, &r.id) {
            Some(p) if p == r.price => {}
            Some(p) => {
                changed += 1;
                out.push_str(&format!("~ {}\n", r.id));
                price_lines(&p)
                    .iter()
                    .for_each(|l| out.push_str(&format!("-{l}\n")));
                price_lines(&r.price)
                    .iter()
                    .for_each(|l| out.push_str(&format!("+{l}\n")));
            }
            None => {
                added += 1;
                out.push_str(&format!("+ {}\n", r.id));
                price_lines(&r.price)
                    .iter()
                    .for_each(|l| out.push_str(&format!("{l}\n")));
            }
        }
    }
    for r in old {
        if find(new, &r.id).is_none() {
            gone += 1;
            out.push_str(&format!("- {} (not in the file)\n", r.id));
        }
    }
    out.push_str(&format!(
        "{changed} changed, {added} new, {gone} not in the file\n"
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_names_each_change() {
        let old = embedded_rows();
        let mut new = old.clone();
        let opus = new.iter_mut().find(|r| r.id == "claude-opus-5-5").unwrap();
        opus.price.base.input = "4.5".parse().unwrap();
        new.retain(|r| r.id != "claude-3-haiku");
        let mut extra = new[0].clone();
        extra.id = "claude-opus-6".into();
        new.push(extra);
        let text = diff(&old, &new);
        assert!(text.contains("~ claude-opus-5-5\n"), "{text}");
        assert!(text.contains("+  input 4.5 "), "{text}");
        assert!(text.contains("+ claude-opus-6\n"), "{text}");
        assert!(
            text.contains("- claude-3-haiku (not in the file)"),
            "{text}"
        );
        assert!(
            text.ends_with("1 changed, 1 new, 1 not in the file\n"),
            "{text}"
        );
        assert_eq!(
            diff(&old, &old).lines().last(),
            Some("0 changed, 0 new, 0 not in the file")
        );
    }
}
