//! stability: forces a hard reset of an embedded Linux board when an
//! indicator file appears (or a heartbeat file goes stale). The binary
//! (`src/main.rs`) only wires these modules together; each owns one concern.

// After a fault is seen nothing may allocate (see `msg`): errors and
// messages there are fixed buffers of a few hundred bytes, by design.
#![allow(clippy::result_large_err, clippy::large_enum_variant)]

#[macro_use]
pub mod log;

#[cfg(feature = "bench")]
pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod duress;
pub mod fsutil;
pub mod guard;
pub mod holders;
pub mod indicator;
pub mod keepalive;
pub mod monitor;
pub mod msg;
pub mod plan;
pub mod power;
pub mod process;
pub mod record;
pub mod recovery;
pub mod report;
pub mod rtc;
pub mod signals;
pub mod statefile;
pub mod storage;
pub mod sysfs;
pub mod thread;
pub mod uapi;
pub mod watchdog;
