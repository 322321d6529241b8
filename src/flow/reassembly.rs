//! PLACEHOLDER — the reassembly helper replaces this file (contract below).
#![allow(missing_docs)]

/// Reassembly bounds (from config `[reassembly]`).
#[derive(Clone, Debug)]
pub struct ReassemblyConfig {
    /// Bytes delivered per direction of a flow before inspection stops (0 = unlimited).
    pub depth: u64,
    /// Bytes of out-of-order data one worker may hold buffered (the global
    /// memcap divided by the number of workers).
    pub memcap: usize,
    /// Out-of-order segments buffered per direction at most.
    pub max_segments: usize,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            depth: 16 << 20,
            memcap: 256 << 20,
            max_segments: 4096,
        }
    }
}

/// Bytes of buffered out-of-order data held by one worker.
#[derive(Debug, Default)]
pub struct MemBudget {
    pub used: usize,
}

/// Counters, summed into the `stats` event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    pub segments_total: u64,
    pub bytes_delivered_total: u64,
    pub out_of_order_total: u64,
    pub retransmissions_total: u64,
    pub depth_reached_total: u64,
    pub memcap_reached_total: u64,
    pub segment_limit_reached_total: u64,
    pub gaps_total: u64,
    pub gap_bytes_total: u64,
    pub midstream_total: u64,
}
