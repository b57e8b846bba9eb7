//! `switchyard import litellm CONFIG.yaml`: write a switchyard config from
//! a LiteLLM proxy config, and say what could not be carried over.

use crate::adopt::litellm::import;
use crate::adopt::litellm_render::{render, summary};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// What to import from.
    #[command(subcommand)]
    pub from: ImportFrom,
}

/// Where a config is imported from.
#[derive(Debug, clap::Subcommand)]
pub enum ImportFrom {
    /// A LiteLLM proxy config.yaml: model_list, fallbacks, retries,
    /// timeouts, cool-downs, cache, master key and database URL.
    Litellm {
        /// The LiteLLM config.
        config: PathBuf,
        /// Where to write the switchyard config ("-" prints it).
        #[arg(long, short = 'o', default_value = "switchyard.toml")]
        out: PathBuf,
        /// Overwrite `--out` without asking.
        #[arg(long)]
        force: bool,
    },
}

/// Run `import`.
pub fn run(args: &ImportArgs) -> ExitCode {
    let ImportFrom::Litellm { config, out, force } = &args.from;
    let text = match std::fs::read_to_string(config) {
        Ok(t) => t,
        Err(e) => return fail(format!("cannot read {}: {e}", config.display())),
    };
    let imported = match import(&text) {
        Ok(i) => i,
        Err(e) => return fail(format!("{}: {e}", config.display())),
    };
    let name = config.file_name().map(|n| n.to_string_lossy().into_owned());
    let toml = render(&imported, name.as_deref().unwrap_or("config.yaml"));
    let unset = match crate::adopt::validate(&toml, out) {
        Ok(unset) => unset,
        Err(e) => {
            return fail(format!(
                "the imported config does not load (a bug in the importer; please report it \
                 with the LiteLLM file):\n{e}"
            ));
        }
    };
    eprint!("{}", summary(&imported));
    if out == Path::new("-") {
        print!("{toml}");
    } else {
        if out.exists() && !*force && !confirm_overwrite(out) {
            return fail(format!(
                "{} exists: pass --force to overwrite it, or --out another file",
                out.display()
            ));
        }
        if let Err(e) = std::fs::write(out, &toml) {
            return fail(format!("cannot write {}: {e}", out.display()));
        }
        eprintln!("wrote {}", out.display());
    }
    if !unset.is_empty() {
        eprintln!("set before `switchyard serve`: {}", unset.join(", "));
    }
    eprintln!(
        "next: switchyard check-config -c {0} && switchyard serve -c {0}",
        out.display()
    );
    ExitCode::SUCCESS
}

/// Ask on a terminal; anywhere else the answer is no.
pub fn confirm_overwrite(path: &Path) -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    eprint!("{} exists. Overwrite it? [y/N] ", path.display());
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    matches!(line.trim(), "y" | "Y" | "yes")
}

fn fail(e: String) -> ExitCode {
    eprintln!("{e}");
    ExitCode::FAILURE
}
