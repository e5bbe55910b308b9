//! The on-disk cache of compiled components, so that a second run compiles nothing.
//!
//! An entry is keyed by the SHA-256 of the component's bytes and the engine's compatibility
//! hash (wasmtime version, compiler settings, CPU features), so a stale entry is never found.
//! Loading compiled code is `unsafe` in wasmtime because the bytes are trusted to be what
//! `serialize` wrote; each entry therefore has a seal beside it with the CRC-32 and the length
//! of its bytes, checked before loading, and files are written atomically. A damaged (truncated, altered)
//! entry is ignored and rewritten. The check guards against damage, not against someone who
//! can write to the user's cache directory (who could as well replace godwit itself); a CRC
//! reads a Python guest's 35 MB of compiled code in a few milliseconds, where a SHA-256 took
//! tens on every run.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// An entry's seal: the CRC-32 and the length of its bytes, little-endian.
fn seal(crc: u32, len: u64) -> [u8; 12] {
    let mut header = [0; 12];
    header[..4].copy_from_slice(&crc.to_le_bytes());
    header[4..].copy_from_slice(&len.to_le_bytes());
    header
}

/// The seal of what `file` holds, read a block at a time (a Python guest's compiled code is
/// 35 MB: it is never copied whole into memory, only checked, then mapped by wasmtime).
fn seal_of(mut file: &std::fs::File) -> std::io::Result<[u8; 12]> {
    let (mut hasher, mut len, mut block) = (crc32fast::Hasher::new(), 0, vec![0; 1 << 20]);
    loop {
        let read = file.read(&mut block)?;
        if read == 0 {
            return Ok(seal(hasher.finalize(), len));
        }
        hasher.update(&block[..read]);
        len += read as u64;
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The entry's compiled code (`.cwasm`, exactly what `Component::serialize` wrote, so that
/// wasmtime can map it) and its seal beside it (`.seal`).
fn entry(dir: &Path, engine: &Engine, component_bytes: &[u8]) -> (PathBuf, PathBuf) {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let name = format!("{}-{:016x}", hex(&Sha256::digest(component_bytes)), hasher.finish());
    (dir.join(format!("{name}.cwasm")), dir.join(format!("{name}.seal")))
}

/// The cached compilation of `component_bytes`, if a sound one exists.
pub fn load(dir: &Path, engine: &Engine, component_bytes: &[u8]) -> Option<Component> {
    let (code, seal_path) = entry(dir, engine, component_bytes);
    let expected = std::fs::read(&seal_path).ok()?;
    let file = std::fs::File::open(&code).ok()?;
    if seal_of(&file).ok()?.as_slice() != expected {
        return None;
    }
    let component = load_trusted(engine, &code)?;
    // The file checked is the file mapped: entries are replaced by renames, never rewritten
    // in place, so the same file (not a newer one) is still at that path.
    same_file(&file, &code).then_some(component)
}

#[cfg(unix)]
fn same_file(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(file: &std::fs::File, path: &Path) -> bool {
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.len() == b.len() && a.modified().ok() == b.modified().ok(),
        _ => false,
    }
}

#[allow(unsafe_code)]
fn load_trusted(engine: &Engine, code: &Path) -> Option<Component> {
    // SAFETY: the file is what `Component::serialize` wrote for an engine with the same
    // compatibility hash (it is in the file name): its CRC-32 and length matched the seal
    // written after it, so it was not damaged or truncated since; godwit never writes an
    // entry in place (a new one is renamed over it), so the mapping cannot change under
    // wasmtime, and `load` checks that the file mapped is the file checked.
    unsafe { Component::deserialize_file(engine, code) }.ok()
}

/// Stores a compilation; failures only cost a recompilation next time. The seal is written
/// after the code, so a reader that finds a seal finds complete code.
pub fn store(dir: &Path, engine: &Engine, component_bytes: &[u8], component: &Component) {
    let Ok(compiled) = component.serialize() else { return };
    let (code, seal_path) = entry(dir, engine, component_bytes);
    let write = |path: &Path, bytes: &[u8]| -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        file.write_all(bytes)?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    };
    let sealed = seal(crc32fast::hash(&compiled), compiled.len() as u64);
    let _ = write(&code, &compiled).and_then(|()| write(&seal_path, &sealed));
}
