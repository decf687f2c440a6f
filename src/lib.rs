//! stability: forces a hard reset of an embedded Linux board when an
//! indicator file appears (or a heartbeat file goes stale). The binary
//! (`src/main.rs`) only wires these modules together; each owns one concern.

#[macro_use]
pub mod log;

#[cfg(feature = "bench")]
pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod fsutil;
pub mod guard;
pub mod indicator;
pub mod keepalive;
pub mod monitor;
pub mod power;
pub mod record;
pub mod recovery;
pub mod report;
pub mod rtc;
pub mod signals;
pub mod statefile;
pub mod sysfs;
pub mod uapi;
pub mod watchdog;
