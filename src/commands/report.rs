//! `agentmux report [SESSION] [--open]`: writes `.agentmux/report.html` (see [`crate::report`])
//! for the latest (or given) session, and prints its path.

use super::{Ctx, sessions};
use crate::cli::ReportArgs;
use crate::paths::ProjectPaths;
use protocol::error::{Result, exit};

pub(super) fn run(ctx: &Ctx, args: &ReportArgs) -> Result<u8> {
    let loaded = ctx.load_config()?;
    let project = ProjectPaths::new(&ctx.project_dir, &loaded.config);
    let id = sessions::select(&project, args.session.as_deref())?.id;
    let path = crate::report::write(&project, &project.session(&id))?;
    println!("{}", path.display());
    if args.open {
        open(&path);
    }
    Ok(exit::SUCCESS)
}

/// Hands the file to the desktop's opener; a machine without one gets the reason, not a failure
/// (the report is written either way).
fn open(path: &std::path::Path) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    match std::process::Command::new(opener)
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(_) => {}
        Err(e) => eprintln!(
            "cannot open the report with `{opener}` ({e}); open {} in a browser",
            path.display()
        ),
    }
}
