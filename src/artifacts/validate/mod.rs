//! Validators of rendered and hand-written artifacts (placeholder; the validator branch fills it).
