//! Fuzzed bytes as a `.wasm` migration: compiled and checked against godwit's world as
//! `godwit inspect` and `godwit up` do; anything but a godwit component is refused with a
//! message, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|bytes: &[u8]| {
    static RUNTIME: OnceLock<godwit::wasm::Runtime> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| godwit::wasm::Runtime::new(None).unwrap());
    let _ = runtime.inspect(bytes, godwit::wasm::Limits::default());
});
