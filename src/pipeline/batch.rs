//! Batches of decoded packets sent from the reader to one worker.

use std::sync::Arc;

use crate::capture::Timestamp;
use crate::decode::Decoded;

/// Packets that fill a batch before it is sent.
pub const BATCH_PACKETS: usize = 512;
/// Payload bytes that fill a batch before it is sent.
pub const BATCH_BYTES: usize = 512 * 1024;

/// One decoded packet; `decoded.payload` indexes [`Batch::data`].
#[derive(Debug)]
pub struct Packet {
    /// Packet time.
    pub ts: Timestamp,
    /// Headers; the payload range points into the batch's data.
    pub decoded: Decoded,
    /// Name the destination address resolved to earlier in the capture
    /// (DNS answer seen by the reader), if any.
    pub dest_name: Option<Arc<str>>,
}

/// Packets for one worker, with their L4 payloads packed in one buffer so a
/// batch costs no allocation once the pool is warm.
#[derive(Debug, Default)]
pub struct Batch {
    /// Payload bytes of all packets.
    pub data: Vec<u8>,
    /// Packet headers.
    pub packets: Vec<Packet>,
    /// Live: packet time has reached this point (idle flows may time out).
    pub tick: Option<Timestamp>,
}

impl Batch {
    /// Adds a packet, copying its payload out of `frame`.
    pub fn push(&mut self, ts: Timestamp, decoded: Decoded, frame: &[u8]) {
        self.push_named(ts, decoded, frame, None);
    }

    /// Adds a packet with the DNS name of its destination.
    pub fn push_named(
        &mut self,
        ts: Timestamp,
        mut decoded: Decoded,
        frame: &[u8],
        dest_name: Option<Arc<str>>,
    ) {
        let payload = frame.get(decoded.payload.clone()).unwrap_or(&[]);
        let start = self.data.len();
        self.data.extend_from_slice(payload);
        decoded.payload = start..self.data.len();
        self.packets.push(Packet {
            ts,
            decoded,
            dest_name,
        });
    }

    /// True when the batch should be sent.
    pub fn is_full(&self) -> bool {
        self.packets.len() >= BATCH_PACKETS || self.data.len() >= BATCH_BYTES
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// Empties the batch, keeping its capacity.
    pub fn clear(&mut self) {
        self.data.clear();
        self.packets.clear();
        self.tick = None;
    }

    /// Payload of a packet of this batch.
    pub fn payload(&self, p: &Packet) -> &[u8] {
        self.data.get(p.decoded.payload.clone()).unwrap_or(&[])
    }
}
