//! `switchyard init`: look at what this machine offers (Ollama, AWS, an
//! Anthropic key), propose tiers, ask (or take the defaults with `--yes`),
//! write a commented `switchyard.toml` (never over one without asking),
//! create the ledger's directory, and print Claude Code's environment.

use crate::adopt::init::{Choices, Findings, default_choices, detect, render};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Take every default without asking (for scripts).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Where to write the config.
    #[arg(long, short = 'o', default_value = "switchyard.toml")]
    pub out: PathBuf,
    /// Overwrite `--out` without asking.
    #[arg(long)]
    pub force: bool,
    /// Ollama's URL (default: $OLLAMA_HOST, else http://127.0.0.1:11434).
    #[arg(long)]
    pub ollama: Option<String>,
    /// Ask the AWS credential chain even with no AWS settings in sight
    /// (an instance or task role).
    #[arg(long)]
    pub aws: bool,
    /// The ledger file (default: $XDG_DATA_HOME/switchyard/ledger.db, else
    /// ~/.local/share/switchyard/ledger.db).
    #[arg(long)]
    pub ledger: Option<PathBuf>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// `OLLAMA_HOST` as Ollama reads it: `host:port` or a URL; 0.0.0.0 is here.
fn ollama_url(given: Option<&str>) -> String {
    let raw = given
        .map(str::to_string)
        .or_else(|| env("OLLAMA_HOST"))
        .unwrap_or_else(|| "http://127.0.0.1:11434".into());
    let url = if raw.contains("://") {
        raw
    } else {
        format!("http://{raw}")
    };
    url.replace("://0.0.0.0", "://127.0.0.1")
        .trim_end_matches('/')
        .to_string()
}

fn default_ledger() -> PathBuf {
    env("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("switchyard")
        .join("ledger.db")
}

/// Run `init`.
pub fn run(args: &InitArgs) -> ExitCode {
    let rt = match crate::server::runtime(false) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let url = ollama_url(args.ollama.as_deref());
    let lookup = |n: &str| env(n);
    let mut found = rt.block_on(detect(&url, &lookup));
    if args.aws && found.aws.is_none() {
        match rt.block_on(crate::adopt::init::aws_credentials(&found)) {
            Ok(s) => (found.aws, found.aws_missing) = (Some(s), None),
            Err(e) => found.aws_missing = Some(e),
        }
    }
    print_findings(&found);
    let key = match crate::teams::keys::random_key() {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    let ledger = args.ledger.clone().unwrap_or_else(default_ledger);
    let mut choices = default_choices(&found, key, ledger);
    let ask = !args.yes && std::io::stdin().is_terminal();
    if ask {
        choose(&mut choices, &found);
    } else if !args.yes {
        eprintln!("(not a terminal: taking the defaults, as with --yes)");
    }
    if choices.bedrock.is_none() && !choices.anthropic {
        eprintln!("Claude is needed for the cheap and premium tiers: using the Anthropic API");
        choices.anthropic = true;
    }
    let now = time::OffsetDateTime::now_utc();
    let text = render(&choices, &found, &now.date().to_string());
    let unset = match crate::adopt::validate(&text, &args.out) {
        Ok(u) => u,
        Err(e) => return fail(format!("the proposed config does not load (a bug):\n{e}")),
    };
    if args.out.exists() && !args.force && !super::import::confirm_overwrite(&args.out) {
        return fail(format!(
            "{} exists and was left as it is: pass --force to overwrite it, or --out another file",
            args.out.display()
        ));
    }
    if let Err(e) = write_private(&args.out, &text) {
        return fail(format!("cannot write {}: {e}", args.out.display()));
    }
    if let Err(e) = crate::adopt::init::mark_setup_start(&choices.ledger, now) {
        return fail(e);
    }
    println!(
        "\nwrote {} (readable by you only: it holds the admin key)",
        args.out.display()
    );
    println!("ledger: {}", choices.ledger.display());
    if !unset.is_empty() {
        println!("set before `switchyard serve`: {}", unset.join(", "));
    }
    let listen = choices.listen.replace("0.0.0.0", "127.0.0.1");
    println!(
        "\nnext:\n  switchyard serve                       # in one shell\n  \
         switchyard claude                      # Claude Code through it, or in any shell:\n  \
         export ANTHROPIC_BASE_URL=http://{listen}\n  \
         export ANTHROPIC_AUTH_TOKEN={}\n  unset ANTHROPIC_API_KEY",
        choices.master_key
    );
    ExitCode::SUCCESS
}

fn print_findings(f: &Findings) {
    match &f.ollama {
        Some((url, models)) => {
            println!("Ollama at {url}: {} model(s)", models.len());
            for m in models {
                let tools = if m.tools { "tools" } else { "no tools" };
                println!("  {} ({tools})", m.name);
            }
        }
        None => println!(
            "Ollama: not found ({})",
            f.ollama_missing.as_deref().unwrap_or("?")
        ),
    }
    match &f.aws {
        Some(source) => println!("AWS: credentials from {source}, region {}", f.region),
        None => println!("AWS: {}", f.aws_missing.as_deref().unwrap_or("not found")),
    }
    if !f.profiles.is_empty() {
        println!("AWS profiles: {}", f.profiles.join(", "));
    }
    println!(
        "ANTHROPIC_API_KEY: {}",
        if f.anthropic_key { "set" } else { "not set" }
    );
}

/// Ask for each choice, the default in brackets.
fn choose(c: &mut Choices, f: &Findings) {
    if let Some((url, models)) = &f.ollama {
        let default = c
            .local
            .as_ref()
            .map_or("none", |(m, _)| m.as_str())
            .to_string();
        let names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
        let answer = prompt(
            &format!("local tier model ({}) or none", names.join(", ")),
            &default,
        );
        c.local = (answer != "none").then(|| (answer, url.clone()));
    }
    if f.aws.is_some() {
        let yes = prompt("Claude through Bedrock? (y/n)", "y");
        c.bedrock = yes.starts_with('y').then(|| f.region.clone());
    }
    let default = if c.anthropic { "y" } else { "n" };
    c.anthropic = prompt(
        "Claude through the Anthropic API (ANTHROPIC_API_KEY)? (y/n)",
        default,
    )
    .starts_with('y');
    c.listen = prompt("listen on", &c.listen);
}

fn prompt(question: &str, default: &str) -> String {
    print!("{question} [{default}]: ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    let answer = line.trim();
    if answer.is_empty() {
        default.to_string()
    } else {
        answer.to_string()
    }
}

/// Write a file only its owner can read.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("{e}");
    ExitCode::FAILURE
}
