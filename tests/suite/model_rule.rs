//! Which model a session writes for: with only an API key in the environment (the documented
//! OpenAI set-up) the session is a remote one, so its tasks carry the remote limits, not the
//! bundled 135M model's.

use serde_json::Value;

use super::support::{AgentmuxCmd, Project};

/// Every `maxLength` in a JSON schema.
fn max_lengths(schema: &Value, out: &mut Vec<u64>) {
    match schema {
        Value::Object(o) => {
            if let Some(n) = o.get("maxLength").and_then(Value::as_u64) {
                out.push(n);
            }
            o.values().for_each(|v| max_lengths(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| max_lengths(v, out)),
        _ => {}
    }
}

#[test]
fn only_an_api_key_set_gives_a_remote_session_with_remote_limits() {
    let p = Project::new();
    // One attempt, no retries: the request itself cannot succeed here.
    p.write(
        ".agentmux/config.yaml",
        "llm:\n  retries:\n    max_retries: 0\n  timeouts:\n    connect_secs: 2\n\
         workflow:\n  task_attempts: 1\n",
    );
    let out = p
        .cmd()
        .args(["run", "--goal", "A team link shortener"])
        .env("OPENAI_API_KEY", "sk-test-not-a-real-key")
        // Requests go to OpenAI through a proxy that refuses at once: nothing leaves the machine.
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("https_proxy", "http://127.0.0.1:9")
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("run agentmux");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let sessions = p.path().join(".agentmux/sessions");
    let session = std::fs::read_dir(&sessions)
        .expect("a session directory")
        .filter_map(Result::ok)
        .next()
        .expect("one session")
        .path();
    let mut tasks: Vec<_> = std::fs::read_dir(session.join("tasks"))
        .expect("tasks/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    tasks.sort();
    assert!(!tasks.is_empty(), "no task was dispatched: {stderr}");
    for path in &tasks {
        let task: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("read task")).unwrap();
        let schema = &task["output"]["schema"];
        assert!(schema.is_object(), "{}: no output schema", path.display());
        let mut lens = Vec::new();
        max_lengths(schema, &mut lens);
        // The local profile caps labels at 48 and prose at 320 characters; remote limits do not.
        assert!(
            lens.iter().all(|&n| n > 48) && !lens.contains(&320),
            "{}: local-model limits in a remote session: {lens:?}",
            path.display()
        );
    }
    // And the request went to OpenAI, not to a local model server.
    let logs = std::fs::read_dir(session.join("logs"))
        .expect("logs/")
        .filter_map(Result::ok)
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect::<String>();
    let journal = std::fs::read_to_string(session.join("journal.jsonl")).unwrap_or_default();
    assert!(
        logs.contains("api.openai.com") || journal.contains("api.openai.com"),
        "the request did not go to OpenAI:\n{stderr}\n{journal}"
    );
    assert!(
        !journal.contains("sk-test-not-a-real-key") && !logs.contains("sk-test-not-a-real-key")
    );
}
