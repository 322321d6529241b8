//! Operations: structured logs, the Prometheus metrics endpoint and the
//! replay progress bar. Nothing here is on the packet path: these read the
//! pipeline's [`crate::pipeline::counters::LiveCounters`] and the sinks'
//! [`crate::alert::SinkControl`].

pub mod logging;
pub mod metrics;
pub mod progress;
