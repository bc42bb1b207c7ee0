//! The command lines of a session's processes, built in this one place: the supervisor
//! (`agentmux [--set K=V]... supervise --session ID`), each role agent (`agentmux [--set K=V]...
//! agent --session ID --role ROLE`), in tmux panes or as the child processes of a headless run,
//! and the local model's pane.
//!
//! The `--set` flags the session was started with are repeated on every command line, so every
//! process resolves the same config. Secrets never go on a command line (every user sees it in
//! `ps`): a pane gets them through its environment ([`pane_env`]), because the tmux server that
//! starts it may be older than them; a child process inherits its parent's environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::config::Config;
use protocol::error::{Error, Result};
use tmux::PaneSpec;

/// How a session's processes are started: the agentmux binary, run in the project directory
/// with the session's `--set` flags, and the environment its panes get.
#[derive(Clone, Debug)]
pub struct PaneCommand {
    exe: PathBuf,
    project_dir: PathBuf,
    sets: Vec<String>,
    env: Vec<(String, String)>,
}

impl PaneCommand {
    /// `exe` in `project_dir` with `--set` `sets`; panes get `env` (secrets included).
    pub fn new(
        exe: &Path,
        project_dir: &Path,
        sets: &[String],
        env: Vec<(String, String)>,
    ) -> Self {
        Self {
            exe: exe.to_owned(),
            project_dir: project_dir.to_owned(),
            sets: sets.to_vec(),
            env,
        }
    }

    /// This agentmux binary, its panes getting [`pane_env`] from this process's environment.
    pub(crate) fn current(config: &Config, project_dir: &Path, sets: &[String]) -> Result<Self> {
        let exe = std::env::current_exe()
            .map_err(|e| Error::Other(format!("cannot find the agentmux binary: {e}")))?;
        Ok(Self::new(&exe, project_dir, sets, pane_env(config)))
    }

    /// The agentmux binary.
    pub(crate) fn exe(&self) -> &Path {
        &self.exe
    }

    /// The supervisor's pane.
    pub(crate) fn supervisor(&self, session_id: &str) -> PaneSpec {
        self.pane(
            "supervisor",
            self.argv(&["supervise", "--session", session_id]),
        )
    }

    /// The pane of a role agent.
    pub fn agent(&self, session_id: &str, role: &str) -> PaneSpec {
        self.pane(role, self.argv(&agent_args(session_id, role)))
    }

    /// A role agent as a child process (headless): the arguments of its pane; the environment
    /// is this process's; no terminal, so no input and its output goes nowhere (it logs and
    /// writes its transcript to files).
    pub(crate) fn agent_process(&self, session_id: &str, role: &str) -> Command {
        let mut c = Command::new(&self.exe);
        c.current_dir(&self.project_dir)
            .args(self.args(&agent_args(session_id, role)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    /// A pane running another program (the local model server), with the panes' directory
    /// and environment.
    pub(crate) fn program(&self, title: &str, argv: Vec<String>) -> PaneSpec {
        self.pane(title, argv)
    }

    /// The binary, the `--set` flags, then `args`.
    fn argv(&self, args: &[&str]) -> Vec<String> {
        let mut argv = vec![self.exe.to_string_lossy().into_owned()];
        argv.extend(self.args(args));
        argv
    }

    /// The `--set` flags, then `args`: the global flags come before the subcommand.
    fn args(&self, args: &[&str]) -> Vec<String> {
        self.sets
            .iter()
            .flat_map(|s| ["--set".to_string(), s.clone()])
            .chain(args.iter().map(|a| a.to_string()))
            .collect()
    }

    fn pane(&self, title: &str, argv: Vec<String>) -> PaneSpec {
        PaneSpec {
            title: title.to_string(),
            argv,
            env: self.env.clone(),
            cwd: self.project_dir.clone(),
            start_delay: None,
        }
    }
}

fn agent_args<'a>(session_id: &'a str, role: &'a str) -> [&'a str; 5] {
    ["agent", "--session", session_id, "--role", role]
}

/// The environment a pane needs from the process that opens it, taken from this process's
/// environment: the API key variable named by `llm.api_key_env`, `OPENAI_BASE_URL`, every
/// `AGENTMUX_*` variable, and `XDG_CONFIG_HOME` / `XDG_DATA_HOME` (so the pane reads the same
/// user config and model directory). A tmux server started long ago does not have them.
pub(crate) fn pane_env(config: &Config) -> Vec<(String, String)> {
    pane_env_from(config, std::env::vars())
}

/// [`pane_env`] over a given environment.
pub(crate) fn pane_env_from(
    config: &Config,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Vec<(String, String)> {
    let key_var = config.llm.api_key_env.as_str();
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in vars {
        let wanted = (!key_var.is_empty() && k == key_var)
            || k.starts_with("AGENTMUX_")
            || matches!(
                k.as_str(),
                "OPENAI_BASE_URL" | "XDG_CONFIG_HOME" | "XDG_DATA_HOME"
            );
        if wanted && !v.is_empty() {
            out.insert(k, v);
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(sets: &[&str]) -> PaneCommand {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        PaneCommand::new(
            Path::new("/bin/agentmux"),
            Path::new("/p"),
            &sets,
            vec![("OPENAI_API_KEY".into(), "sk-secret".into())],
        )
    }

    #[test]
    fn every_command_line_repeats_the_sets_before_its_subcommand() {
        let c = command(&["llm.model=m", "tmux.layout=tiled"]);
        let sets = ["--set", "llm.model=m", "--set", "tmux.layout=tiled"];
        let sup = c.supervisor("s1");
        assert_eq!(sup.argv[0], "/bin/agentmux");
        assert_eq!(sup.argv[1..5], sets);
        assert_eq!(sup.argv[5..], ["supervise", "--session", "s1"]);
        assert_eq!(sup.title, "supervisor");
        let agent = c.agent("s1", "architect");
        assert_eq!(agent.argv[1..5], sets);
        assert_eq!(
            agent.argv[5..],
            ["agent", "--session", "s1", "--role", "architect"]
        );
        let child = c.agent_process("s1", "architect");
        assert_eq!(child.get_program(), "/bin/agentmux");
        let args: Vec<String> = child
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args, agent.argv[1..]);
        assert_eq!(child.get_current_dir(), Some(Path::new("/p")));
        assert_eq!(command(&[]).agent("s1", "a").argv.len(), 6);
    }

    #[test]
    fn the_agent_argv_carries_no_secret() {
        let c = command(&[]);
        let spec = c.agent("s1", "architect");
        assert!(spec.argv.iter().all(|a| !a.contains("sk-secret")));
        assert_eq!(spec.cwd, PathBuf::from("/p"));
        assert_eq!(spec.title, "architect");
        for spec in [
            spec,
            c.supervisor("s1"),
            c.program("model", vec!["llama-server".into()]),
        ] {
            assert!(spec.argv.iter().all(|a| !a.contains("sk-secret")));
            assert_eq!(spec.env, [("OPENAI_API_KEY".into(), "sk-secret".into())]);
        }
        let child = c.agent_process("s1", "architect");
        assert!(
            child
                .get_args()
                .all(|a| !a.to_string_lossy().contains("sk-secret"))
        );
        assert_eq!(
            child.get_envs().count(),
            0,
            "a child inherits, nothing added"
        );
    }

    #[test]
    fn pane_env_passes_the_key_base_url_and_agentmux_variables_only() {
        let cfg = Config::default();
        let env = pane_env_from(
            &cfg,
            [
                ("OPENAI_API_KEY", "sk-1"),
                ("OPENAI_BASE_URL", "http://x/v1"),
                ("AGENTMUX_MODEL", "m"),
                ("AGENTMUX_EMPTY", ""),
                ("HOME", "/root"),
                ("AWS_SECRET", "no"),
                ("XDG_CONFIG_HOME", "/cfg"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let keys: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "AGENTMUX_MODEL",
                "OPENAI_API_KEY",
                "OPENAI_BASE_URL",
                "XDG_CONFIG_HOME"
            ]
        );
        let mut cfg = Config::default();
        cfg.llm.api_key_env = "MY_KEY".into();
        let env = pane_env_from(
            &cfg,
            [
                ("MY_KEY".to_string(), "k".to_string()),
                ("OPENAI_API_KEY".to_string(), "sk".to_string()),
            ],
        );
        assert_eq!(env, [("MY_KEY".to_string(), "k".to_string())]);
    }
}
