//! A migration file with a fuzzed name and fuzzed bytes, resolved from a directory as
//! `godwit up` would: it may be rejected with a problem, never panic.
#![no_main]

use godwit::MigrationSource;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (String, Vec<u8>)| {
    let (name, bytes) = input;
    if name.is_empty()
        || name.contains(['/', '\0'])
        || name == "."
        || name == ".."
        || name.len() > 200
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    if std::fs::write(dir.path().join(&name), &bytes).is_err() {
        return;
    }
    let _ = godwit::DirSource::new(dir.path()).resolve(&mut godwit::NoReport);
});
