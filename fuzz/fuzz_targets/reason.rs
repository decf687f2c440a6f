//! The indicator's first bytes, which an untrusted container writes, through
//! `msg::sanitize`: at most 256 bytes of trimmed printable ASCII,
//! exactly as documented.
#![no_main]

#[path = "../invariants.rs"]
mod invariants;

libfuzzer_sys::fuzz_target!(|data: &[u8]| invariants::check_reason(data));
