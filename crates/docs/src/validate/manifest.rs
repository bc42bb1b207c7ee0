//! The design manifest (`specs/manifest.json`): its JSON Schema, and the rules a schema cannot
//! say: the listed documents are exactly the files written, their number is within the configured
//! range, every name is safe, and the per-document maps talk about listed documents only.
//!
//! The schema accepts seed 004's keys as other tools write them as well as agentmux's own form:
//! `assumptions_tbd` entries as strings or `{assumption, owner}`, and `traceability` either way
//! round (see [`super::trace_form`]). Models are never given this schema, so agentmux itself keeps
//! writing one form.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use super::Finding;
use super::citations::normalize;
use super::names::check_doc_name;
use super::trace_form::{check_trace_map, names_document};

/// At most this many schema errors are reported; the rest follow from the same mistakes.
const MAX_SCHEMA_FINDINGS: usize = 20;

/// The parsed schema (its descriptions explain `anyOf` failures) and its validator.
struct Compiled {
    schema: Value,
    validator: jsonschema::Validator,
}

fn compiled() -> Result<&'static Compiled, &'static str> {
    static V: OnceLock<Result<Compiled, String>> = OnceLock::new();
    V.get_or_init(|| {
        let schema: Value =
            serde_json::from_str(crate::schema::MANIFEST_SCHEMA_JSON).map_err(|e| e.to_string())?;
        let validator = crate::schema::compile(&schema)?;
        Ok(Compiled { schema, validator })
    })
    .as_ref()
    .map_err(|e| e.as_str())
}

/// The most design documents a manifest may list. Beyond `workflow.design_docs.max`, up to this
/// many are accepted, with a warning, when every document's rationale says why it is needed: a
/// capable model may see more areas worth a document of their own than the configured bound.
pub const DESIGN_DOCS_CEILING: usize = 12;

/// How many documents a manifest may list: `min..=max`, or up to `ceiling` (at least `max`) with
/// a warning when every listed document has a rationale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DocCount {
    pub min: usize,
    pub max: usize,
    pub ceiling: usize,
}

/// What [`check_manifest`] found: `findings` fail the manifest, `warnings` do not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ManifestCheck {
    pub findings: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

/// Checks a manifest. `written`: the design files actually produced (bare names), when known;
/// `min..=max`: the allowed number of documents, with no leeway above `max`.
pub fn validate_manifest(
    json: &Value,
    written: Option<&[String]>,
    min: usize,
    max: usize,
) -> Vec<Finding> {
    let count = DocCount {
        min,
        max,
        ceiling: max,
    };
    check_manifest(json, written, count).findings
}

/// Like [`validate_manifest`], with the leeway of `count.ceiling` above `count.max`.
pub fn check_manifest(json: &Value, written: Option<&[String]>, count: DocCount) -> ManifestCheck {
    let mut warnings = Vec::new();
    let out = check(json, written, count, &mut warnings);
    ManifestCheck {
        findings: out,
        warnings,
    }
}

fn check(
    json: &Value,
    written: Option<&[String]>,
    count: DocCount,
    warnings: &mut Vec<Finding>,
) -> Vec<Finding> {
    let DocCount { min, max, ceiling } = count;
    let ceiling = ceiling.max(max);
    let mut out = Vec::new();
    let listed = selected_docs(json);
    match compiled() {
        Ok(c) => {
            for e in c.validator.iter_errors(json).take(MAX_SCHEMA_FINDINGS) {
                let pointer = e.instance_path().as_str().to_string();
                // Bad and repeated names get a better message from the checks below.
                let name_rule = (pointer.starts_with("/selected_docs/")
                    && matches!(e.kind(), ValidationErrorKind::Pattern { .. }))
                    || (pointer == "/selected_docs"
                        && matches!(e.kind(), ValidationErrorKind::UniqueItems));
                // A document key the schema's file pattern did not take (`Auth.md`,
                // `../x_design.md`) was judged as a PRD item, so its objectives fail as file
                // names; the name itself is what is wrong, and trace_form says so.
                let misread_doc_key = e
                    .schema_path()
                    .as_str()
                    .starts_with("/properties/traceability/additionalProperties")
                    && trace_key(&pointer).is_some_and(|k| names_document(&k, &listed));
                if name_rule || misread_doc_key {
                    continue;
                }
                let message = match e.kind() {
                    // jsonschema only says no alternative fits; the schema says what they are.
                    ValidationErrorKind::AnyOf { .. } => format!(
                        "not one of the accepted forms: {}",
                        any_of_description(&c.schema, e.schema_path().as_str())
                    ),
                    _ => e.to_string(),
                };
                out.push(Finding::new(
                    pointer_to_path(&pointer),
                    format!(
                        "{message}; make the manifest match specs-templates/manifest.schema.json"
                    ),
                ));
            }
        }
        Err(e) => out.push(Finding::new(
            "schema",
            format!("the built-in manifest schema is broken ({e}); report this as a bug"),
        )),
    }

    let Some(obj) = json.as_object() else {
        return out;
    };
    let Some(docs) = obj.get("selected_docs").and_then(Value::as_array) else {
        return out;
    };
    let mut selected = BTreeSet::new();
    // Names already reported as unsafe are not reported again as unwritten or unmapped.
    let mut bad = BTreeSet::new();
    for (i, d) in docs.iter().enumerate() {
        let Some(name) = d.as_str() else { continue };
        if let Err(why) = check_doc_name(name) {
            out.push(Finding::new(format!("selected_docs[{i}]"), why));
            bad.insert(name.to_string());
        }
        if !selected.insert(name.to_string()) {
            out.push(Finding::new(
                format!("selected_docs[{i}]"),
                format!("`{name}` is listed twice; list each document once"),
            ));
        }
    }
    let n = selected.len();
    // More than `max` is justified when every document says why it is needed.
    let justified = || {
        let rationale = obj.get("rationale").and_then(Value::as_object);
        selected.iter().all(|d| {
            rationale
                .and_then(|r| r.get(d))
                .and_then(Value::as_str)
                .is_some_and(|t| !t.trim().is_empty())
        })
    };
    if n > max && n <= ceiling && justified() {
        warnings.push(Finding::new(
            "selected_docs",
            format!(
                "{n} documents, more than workflow.design_docs.max ({max}); accepted (at most {ceiling}) because each document has a rationale, but consider merging related design areas"
            ),
        ));
    } else if n < min || n > max {
        let leeway = if ceiling > max && n > max {
            format!(" (up to {ceiling} when every document's rationale says why it is needed)")
        } else {
            String::new()
        };
        out.push(Finding::new(
            "selected_docs",
            format!(
                "{n} documents, need {min} to {max}{leeway}; {}",
                if n < min {
                    "split the design into more design areas (one document per area)"
                } else {
                    "merge related design areas so each document covers one area that matters"
                }
            ),
        ));
    }

    if let Some(written) = written {
        let written: BTreeSet<&str> = written.iter().map(String::as_str).collect();
        for name in selected.difference(&bad) {
            if !written.contains(name.as_str()) {
                out.push(Finding::new(
                    "selected_docs",
                    format!("`{name}` is listed but was not written; write the document or remove it from selected_docs"),
                ));
            }
        }
        for name in &written {
            if !selected.contains(*name) {
                out.push(Finding::new(
                    "selected_docs",
                    format!("`{name}` was written but is not listed; add it to selected_docs or remove the file"),
                ));
            }
        }
    }

    for map in ["design_areas", "rationale"] {
        let Some(entries) = obj.get(map).and_then(Value::as_object) else {
            continue;
        };
        for k in entries.keys() {
            if !selected.contains(k) {
                out.push(Finding::new(
                    format!("{map}.{k}"),
                    format!("`{k}` is not in selected_docs; use the exact file names from selected_docs as keys"),
                ));
            }
        }
        for name in selected.difference(&bad) {
            if !entries.contains_key(name) {
                out.push(Finding::new(
                    map,
                    format!("no entry for `{name}`; add one ({})", map_hint(map)),
                ));
            }
        }
    }
    if let Some(trace) = obj.get("traceability").and_then(Value::as_object) {
        out.extend(check_trace_map(trace, &selected, &bad));
    }
    if let Some(baseline) = obj.get("baseline").and_then(Value::as_object) {
        out.extend(check_baseline(baseline));
    }
    out
}

/// What the schema cannot say about a baseline: every file is a plain relative path inside the
/// project (drift never reads another), and every citation's file has a hash.
fn check_baseline(baseline: &serde_json::Map<String, Value>) -> Vec<Finding> {
    const FIX: &str = "agentmux writes the baseline when a session writes the specs: re-run a session, or remove `baseline` to stop checking for drift";
    let mut out = Vec::new();
    let files = baseline.get("files").and_then(Value::as_object);
    for path in files.into_iter().flat_map(|f| f.keys()) {
        if normalize(path).as_deref() != Ok(path.as_str()) {
            out.push(Finding::new(
                format!("baseline.files.{path}"),
                format!("`{path}` is not a path inside the project written relative to its root (no `/` at the start, no `.` or `..` parts); {FIX}"),
            ));
        }
    }
    let citations = baseline.get("citations").and_then(Value::as_array);
    for (i, c) in citations.into_iter().flatten().enumerate() {
        if let Some(path) = c.get("path").and_then(Value::as_str)
            && !files.is_some_and(|f| f.contains_key(path))
        {
            out.push(Finding::new(
                format!("baseline.citations[{i}]"),
                format!("`{path}` has no hash in baseline.files; {FIX}"),
            ));
        }
    }
    out
}

/// The traceability key an instance path is under: `/traceability/a~1b/0` -> `a/b`.
fn trace_key(pointer: &str) -> Option<String> {
    let rest = pointer.strip_prefix("/traceability/")?;
    let seg = rest.split('/').next()?;
    Some(seg.replace("~1", "/").replace("~0", "~"))
}

/// The `description` of the schema holding the `anyOf` at `schema_path`
/// (`/properties/assumptions_tbd/items/anyOf`).
fn any_of_description(schema: &Value, schema_path: &str) -> String {
    schema_path
        .strip_suffix("/anyOf")
        .and_then(|p| schema.pointer(p))
        .and_then(|s| s.get("description"))
        .and_then(Value::as_str)
        .unwrap_or("see the schema")
        .to_string()
}

fn map_hint(map: &str) -> &'static str {
    match map {
        "design_areas" => "the scope the document covers, in one or two lines",
        _ => "how the document maps to the PRD's goals, risks and NFRs",
    }
}

/// `/selected_docs/0` -> `selected_docs[0]`; `/design_areas/a_design.md` -> `design_areas.a_design.md`.
fn pointer_to_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    if out.is_empty() {
        "manifest".into()
    } else {
        out
    }
}

/// The file names a manifest lists in `selected_docs` (none when the key is missing or not a list).
pub(crate) fn selected_docs(manifest: &Value) -> BTreeSet<String> {
    manifest
        .get("selected_docs")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn good() -> Value {
        json!({
            "project_name": "shop",
            "selected_docs": ["checkout_backend_design.md", "auth_security_design.md"],
            "design_areas": {
                "checkout_backend_design.md": "Cart, orders and payments.",
                "auth_security_design.md": "Login, sessions and roles."
            },
            "rationale": {
                "checkout_backend_design.md": "O1 and FR-1..FR-3; the p95 latency NFR.",
                "auth_security_design.md": "O2; the security NFRs."
            },
            "assumptions_tbd": [{"assumption": "Payment provider is Stripe", "owner": "PM"}],
            "traceability": {
                "O1": ["checkout_backend_design.md"],
                "FR-1": ["checkout_backend_design.md", "auth_security_design.md"],
                "O2": ["auth_security_design.md"]
            },
            "phase_plan_overview": [{"phase": "MVP", "goals": "checkout", "exit_criteria": "e2e green"}]
        })
    }

    fn written() -> Vec<String> {
        vec![
            "auth_security_design.md".into(),
            "checkout_backend_design.md".into(),
        ]
    }

    #[test]
    fn schema_is_valid_and_a_good_manifest_passes() {
        assert!(compiled().is_ok());
        let f = validate_manifest(&good(), Some(&written()), 2, 6);
        assert!(f.is_empty(), "{f:?}");
    }

    /// A manifest of `n` documents, each with a scope, a rationale and a PRD item.
    fn with_docs(n: usize) -> (Value, Vec<String>) {
        let names: Vec<String> = (0..n).map(|i| format!("area{i}_design.md")).collect();
        let map = |text: &str| -> Value {
            names
                .iter()
                .map(|d| (d.clone(), json!(format!("{text} of {d}"))))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        let mut m = good();
        m["selected_docs"] = json!(names);
        m["design_areas"] = map("the scope");
        m["rationale"] = map("the PRD goals answered");
        m["traceability"] = names
            .iter()
            .enumerate()
            .map(|(i, d)| (format!("FR-{}", i + 1), json!([d])))
            .collect::<serde_json::Map<_, _>>()
            .into();
        (m, names)
    }

    #[test]
    fn more_documents_than_max_with_rationale_warn_up_to_the_ceiling() {
        let count = DocCount {
            min: 2,
            max: 6,
            ceiling: DESIGN_DOCS_CEILING,
        };
        let (m, names) = with_docs(7);
        let c = check_manifest(&m, Some(&names), count);
        assert!(c.findings.is_empty(), "{:?}", c.findings);
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(c.warnings[0].message.contains("7 documents, more than"));
        // Without the leeway (the local profile), 7 is a failure, as before.
        let f = validate_manifest(&m, Some(&names), 2, 6);
        assert!(
            f.iter()
                .any(|f| f.message.starts_with("7 documents, need 2 to 6;")),
            "{f:?}"
        );
        // A document without a rationale does not justify going beyond max.
        let mut unjustified = m.clone();
        unjustified["rationale"]["area0_design.md"] = json!(" ");
        let c = check_manifest(&unjustified, Some(&names), count);
        assert!(c.warnings.is_empty());
        assert!(
            c.findings
                .iter()
                .any(|f| f.message.contains("up to 12 when every document")),
            "{:?}",
            c.findings
        );
        // Above the ceiling: a failure whatever the rationale.
        let (m, names) = with_docs(DESIGN_DOCS_CEILING + 1);
        let c = check_manifest(&m, Some(&names), count);
        assert!(c.warnings.is_empty());
        assert!(
            c.findings
                .iter()
                .any(|f| f.message.starts_with("13 documents, need 2 to 6")),
            "{:?}",
            c.findings
        );
    }

    #[test]
    fn schema_errors_name_the_key() {
        let mut m = good();
        m["selected_docs"] = json!("checkout_backend_design.md");
        m.as_object_mut().unwrap().remove("rationale");
        let f = validate_manifest(&m, None, 2, 6);
        assert!(
            f.iter()
                .any(|f| f.location == "selected_docs" && f.message.contains("not of type")),
            "{f:?}"
        );
        assert!(
            f.iter()
                .any(|f| f.location == "manifest" && f.message.contains("rationale")),
            "{f:?}"
        );
        let f = validate_manifest(&json!([1, 2]), None, 2, 6);
        assert_eq!(f.len(), 1, "{f:?}");
    }

    #[track_caller]
    fn has(text: &[String], yes: bool, fragment: &str) {
        assert_eq!(
            text.iter().any(|t| t.contains(fragment)),
            yes,
            "{fragment:?} in {text:#?}"
        );
    }

    #[test]
    fn names_counts_files_and_keys() {
        let mut m = good();
        m["selected_docs"] = json!([
            "../etc_design.md",
            "checkout_backend_design.md",
            "checkout_backend_design.md"
        ]);
        m["design_areas"]["stray_design.md"] = json!("x");
        m["traceability"]["O3"] = json!(["stray_design.md", "../x_design.md"]);
        let f = validate_manifest(&m, Some(&written()), 3, 6);
        let text: Vec<String> = f.iter().map(ToString::to_string).collect();
        has(
            &text,
            true,
            "selected_docs[0]: `../etc_design.md` contains a path separator",
        );
        // the schema's pattern error is replaced by the name check, not doubled
        has(
            &text,
            false,
            "selected_docs[0]: \"../etc_design.md\" does not match",
        );
        has(
            &text,
            true,
            "selected_docs[2]: `checkout_backend_design.md` is listed twice",
        );
        has(&text, true, "selected_docs: 2 documents, need 3 to 6");
        has(
            &text,
            true,
            "`auth_security_design.md` was written but is not listed",
        );
        has(
            &text,
            false,
            "`../etc_design.md` is listed but was not written",
        );
        has(
            &text,
            true,
            "design_areas.stray_design.md: `stray_design.md` is not in selected_docs",
        );
        has(
            &text,
            false,
            "design_areas: no entry for `../etc_design.md`",
        );
        has(
            &text,
            true,
            "traceability.O3[0]: `stray_design.md` is not in selected_docs",
        );
        has(
            &text,
            true,
            "traceability.O3[1]: \"../x_design.md\" does not match",
        );
        has(&text, false, "has non-unique elements");
        assert_eq!(f.len(), 11, "{text:#?}");

        m["selected_docs"] = json!(["checkout_backend_design.md", "new_design.md"]);
        let f = validate_manifest(&m, Some(&written()), 2, 6);
        let text: Vec<String> = f.iter().map(ToString::to_string).collect();
        has(&text, true, "`new_design.md` is listed but was not written");
        has(&text, true, "rationale: no entry for `new_design.md`");
    }

    /// The manifest as seed 004 words it and other tools write it: traceability keyed by
    /// document, assumptions as plain strings (mixed with agentmux's objects).
    fn seed_004() -> Value {
        let mut m = good();
        m["traceability"] = json!({
            "checkout_backend_design.md": ["O1", "KPI-2", "FR-1"],
            "auth_security_design.md": ["O2"]
        });
        m["assumptions_tbd"] = json!([
            "Payment provider is Stripe (owner: PM)",
            {"assumption": "EU hosting only", "owner": ""}
        ]);
        m
    }

    #[test]
    fn seed_004_forms_pass() {
        let f = validate_manifest(&seed_004(), Some(&written()), 2, 6);
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn an_assumption_in_neither_form_names_both() {
        let mut m = seed_004();
        m["assumptions_tbd"] = json!(["ok", {"assumption": "no owner key"}, 3]);
        let f = validate_manifest(&m, None, 2, 6);
        let text: Vec<String> = f.iter().map(ToString::to_string).collect();
        for i in [1, 2] {
            has(
                &text,
                true,
                &format!(
                    "assumptions_tbd[{i}]: not one of the accepted forms: An assumption as plain text, or an object with `assumption` and `owner`"
                ),
            );
        }
        assert_eq!(f.len(), 2, "{text:#?}");
    }

    #[test]
    fn document_keys_are_checked_as_names_not_as_prd_items() {
        let mut m = seed_004();
        m["traceability"]["Checkout.md"] = json!(["O3"]);
        m["traceability"]["../x_design.md"] = json!(["O3"]);
        let f = validate_manifest(&m, Some(&written()), 2, 6);
        let text: Vec<String> = f.iter().map(ToString::to_string).collect();
        has(
            &text,
            true,
            "traceability.Checkout.md: `Checkout.md` does not end in `_design.md`",
        );
        has(
            &text,
            true,
            "traceability.../x_design.md: `../x_design.md` contains a path separator",
        );
        // the objectives are not reported as bad file names
        has(&text, false, "does not match");
        assert_eq!(f.len(), 2, "{text:#?}");

        // keyed by document, a document left out is named
        let mut m = seed_004();
        m["traceability"]
            .as_object_mut()
            .unwrap()
            .remove("auth_security_design.md");
        let text: Vec<String> = validate_manifest(&m, Some(&written()), 2, 6)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            text,
            vec![
                "traceability: no entry for `auth_security_design.md`; the map is keyed by document, so add `auth_security_design.md` with the PRD objectives/KPIs it supports"
            ]
        );

        // a mixed map: one finding on the odd key, the schema has nothing to add
        let mut m = seed_004();
        m["traceability"]["O3"] = json!(["auth_security_design.md"]);
        let f = validate_manifest(&m, Some(&written()), 2, 6);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].location, "traceability.O3");
        assert!(f[0].message.contains("mixes its two forms"), "{f:?}");
    }

    #[test]
    fn a_baseline_is_optional_and_checked_when_present() {
        let hash = format!("sha256:{}", "a".repeat(64));
        let mut m = good();
        m["baseline"] = json!({
            "commit": "0123456789abcdef0123456789abcdef01234567",
            "dirty": false,
            "files": {"readtime/api.py": hash},
            "citations": [{"document": "checkout_backend_design.md", "section": "3. Detailed Design",
                           "path": "readtime/api.py", "start": 12, "end": 40}]
        });
        assert!(validate_manifest(&m, Some(&written()), 2, 6).is_empty());
        // Outside a git repository: no commit, no dirty flag.
        m["baseline"] = json!({"files": {}, "citations": []});
        assert!(validate_manifest(&m, Some(&written()), 2, 6).is_empty());

        m["baseline"] = json!({
            "commit": "HEAD",
            "files": {"../etc/passwd": hash, "./a.py": hash, "b.py": "md5:x"},
            "citations": [{"document": "x_design.md", "section": "", "path": "c.py", "start": 0, "end": 1}],
            "by": "model"
        });
        let text: Vec<String> = validate_manifest(&m, Some(&written()), 2, 6)
            .iter()
            .map(ToString::to_string)
            .collect();
        for fragment in [
            "baseline.commit: \"HEAD\" does not match",
            "baseline.files.b.py: \"md5:x\" does not match",
            "baseline.citations[0].start: 0 is less than the minimum of 1",
            "baseline: Additional properties are not allowed ('by' was unexpected)",
            "baseline.files.../etc/passwd: `../etc/passwd` is not a path inside the project",
            "baseline.files../a.py: `./a.py` is not a path inside the project",
            "baseline.citations[0]: `c.py` has no hash in baseline.files",
        ] {
            has(&text, true, fragment);
        }
        assert_eq!(text.len(), 7, "{text:#?}");
    }

    #[test]
    fn pointers_read_as_paths() {
        assert_eq!(pointer_to_path(""), "manifest");
        assert_eq!(pointer_to_path("/selected_docs/3"), "selected_docs[3]");
        assert_eq!(pointer_to_path("/design_areas/a~1b"), "design_areas.a/b");
    }
}
