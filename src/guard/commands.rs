//! What a proposed shell command would do, judged from its parsed form
//! (`shell`): dangerous patterns (a download piped into a shell, deleting
//! outside the workspace, credentials sent to the network, force-pushing,
//! wiping a disk, a fork bomb), whether it only reads (for read-only
//! routes), and where it writes (for the path jail).

use super::files::SensitiveFiles;
use super::shell::{Pipeline, Simple, parse};
use super::workspace::Workspace;

/// A dangerous pattern found: its rule name and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Danger {
    /// Rule name (`download_to_shell`, …).
    pub rule: &'static str,
    /// What the command does, in words.
    pub why: String,
}

fn danger(rule: &'static str, why: impl Into<String>) -> Option<Danger> {
    Some(Danger {
        rule,
        why: why.into(),
    })
}

const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "fish", "csh", "tcsh", "python", "python3", "perl", "ruby",
    "node", "php", "eval", "source", ".",
];
const DOWNLOADERS: &[&str] = &["curl", "wget", "fetch", "aria2c", "http", "https", "xh"];
const SENDERS: &[&str] = &[
    "curl", "wget", "nc", "ncat", "netcat", "socat", "telnet", "scp", "sftp", "ftp", "rsync",
    "http", "https", "xh", "ssh",
];
const DELETERS: &[&str] = &["rm", "rmdir", "shred", "unlink"];
/// Commands whose path arguments they create, change or remove.
const WRITERS: &[&str] = &[
    "rm", "rmdir", "shred", "unlink", "mv", "cp", "tee", "touch", "mkdir", "chmod", "chown",
    "chgrp", "ln", "truncate", "install", "rsync",
];
/// Programs that only read (for read-only routes).
const READERS: &[&str] = &[
    "ls",
    "cat",
    "head",
    "tail",
    "less",
    "more",
    "grep",
    "egrep",
    "fgrep",
    "rg",
    "ag",
    "wc",
    "pwd",
    "echo",
    "printf",
    "file",
    "stat",
    "tree",
    "du",
    "df",
    "which",
    "whereis",
    "type",
    "diff",
    "cmp",
    "sort",
    "uniq",
    "cut",
    "tr",
    "awk",
    "jq",
    "yq",
    "basename",
    "dirname",
    "realpath",
    "readlink",
    "date",
    "uname",
    "whoami",
    "id",
    "env",
    "printenv",
    "true",
    "false",
    "test",
    "[",
    "cd",
    "nl",
    "column",
    "md5sum",
    "sha256sum",
    "sha1sum",
    "xxd",
    "hexdump",
    "od",
    "strings",
    "find",
    "fd",
    "locate",
    "git",
    "cargo",
    "npm",
    "sed",
];
/// Subcommands of `git`, `cargo` and `npm` that only read.
const READING_SUBCOMMANDS: &[(&str, &[&str])] = &[
    (
        "git",
        &[
            "status",
            "log",
            "diff",
            "show",
            "blame",
            "branch",
            "ls-files",
            "grep",
            "rev-parse",
            "describe",
            "shortlog",
            "tag",
            "remote",
            "config",
        ],
    ),
    (
        "cargo",
        &[
            "check",
            "metadata",
            "tree",
            "search",
            "version",
            "--version",
        ],
    ),
    (
        "npm",
        &["ls", "list", "view", "outdated", "--version", "-v"],
    ),
];
/// Device and pseudo files any command may write to.
const HARMLESS_TARGETS: &[&str] = &["/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"];

/// Every pipeline of `command`, substitutions included.
pub fn pipelines(command: &str) -> Vec<Pipeline> {
    parse(command)
}

/// The first dangerous pattern in `pipelines`, if any.
pub fn dangerous(
    pipelines: &[Pipeline],
    workspace: &Workspace,
    files: &SensitiveFiles,
    raw: &str,
) -> Option<Danger> {
    if raw.contains(":(){") || raw.contains(":() {") {
        return danger("fork_bomb", "defines a fork bomb");
    }
    let substituted = raw.contains("$(") || raw.contains('`') || raw.contains("<(");
    for p in pipelines {
        let programs: Vec<&str> = p.stages.iter().map(|s| s.program().unwrap_or("")).collect();
        // curl … | sh, and sh -c "$(curl …)" / bash <(curl …).
        if let Some(at) = programs.iter().position(|p| DOWNLOADERS.contains(p))
            && programs[at + 1..].iter().any(|p| SHELLS.contains(p))
        {
            return danger("download_to_shell", "pipes a download into a shell");
        }
        if substituted
            && programs.iter().any(|p| SHELLS.contains(p))
            && pipelines
                .iter()
                .flat_map(|q| &q.stages)
                .any(|s| s.program().is_some_and(|p| DOWNLOADERS.contains(&p)))
        {
            return danger("download_to_shell", "runs a download in a shell");
        }
        for stage in &p.stages {
            if let Some(d) = stage_danger(stage, workspace) {
                return Some(d);
            }
        }
        if let Some(d) = credentials_out(p, files) {
            return Some(d);
        }
    }
    None
}

fn stage_danger(stage: &Simple, workspace: &Workspace) -> Option<Danger> {
    let words = stage.command();
    let program = stage.program()?;
    let args = words.get(1..).unwrap_or(&[]);
    if DELETERS.contains(&program) || program == "find" && args.iter().any(|a| a == "-delete") {
        let targets = args.iter().filter(|a| !a.starts_with('-'));
        for t in targets {
            let scratch = ["/tmp/", "/var/tmp/", "$TMPDIR/", "${TMPDIR}/"]
                .iter()
                .any(|d| t.starts_with(d) && !t.contains(".."));
            if is_catastrophic(t) || !scratch && !workspace.contains(t) {
                return danger(
                    "delete_outside_workspace",
                    format!("deletes {t}, outside the workspace"),
                );
            }
        }
    }
    if program == "git"
        && args.first().is_some_and(|a| a == "push")
        && args
            .iter()
            .skip(1)
            .any(|a| a == "-f" || a.starts_with("--force") || a == "--mirror" || a.starts_with('+'))
    {
        return danger("force_push", "force-pushes to a remote");
    }
    let wipes = program.starts_with("mkfs")
        || program == "wipefs"
        || program == "dd"
            && args
                .iter()
                .any(|a| a.starts_with("of=/dev/") && !is_harmless(&a[3..]))
        || stage
            .writes_to
            .iter()
            .any(|t| t.starts_with("/dev/sd") || t.starts_with("/dev/nvme"));
    if wipes {
        return danger("disk_wipe", "writes over a disk device");
    }
    None
}

/// `/`, `~`, `$HOME`, `/*` and the like: never a thing to delete.
fn is_catastrophic(target: &str) -> bool {
    let t = target.trim_end_matches('/');
    matches!(
        t,
        "" | "/*" | "~" | "~/*" | "$HOME" | "${HOME}" | "$HOME/*" | "*" | ".." | "../*"
    ) || t.starts_with('/') && t.matches('/').count() == 1 && !t.starts_with("/tmp")
}

/// A pipeline that sends a sensitive file, or the environment's secrets,
/// to the network.
fn credentials_out(p: &Pipeline, files: &SensitiveFiles) -> Option<Danger> {
    let sends = |s: &Simple| s.program().is_some_and(|p| SENDERS.contains(&p));
    let sender = p.stages.iter().position(sends)?;
    // Something upstream of the sender reads a secret file or dumps the
    // environment.
    for s in &p.stages[..sender] {
        let dumps = matches!(s.words.as_slice(), [w] if matches!(w.as_str(), "env" | "printenv" | "set" | "export"));
        if dumps {
            return danger(
                "credentials_to_network",
                "sends the environment to the network",
            );
        }
        if let Some(f) = s
            .words
            .iter()
            .chain(&s.reads_from)
            .find(|w| files.matches(w).is_some())
        {
            return danger(
                "credentials_to_network",
                format!("sends {f} to the network"),
            );
        }
    }
    for s in p.stages[sender..].iter().filter(|s| sends(s)) {
        if let Some(f) = s.reads_from.iter().find(|w| files.matches(w).is_some()) {
            return danger(
                "credentials_to_network",
                format!("sends {f} to the network"),
            );
        }
        let words = s.command();
        for (i, w) in words.iter().enumerate() {
            let after_header =
                i > 0 && matches!(words[i - 1].as_str(), "-H" | "--header" | "-u" | "--user");
            let file = w.split_once('@').map(|(_, f)| f).unwrap_or(w);
            let copies = matches!(s.program(), Some("scp" | "rsync" | "sftp"));
            let sent = copies || w.contains('@') || i > 0 && is_upload_flag(&words[i - 1]);
            if i > 0 && sent && files.matches(file).is_some() {
                return danger(
                    "credentials_to_network",
                    format!("sends {file} to the network"),
                );
            }
            if !after_header && names_secret_variable(w) {
                return danger(
                    "credentials_to_network",
                    "sends a secret from the environment to the network",
                );
            }
        }
    }
    None
}

fn is_upload_flag(flag: &str) -> bool {
    matches!(
        flag,
        "-T" | "--upload-file" | "--data-binary" | "-d" | "--data" | "-F" | "--form"
    )
}

/// `$AWS_SECRET_ACCESS_KEY`, `${GITHUB_TOKEN}`, … inside a word.
fn names_secret_variable(word: &str) -> bool {
    word.split('$').skip(1).any(|v| {
        let name: String = v
            .trim_start_matches('{')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<String>()
            .to_ascii_uppercase();
        [
            "SECRET",
            "TOKEN",
            "PASSWORD",
            "PASSWD",
            "API_KEY",
            "ACCESS_KEY",
            "PRIVATE_KEY",
            "CREDENTIAL",
        ]
        .iter()
        .any(|s| name.contains(s))
    })
}

fn is_harmless(target: &str) -> bool {
    HARMLESS_TARGETS.contains(&target)
}

/// Whether every command in `pipelines` only reads: programs from the
/// reading list (with reading subcommands), no output to files, no
/// `sed -i`, no `find -delete/-exec`.
pub fn only_reads(pipelines: &[Pipeline]) -> Result<(), String> {
    for s in pipelines.iter().flat_map(|p| &p.stages) {
        if let Some(t) = s.writes_to.iter().find(|t| !is_harmless(t)) {
            return Err(format!("writes to {t}"));
        }
        let words = s.command();
        let Some(program) = s.program() else { continue };
        if !READERS.contains(&program) {
            return Err(format!("runs {program}"));
        }
        let args = &words[1..];
        if let Some((_, subs)) = READING_SUBCOMMANDS.iter().find(|(p, _)| *p == program) {
            let sub = args
                .iter()
                .find(|a| !a.starts_with('-') || a.starts_with("--v") || *a == "-v");
            if !sub.is_some_and(|a| subs.contains(&a.as_str())) {
                return Err(format!("runs {program} {}", sub.map_or("", |s| s.as_str())));
            }
        }
        let writes = match program {
            "sed" => args
                .iter()
                .any(|a| a.starts_with("-i") || a == "--in-place"),
            "find" | "fd" => args.iter().any(|a| {
                matches!(
                    a.as_str(),
                    "-delete" | "-exec" | "-execdir" | "-ok" | "-fprint" | "-x" | "-X"
                )
            }),
            "awk" => args
                .iter()
                .any(|a| a.contains("system(") || a.contains('>')),
            _ => false,
        };
        if writes {
            return Err(format!("{program} changes files"));
        }
    }
    Ok(())
}

/// The first place outside the workspace that `pipelines` would write to,
/// delete, or change directory to.
pub fn escapes(pipelines: &[Pipeline], workspace: &Workspace) -> Option<String> {
    for s in pipelines.iter().flat_map(|p| &p.stages) {
        if let Some(t) = s
            .writes_to
            .iter()
            .find(|t| !is_harmless(t) && !workspace.contains(t))
        {
            return Some(t.clone());
        }
        let words = s.command();
        let Some(program) = s.program() else { continue };
        let args = words.get(1..).unwrap_or(&[]);
        let paths: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
        // Copies read their sources; only the destination is written.
        let written = match program {
            "cp" | "install" | "rsync" | "ln" => paths.last().map(|p| vec![*p]).unwrap_or_default(),
            _ => paths,
        };
        if program == "cd" || WRITERS.contains(&program) {
            if let Some(p) = written
                .into_iter()
                .filter(|p| !is_harmless(p) && !p.contains("://") && !p.contains(':'))
                .find(|p| !workspace.contains(p))
            {
                return Some(p.clone());
            }
        } else if program == "sed"
            && args.iter().any(|a| a.starts_with("-i"))
            && let Some(p) = args
                .iter()
                .skip(2)
                .find(|p| !p.starts_with('-') && !workspace.contains(p))
        {
            return Some(p.clone());
        }
    }
    None
}

#[cfg(test)]
#[path = "commands_tests.rs"]
mod tests;
