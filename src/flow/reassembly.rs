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

impl ReassemblyStats {
    /// Adds another worker's counters.
    pub fn add(&mut self, o: &ReassemblyStats) {
        self.segments_total += o.segments_total;
        self.bytes_delivered_total += o.bytes_delivered_total;
        self.out_of_order_total += o.out_of_order_total;
        self.retransmissions_total += o.retransmissions_total;
        self.depth_reached_total += o.depth_reached_total;
        self.memcap_reached_total += o.memcap_reached_total;
        self.segment_limit_reached_total += o.segment_limit_reached_total;
        self.gaps_total += o.gaps_total;
        self.gap_bytes_total += o.gap_bytes_total;
        self.midstream_total += o.midstream_total;
    }

    /// Counters for the `stats` event.
    pub fn to_json(&self, peak_bytes: u64) -> serde_json::Value {
        serde_json::json!({
            "segments_total": self.segments_total,
            "bytes_delivered_total": self.bytes_delivered_total,
            "out_of_order_total": self.out_of_order_total,
            "retransmissions_total": self.retransmissions_total,
            "depth_reached_total": self.depth_reached_total,
            "memcap_reached_total": self.memcap_reached_total,
            "segment_limit_reached_total": self.segment_limit_reached_total,
            "gaps_total": self.gaps_total,
            "gap_bytes_total": self.gap_bytes_total,
            "midstream_total": self.midstream_total,
            "peak_buffered_bytes": peak_bytes,
        })
    }
}
