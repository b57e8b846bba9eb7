//! `switchyard completions SHELL` and `switchyard man`: shell completion
//! scripts and man pages, generated from the same clap definitions the
//! binary parses with (so they never drift from the real options).

use super::Cli;
use clap::CommandFactory;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionArgs {
    /// The shell: bash, zsh, fish, elvish or powershell. Install, e.g.:
    /// `switchyard completions bash > ~/.local/share/bash-completion/completions/switchyard`,
    /// `switchyard completions zsh > "${fpath[1]}/_switchyard"`,
    /// `switchyard completions fish > ~/.config/fish/completions/switchyard.fish`.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write switchyard.1 and one page per command (switchyard-serve.1, …)
    /// into this directory instead of printing switchyard.1.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Print the completion script for a shell.
pub fn completions(args: &CompletionArgs) -> ExitCode {
    let mut command = Cli::command();
    clap_complete::generate(
        args.shell,
        &mut command,
        "switchyard",
        &mut std::io::stdout(),
    );
    ExitCode::SUCCESS
}

/// Print the man page, or write every page into a directory.
pub fn man(args: &ManArgs) -> ExitCode {
    let command = Cli::command();
    let result = match &args.out {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .and_then(|()| std::io::stdout().lock().write_all(&page))
        }
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(command, dir))
            .map(|()| println!("man pages written to {}", dir.display())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cannot write the man pages: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_and_man_pages_name_every_command() {
        for shell in [clap_complete::Shell::Bash, clap_complete::Shell::Fish] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "switchyard", &mut out);
            let text = String::from_utf8(out).unwrap();
            for sub in [
                "serve",
                "check-config",
                "report",
                "import",
                "init",
                "claude",
            ] {
                assert!(text.contains(sub), "{shell:?} completion lacks {sub}");
            }
            assert!(
                text.contains("offline"),
                "{shell:?}: check-config --offline"
            );
        }
        let dir = std::env::temp_dir().join(format!("switchyard-man-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            man(&ManArgs {
                out: Some(dir.clone())
            }),
            ExitCode::SUCCESS
        );
        let page = std::fs::read_to_string(dir.join("switchyard-check-config.1")).unwrap();
        assert!(page.contains(".TH switchyard-check-config"), "{page}");
        assert!(page.contains("offline"));
        assert!(dir.join("switchyard.1").is_file());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
