//! `agentmux config show|paths`.

use serde_json::{Value, json};

use super::Ctx;
use crate::cli::ConfigCommand;
use crate::config::load::{leaves, project_config_file, user_config_file};
use llm::profile;
use protocol::error::{Result, exit};
use protocol::profile::RoleProfile;

pub(super) fn run(ctx: &Ctx, cmd: ConfigCommand) -> Result<u8> {
    match cmd {
        ConfigCommand::Paths => {
            if let Some(u) = user_config_file() {
                println!(
                    "user     {}{}",
                    u.display(),
                    if u.is_file() { "" } else { " (absent)" }
                );
            }
            let p = project_config_file(&ctx.project_dir);
            println!(
                "project  {}{}",
                p.display(),
                if p.is_file() { "" } else { " (absent)" }
            );
            Ok(exit::SUCCESS)
        }
        ConfigCommand::Show { json } => {
            let loaded = ctx.load_config()?;
            let project = crate::paths::ProjectPaths::new(&ctx.project_dir, &loaded.config);
            // No network here: what the endpoint reports is asked by `doctor` and at session start.
            let profiles: Vec<RoleProfile> = super::launch::agent_roles(&project, &loaded.config)
                .unwrap_or_default()
                .into_iter()
                .map(|role| {
                    let (model, local) = profile::role_model_of(&loaded.config, &role);
                    let p = profile::resolve(
                        &loaded.config,
                        &role,
                        &model,
                        local,
                        &profile::EndpointFacts::default(),
                    );
                    RoleProfile { role, profile: p }
                })
                .collect();
            let value = serde_json::to_value(&loaded.config).unwrap_or(Value::Null);
            let key_env = loaded.config.llm.api_key_env.clone();
            let key_state = match std::env::var(&key_env) {
                Ok(k) if !k.is_empty() => "set (hidden)",
                _ => "not set",
            };
            let rows: Vec<(String, String, String)> = leaves(&value)
                .into_iter()
                .map(|(path, v)| {
                    let origin = loaded
                        .origins
                        .get(&path)
                        .map(|o| o.to_string())
                        .unwrap_or_else(|| "default".into());
                    (path, render(&v), origin)
                })
                .collect();
            if json {
                let out = json!({
                    "config": value,
                    "origins": rows.iter().map(|(k, _, o)| (k.clone(), Value::String(o.clone()))).collect::<serde_json::Map<_, _>>(),
                    "api_key": { "env": key_env, "state": key_state },
                    "profiles": profiles,
                });
                println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            } else {
                let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
                let vw = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).min(40);
                for (k, v, o) in &rows {
                    println!("{k:<w$}  {v:<vw$}  # {o}");
                }
                println!("{:<w$}  {:<vw$}  # env {key_env}", "(api key)", key_state);
                println!();
                println!(
                    "model profiles (without the endpoint's values: `agentmux doctor` and a session's start ask it):"
                );
                for line in super::profiles::lines(&profiles) {
                    println!("  {line}");
                }
            }
            Ok(exit::SUCCESS)
        }
    }
}

fn render(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
