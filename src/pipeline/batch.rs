//! Batches of decoded packets sent from the reader to one worker.
//!
//! A packet's payload is either copied into the batch's own buffer or, when
//! the capture was read in shared chunks, left in its chunk: the batch then
//! holds the chunk until the worker has processed it.

use std::sync::Arc;

use crate::capture::{Chunk, SharedFrame, Timestamp};
use crate::decode::Decoded;

/// Packets that fill a batch before it is sent.
pub const BATCH_PACKETS: usize = 512;
/// Payload bytes that fill a batch before it is sent.
pub const BATCH_BYTES: usize = 512 * 1024;
/// Shared chunks one batch may hold (each pins a chunk of the capture
/// until the batch is processed: a worker receiving few packets must not
/// pin many).
pub const BATCH_CHUNKS: usize = 3;
/// [`Packet::chunk`] of a payload copied into [`Batch::data`].
const IN_DATA: u8 = u8::MAX;

/// One decoded packet; `decoded.payload` indexes [`Batch::data`] or the
/// batch chunk `chunk`.
#[derive(Debug)]
pub struct Packet {
    /// Packet time.
    pub ts: Timestamp,
    /// Headers; the payload range points into the batch's data.
    pub decoded: Decoded,
    /// Name the destination address resolved to earlier in the capture
    /// (DNS answer seen by the reader), if any.
    pub dest_name: Option<Arc<str>>,
    /// Index into [`Batch::chunks`], or [`IN_DATA`].
    chunk: u8,
}

/// Packets for one worker, with their L4 payloads packed in one buffer so a
/// batch costs no allocation once the pool is warm.
#[derive(Debug, Default)]
pub struct Batch {
    /// Payload bytes of the packets that were copied.
    pub data: Vec<u8>,
    /// Chunks holding the payloads of the other packets.
    chunks: Vec<Chunk>,
    /// Payload bytes left in `chunks`.
    shared_bytes: usize,
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
            chunk: IN_DATA,
        });
    }

    /// Adds a packet whose frame stays in its shared chunk (no copy).
    pub fn push_shared(
        &mut self,
        ts: Timestamp,
        mut decoded: Decoded,
        frame: SharedFrame<'_>,
        dest_name: Option<Arc<str>>,
    ) {
        let same = self
            .chunks
            .last()
            .is_some_and(|c| Arc::ptr_eq(c, frame.chunk));
        if !same {
            self.chunks.push(Arc::clone(frame.chunk));
        }
        let p = &decoded.payload;
        self.shared_bytes += p.len();
        decoded.payload = frame.start + p.start..frame.start + p.end;
        self.packets.push(Packet {
            ts,
            decoded,
            dest_name,
            // At most BATCH_CHUNKS (< IN_DATA) chunks: the batch is sent then.
            chunk: (self.chunks.len() - 1) as u8,
        });
    }

    /// True when the batch should be sent.
    pub fn is_full(&self) -> bool {
        self.packets.len() >= BATCH_PACKETS
            || self.data.len() + self.shared_bytes >= BATCH_BYTES
            || self.chunks.len() >= BATCH_CHUNKS
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// Empties the batch, keeping its capacity.
    pub fn clear(&mut self) {
        self.data.clear();
        self.chunks.clear();
        self.shared_bytes = 0;
        self.packets.clear();
        self.tick = None;
    }

    /// Payload of a packet of this batch.
    pub fn payload(&self, p: &Packet) -> &[u8] {
        let bytes = match p.chunk {
            IN_DATA => self.data.as_slice(),
            i => self.chunks.get(usize::from(i)).map_or(&[][..], |c| &c[..]),
        };
        bytes.get(p.decoded.payload.clone()).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(payload: std::ops::Range<usize>) -> Decoded {
        Decoded {
            payload,
            ..Decoded::default()
        }
    }

    #[test]
    fn copied_and_shared_payloads_read_back() {
        let a: Chunk = Arc::new(b"hdr-AAAA-hdr-BBBB".to_vec().into());
        let b: Chunk = Arc::new(b"xx-CCC".to_vec().into());
        let mut batch = Batch::default();
        // Frame at 0 of chunk a, payload at 4..8 of the frame.
        batch.push_shared(
            1,
            decoded(4..8),
            SharedFrame {
                chunk: &a,
                start: 0,
            },
            None,
        );
        batch.push(2, decoded(1..3), b"_zz_");
        batch.push_shared(
            3,
            decoded(4..8),
            SharedFrame {
                chunk: &a,
                start: 9,
            },
            None,
        );
        batch.push_shared(
            4,
            decoded(3..6),
            SharedFrame {
                chunk: &b,
                start: 0,
            },
            None,
        );
        let got: Vec<&[u8]> = batch.packets.iter().map(|p| batch.payload(p)).collect();
        assert_eq!(got, [&b"AAAA"[..], b"zz", b"BBBB", b"CCC"]);
        assert_eq!(
            batch.chunks.len(),
            2,
            "consecutive packets share a chunk entry"
        );
        assert_eq!(Arc::strong_count(&a), 2);
        batch.clear();
        assert_eq!(Arc::strong_count(&a), 1, "clearing releases the chunks");
        assert!(batch.is_empty() && batch.data.is_empty());
    }

    #[test]
    fn a_batch_pins_at_most_batch_chunks_chunks() {
        let chunks: Vec<Chunk> = (0..BATCH_CHUNKS)
            .map(|_| Arc::new(vec![0; 64].into()))
            .collect();
        let mut batch = Batch::default();
        for (i, c) in chunks.iter().enumerate() {
            assert!(!batch.is_full(), "full before chunk {i}");
            batch.push_shared(0, decoded(0..10), SharedFrame { chunk: c, start: 0 }, None);
        }
        assert!(batch.is_full());
    }

    #[test]
    fn shared_bytes_count_towards_the_byte_bound() {
        let c: Chunk = Arc::new(vec![0; BATCH_BYTES].into());
        let mut batch = Batch::default();
        batch.push_shared(
            0,
            decoded(0..BATCH_BYTES - 1),
            SharedFrame {
                chunk: &c,
                start: 0,
            },
            None,
        );
        assert!(!batch.is_full());
        batch.push(0, decoded(0..1), b"x");
        assert!(batch.is_full());
    }
}
