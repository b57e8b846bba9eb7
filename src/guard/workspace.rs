//! The workspace a tool call must stay in: the roots from `[guard]
//! workspace`, plus the directories Claude Code states in its system
//! prompt (`Primary working directory: …`, its additional working
//! directories and its memory folder).
//!
//! Paths are compared as written, normalised lexically (`a/../b` is `b`):
//! the gateway may run on another machine than the tools, so it never
//! looks at a file system. A path it cannot place (`~/…`, `$HOME/…`) is
//! outside unless a root is written the same way.

use memchr::memmem;

/// Directories tool calls may touch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workspace {
    /// Normalised roots; the first is where relative paths start.
    roots: Vec<String>,
}

impl Workspace {
    /// The configured roots, then those stated in `system` (a request's
    /// system prompt as raw JSON text, escapes and all).
    pub fn new(configured: &[String], system: &[u8]) -> Workspace {
        let mut roots: Vec<String> = stated_roots(system);
        roots.extend(configured.iter().cloned());
        let mut out: Vec<String> = Vec::new();
        for r in roots.iter().map(|r| normalise(r)) {
            if !r.is_empty() && !out.contains(&r) {
                out.push(r);
            }
        }
        Workspace { roots: out }
    }

    /// Whether any root is known (else nothing can be judged outside).
    pub fn is_known(&self) -> bool {
        !self.roots.is_empty()
    }

    /// `path` as an absolute, normalised path (relative ones start at the
    /// first root).
    pub fn resolve(&self, path: &str) -> String {
        let path = path.trim();
        if is_rooted(path) {
            return normalise(path);
        }
        match self.roots.first() {
            Some(root) => normalise(&format!("{root}/{path}")),
            None => normalise(path),
        }
    }

    /// Whether `path` lies inside a root (always, when none is known).
    pub fn contains(&self, path: &str) -> bool {
        if !self.is_known() {
            return true;
        }
        let p = self.resolve(path);
        self.roots.iter().any(|r| {
            r == "/"
                || p == *r
                || p.strip_prefix(r.as_str())
                    .is_some_and(|s| s.starts_with('/'))
        })
    }

    /// The roots, for messages.
    pub fn roots(&self) -> &[String] {
        &self.roots
    }
}

fn is_rooted(path: &str) -> bool {
    path.starts_with('/') || path.starts_with('~') || path.starts_with('$')
}

/// `path` with `.`, `..` and repeated slashes resolved as text; `..` past
/// the top stays (so it is outside every root).
pub fn normalise(path: &str) -> String {
    let path = path.trim().trim_matches(['"', '\'']);
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if rooted && parts.is_empty() => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    if rooted { format!("/{joined}") } else { joined }
}

/// Roots Claude Code states: its primary and additional working
/// directories, and its memory folder.
fn stated_roots(system: &[u8]) -> Vec<String> {
    let mut roots = Vec::new();
    if let Some(dir) = value_after(system, b"Primary working directory: ") {
        roots.push(dir);
    }
    const LIST: &[u8] = b"Additional working directories:";
    if let Some(at) = memmem::find(system, LIST) {
        // JSON-escaped list lines follow: `\n  - /path`.
        let mut rest = &system[at + LIST.len()..];
        while let Some(line) = rest.strip_prefix(b"\\n  - ".as_slice()) {
            let Some(dir) = until_line_end(line) else {
                break;
            };
            rest = line.get(dir.len()..).unwrap_or_default();
            roots.push(dir);
        }
    }
    if let Some(dir) = value_after(system, b"persistent file-based memory at `") {
        roots.push(dir.trim_end_matches('`').to_string());
    }
    roots
}

/// The text after `marker` up to the end of its line.
fn value_after(text: &[u8], marker: &[u8]) -> Option<String> {
    let at = memmem::find(text, marker)? + marker.len();
    until_line_end(&text[at..])
}

fn until_line_end(text: &[u8]) -> Option<String> {
    let end = text
        .iter()
        .position(|b| matches!(b, b'\\' | b'"' | b'`'))
        .unwrap_or(text.len());
    let value = std::str::from_utf8(&text[..end]).ok()?.trim();
    (!value.is_empty()).then(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYSTEM: &[u8] = br##"[{"type":"text","text":"# Environment\nYou have been invoked in the following environment: \n - Primary working directory: /home/dev/app\n - Is a git repository: false\n - Additional working directories:\n  - /home/dev/lib\n  - /srv/shared\n - Platform: linux\n\n# Memory\n\nYou have a persistent file-based memory at `/home/dev/.claude/projects/-home-dev-app/memory/`. This directory"}]"##;

    #[test]
    fn claude_code_states_its_directories() {
        let w = Workspace::new(&[], SYSTEM);
        assert_eq!(
            w.roots(),
            [
                "/home/dev/app",
                "/home/dev/lib",
                "/srv/shared",
                "/home/dev/.claude/projects/-home-dev-app/memory"
            ]
        );
        let w = Workspace::new(&["/opt/work/".to_string()], b"no environment here");
        assert_eq!(w.roots(), ["/opt/work"]);
    }

    #[test]
    fn inside_and_outside() {
        let w = Workspace::new(&[], SYSTEM);
        for inside in [
            "src/main.rs",
            "./README.md",
            "/home/dev/app",
            "/home/dev/app/target/../src/x.rs",
            "/srv/shared/data.csv",
        ] {
            assert!(w.contains(inside), "{inside}");
        }
        for outside in [
            "/home/dev/.ssh/id_rsa",
            "../other/x",
            "/home/dev/app-old/x",
            "/home/dev/app/../../etc/passwd",
            "~/.bashrc",
            "$HOME/.profile",
            "/etc/hosts",
        ] {
            assert!(!w.contains(outside), "{outside}");
        }
        assert!(
            Workspace::default().contains("/etc/hosts"),
            "no roots: nothing is judged"
        );
    }

    #[test]
    fn lexical_normalisation() {
        assert_eq!(normalise("/a//b/./c/../d"), "/a/b/d");
        assert_eq!(normalise("../../x"), "../../x");
        assert_eq!(normalise("/.."), "/");
    }
}
