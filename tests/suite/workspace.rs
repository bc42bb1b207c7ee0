//! The workspace's shape: crates follow the path of a design session and depend only on crates
//! below them, so a wrong dependency fails here instead of drifting in.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Every workspace crate and its layer. A crate may depend only on crates of a lower layer;
/// `agentmux-test-support` may only ever be a dev-dependency. A new crate must be added here.
const LAYERS: [(&str, u8); 9] = [
    ("agentmux-protocol", 0),
    ("agentmux-osutil", 1),
    ("agentmux-docs", 1),
    ("agentmux-repo", 1),
    ("agentmux-tmux", 2),
    ("agentmux-llm", 2),
    ("agentmux-workflow", 2),
    ("agentmux-test-support", 3),
    ("agentmux", 4),
];

fn metadata() -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root)
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// `(crate, dependency, kind)` for every dependency between workspace crates.
fn internal_edges(meta: &Value) -> Vec<(String, String, String)> {
    let members: Vec<&str> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    let mut edges = Vec::new();
    for p in meta["packages"].as_array().expect("packages") {
        let name = p["name"].as_str().expect("name");
        for d in p["dependencies"].as_array().expect("dependencies") {
            let dep = d["name"].as_str().expect("dependency name");
            if members.contains(&dep) {
                let kind = d["kind"].as_str().unwrap_or("normal").to_string();
                edges.push((name.to_string(), dep.to_string(), kind));
            }
        }
    }
    edges
}

/// The rule, on its own so the test below can show it catches a bad edge.
fn violations(edges: &[(String, String, String)]) -> Vec<String> {
    let layers: BTreeMap<&str, u8> = LAYERS.into_iter().collect();
    let mut out = Vec::new();
    for (from, to, kind) in edges {
        let (Some(&lf), Some(&lt)) = (layers.get(from.as_str()), layers.get(to.as_str())) else {
            out.push(format!("{from} -> {to}: a crate missing from LAYERS"));
            continue;
        };
        if to == "agentmux-test-support" && kind != "dev" {
            out.push(format!(
                "{from} -> {to}: test support only as a dev-dependency"
            ));
        } else if to != "agentmux-test-support" && lt >= lf {
            out.push(format!(
                "{from} (layer {lf}) -> {to} (layer {lt}): depends on a crate at or above it"
            ));
        }
    }
    out
}

#[test]
fn every_crate_depends_only_on_crates_below_it() {
    let meta = metadata();
    let names: Vec<&str> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for name in &names {
        assert!(
            LAYERS.iter().any(|(n, _)| n == name),
            "{name} is not in LAYERS (tests/suite/workspace.rs): give it a layer"
        );
    }
    let edges = internal_edges(&meta);
    assert!(edges.len() >= 10, "{edges:?}");
    let bad = violations(&edges);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_rule_rejects_upward_and_sideways_edges() {
    let edge = |a: &str, b: &str, k: &str| (a.to_string(), b.to_string(), k.to_string());
    assert!(violations(&[edge("agentmux-workflow", "agentmux-docs", "normal")]).is_empty());
    assert_eq!(
        violations(&[
            edge("agentmux-docs", "agentmux-workflow", "normal"),
            edge("agentmux-llm", "agentmux-tmux", "normal"),
            edge("agentmux-llm", "agentmux-test-support", "normal"),
            edge("agentmux-protocol", "agentmux-new", "normal"),
        ])
        .len(),
        4
    );
}

#[test]
fn every_crate_root_states_its_contract() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for p in metadata()["packages"].as_array().expect("packages") {
        for t in p["targets"].as_array().expect("targets") {
            if t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "lib"))
            {
                let src = t["src_path"].as_str().expect("src_path");
                let text = std::fs::read_to_string(root.join(src)).expect("read crate root");
                assert!(
                    text.starts_with("//! "),
                    "{src}: a crate root opens with a doc comment saying its contract"
                );
            }
        }
    }
}
