//! One function per command. `dispatch` is the only entry point.

mod agent;
mod attach;
mod config_cmd;
mod control_cmds;
pub(crate) mod doctor;
mod init;
pub(crate) mod launch;
mod logs;
mod profiles;
mod report;
pub(crate) mod sessions;
mod status;
mod stop;
mod validate;

use std::path::PathBuf;

use crate::cli::{Cli, Command};
use crate::config::{self, LoadOptions, Loaded};
use protocol::error::{Error, Result, exit};

/// Context shared by commands: the project directory and the flags that feed the config.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub project_dir: PathBuf,
    pub sets: Vec<String>,
    pub verbose: u8,
}

impl Ctx {
    /// Loads the layered config for this project.
    pub(crate) fn load_config(&self) -> Result<Loaded> {
        config::load::load(&LoadOptions {
            project_dir: self.project_dir.clone(),
            sets: self.sets.clone(),
            ..Default::default()
        })
    }
}

/// Runs one command.
pub(crate) fn dispatch(cli: Cli) -> Result<u8> {
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
    // Long-running processes (supervisor, agents, headless run) log to their session's file;
    // every other command logs to stderr with -v.
    if !matches!(
        cli.command,
        Command::Supervise(_) | Command::Agent(_) | Command::Run(_)
    ) {
        crate::logging::init(None, ctx.verbose);
    }
    match cli.command {
        Command::Init(_) => init::run(&ctx),
        Command::Config(cmd) => config_cmd::run(&ctx, cmd),
        Command::Completions(args) => {
            completions(args.shell);
            Ok(exit::SUCCESS)
        }
        Command::Start(args) => launch::start(&ctx, &args),
        Command::Run(args) => launch::run_headless(&ctx, &args),
        Command::Resume(args) => launch::resume(&ctx, &args),
        Command::Pause(args) => control_cmds::pause(&ctx, &args),
        Command::Stop(args) => stop::run(&ctx, &args),
        Command::Status(args) => status::status(&ctx, &args),
        Command::List(args) => status::list(&ctx, &args),
        Command::Attach(args) => attach::run(&ctx, &args),
        Command::Logs(args) => logs::run(&ctx, args),
        Command::Feedback(args) => control_cmds::feedback(&ctx, &args),
        Command::Approve(args) => control_cmds::approve(&ctx, &args),
        Command::Wait(args) => status::wait(&ctx, &args),
        Command::Validate(args) => validate::run(&ctx, &args),
        Command::Report(args) => report::run(&ctx, &args),
        Command::Doctor(args) => doctor::run(&ctx, &args),
        Command::Supervise(args) => launch::supervise(&ctx, &args),
        Command::Agent(args) => agent::run(&ctx, &args),
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
