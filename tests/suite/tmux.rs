//! The tmux implementation of `Multiplexer` against a real tmux, one private server per test.

use std::path::Path;
use std::time::{Duration, Instant};

use test_support::tmux_server::{TmuxServer, pane_spec};
use test_support::wait::wait_for;
use tmux::layout::open_session;
use tmux::{Multiplexer, PaneInfo, PaneSpec, Tmux};

fn sleeper(title: &str) -> PaneSpec {
    pane_spec(title, &["sleep", "600"], Path::new("/"))
}

/// The panes of a session, in the order they are opened and must stay.
const FOUR: [&str; 4] = [
    "supervisor",
    "architect",
    "principal-engineer",
    "code-reviewer",
];

fn four_panes() -> Vec<(String, PaneSpec)> {
    FOUR.iter().map(|k| (k.to_string(), sleeper(k))).collect()
}

#[test]
fn a_detached_session_has_the_expected_panes_and_titles_with_base_index_1() {
    let server = TmuxServer::started();
    let mux = server.mux();
    let name = "agentmux-demo-1500ab12";
    let panes = open_session(
        &mux,
        name,
        &four_panes(),
        tmux::layout::DEFAULT_SIZE,
        "main-vertical",
    )
    .unwrap();

    let listed = mux.list_panes(name).unwrap();
    // Titles as tmux holds them (list-panes reads `@agentmux_title` back), not as we recorded.
    let titles: Vec<&str> = listed.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(titles, FOUR, "panes keep the order they were added in");
    for p in &listed {
        assert!(p.id.starts_with('%'), "{p:?}");
        assert!(!p.dead && p.pid.is_some(), "{p:?}");
        assert_eq!(panes[&p.title].id, p.id);
    }
    // The user's base-index 1 is in force, and nothing depended on index 0.
    let first = &panes["supervisor"].id;
    assert_eq!(
        server
            .tmux(&["display", "-p", "-t", first, "#{pane_index}"])
            .trim(),
        "1"
    );
    assert_eq!(
        server
            .tmux(&["display", "-p", "-t", first, "#{window_index}"])
            .trim(),
        "1"
    );
    // Titles are in the border, set on this window only.
    let opt = |args: &[&str]| server.tmux(args).trim().to_string();
    assert_eq!(
        opt(&["show", "-wv", "-t", first, "pane-border-status"]),
        "top"
    );
    assert!(opt(&["show", "-wv", "-t", first, "pane-border-format"]).contains("@agentmux_title"));
    assert_eq!(opt(&["show", "-wv", "-t", first, "remain-on-exit"]), "on");
    assert_eq!(opt(&["show", "-gwv", "pane-border-status"]), "off");
    assert_eq!(opt(&["show", "-gwv", "remain-on-exit"]), "off");
    assert!(!mux.has_session("keepalive-no").unwrap());
}

#[test]
fn panes_stay_readable_at_80x24_and_200x50() {
    let server = TmuxServer::started();
    let mux = server.mux();
    for (i, size) in [(80u16, 24u16), (200, 50)].into_iter().enumerate() {
        let name = format!("agentmux-size-{i}");
        let panes = four_panes();
        let specs: Vec<PaneSpec> = panes.iter().map(|(_, s)| s.clone()).collect();
        let opened = mux
            .open_window(&name, &specs, size, "main-vertical")
            .unwrap();
        let titles: Vec<&str> = opened.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, FOUR);
        let active = server.tmux(&["display", "-p", "-t", &format!("={name}:"), "#{pane_id}"]);
        assert_eq!(
            active.trim(),
            opened[0].id,
            "the first pane stays the active one"
        );
        let sizes = server.tmux(&[
            "list-panes",
            "-t",
            &format!("={name}:"),
            "-F",
            "#{pane_width} #{pane_height}",
        ]);
        for line in sizes.lines() {
            let (w, h) = line.split_once(' ').unwrap();
            let (w, h): (u16, u16) = (w.parse().unwrap(), h.parse().unwrap());
            assert!(
                w >= size.0 / 2 - 2 && h >= 5,
                "{size:?}: pane {w}x{h} is too small"
            );
        }
    }
}

#[test]
fn a_pane_with_a_start_delay_opens_that_much_later_in_the_same_call() {
    let server = TmuxServer::started();
    let mux = server.mux();
    let dir = tempfile::tempdir().unwrap();
    let mut specs: Vec<PaneSpec> = four_panes().into_iter().map(|(_, s)| s).collect();
    // The panes after the second wait; each records when its process started.
    let started = |title: &str| {
        pane_spec(
            title,
            &["sh", "-c", "date +%s%N > started-$0; exec sleep 600", title],
            dir.path(),
        )
    };
    specs[1] = started("architect");
    specs[2] = started("principal-engineer");
    specs[2].start_delay = Some(Duration::from_millis(400));
    let t0 = Instant::now();
    let before_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let opened = mux
        .open_window("agentmux-delay", &specs, (120, 40), "main-vertical")
        .unwrap();
    // The call returns once every pane is open, the delayed ones included.
    assert!(t0.elapsed() >= Duration::from_millis(400));
    let titles: Vec<&str> = opened.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(titles, FOUR);
    let read = |title: &str| -> u128 {
        let path = dir.path().join(format!("started-{title}"));
        wait_for(
            Duration::from_secs(10),
            &format!("{title} to start"),
            || {
                let text = std::fs::read_to_string(&path).ok()?;
                text.trim().parse::<u128>().ok()
            },
        )
    };
    // The delayed pane's process cannot start before the wait is over; the one before it did
    // not wait. (How long after it the delayed one started is not a bound: the earlier process
    // may itself have been slow to run.)
    let (architect, delayed) = (read("architect"), read("principal-engineer"));
    let waited_ms = (delayed - before_ns) / 1_000_000;
    assert!(waited_ms >= 400, "started {waited_ms} ms after the call");
    assert!(architect < delayed, "the panes started out of order");
}

#[test]
fn the_environment_reaches_the_pane_but_no_argv() {
    let server = TmuxServer::started();
    let mux = server.mux();
    let dir = tempfile::tempdir().unwrap();
    let secret = format!("sk-test-{}-never-in-argv", std::process::id());
    let mut s = pane_spec(
        "env",
        &[
            "sh",
            "-c",
            "printf '%s|%s' \"$AGENTMUX_TEST_SECRET\" \"$PWD\" > seen.txt; exec sleep 600",
        ],
        dir.path(),
    );
    s.env = vec![
        ("AGENTMUX_TEST_SECRET".into(), secret.clone()),
        ("TRICKY".into(), "a \"quoted\" $HOME; #{x}\\".into()),
    ];
    mux.new_session("agentmux-env-1", &s, (80, 24)).unwrap();
    let seen = wait_for(
        Duration::from_secs(10),
        "the pane to write seen.txt",
        || {
            std::fs::read_to_string(dir.path().join("seen.txt"))
                .ok()
                .filter(|t| t.contains('|'))
        },
    );
    let cwd = std::fs::canonicalize(dir.path()).unwrap();
    assert_eq!(seen, format!("{secret}|{}", cwd.display()));
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            assert!(
                !String::from_utf8_lossy(&cmdline).contains(&secret),
                "the secret is in the argv of process {:?}",
                entry.file_name()
            );
        }
    }
}

#[test]
fn a_dead_pane_stays_visible_and_is_respawned_in_place() {
    let server = TmuxServer::started();
    let mux = server.mux();
    let panes = vec![
        ("supervisor".to_string(), sleeper("supervisor")),
        (
            "architect".to_string(),
            pane_spec("architect", &["sh", "-c", "exit 3"], Path::new("/")),
        ),
    ];
    let opened = open_session(
        &mux,
        "agentmux-dead-1",
        &panes,
        tmux::layout::DEFAULT_SIZE,
        "tiled",
    )
    .unwrap();
    let id = opened["architect"].id.clone();
    let dead: PaneInfo = wait_for(Duration::from_secs(10), "the pane to die", || {
        mux.list_panes("agentmux-dead-1")
            .unwrap()
            .into_iter()
            .find(|p| p.id == id && p.dead)
    });
    assert_eq!(dead.title, "architect");
    mux.respawn_pane(&id, &sleeper("architect")).unwrap();
    let alive = mux.list_panes("agentmux-dead-1").unwrap();
    let p = alive.iter().find(|p| p.id == id).unwrap();
    assert!(!p.dead, "{p:?}");
    assert_eq!(p.title, "architect");
    assert_eq!(alive.len(), 2);
}

#[test]
fn sessions_are_matched_by_exact_name_and_killed() {
    let server = TmuxServer::started();
    let mux = server.mux();
    mux.new_session("agentmux-x-abc", &sleeper("s"), (80, 24))
        .unwrap();
    assert!(mux.has_session("agentmux-x-abc").unwrap());
    assert!(!mux.has_session("agentmux-x").unwrap(), "no prefix match");
    mux.kill_session("agentmux-x").unwrap();
    assert!(mux.has_session("agentmux-x-abc").unwrap());
    let dup = mux.new_session("agentmux-x-abc", &sleeper("s"), (80, 24));
    assert!(dup.unwrap_err().to_string().contains("already exists"));
    // Opening a whole window on an existing name fails the same way and touches nothing: the
    // splits that follow `new-session` in its command list must not land in that session.
    let specs: Vec<PaneSpec> = four_panes().into_iter().map(|(_, s)| s).collect();
    let dup = mux.open_window("agentmux-x-abc", &specs, (80, 24), "tiled");
    assert!(dup.unwrap_err().to_string().contains("already exists"));
    assert_eq!(mux.list_panes("agentmux-x-abc").unwrap().len(), 1);
    mux.kill_session("agentmux-x-abc").unwrap();
    assert!(!mux.has_session("agentmux-x-abc").unwrap());
    // No server at all is simply "no session".
    let none = TmuxServer::new();
    assert!(!none.mux().has_session("anything").unwrap());
}

#[test]
fn capture_display_message_version_and_bad_layouts() {
    let server = TmuxServer::started();
    let mux = server.mux();
    let (major, minor) = mux.check_version().unwrap();
    assert!((major, minor) >= (3, 2));
    let s = pane_spec(
        "talker",
        &["sh", "-c", "echo hello-from-the-pane; exec sleep 600"],
        Path::new("/"),
    );
    let pane = mux.new_session("agentmux-cap-1", &s, (80, 24)).unwrap();
    let text = wait_for(Duration::from_secs(10), "the pane's output", || {
        mux.capture(&pane.id)
            .ok()
            .filter(|t| t.contains("hello-from-the-pane"))
    });
    assert!(text.contains("hello-from-the-pane"));
    mux.display_message("agentmux-cap-1", "50# done; #{x};")
        .unwrap();
    // tmux 3.3a's server crashes on `select-layout spiral` (every session on it dies): the
    // layout is refused before tmux sees it, and the server and session are still there.
    for bad in [
        "spiral",
        "bad",
        "9773,160x48,0,0[160x24,0,0,0,160x23,0,25,2]",
    ] {
        let err = mux
            .select_layout("agentmux-cap-1", bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("tmux.layout"), "{err}");
        let opened = mux.open_window("agentmux-cap-2", std::slice::from_ref(&s), (80, 24), bad);
        assert!(opened.unwrap_err().to_string().contains("tmux.layout"));
    }
    assert!(mux.has_session("agentmux-cap-1").unwrap());
    assert!(!mux.has_session("agentmux-cap-2").unwrap());
    // A layout string as tmux prints it goes through.
    let own = server.tmux(&[
        "display",
        "-p",
        "-t",
        "=agentmux-cap-1:",
        "#{window_layout}",
    ]);
    mux.select_layout("agentmux-cap-1", own.trim()).unwrap();
    assert!(mux.has_session("agentmux-cap-1").unwrap());
    let err = mux.list_panes("agentmux-nope").unwrap_err().to_string();
    assert!(err.contains("list-panes"), "{err}");
}

#[test]
fn attach_from_inside_another_tmux_server_opens_a_window_there() {
    // The user's tmux (outer) and agentmux's private server (inner).
    let outer = TmuxServer::started();
    let inner = TmuxServer::started();
    let mux = inner.mux();
    mux.new_session("agentmux-att-1", &sleeper("supervisor"), (80, 24))
        .unwrap();
    let outer_socket = outer.tmux(&["display", "-p", "-t", "=keepalive:", "#{socket_path}"]);
    let outer_pid = outer.tmux(&["display", "-p", "-t", "=keepalive:", "#{pid}"]);
    // As if `agentmux attach` ran in a pane of the outer server.
    let tmux_var = format!("{},{},0", outer_socket.trim(), outer_pid.trim());
    mux.attach_from("agentmux-att-1", Some(&tmux_var)).unwrap();
    let windows = outer.tmux(&["list-windows", "-t", "=keepalive", "-F", "#{window_name}"]);
    assert!(windows.contains("agentmux:agentmux-att-1"), "{windows}");
    let clients = wait_for(
        Duration::from_secs(10),
        "a client of the inner session",
        || {
            let c = inner.tmux(&["list-clients", "-F", "#{client_session}"]);
            c.contains("agentmux-att-1").then_some(c)
        },
    );
    assert!(clients.contains("agentmux-att-1"));
}

#[test]
fn attach_from_inside_the_same_server_switches_the_client_or_opens_a_window() {
    let outer = TmuxServer::started();
    let inner = TmuxServer::started();
    let mux = inner.mux();
    mux.new_session("user-work", &sleeper("shell"), (80, 24))
        .unwrap();
    mux.new_session("agentmux-sw-1", &sleeper("supervisor"), (80, 24))
        .unwrap();
    // A real client of the inner server, attached to the user's session (in an outer pane, which
    // gives it a terminal).
    outer.tmux(&[
        "new-window",
        "-t",
        "=keepalive:",
        "--",
        "env",
        "-u",
        "TMUX",
        "tmux",
        "-L",
        &inner.socket,
        "attach-session",
        "-t",
        "=user-work",
    ]);
    let client_session = || inner.tmux(&["list-clients", "-F", "#{client_session}"]);
    wait_for(Duration::from_secs(10), "the user's client", || {
        (client_session().trim() == "user-work").then_some(())
    });
    let fields = inner.tmux(&[
        "display",
        "-p",
        "-t",
        "=user-work:",
        "#{socket_path},#{pid},#{session_id}",
    ]);
    let tmux_var = fields.trim().replace(",$", ",");

    mux.attach_from("agentmux-sw-1", Some(&tmux_var)).unwrap();
    wait_for(Duration::from_secs(10), "the client to switch", || {
        (client_session().trim() == "agentmux-sw-1").then_some(())
    });

    // `tmux.inside_tmux: window`: a window in the user's session shows ours instead.
    let mut cfg = protocol::config::Config::default();
    cfg.tmux.inside_tmux = protocol::config::InsideTmux::Window;
    let windowed = Tmux::from_config(&cfg).on_socket(Some(inner.socket.clone()));
    windowed
        .attach_from("agentmux-sw-1", Some(&tmux_var))
        .unwrap();
    let windows = inner.tmux(&["list-windows", "-t", "=user-work", "-F", "#{window_name}"]);
    assert!(windows.contains("agentmux:agentmux-sw-1"), "{windows}");
}
