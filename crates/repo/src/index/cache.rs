//! The index cache: for every indexed file, the hash of its content and its chunks' line ranges.
//! The text itself is not stored: an update reads every file anyway to hash it, and slicing the
//! text it read by cached ranges is cheaper than storing it twice. A file whose hash is unchanged
//! keeps its chunks; only changed and new files are parsed again.
//!
//! One JSON file, replaced atomically (temp file in the same directory, then rename), so a
//! reader never sees half of it and a crash leaves the old one. A cache of another format version
//! or one that does not parse is discarded and rebuilt, never an error.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::chunk::Span;

/// Bumped whenever chunking changes, so old chunks are not reused.
const VERSION: u32 = 1;
const FILE: &str = "chunks.json";

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct CacheFile {
    version: u32,
    files: Vec<CachedFile>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct CachedFile {
    pub(crate) path: String,
    /// xxh3-128 of the content, hex.
    pub(crate) hash: String,
    pub(crate) chunks: Vec<Span>,
}

/// What loading found.
pub(crate) enum Loaded {
    Missing,
    Discarded(String),
    Files(HashMap<String, CachedFile>),
}

pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

pub(crate) fn load(dir: &Path) -> Loaded {
    let bytes = match std::fs::read(path(dir)) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Loaded::Missing,
        Err(e) => return Loaded::Discarded(format!("unreadable: {e}")),
    };
    match serde_json::from_slice::<CacheFile>(&bytes) {
        Ok(c) if c.version == VERSION => {
            Loaded::Files(c.files.into_iter().map(|f| (f.path.clone(), f)).collect())
        }
        Ok(c) => Loaded::Discarded(format!("format version {} (now {VERSION})", c.version)),
        Err(e) => Loaded::Discarded(format!("does not parse: {e}")),
    }
}

pub(crate) fn store(dir: &Path, files: Vec<CachedFile>) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let cache = CacheFile {
        version: VERSION,
        files,
    };
    let bytes = serde_json::to_vec(&cache).map_err(io::Error::other)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(&bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path(dir)).map_err(|e| e.error)?;
    Ok(())
}
