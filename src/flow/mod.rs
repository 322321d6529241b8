//! Flow: the flow table and TCP stream reassembly.
//!
//! Packets of one conversation are grouped by a direction-independent
//! [`FlowKey`]; each flow's TCP byte streams are reassembled per direction
//! by a [`TcpSession`] and delivered in order to a [`StreamSink`].

pub mod key;
pub mod reassembly;
pub mod table;
pub mod tcp;

pub use self::key::{Direction, FlowKey};
pub use self::reassembly::{
    LimitPolicy, MemBudget, OverlapPolicy, ReassemblyConfig, ReassemblyStats, StreamAnomaly,
};
pub use self::tcp::TcpSession;

/// Receives the in-order bytes of a TCP (or UDP) conversation.
pub trait StreamSink {
    /// Next in-order bytes sent by `dir`'s sender.
    fn on_data(&mut self, dir: Direction, data: &[u8]);
    /// `len` bytes of `dir` were never seen (loss, depth or memcap); the
    /// next `on_data` continues after the hole.
    fn on_gap(&mut self, dir: Direction, len: u64);
    /// `dir`'s sender closed its side (FIN or RST); no more data follows.
    fn on_close(&mut self, dir: Direction);
    /// Something odd or bounded happened in `dir` (counted in the stats
    /// too); called once per occurrence, before the data it concerns.
    fn on_anomaly(&mut self, _dir: Direction, _kind: StreamAnomaly) {}
    /// As [`on_anomaly`](StreamSink::on_anomaly), for anomalies with a
    /// place in the stream: `len` bytes at stream offset `offset` (bytes
    /// from the first data byte). Defaults to `on_anomaly`.
    fn on_anomaly_at(&mut self, dir: Direction, kind: StreamAnomaly, offset: u64, len: u64) {
        let _ = (offset, len);
        self.on_anomaly(dir, kind);
    }
    /// Bytes of `dir` that were already delivered came again with other
    /// content, and the overlap policy says the receiver kept the new copy
    /// (e.g. `last`). They cannot replace what was delivered, so they come
    /// here as a separate piece, to be inspected on their own.
    fn on_overlap_data(&mut self, _dir: Direction, _data: &[u8]) {}
}
