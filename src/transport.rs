//! Task and result files (placeholder).
