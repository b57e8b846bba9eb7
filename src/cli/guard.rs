//! `switchyard guard scan`: what the outbound guard would find in files —
//! secrets by kind (fingerprints only, never the secret) and files that
//! are sensitive by name — so a team can see what its code would trigger
//! before turning `[guard] secrets` on, and measure false positives.

use super::{ConfigArgs, load_config_offline};
use crate::guard::Detector;
use crate::guard::files::SensitiveFiles;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Files larger than this are skipped (generated data, not code).
const MAX_FILE: u64 = 1024 * 1024;

/// `switchyard guard …`.
#[derive(Debug, clap::Args)]
pub struct GuardArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: GuardAction,
}

/// Guard actions.
#[derive(Debug, clap::Subcommand)]
pub enum GuardAction {
    /// Scan files and folders (recursively) as the guard reads requests.
    Scan {
        /// Config source (its `[guard] patterns` and `sensitive_files`).
        #[command(flatten)]
        config: ConfigArgs,
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Only the counts: files read, findings by kind.
        #[arg(long)]
        summary: bool,
    },
}

#[derive(Default)]
struct Tally {
    files: u64,
    bytes: u64,
    sensitive: u64,
    kinds: BTreeMap<String, u64>,
    files_with_findings: u64,
}

/// Run a guard command.
pub fn run(args: &GuardArgs) -> ExitCode {
    let GuardAction::Scan {
        config,
        paths,
        summary,
    } = &args.action;
    let config = match load_config_offline(config) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let detector = match Detector::new(&config.guard.patterns) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let files = SensitiveFiles::new(&config.guard.sensitive_files);
    let mut tally = Tally::default();
    for p in paths {
        walk(p, &mut |file| {
            scan(file, &detector, &files, *summary, &mut tally)
        });
    }
    println!(
        "scanned {} files ({} KB): {} sensitive by name, {} with findings",
        tally.files,
        tally.bytes / 1024,
        tally.sensitive,
        tally.files_with_findings
    );
    for (kind, n) in &tally.kinds {
        println!("  {kind}: {n}");
    }
    ExitCode::SUCCESS
}

fn walk(path: &Path, visit: &mut dyn FnMut(&Path)) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.is_dir() {
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            if e.file_name().is_some_and(|n| n == ".git" || n == "target") {
                continue;
            }
            walk(&e, visit);
        }
    } else if meta.is_file() && meta.len() <= MAX_FILE {
        visit(path);
    }
}

fn scan(path: &Path, detector: &Detector, files: &SensitiveFiles, quiet: bool, tally: &mut Tally) {
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    // Binary files are not what a model is sent.
    if bytes.iter().take(4096).any(|b| *b == 0) {
        return;
    }
    tally.files += 1;
    tally.bytes += bytes.len() as u64;
    let shown = path.display().to_string();
    if let Some(pattern) = files.matches(&shown) {
        tally.sensitive += 1;
        if !quiet {
            println!("{shown}: sensitive file ({pattern})");
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    let found = detector.scan(&text);
    if found.is_empty() {
        return;
    }
    tally.files_with_findings += 1;
    for f in found {
        *tally.kinds.entry(f.kind.clone()).or_default() += 1;
        if !quiet {
            let line = text[..f.start.min(text.len())].matches('\n').count() + 1;
            println!("{shown}:{line}: {} {}", f.kind, f.fingerprint);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_scanned_as_requests_are() {
        let dir = std::env::temp_dir().join(format!("sy-guard-scan-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::create_dir_all(dir.join("target")).unwrap();
        std::fs::write(dir.join(".env"), "DB_PASSWORD=Zq8#mT2!vK9pL4xW\n").unwrap();
        std::fs::write(
            dir.join("src/main.rs"),
            "// key id AKIAZ4TQ7RB3NW5PLXVM\nfn main() {}\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("src/doc.md"),
            "starts with `-----BEGIN PRIVATE KEY-----`\n",
        )
        .unwrap();
        std::fs::write(dir.join("target/junk.txt"), "AKIAZ4TQ7RB3NW5PLXVM").unwrap();
        std::fs::write(dir.join("blob.bin"), [0u8, 1, 2, 3]).unwrap();
        let detector = Detector::new(&[]).unwrap();
        let files = SensitiveFiles::defaults();
        let mut tally = Tally::default();
        walk(&dir, &mut |f| scan(f, &detector, &files, true, &mut tally));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(tally.files, 3, "target/ and binaries skipped");
        assert_eq!(tally.sensitive, 1);
        assert_eq!(tally.kinds.get("aws_access_key_id"), Some(&1));
        assert!(
            !tally.kinds.contains_key("private_key"),
            "a header alone is no key"
        );
        assert_eq!(tally.files_with_findings, 2);
    }
}
