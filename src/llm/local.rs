//! The local default model: a managed `llama-server` running SmolLM2.
