//! The report page: HTML from the gathered [`Input`], pure.
//!
//! Model text is untrusted: every string is escaped, raw HTML inside the documents' Markdown is
//! shown as text, links keep their text but lose their target, and images become their address
//! in brackets, so the page can neither run nor load anything the model wrote. The page's own
//! scripts carry a nonce the Content-Security-Policy names; nothing else may run, and no source
//! outside the page may be fetched (`default-src 'none'`).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use serde::Serialize;

use super::assets::{MERMAID_JS, mermaid_version};
use super::{Input, Trace};
use crate::dashboard::format::{cost_cell, cost_words};
use workflow::state::Totals;

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The snake_case name serde gives a value (`open`, `accepted`).
fn name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Markdown to HTML, with ```mermaid fences as `<pre class="mermaid">` for Mermaid to draw.
pub(crate) fn markdown(md: &str) -> String {
    let parser = Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH);
    let mut events: Vec<Event<'_>> = Vec::new();
    let mut mermaid: Option<String> = None;
    for ev in parser {
        match ev {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang)))
                if lang.trim().eq_ignore_ascii_case("mermaid") =>
            {
                mermaid = Some(String::new());
            }
            Event::Text(t) if mermaid.is_some() => {
                if let Some(m) = &mut mermaid {
                    m.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) if mermaid.is_some() => {
                let src = mermaid.take().unwrap_or_default();
                events.push(Event::Html(
                    format!("<pre class=\"mermaid\">{}</pre>\n", escape(&src)).into(),
                ));
            }
            // Shown, never interpreted.
            Event::Html(h) | Event::InlineHtml(h) => events.push(Event::Text(h)),
            Event::Start(Tag::Link { .. }) | Event::End(TagEnd::Link) => {}
            Event::Start(Tag::Image { dest_url, .. }) => {
                events.push(Event::Text(format!("[image {dest_url}: ").into()));
            }
            Event::End(TagEnd::Image) => events.push(Event::Text("]".into())),
            e => events.push(e),
        }
    }
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events.into_iter());
    out
}

const STYLE: &str = r#"
:root { --fg:#1d2330; --muted:#5b6475; --line:#d8dce4; --bg:#fff; --soft:#f5f7fa; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:var(--bg); }
header { padding:20px 32px; border-bottom:1px solid var(--line); background:var(--soft); }
header h1 { margin:0 0 4px; font-size:22px; }
header .meta { color:var(--muted); font-size:13px; }
nav { position:sticky; top:0; z-index:2; padding:8px 32px; background:#fff; border-bottom:1px solid var(--line); font-size:13px; }
nav a { margin-right:14px; color:#2456b3; text-decoration:none; }
main { max-width:1100px; margin:0 auto; padding:8px 32px 64px; }
section { margin-top:36px; }
section.doc { border-top:3px solid var(--line); padding-top:8px; }
.file { color:var(--muted); font:12px ui-monospace, monospace; }
h2.part { font-size:20px; border-bottom:1px solid var(--line); padding-bottom:4px; }
table { border-collapse:collapse; width:100%; margin:10px 0; font-size:13px; }
th, td { border:1px solid var(--line); padding:5px 7px; text-align:left; vertical-align:top; }
th { background:var(--soft); }
pre { background:var(--soft); padding:10px; overflow:auto; font-size:12.5px; }
pre.mermaid { background:#fff; text-align:center; }
code { font-size:12.5px; }
.badge { display:inline-block; padding:0 6px; border-radius:8px; font-size:12px; font-weight:600; white-space:nowrap; }
.critical { background:#fde2e1; color:#a01b14; } .important { background:#fff0cc; color:#7a5200; }
.nice-to-have { background:#e0ecff; color:#1c4fa0; } .question { background:#ddf5f5; color:#126363; }
.accepted, .closed { background:#dff5e1; color:#1d6b2a; } .rejected { background:#fde2e1; color:#a01b14; }
.deferred, .addressed { background:#fff0cc; color:#7a5200; } .open { background:#eceff4; color:#333; }
.filters label { margin-right:14px; font-size:13px; }
.count { color:var(--muted); font-size:13px; }
tr.gap td { background:#fff4f3; }
td.hit { text-align:center; color:#1d6b2a; font-weight:700; }
td.gapmark { color:#a01b14; font-weight:600; }
.num { text-align:right; font-variant-numeric: tabular-nums; }
"#;

/// The page's own script: the ledger filters (their state also in the address's `#ledger:`
/// part, so a filtered view can be linked) and the diagrams.
const APP_JS: &str = r##"
(function () {
  var keys = ["category", "status", "author"];
  var rows = Array.prototype.slice.call(document.querySelectorAll("#ledger tbody tr"));
  var count = document.getElementById("ledger-count");
  function value(k) { return document.getElementById("f-" + k).value; }
  function apply() {
    var shown = 0;
    rows.forEach(function (r) {
      var ok = keys.every(function (k) { var v = value(k); return !v || r.dataset[k] === v; });
      r.hidden = !ok;
      if (ok) shown++;
    });
    count.textContent = shown + " of " + rows.length + " items";
    document.body.dataset.ledgerShown = String(shown);
  }
  function fromHash() {
    var h = decodeURIComponent(location.hash || "");
    if (h.indexOf("#ledger:") !== 0) return;
    var params = new URLSearchParams(h.slice(8));
    keys.forEach(function (k) {
      var v = params.get(k);
      if (v !== null) document.getElementById("f-" + k).value = v;
    });
  }
  keys.forEach(function (k) {
    document.getElementById("f-" + k).addEventListener("change", function () {
      var p = new URLSearchParams();
      keys.forEach(function (k2) { if (value(k2)) p.set(k2, value(k2)); });
      history.replaceState(null, "", "#ledger:" + p.toString());
      apply();
    });
  });
  fromHash();
  apply();
  var blocks = document.querySelectorAll("pre.mermaid");
  document.body.dataset.diagrams = String(blocks.length);
  function done(state) {
    document.body.dataset.mermaid = state;
    document.body.dataset.renderMs = String(Math.round(performance.now()));
  }
  if (!blocks.length) { done("done"); return; }
  mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "default",
    htmlLabels: false, flowchart: { htmlLabels: false } });
  // The diagrams on the first screen are drawn first; the others after it, one at a time with
  // the browser free in between (to paint and scroll), so the page is readable long before
  // the last diagram of a long session is drawn.
  var view = window.innerHeight || 900, first = [], rest = [];
  Array.prototype.forEach.call(blocks, function (b) {
    (b.getBoundingClientRect().top < view ? first : rest).push(b);
  });
  function draw(nodes) { return nodes.length ? mermaid.run({ nodes: nodes }) : Promise.resolve(); }
  function yieldToBrowser() { return new Promise(function (r) { setTimeout(r, 0); }); }
  function drawRest(i) {
    if (i >= rest.length) return Promise.resolve();
    return draw([rest[i]]).then(yieldToBrowser).then(function () { return drawRest(i + 1); });
  }
  draw(first).then(function () {
    document.body.dataset.firstScreenMs = String(Math.round(performance.now()));
    return yieldToBrowser();
  }).then(function () { return drawRest(0); }).then(function () { done("done"); },
    function (e) { done("error"); console.error("mermaid: " + e); });
})();
"##;

/// The whole page.
pub(crate) fn page(input: &Input<'_>) -> String {
    let st = input.state;
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let mut h = String::with_capacity(MERMAID_JS.len() + 64 * 1024);
    let project = escape(&input.project_name);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; img-src data:; font-src data:\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>agentmux report: {project}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
    );
    let duration = match (st.started_at, st.updated_at) {
        (Some(a), Some(b)) => format_secs(b.duration_since(a).as_secs_f64()),
        _ => "–".into(),
    };
    let _ = writeln!(
        h,
        "<header><h1>{project}</h1><div class=\"meta\">session {} · {} · {} · {} tokens{} · {} · \
         generated {} · diagrams by Mermaid {}</div></header>",
        escape(&st.session_id),
        escape(st.status().as_str()),
        duration,
        st.totals.tokens(),
        if st.totals.estimated {
            " (estimated)"
        } else {
            ""
        },
        escape(&cost_words(
            st.totals.cost_usd,
            st.totals.calls,
            st.totals.unpriced_calls
        )),
        input.generated.strftime("%Y-%m-%d %H:%M UTC"),
        escape(mermaid_version()),
    );
    h.push_str("<nav>");
    for (i, d) in input.docs.iter().enumerate() {
        let _ = write!(h, "<a href=\"#doc-{}\">{}</a>", i + 1, escape(&d.title));
    }
    h.push_str(
        "<a href=\"#ledger\">Feedback</a><a href=\"#revisions\">Revisions</a>\
         <a href=\"#trace\">Traceability</a><a href=\"#figures\">Figures</a></nav>\n<main>\n",
    );
    if input.docs.is_empty() {
        h.push_str("<p>No document has been written yet.</p>\n");
    }
    for (i, d) in input.docs.iter().enumerate() {
        let _ = write!(
            h,
            "<section class=\"doc\" id=\"doc-{}\"><div class=\"file\">{}</div>\n{}</section>\n",
            i + 1,
            escape(&d.file),
            markdown(&d.markdown)
        );
    }
    ledger(&mut h, input);
    revisions(&mut h, input);
    trace(&mut h, input.trace.as_ref());
    figures(&mut h, input);
    h.push_str("</main>\n");
    // `</script` cannot occur inside a script element; the build has none, but a refresh might.
    let _ = write!(
        h,
        "<script nonce=\"{nonce}\">{}</script>\n<script nonce=\"{nonce}\">{APP_JS}</script>\n</body></html>\n",
        MERMAID_JS.replace("</script", "<\\/script")
    );
    h
}

fn badge(class: &str) -> String {
    format!("<span class=\"badge {0}\">{0}</span>", escape(class))
}

fn ledger(h: &mut String, input: &Input<'_>) {
    let items = &input.state.items;
    h.push_str(
        "<section id=\"ledger\"><h2 class=\"part\">Feedback ledger</h2>\n<div class=\"filters\">",
    );
    let values = |f: &dyn Fn(&workflow::state::ItemRecord) -> String| -> BTreeSet<String> {
        items.iter().map(f).collect()
    };
    let columns: [(&str, &str, BTreeSet<String>); 3] = [
        (
            "category",
            "Category",
            values(&|i| i.item.category.as_str().to_string()),
        ),
        ("status", "Status", values(&|i| name(&i.status))),
        ("author", "Author", values(&|i| i.item.author.clone())),
    ];
    for (key, label, vals) in &columns {
        let _ = write!(
            h,
            "<label>{label} <select id=\"f-{key}\"><option value=\"\">all</option>"
        );
        for v in vals {
            let v = escape(v);
            let _ = write!(h, "<option value=\"{v}\">{v}</option>");
        }
        h.push_str("</select></label>");
    }
    h.push_str(
        "<span class=\"count\" id=\"ledger-count\"></span></div>\n<table><thead><tr><th>Id</th>\
         <th>Category</th><th>Author</th><th>Stage</th><th>Section</th><th>Comment</th>\
         <th>Suggestion</th><th>Status</th><th>Disposition</th></tr></thead><tbody>\n",
    );
    for i in items {
        let category = i.item.category.as_str();
        let status = name(&i.status);
        let disposition = match &i.disposition {
            Some(d) => {
                let decision = name(&d.decision);
                let change = d
                    .change
                    .as_deref()
                    .filter(|c| !c.is_empty())
                    .map(|c| format!("<br><em>{}</em>", escape(c)))
                    .unwrap_or_default();
                format!("{} {}{change}", badge(&decision), escape(&d.rationale))
            }
            None => String::new(),
        };
        let _ = writeln!(
            h,
            "<tr data-category=\"{c}\" data-status=\"{s}\" data-author=\"{a}\"><td>{id}</td><td>{cb}</td>\
             <td>{a}</td><td>{stage} r{round}</td><td>{section}</td><td>{comment}</td><td>{suggestion}</td>\
             <td>{sb}</td><td>{disposition}</td></tr>",
            c = escape(category),
            s = escape(&status),
            a = escape(&i.item.author),
            id = escape(&i.item.id),
            cb = badge(category),
            stage = escape(i.item.stage.as_str()),
            round = i.item.round,
            section = escape(&i.item.section),
            comment = escape(&i.item.comment),
            suggestion = escape(i.item.suggestion.as_deref().unwrap_or("")),
            sb = badge(&status),
        );
    }
    h.push_str("</tbody></table></section>\n");
}

fn revisions(h: &mut String, input: &Input<'_>) {
    h.push_str("<section id=\"revisions\"><h2 class=\"part\">Revision history</h2>\n");
    if input.state.revisions.is_empty() {
        h.push_str("<p>No revision yet.</p></section>\n");
        return;
    }
    h.push_str(
        "<table><thead><tr><th>Stage</th><th>Date</th><th>Feedback from</th><th>Changes</th>\
         <th>Rationale</th></tr></thead><tbody>\n",
    );
    for (stage, e) in &input.state.revisions {
        let changes: String = e
            .changes
            .iter()
            .map(|c| format!("<li>{}</li>", escape(c)))
            .collect();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><ul>{changes}</ul></td><td>{}</td></tr>",
            escape(stage.as_str()),
            escape(&e.date),
            escape(&e.feedback_from.join(", ")),
            escape(&e.rationale)
        );
    }
    h.push_str("</tbody></table></section>\n");
}

fn trace(h: &mut String, trace: Option<&Trace>) {
    h.push_str("<section id=\"trace\"><h2 class=\"part\">Traceability</h2>\n");
    let Some(t) = trace else {
        h.push_str("<p>No manifest and PRD to trace yet.</p></section>\n");
        return;
    };
    let _ = write!(
        h,
        "<p class=\"count\">{} PRD items, {} design documents, {} gaps</p>\n<table><thead><tr><th>PRD item</th>",
        t.items.len(),
        t.docs.len(),
        t.gaps.len()
    );
    for d in &t.docs {
        let _ = write!(h, "<th>{}</th>", escape(d));
    }
    h.push_str("<th></th></tr></thead><tbody>\n");
    for (key, text) in &t.items {
        let gap = t.gaps.contains(key);
        let label = if text.starts_with(key.as_str()) || key == text {
            escape(text)
        } else {
            format!("<strong>{}</strong> {}", escape(key), escape(text))
        };
        let _ = write!(
            h,
            "<tr{}><td>{label}</td>",
            if gap { " class=\"gap\"" } else { "" }
        );
        for d in &t.docs {
            let hit = t.cells.iter().any(|(k, doc)| k == key && doc == d);
            h.push_str(if hit {
                "<td class=\"hit\">✓</td>"
            } else {
                "<td></td>"
            });
        }
        h.push_str(if gap {
            "<td class=\"gapmark\">gap</td></tr>\n"
        } else {
            "<td></td></tr>\n"
        });
    }
    h.push_str("</tbody></table></section>\n");
}

fn format_secs(secs: f64) -> String {
    let s = secs.round() as u64;
    if s >= 3600 {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

fn totals_cells(t: &Totals) -> String {
    format!(
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
        t.calls,
        t.prompt_tokens,
        t.completion_tokens,
        escape(&cost_cell(t.cost_usd, t.calls, t.unpriced_calls))
    )
}

fn figures(h: &mut String, input: &Input<'_>) {
    let st = input.state;
    h.push_str(
        "<section id=\"figures\"><h2 class=\"part\">Figures</h2>\n<h3>By stage</h3>\n<table><thead><tr>\
         <th>Stage</th><th>Time</th><th>Calls</th><th>Prompt tokens</th><th>Completion tokens</th>\
         <th>Cost</th></tr></thead><tbody>\n",
    );
    for (stage, t) in &st.by_stage {
        let time = input
            .stage_times
            .iter()
            .find(|s| s.stage == *stage)
            .map(|s| format_secs(s.secs))
            .unwrap_or_default();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"num\">{time}</td>{}</tr>",
            escape(stage.as_str()),
            totals_cells(t)
        );
    }
    let total_time: f64 = input.stage_times.iter().map(|s| s.secs).sum();
    let _ = writeln!(
        h,
        "<tr><th>total</th><th class=\"num\">{}</th>{}</tr></tbody></table>",
        format_secs(total_time),
        totals_cells(&st.totals)
    );
    h.push_str(
        "<h3>By role</h3>\n<table><thead><tr><th>Role</th><th>Calls</th><th>Prompt tokens</th>\
         <th>Completion tokens</th><th>Cost</th></tr></thead><tbody>\n",
    );
    for (role, t) in &st.by_role {
        let _ = writeln!(h, "<tr><td>{}</td>{}</tr>", escape(role), totals_cells(t));
    }
    h.push_str("</tbody></table></section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_text_cannot_become_markup() {
        let md = "# T\n\n<script>alert(1)</script>\n\nx <img src=x onerror=alert(2)> \
                  [click](javascript:alert(3)) ![p](http://example.com/p.png)\n\n\
                  ```mermaid\nflowchart LR\n  a[\"<b>\"] --> b\n```\n";
        let out = markdown(md);
        assert!(!out.contains("<script"), "{out}");
        assert!(!out.contains("<img"), "{out}");
        assert!(!out.contains("href"), "{out}");
        assert!(!out.contains("<a "), "{out}");
        assert!(out.contains("&lt;script&gt;"), "{out}");
        assert!(
            out.contains(
                "<pre class=\"mermaid\">flowchart LR\n  a[&quot;&lt;b&gt;&quot;] --&gt; b\n</pre>"
            ),
            "{out}"
        );
        assert_eq!(escape("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }
}
