//! A migration file with a fuzzed name and fuzzed bytes, resolved from a directory as
//! `godwit up` would, in godwit's own layout and in every other tool's format godwit reads,
//! and the folder's format detected: it may be rejected with a problem, never panic.
#![no_main]

use godwit::source::MigrationSource;
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
    for format in godwit::source::Format::ALL {
        let _ = godwit::source::DirSource::new(dir.path()).format(format).resolve(&mut |_| {});
    }
    let _ = godwit::source::Format::detect(dir.path());
});
