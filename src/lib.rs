//! stability: forces a hard reset of an embedded Linux board when an
//! indicator file appears. The binary (`src/main.rs`) only wires these
//! modules together; each owns one concern.

pub mod uapi;
