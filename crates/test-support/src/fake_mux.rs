//! A recording [`Multiplexer`] for unit tests: every call is recorded, and the answers come from
//! an in-memory model of sessions and panes that tests can poke (kill a pane's process, drop a pid).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use protocol::error::{Error, Result};
use tmux::{Multiplexer, PaneInfo, PaneSpec, require_supported};

/// One recorded call.
#[derive(Clone, Debug, PartialEq)]
pub enum MuxCall {
    CheckVersion,
    HasSession {
        name: String,
    },
    NewSession {
        name: String,
        spec: PaneSpec,
        size: (u16, u16),
    },
    AddPane {
        session: String,
        spec: PaneSpec,
    },
    RespawnPane {
        pane_id: String,
        spec: PaneSpec,
    },
    KillSession {
        name: String,
    },
    ListPanes {
        session: String,
    },
    Capture {
        pane_id: String,
    },
    Attach {
        session: String,
    },
    DisplayMessage {
        session: String,
        msg: String,
    },
    SelectLayout {
        session: String,
        layout: String,
    },
}

#[derive(Clone, Debug)]
struct FakePane {
    info: PaneInfo,
    spec: PaneSpec,
}

#[derive(Debug)]
struct State {
    calls: Vec<MuxCall>,
    sessions: BTreeMap<String, Vec<FakePane>>,
    next_pane: u32,
    version: (u32, u32),
    fail_respawn: bool,
    vanish_on_respawn: bool,
}

/// The fake. Pane pids are this test process's pid (alive) unless a test changes them.
#[derive(Debug)]
pub struct FakeMux {
    state: Mutex<State>,
}

impl Default for FakeMux {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeMux {
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State {
                calls: Vec::new(),
                sessions: BTreeMap::new(),
                next_pane: 0,
                version: (3, 3),
                fail_respawn: false,
                vanish_on_respawn: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock has already failed; keep answering.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<MuxCall> {
        self.lock().calls.clone()
    }

    /// The version `check_version` reports.
    pub fn set_version(&self, v: (u32, u32)) {
        self.lock().version = v;
    }

    /// Makes `respawn_pane` fail (tmux gone, say).
    pub fn set_fail_respawn(&self, fail: bool) {
        self.lock().fail_respawn = fail;
    }

    /// Makes the next `respawn_pane` find the server gone: every session vanishes and the call
    /// fails, as when `tmux kill-server` lands between a check and a respawn.
    pub fn set_vanish_on_respawn(&self, vanish: bool) {
        self.lock().vanish_on_respawn = vanish;
    }

    /// Simulates the pane's process exiting: the pane stays, marked dead.
    pub fn kill_pane_process(&self, pane_id: &str) {
        self.with_pane(pane_id, |p| p.info.dead = true);
    }

    /// Sets the pid the pane reports.
    pub fn set_pid(&self, pane_id: &str, pid: Option<u32>) {
        self.with_pane(pane_id, |p| p.info.pid = pid);
    }

    /// The pane's current state and the spec it was last (re)spawned with.
    pub fn pane(&self, pane_id: &str) -> Option<(PaneInfo, PaneSpec)> {
        let st = self.lock();
        st.sessions
            .values()
            .flatten()
            .find(|p| p.info.id == pane_id)
            .map(|p| (p.info.clone(), p.spec.clone()))
    }

    fn with_pane(&self, pane_id: &str, f: impl FnOnce(&mut FakePane)) {
        let mut st = self.lock();
        if let Some(p) = st
            .sessions
            .values_mut()
            .flatten()
            .find(|p| p.info.id == pane_id)
        {
            f(p);
        }
    }

    fn record(&self, call: MuxCall) -> MutexGuard<'_, State> {
        let mut st = self.lock();
        st.calls.push(call);
        st
    }
}

fn new_pane(st: &mut State, spec: &PaneSpec) -> FakePane {
    let id = format!("%{}", st.next_pane);
    st.next_pane += 1;
    FakePane {
        info: PaneInfo {
            id,
            pid: Some(std::process::id()),
            dead: false,
            title: spec.title.clone(),
        },
        spec: spec.clone(),
    }
}

fn no_session(name: &str) -> Error {
    Error::Tmux(format!("can't find session: {name}"))
}

impl Multiplexer for FakeMux {
    fn check_version(&self) -> Result<(u32, u32)> {
        let v = self.record(MuxCall::CheckVersion).version;
        require_supported(&format!("tmux {}.{}", v.0, v.1))
    }

    fn has_session(&self, name: &str) -> Result<bool> {
        let st = self.record(MuxCall::HasSession { name: name.into() });
        Ok(st.sessions.contains_key(name))
    }

    fn new_session(&self, name: &str, first: &PaneSpec, size: (u16, u16)) -> Result<PaneInfo> {
        let mut st = self.record(MuxCall::NewSession {
            name: name.into(),
            spec: first.clone(),
            size,
        });
        if st.sessions.contains_key(name) {
            return Err(Error::Tmux(format!("duplicate session: {name}")));
        }
        let pane = new_pane(&mut st, first);
        let info = pane.info.clone();
        st.sessions.insert(name.into(), vec![pane]);
        Ok(info)
    }

    fn add_pane(&self, session: &str, after: Option<&str>, spec: &PaneSpec) -> Result<PaneInfo> {
        let mut st = self.record(MuxCall::AddPane {
            session: session.into(),
            spec: spec.clone(),
        });
        if !st.sessions.contains_key(session) {
            return Err(no_session(session));
        }
        let pane = new_pane(&mut st, spec);
        let info = pane.info.clone();
        if let Some(panes) = st.sessions.get_mut(session) {
            let at = match after {
                Some(id) => panes
                    .iter()
                    .position(|p| p.info.id == id)
                    .map(|i| i + 1)
                    .ok_or_else(|| Error::Tmux(format!("can't find pane: {id}")))?,
                None => panes.len(),
            };
            panes.insert(at, pane);
        }
        Ok(info)
    }

    fn respawn_pane(&self, pane_id: &str, spec: &PaneSpec) -> Result<()> {
        let mut st = self.record(MuxCall::RespawnPane {
            pane_id: pane_id.into(),
            spec: spec.clone(),
        });
        if st.vanish_on_respawn {
            st.sessions.clear();
            return Err(Error::Tmux("no server running (fake)".into()));
        }
        if st.fail_respawn {
            return Err(Error::Tmux("respawn-pane failed (fake)".into()));
        }
        let pane = st
            .sessions
            .values_mut()
            .flatten()
            .find(|p| p.info.id == pane_id)
            .ok_or_else(|| Error::Tmux(format!("can't find pane: {pane_id}")))?;
        pane.info.dead = false;
        pane.info.pid = Some(std::process::id());
        pane.info.title = spec.title.clone();
        pane.spec = spec.clone();
        Ok(())
    }

    fn kill_session(&self, name: &str) -> Result<()> {
        let mut st = self.record(MuxCall::KillSession { name: name.into() });
        st.sessions.remove(name);
        Ok(())
    }

    fn list_panes(&self, session: &str) -> Result<Vec<PaneInfo>> {
        let st = self.record(MuxCall::ListPanes {
            session: session.into(),
        });
        st.sessions
            .get(session)
            .map(|ps| ps.iter().map(|p| p.info.clone()).collect())
            .ok_or_else(|| no_session(session))
    }

    fn capture(&self, pane_id: &str) -> Result<String> {
        let st = self.record(MuxCall::Capture {
            pane_id: pane_id.into(),
        });
        st.sessions
            .values()
            .flatten()
            .find(|p| p.info.id == pane_id)
            .map(|p| format!("{}\n", p.spec.argv.join(" ")))
            .ok_or_else(|| Error::Tmux(format!("can't find pane: {pane_id}")))
    }

    fn attach(&self, session: &str) -> Result<()> {
        let st = self.record(MuxCall::Attach {
            session: session.into(),
        });
        if st.sessions.contains_key(session) {
            Ok(())
        } else {
            Err(no_session(session))
        }
    }

    fn display_message(&self, session: &str, msg: &str) -> Result<()> {
        drop(self.record(MuxCall::DisplayMessage {
            session: session.into(),
            msg: msg.into(),
        }));
        Ok(())
    }

    fn select_layout(&self, session: &str, layout: &str) -> Result<()> {
        let st = self.record(MuxCall::SelectLayout {
            session: session.into(),
            layout: layout.into(),
        });
        if st.sessions.contains_key(session) {
            Ok(())
        } else {
            Err(no_session(session))
        }
    }
}
