//! One function per command. `dispatch` is the only entry point.

mod config_cmd;
mod init;
mod validate;

use std::path::PathBuf;

use crate::cli::{Cli, Command};
use crate::config::{self, LoadOptions, Loaded};
use crate::error::{Error, Result, exit};

/// Context shared by commands: the project directory and the flags that feed the config.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub project_dir: PathBuf,
    pub sets: Vec<String>,
    pub verbose: u8,
}

impl Ctx {
    /// Loads the layered config for this project.
    pub fn load_config(&self) -> Result<Loaded> {
        config::load::load(&LoadOptions {
            project_dir: self.project_dir.clone(),
            sets: self.sets.clone(),
            ..Default::default()
        })
    }
}

/// Runs one command.
pub fn dispatch(cli: Cli) -> Result<u8> {
    let project_dir = match cli.global.project {
        Some(p) => p,
        None => std::env::current_dir().map_err(|e| Error::io(".", e))?,
    };
    let project_dir = std::path::absolute(&project_dir).map_err(|e| Error::io(&project_dir, e))?;
    let ctx = Ctx {
        project_dir,
        sets: cli.global.set,
        verbose: cli.global.verbose,
    };
    match cli.command {
        Command::Init(_) => init::run(&ctx),
        Command::Config(cmd) => config_cmd::run(&ctx, cmd),
        Command::Completions(args) => {
            completions(args.shell);
            Ok(exit::SUCCESS)
        }
        Command::Start(_) => Err(Error::NotYetAvailable("start")),
        Command::Run(_) => Err(Error::NotYetAvailable("run")),
        Command::Resume(_) => Err(Error::NotYetAvailable("resume")),
        Command::Pause(_) => Err(Error::NotYetAvailable("pause")),
        Command::Stop(_) => Err(Error::NotYetAvailable("stop")),
        Command::Status(_) => Err(Error::NotYetAvailable("status")),
        Command::List(_) => Err(Error::NotYetAvailable("list")),
        Command::Attach(_) => Err(Error::NotYetAvailable("attach")),
        Command::Logs(_) => Err(Error::NotYetAvailable("logs")),
        Command::Feedback(_) => Err(Error::NotYetAvailable("feedback")),
        Command::Approve(_) => Err(Error::NotYetAvailable("approve")),
        Command::Wait(_) => Err(Error::NotYetAvailable("wait")),
        Command::Validate(args) => validate::run(&ctx, &args),
        Command::Doctor(_) => Err(Error::NotYetAvailable("doctor")),
        Command::Supervise(_) => Err(Error::NotYetAvailable("supervise")),
        Command::Agent(_) => Err(Error::NotYetAvailable("agent")),
    }
}

fn completions(shell: crate::cli::Shell) {
    use clap::CommandFactory;
    use clap_complete::Shell as S;
    let sh = match shell {
        crate::cli::Shell::Bash => S::Bash,
        crate::cli::Shell::Zsh => S::Zsh,
        crate::cli::Shell::Fish => S::Fish,
        crate::cli::Shell::Elvish => S::Elvish,
        crate::cli::Shell::Powershell => S::PowerShell,
    };
    let mut cmd = Cli::command();
    clap_complete::generate(sh, &mut cmd, "agentmux", &mut std::io::stdout());
}
