//! The one integration test binary: every suite lives in `tests/suite/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod suite;
