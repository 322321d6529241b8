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
pub use self::reassembly::{MemBudget, ReassemblyConfig, ReassemblyStats};
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
}
