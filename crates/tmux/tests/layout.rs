//! Session names, layouts and opening a session, against the recording fake.

use std::path::Path;

use test_support::fake_mux::{FakeMux, MuxCall};
use test_support::tmux_server::pane_spec;
use tmux::layout::*;
use tmux::{Multiplexer, PaneSpec};

fn spec(title: &str) -> PaneSpec {
    pane_spec(title, &["agentmux", title], Path::new("/p"))
}

#[test]
fn session_names_are_prefixed_safe_and_short() {
    assert_eq!(
        session_name("agentmux", "shop", "20261122-031500-ab12"),
        "agentmux-shop-1500ab12"
    );
    assert_eq!(
        session_name("agentmux", "My.Project:v2", "x"),
        "agentmux-my-project-v2-x"
    );
    let long = session_name("am", &"a-".repeat(40), "20261122-031500-ab12");
    assert!(long.len() <= 2 + 1 + 24 + 1 + 8, "{long}");
    assert!(!long.contains("--"), "{long}");
    assert!(session_name("", "p", "1").starts_with("agentmux-"));
    for n in [long, session_name("A.B", "c:d", "e.f")] {
        assert!(
            n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{n}"
        );
    }
}

#[test]
fn layouts_are_presets_or_checksummed_layout_strings() {
    for p in PRESETS {
        assert_eq!(check_layout(p), Ok(()));
    }
    // Printed by tmux 3.3a (`#{window_layout}`) for a 160x48 window split in two.
    assert_eq!(
        check_layout("9773,160x48,0,0[160x24,0,0,0,160x23,0,25,1]"),
        Ok(())
    );
    // Each of these would crash a tmux 3.3a server (no hex checksum and comma) or be
    // misread (a short checksum); a wrong checksum is refused before tmux says so.
    for bad in [
        "spiral",
        "",
        "bad",
        "Tiled",
        "abc,x",
        "+abc,x",
        "9773,160x48,0,0[160x24,0,0,0,160x23,0,25,2]",
    ] {
        let err = check_layout(bad).unwrap_err();
        assert!(err.contains("main-vertical"), "{bad}: {err}");
    }
    assert!(check_layout("spiral").unwrap_err().contains("`spiral`"));
    assert!(
        check_layout("9773,160x48,0,0[160x24,0,0,0,160x23,0,25,2]")
            .unwrap_err()
            .contains("checksum")
    );
}

#[test]
fn open_session_makes_one_pane_per_key_and_applies_the_layout() {
    let mux = FakeMux::new();
    let panes = vec![
        ("supervisor".to_string(), spec("supervisor")),
        ("architect".to_string(), spec("architect")),
        ("code-reviewer".to_string(), spec("code-reviewer")),
    ];
    let map = open_session(&mux, "agentmux-p-1", &panes, DEFAULT_SIZE, "tiled").unwrap();
    assert_eq!(
        map.keys().collect::<Vec<_>>(),
        ["architect", "code-reviewer", "supervisor"]
    );
    assert_eq!(map["supervisor"].id, "%0");
    assert_eq!(map["code-reviewer"].title, "code-reviewer");
    assert_eq!(
        mux.calls().last(),
        Some(&MuxCall::SelectLayout {
            session: "agentmux-p-1".into(),
            layout: "tiled".into()
        })
    );
    let listed = mux.list_panes("agentmux-p-1").unwrap();
    assert_eq!(listed.len(), 3);
}

#[test]
fn open_session_kills_a_half_made_session_and_refuses_bad_input() {
    let mux = FakeMux::new();
    assert!(open_session(&mux, "s", &[], DEFAULT_SIZE, "tiled").is_err());
    let dup = vec![("a".to_string(), spec("a")), ("a".to_string(), spec("b"))];
    assert!(open_session(&mux, "s", &dup, DEFAULT_SIZE, "tiled").is_err());
    assert!(!mux.has_session("s").unwrap());
    // The session exists already: nothing is killed that we did not create.
    mux.new_session("busy", &spec("x"), (80, 24)).unwrap();
    assert!(
        open_session(
            &mux,
            "busy",
            &[("a".into(), spec("a"))],
            DEFAULT_SIZE,
            "tiled"
        )
        .is_err()
    );
    assert!(mux.has_session("busy").unwrap());
}
