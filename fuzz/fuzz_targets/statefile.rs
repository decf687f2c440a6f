//! The guard and reset-record files read back at start-up (after a crash,
//! power loss or a hand edit): the `key=value` reader, the record's sequence
//! and summary, and the guard loaded through a real file.
#![no_main]

#[path = "../invariants.rs"]
mod invariants;

libfuzzer_sys::fuzz_target!(|data: &[u8]| invariants::check_state(data));
