//! Test fixtures shared across modules: the real Claude Code requests the
//! shared probe captured (found where `scripts/common.sh` finds the probe).

use std::path::PathBuf;

/// The probe's captures folder.
pub fn probe_captures() -> PathBuf {
    [
        std::env::var("SWITCHYARD_PROBE_DIR").ok(),
        Some(format!(
            "{}/../shared/probes/claude-code",
            env!("CARGO_MANIFEST_DIR")
        )),
        Some("/work/shared/probes/claude-code".to_string()),
    ]
    .into_iter()
    .flatten()
    .map(|d| PathBuf::from(d).join("captures"))
    .find(|d| d.is_dir())
    .expect("the Claude Code probe's captures (../shared/probes/claude-code/captures)")
}

/// Every captured request: (file name, its JSON body).
pub fn captured_bodies() -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(probe_captures()).expect("captures") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("capture");
        let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let name = path.file_name().map(|n| n.to_string_lossy().to_string());
        out.push((
            name.unwrap_or_default(),
            v.get("body").cloned().unwrap_or(v),
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
