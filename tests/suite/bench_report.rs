//! Benchmark (ignored; run by `scripts/bench-report.sh`): the report of a six-document session,
//! its size and how long headless Chromium takes to load it and draw every diagram.

use std::time::Instant;

use super::report::{chromium, load};
use super::support::Rig;
use super::support::design_team::Script;

#[test]
#[ignore = "benchmark: run by scripts/bench-report.sh"]
fn bench_report() {
    let docs = vec![
        "link_service_backend_design.md",
        "analytics_pipeline_design.md",
        "auth_access_design.md",
        "storage_retention_design.md",
        "admin_console_frontend_design.md",
        "operations_observability_design.md",
    ];
    let script = Script {
        docs: docs.clone(),
        ..Script::default()
    };
    let rig = Rig::new(
        script,
        "workflow:\n  review_rounds: 1\n  design_docs: { min: 6, max: 6 }\n",
    );
    rig.run_headless(0);
    let page = rig.project.path().join(".agentmux/report.html");
    let written = rig
        .deliverables()
        .into_keys()
        .filter(|k| k.ends_with("_design.md"))
        .count();
    assert_eq!(written, 6, "six design documents");
    let bytes = std::fs::metadata(&page).unwrap().len();
    let browser = chromium().expect("chromium is needed for this benchmark");
    let work = tempfile::tempdir().unwrap();
    let blank = work.path().join("blank.html");
    std::fs::write(&blank, "<!doctype html><p>blank</p>").unwrap();
    // A run: the browser's wall time, and for the report the page's own clock (from navigation
    // start) when its first screen was drawn and when every diagram was.
    let attr = |dom: &str, name: &str| -> f64 {
        let key = format!("{name}=\"");
        let at = dom
            .find(&key)
            .unwrap_or_else(|| panic!("{name} in the DOM"))
            + key.len();
        dom[at..].split('"').next().unwrap().parse().unwrap()
    };
    let runs = |p: &std::path::Path, name: &str| -> Vec<[f64; 3]> {
        (0..5)
            .map(|i| {
                let t = Instant::now();
                let l = load(&browser, p, "", &work.path().join(format!("{name}{i}")));
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                if name == "report" {
                    assert!(l.dom.contains("data-mermaid=\"done\""), "diagrams drawn");
                    assert!(l.console.is_empty() && l.requests.is_empty());
                    [
                        ms,
                        attr(&l.dom, "data-first-screen-ms"),
                        attr(&l.dom, "data-render-ms"),
                    ]
                } else {
                    [ms, 0.0, 0.0]
                }
            })
            .collect()
    };
    let median = |v: &[[f64; 3]], k: usize| {
        let mut v: Vec<f64> = v.iter().map(|r| r[k]).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let base = median(&runs(&blank, "blank"), 0);
    let report = runs(&page, "report");
    let html = std::fs::read_to_string(&page).unwrap();
    let diagrams = html.matches("<pre class=\"mermaid\"").count();
    println!(
        "REPORT-BENCH documents={} diagrams={diagrams} bytes={bytes} chromium_ms={:.0} blank_ms={base:.0} render_ms={:.0} first_screen_ms={:.0} all_drawn_ms={:.0}",
        6 + 3,
        median(&report, 0),
        median(&report, 0) - base,
        median(&report, 1),
        median(&report, 2),
    );
}
