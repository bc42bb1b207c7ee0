//! Errors of an LLM request. Each message names the URL and says what to do; none contains the key.

use std::time::Duration;

/// Why an LLM request failed.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The client could not be built or the request is invalid (not retried).
    #[error("LLM client for {url}: {message}")]
    Config { url: String, message: String },

    /// TCP/TLS connection failed or timed out.
    #[error(
        "cannot connect to the LLM endpoint {url}: {message}\n  check that the server is running and llm.base_url is right (`agentmux doctor`)"
    )]
    Connect { url: String, message: String },

    /// The server answered with an HTTP error status.
    #[error("the LLM endpoint {url} answered HTTP {status}: {message}\n  {hint}")]
    Http {
        url: String,
        status: u16,
        message: String,
        /// From `Retry-After` (or `retry-after-ms`), when the server sent one.
        retry_after: Option<Duration>,
        hint: String,
    },

    /// The response stream ended or broke before the completion was finished.
    #[error(
        "the response stream from {url} broke: {message}\n  the request is retried; if this persists check the server's logs"
    )]
    StreamBroken { url: String, message: String },

    /// A chunk of the stream was not valid JSON.
    #[error(
        "the LLM endpoint {url} sent a malformed chunk: {message}\n  is it an OpenAI-compatible server? check llm.base_url (it must end in /v1)"
    )]
    Malformed { url: String, message: String },

    /// The server sent an error object (inside the stream or as the whole answer).
    #[error(
        "the LLM endpoint {url} reported an error: {message}\n  check the model name (llm.model) and the server's logs"
    )]
    Server { url: String, message: String },

    /// No token arrived in time.
    #[error(
        "no token from {url} within {secs} s\n  the model may be overloaded or the prompt too long; raise llm.timeouts.first_token_secs if it is just slow"
    )]
    FirstTokenTimeout { url: String, secs: u64 },

    /// The stream stalled between two chunks.
    #[error(
        "the stream from {url} stalled for {secs} s\n  raise llm.timeouts.idle_secs if the server is just slow"
    )]
    IdleTimeout { url: String, secs: u64 },

    /// One attempt took longer than `llm.timeouts.total_secs`.
    #[error(
        "the request to {url} took longer than {secs} s\n  raise llm.timeouts.total_secs or lower llm.max_tokens"
    )]
    TotalTimeout { url: String, secs: u64 },

    /// Every attempt failed.
    #[error(
        "gave up after {attempts} attempts (llm.retries.max_retries = {max_retries}); last error: {last}"
    )]
    RetriesExhausted {
        attempts: u32,
        max_retries: u32,
        last: Box<LlmError>,
    },

    /// The caller cancelled (session paused or stopped).
    #[error("the LLM request was cancelled")]
    Cancelled,
}

impl LlmError {
    /// True when a new attempt may succeed: 408/409/425/429 and 5xx, connection errors, broken or
    /// malformed streams and timeouts between chunks.
    pub fn retryable(&self) -> bool {
        match self {
            LlmError::Http { status, .. } => {
                matches!(status, 408 | 409 | 425 | 429) || (500..=599).contains(status)
            }
            LlmError::Connect { .. }
            | LlmError::StreamBroken { .. }
            | LlmError::Malformed { .. }
            | LlmError::FirstTokenTimeout { .. }
            | LlmError::IdleTimeout { .. } => true,
            LlmError::Config { .. }
            | LlmError::Server { .. }
            | LlmError::TotalTimeout { .. }
            | LlmError::RetriesExhausted { .. }
            | LlmError::Cancelled => false,
        }
    }

    /// The delay the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            LlmError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The innermost error (unwraps [`LlmError::RetriesExhausted`]).
    pub fn root(&self) -> &LlmError {
        match self {
            LlmError::RetriesExhausted { last, .. } => last.root(),
            other => other,
        }
    }

    /// What to do about an HTTP status, for [`LlmError::Http`]'s hint.
    pub fn http_hint(status: u16) -> String {
        match status {
            401 | 403 => {
                "check the API key: the variable named by llm.api_key_env must hold a valid key"
                    .into()
            }
            404 => "check llm.base_url (it must include /v1) and llm.model".into(),
            400 | 422 => {
                "the server rejected the request; check llm.model and the server's logs".into()
            }
            429 => {
                "rate limited: the request is retried; lower llm.concurrency if it keeps happening"
                    .into()
            }
            s if s >= 500 => {
                "the server failed: the request is retried; check the server's logs if it persists"
                    .into()
            }
            _ => "check llm.base_url and the server's logs".into(),
        }
    }
}

impl From<LlmError> for protocol::error::Error {
    fn from(e: LlmError) -> Self {
        protocol::error::Error::Llm(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16) -> LlmError {
        LlmError::Http {
            url: "http://h/v1".into(),
            status,
            message: "m".into(),
            retry_after: None,
            hint: LlmError::http_hint(status),
        }
    }

    #[test]
    fn retryable_statuses() {
        assert!(http(429).retryable());
        assert!(http(500).retryable());
        assert!(http(503).retryable());
        assert!(!http(400).retryable());
        assert!(!http(401).retryable());
        assert!(!LlmError::Cancelled.retryable());
    }

    #[test]
    fn messages_name_the_url_and_a_fix() {
        let e = LlmError::Connect {
            url: "http://127.0.0.1:9/v1".into(),
            message: "refused".into(),
        };
        let s = e.to_string();
        assert!(s.contains("http://127.0.0.1:9/v1"), "{s}");
        assert!(s.contains("agentmux doctor"), "{s}");
        assert!(http(401).to_string().contains("llm.api_key_env"));
    }
}
