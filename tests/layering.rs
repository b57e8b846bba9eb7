//! The layering check: imports run one way only, from the top of the stack
//! (cli) down to core, so there are no upward imports and no circles
//! between top-level modules. The order is the one docs/ARCHITECTURE.md
//! draws; a module may use itself and anything below it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;

/// Bottom to top.
const LAYERS: &[&str] = &[
    "core",
    "error",
    "config",
    "guard",
    "protocol",
    "store",
    "stream",
    "providers",
    "routing",
    "usage",
    "telemetry",
    "cache",
    "teams",
    "signin",
    "state",
    "pipeline",
    "api",
    "ui",
    "server",
    "bench",
    "adopt",
    "cli",
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|m| *m == module)
}

/// The code of a file without comments (line comments, doc comments and
/// block comments), so prose that names a module is not an import.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let (mut in_string, mut block) = (false, 0usize);
    while let Some(c) = chars.next() {
        if block > 0 {
            if c == '*' && chars.peek() == Some(&'/') {
                chars.next();
                block -= 1;
            } else if c == '/' && chars.peek() == Some(&'*') {
                chars.next();
                block += 1;
            }
            continue;
        }
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match (c, chars.peek()) {
            ('/', Some('/')) => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                block = 1;
            }
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Top-level modules a piece of code names through `crate::`.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let code = strip_comments(code);
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let name: String = code[i + "crate::".len()..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.insert(name);
        }
    }
    found
}

/// Every upward import: (file, its module, the module it names).
fn violations(files: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (path, code) in files {
        let module = path
            .trim_start_matches("src/")
            .split(['/', '.'])
            .next()
            .unwrap_or_default();
        let Some(own) = rank(module) else {
            continue;
        };
        for name in crate_refs(code) {
            match rank(&name) {
                Some(r) if r > own => out.push(format!("{path}: {module} uses {name} (above it)")),
                _ => {}
            }
        }
    }
    out
}

fn read_tree(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            read_tree(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn every_module_of_src_has_a_layer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root.join("src")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if !["lib", "main"].contains(&name.as_str()) && rank(&name).is_none() {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "modules without a layer: {missing:?}");
}

#[test]
fn imports_only_run_downward() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    read_tree(&root.join("src"), root, &mut files);
    assert!(files.len() > 100, "read {} files", files.len());
    let bad = violations(&files);
    assert!(bad.is_empty(), "upward imports:\n{}", bad.join("\n"));
}

#[test]
fn a_planted_upward_import_is_caught() {
    let files = vec![
        (
            "src/protocol/anthropic/decode.rs".to_string(),
            "use crate::core::StreamEvent;\nuse crate::providers::Call;\n".to_string(),
        ),
        (
            "src/core/mod.rs".to_string(),
            "//! see crate::api for the handlers\nconst S: &str = \"x\"; // crate::cli\n/* crate::server */ fn f() {}\n".to_string(),
        ),
        (
            "src/config/load.rs".to_string(),
            "fn price() -> crate::usage::pricing::Price { todo!() }\n".to_string(),
        ),
    ];
    assert_eq!(
        violations(&files),
        vec![
            "src/protocol/anthropic/decode.rs: protocol uses providers (above it)".to_string(),
            "src/config/load.rs: config uses usage (above it)".to_string(),
        ]
    );
}
