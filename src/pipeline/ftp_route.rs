//! Routing of FTP data connections to the worker of their control
//! connection, decided in the reader thread (single, in capture order) so
//! the output does not depend on the number of workers.
//!
//! The reader looks at the payload of every TCP packet to or from port 21
//! for a `227 `/`229 ` reply or a `PORT`/`EPRT` command at the start of the
//! segment, and remembers the announced endpoint (the control connection's
//! server address for passive mode, its client address for active mode,
//! so NAT'd addresses in the text do not matter) with the worker of the
//! control flow. A TCP packet with that endpoint on either side then goes
//! to that worker instead of its own hash. Entries are refreshed while
//! used, forgotten after `files.ftp_expect_timeout` seconds idle, and
//! bounded by `files.ftp_max_expectations` (oldest dropped, counted).
//!
//! Limits: a reply or command split across segments, or a control
//! connection on another port, is not seen here; its data connection is
//! then routed by its own hash (the worker still links it when it lands on
//! the same worker, so results can depend on the worker count only then).

use std::collections::HashMap;
use std::net::IpAddr;

use crate::app::ftp::data_port_of;
use crate::capture::Timestamp;
use crate::decode::Decoded;
use crate::flow::Direction;

/// The FTP control port watched.
pub const FTP_PORT: u16 = 21;

/// What the router counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FtpRouteStats {
    /// Data connections announced.
    pub announced: u64,
    /// Packets sent to a control connection's worker.
    pub routed_packets: u64,
    /// Announcements dropped at the bound.
    pub evicted: u64,
    /// Announcements forgotten after the idle timeout.
    pub expired: u64,
}

#[derive(Clone, Copy)]
struct Entry {
    worker: usize,
    last: Timestamp,
    seq: u64,
}

/// The reader's table of announced data endpoints.
pub struct FtpRouter {
    entries: HashMap<(IpAddr, u16), Entry>,
    max: usize,
    timeout: u64,
    seq: u64,
    /// Counters.
    pub stats: FtpRouteStats,
}

impl FtpRouter {
    /// A router holding at most `max` endpoints, each `timeout_s` seconds idle.
    pub fn new(max: usize, timeout_s: u64) -> FtpRouter {
        FtpRouter {
            entries: HashMap::new(),
            max: max.max(1),
            timeout: timeout_s.saturating_mul(1_000_000_000),
            seq: 0,
            stats: FtpRouteStats::default(),
        }
    }

    /// The worker for a TCP packet that hashes to `hashed`.
    pub fn route(&mut self, ts: Timestamp, d: &Decoded, payload: &[u8], hashed: usize) -> usize {
        if d.sport == FTP_PORT || d.dport == FTP_PORT {
            self.inspect(ts, d, payload, hashed);
            return hashed;
        }
        if self.entries.is_empty() {
            return hashed;
        }
        for ep in [(d.dst, d.dport), (d.src, d.sport)] {
            let Some(e) = self.entries.get_mut(&ep) else {
                continue;
            };
            if ts.saturating_sub(e.last) > self.timeout {
                self.entries.remove(&ep);
                self.stats.expired += 1;
                continue;
            }
            e.last = e.last.max(ts);
            self.stats.routed_packets += 1;
            return e.worker;
        }
        hashed
    }

    /// A packet of a control connection: announcements are remembered.
    fn inspect(&mut self, ts: Timestamp, d: &Decoded, payload: &[u8], worker: usize) {
        let (dir, head) = if d.sport == FTP_PORT {
            (Direction::ToClient, payload.get(..4))
        } else {
            (Direction::ToServer, payload.get(..4))
        };
        let interesting = matches!(
            head,
            Some(b"227 " | b"229 " | b"PORT" | b"EPRT" | b"port" | b"eprt")
        );
        if !interesting {
            return;
        }
        let line_end = memchr::memchr(b'\n', payload).unwrap_or(payload.len());
        let line = payload.get(..line_end).unwrap_or_default();
        let Some(dp) = data_port_of(dir, line.strip_suffix(b"\r").unwrap_or(line)) else {
            return;
        };
        // The sender of a 227/229 is the server, of PORT/EPRT the client:
        // either way the announcing side listens.
        self.insert((d.src, dp.port), worker, ts);
    }

    fn insert(&mut self, key: (IpAddr, u16), worker: usize, ts: Timestamp) {
        self.stats.announced += 1;
        if !self.entries.contains_key(&key) && self.entries.len() >= self.max {
            self.evict(ts);
        }
        self.seq += 1;
        self.entries.insert(
            key,
            Entry {
                worker,
                last: ts,
                seq: self.seq,
            },
        );
    }

    /// Drops expired entries, or else the oldest one.
    fn evict(&mut self, ts: Timestamp) {
        let before = self.entries.len();
        let timeout = self.timeout;
        self.entries
            .retain(|_, e| ts.saturating_sub(e.last) <= timeout);
        self.stats.expired += (before - self.entries.len()) as u64;
        if self.entries.len() < self.max {
            return;
        }
        let oldest = self
            .entries
            .iter()
            .min_by_key(|(_, e)| (e.last, e.seq))
            .map(|(k, _)| *k);
        if let Some(k) = oldest {
            self.entries.remove(&k);
            self.stats.evicted += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::proto;

    fn pkt(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Decoded {
        Decoded {
            src: IpAddr::from(src),
            sport,
            dst: IpAddr::from(dst),
            dport,
            proto: proto::TCP,
            ..Decoded::default()
        }
    }

    #[test]
    fn passive_and_active_data_follow_the_control_worker() {
        let mut r = FtpRouter::new(2, 10);
        let (cli, srv) = ([10, 0, 0, 1], [10, 0, 0, 2]);
        let reply = b"227 Entering Passive Mode (192,168,1,9,195,80).\r\n";
        assert_eq!(r.route(1, &pkt(srv, 21, cli, 40000), reply, 3), 3);
        // Passive data: client -> server:50000 goes to worker 3, both ways.
        assert_eq!(r.route(2, &pkt(cli, 40001, srv, 50000), b"", 1), 3);
        assert_eq!(r.route(2, &pkt(srv, 50000, cli, 40001), b"", 0), 3);
        // Active: PORT names the client's listening port.
        assert_eq!(
            r.route(3, &pkt(cli, 40000, srv, 21), b"PORT 10,0,0,1,156,65\r\n", 3),
            3
        );
        assert_eq!(r.route(4, &pkt(srv, 20, cli, 40001), b"", 2), 3);
        // EPSV reply.
        assert_eq!(
            r.route(
                5,
                &pkt(srv, 21, cli, 40000),
                b"229 Entering Extended Passive Mode (|||50001|)\r\n",
                1
            ),
            1
        );
        assert_eq!(r.stats.evicted, 1, "bound of 2 endpoints");
        assert_eq!(r.route(6, &pkt(cli, 40002, srv, 50001), b"", 0), 1);
        // Idle past the timeout: forgotten.
        assert_eq!(
            r.route(6 + 11_000_000_000, &pkt(cli, 40002, srv, 50001), b"", 0),
            0
        );
        assert_eq!(r.stats.expired, 1);
    }
}
