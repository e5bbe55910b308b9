//! The on-disk cache of compiled components, so that a second run compiles nothing.
//!
//! An entry is keyed by the SHA-256 of the component's bytes and the engine's compatibility
//! hash (wasmtime version, compiler settings, CPU features), so a stale entry is never found.
//! Loading compiled code is `unsafe` in wasmtime because the bytes are trusted to be what
//! `serialize` wrote; each entry therefore carries the SHA-256 of its own bytes, checked before
//! loading, and entries are written atomically. A damaged entry is ignored and rewritten.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// `$XDG_CACHE_HOME/godwit/components`, else `$HOME/.cache/godwit/components`.
pub fn default_dir() -> Option<PathBuf> {
    crate::build::cache_root().map(|root| root.join("components"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn entry(dir: &Path, engine: &Engine, component_bytes: &[u8]) -> PathBuf {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let name = format!("{}-{:016x}.cwasm", hex(&Sha256::digest(component_bytes)), hasher.finish());
    dir.join(name)
}

/// The cached compilation of `component_bytes`, if a sound one exists.
pub fn load(dir: &Path, engine: &Engine, component_bytes: &[u8]) -> Option<Component> {
    let path = entry(dir, engine, component_bytes);
    let stored = std::fs::read(&path).ok()?;
    // Layout: 32 bytes of SHA-256 of the rest, then what `Component::serialize` wrote.
    let (digest, compiled) = stored.split_at_checked(32)?;
    if Sha256::digest(compiled).as_slice() != digest {
        return None;
    }
    load_trusted(engine, compiled)
}

#[allow(unsafe_code)]
fn load_trusted(engine: &Engine, compiled: &[u8]) -> Option<Component> {
    // SAFETY: `compiled` is what `Component::serialize` wrote for an engine with the same
    // compatibility hash (it is in the file name), and its SHA-256 matched the one stored
    // beside it, so it was not damaged or truncated since.
    unsafe { Component::deserialize(engine, compiled) }.ok()
}

/// Stores a compilation; failures only cost a recompilation next time.
pub fn store(dir: &Path, engine: &Engine, component_bytes: &[u8], component: &Component) {
    let Ok(compiled) = component.serialize() else { return };
    let path = entry(dir, engine, component_bytes);
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        file.write_all(&Sha256::digest(&compiled))?;
        file.write_all(&compiled)?;
        file.persist(&path).map_err(|e| e.error)?;
        Ok(())
    };
    let _ = write();
}
