//! Config text, as `config::load` hands it to the parser: accepted configs
//! must be valid and print back (`to_ini`) to themselves; rejected ones must
//! say why on a line that exists. Inputs over 64 KiB are skipped, as the
//! daemon refuses such files unread.
#![no_main]

#[path = "../invariants.rs"]
mod invariants;

libfuzzer_sys::fuzz_target!(|data: &[u8]| invariants::check_config(data));
