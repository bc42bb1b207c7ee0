//! Build-time guard against async-openai's `byot` feature.
//!
//! `byot` ("bring your own types") changes `Chat::create_stream` so that it no longer sets
//! `stream: true` on the request: code that streams through the typed API silently gets a single
//! non-streamed answer, and agent panes stop showing tokens live. Cargo unifies features across the
//! whole build, so any crate depending on async-openai with `byot` would switch it on for us too.
//!
//! The guard relies on method resolution: `byot` adds an inherent method `Chat::create_stream_byot`.
//! Without it, the call below resolves to the trait method defined here and compiles. With it, the
//! inherent (generic, async) method wins and this file fails to compile. If you are reading this
//! because of a compile error here: find the crate enabling `async-openai/byot`
//! (`cargo tree -e features -i async-openai`) and remove it.
//!
//! Our own client streams over reqwest (see `client.rs` for why), and the fake-server tests assert
//! that every chat request is sent with `stream: true` and arrives chunk by chunk.

use async_openai::Chat;
use async_openai::config::{Config, OpenAIConfig};

/// Not `Serialize`: the `byot` method requires its argument to be.
pub(crate) struct NotARequest;

trait NoByot {
    fn create_stream_byot(&self, request: NotARequest) -> NotARequest {
        request
    }
}

impl<C: Config> NoByot for Chat<'_, C> {}

/// Compiles only while `async-openai/byot` is off.
#[allow(dead_code)]
pub(crate) fn byot_is_off(chat: &Chat<'_, OpenAIConfig>) -> NotARequest {
    chat.create_stream_byot(NotARequest)
}

#[cfg(test)]
mod tests {
    #[test]
    fn guard_compiles_without_byot() {
        let client = async_openai::Client::new();
        let _ = super::byot_is_off(&client.chat());
    }
}
