//! Role prompt files (placeholder).
