//! Events waiting for a network sink: on disk ([`Spool`]) or, without a
//! spool directory, a bounded queue in memory. Both hand out batches that
//! are removed only when acknowledged (at least once).

use std::collections::VecDeque;
use std::io;

use super::spool::{AckToken, Spool};

/// A batch handed out for delivery.
#[derive(Clone, Copy, Debug)]
pub enum Token {
    /// From the spool.
    Disk(AckToken),
    /// From the memory queue: index of its first event and its length.
    Mem(u64, u64),
}

/// Bounded in-memory queue.
pub struct MemQueue {
    q: VecDeque<Vec<u8>>,
    /// Events ever removed from the front (index of `q[0]`).
    popped: u64,
    max_events: usize,
    bytes: u64,
    dropped: u64,
}

impl MemQueue {
    /// A queue of at most `max_events`.
    pub fn new(max_events: usize) -> MemQueue {
        MemQueue {
            q: VecDeque::new(),
            popped: 0,
            max_events: max_events.max(1),
            bytes: 0,
            dropped: 0,
        }
    }

    fn pop(&mut self) {
        if let Some(e) = self.q.pop_front() {
            self.bytes -= e.len() as u64;
            self.popped += 1;
        }
    }
}

/// Where a remote sink keeps its undelivered events.
pub enum Backlog {
    /// On disk.
    Disk(Box<Spool>),
    /// In memory.
    Mem(MemQueue),
}

impl Backlog {
    /// Events not yet acknowledged.
    pub fn pending(&self) -> u64 {
        match self {
            Backlog::Disk(s) => s.pending(),
            Backlog::Mem(m) => m.q.len() as u64,
        }
    }

    /// Bytes held (spool files, or payloads in memory).
    pub fn bytes(&self) -> u64 {
        match self {
            Backlog::Disk(s) => s.bytes(),
            Backlog::Mem(m) => m.bytes,
        }
    }

    /// Undelivered events dropped because the backlog was full.
    pub fn dropped(&self) -> u64 {
        match self {
            Backlog::Disk(s) => s.stats().dropped_total,
            Backlog::Mem(m) => m.dropped,
        }
    }

    /// Whether an event of `len` bytes fits without dropping.
    pub fn has_room(&self, len: usize) -> bool {
        match self {
            Backlog::Disk(s) => s.has_room(len),
            Backlog::Mem(m) => m.q.len() < m.max_events,
        }
    }

    /// Appends, dropping the oldest events when full; returns how many.
    ///
    /// # Errors
    /// Spool I/O.
    pub fn append(&mut self, ev: &[u8]) -> io::Result<u64> {
        match self {
            Backlog::Disk(s) => s.append(ev),
            Backlog::Mem(m) => {
                let mut dropped = 0;
                while m.q.len() >= m.max_events {
                    m.pop();
                    dropped += 1;
                }
                m.dropped += dropped;
                m.bytes += ev.len() as u64;
                m.q.push_back(ev.to_vec());
                Ok(dropped)
            }
        }
    }

    /// Copies up to `max` events from the front into `out`.
    ///
    /// # Errors
    /// Spool I/O.
    pub fn peek(
        &mut self,
        max: usize,
        max_bytes: usize,
        out: &mut Vec<Vec<u8>>,
    ) -> io::Result<Option<Token>> {
        match self {
            Backlog::Disk(s) => Ok(s.peek(max, max_bytes, out)?.map(Token::Disk)),
            Backlog::Mem(m) => {
                let mut bytes = 0;
                for e in m.q.iter().take(max) {
                    if bytes >= max_bytes {
                        break;
                    }
                    bytes += e.len();
                    out.push(e.clone());
                }
                let n = out.len() as u64;
                Ok((n > 0).then_some(Token::Mem(m.popped, n)))
            }
        }
    }

    /// Removes an acknowledged batch (what is left of it).
    ///
    /// # Errors
    /// Spool I/O.
    pub fn ack(&mut self, t: Token) -> io::Result<()> {
        match (self, t) {
            (Backlog::Disk(s), Token::Disk(t)) => s.ack(t),
            (Backlog::Mem(m), Token::Mem(start, n)) => {
                let end = start + n;
                while m.popped < end && !m.q.is_empty() {
                    m.pop();
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// fsync when the spool's interval says so.
    ///
    /// # Errors
    /// fsync failed.
    pub fn maybe_sync(&mut self) -> io::Result<()> {
        match self {
            Backlog::Disk(s) => s.maybe_sync(),
            Backlog::Mem(_) => Ok(()),
        }
    }

    /// fsync now.
    ///
    /// # Errors
    /// fsync failed.
    pub fn sync(&mut self) -> io::Result<()> {
        match self {
            Backlog::Disk(s) => s.sync(),
            Backlog::Mem(_) => Ok(()),
        }
    }

    /// Whether undelivered events survive a restart.
    pub fn is_durable(&self) -> bool {
        matches!(self, Backlog::Disk(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_queue_drops_oldest_and_acks_what_is_left() {
        let mut b = Backlog::Mem(MemQueue::new(3));
        for e in ["a", "b", "c"] {
            assert_eq!(b.append(e.as_bytes()).unwrap(), 0);
        }
        let mut out = Vec::new();
        let t = b.peek(2, usize::MAX, &mut out).unwrap().unwrap();
        assert_eq!(out, [b"a".to_vec(), b"b".to_vec()]);
        // Full: "a" is dropped while the batch is in flight.
        assert_eq!(b.append(b"d").unwrap(), 1);
        b.ack(t).unwrap();
        assert_eq!(b.pending(), 2, "only b was left of the batch");
        out.clear();
        b.peek(10, usize::MAX, &mut out).unwrap();
        assert_eq!(out, [b"c".to_vec(), b"d".to_vec()]);
        assert_eq!(b.dropped(), 1);
    }
}
