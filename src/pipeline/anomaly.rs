//! `anomaly` events: oddities and bounds hit in the traffic, bounded so an
//! attacker cannot flood the output.
//!
//! - Stream anomalies (reassembly: overlaps with other data, out-of-window
//!   data and RSTs, depth / memcap / segment limit) are gathered per flow,
//!   one record per (direction, kind) with a count and the place of the
//!   first occurrence, at most `anomaly_max_per_flow` records, and written
//!   when the flow ends.
//! - Packet anomalies (decode errors, fragments, bad checksums) come from
//!   the single reader thread in capture order and are rate-limited per
//!   kind and second of packet time, so they too are deterministic.

use std::net::IpAddr;

use crossbeam_channel::Sender;

use super::output::{OutEvent, OutMsg, SortKey};
use crate::alert::event::{event_type, format_ts, proto_name, AnomalyEvent, AnomalyOut};
use crate::alert::EventHead;
use crate::capture::Timestamp;
use crate::decode::{DecodeError, DefragStats, FragmentRef, TunnelInfo, L3};
use crate::flow::{Direction, OverlapPolicy, StreamAnomaly};

/// `anomaly.type` values.
pub mod layer {
    /// TCP reassembly.
    pub const STREAM: &str = "stream";
    /// IP fragment reassembly.
    pub const DEFRAG: &str = "defrag";
    /// Frame decoding (headers, tunnels).
    pub const DECODE: &str = "decode";
    /// Checksum validation (`decode.validate_checksums`).
    pub const CHECKSUM: &str = "checksum";
}

/// `SortKey::dir` of anomaly events (after `dlp` 0/1 and `flow` 2).
const SORT_DIR: u8 = 3;

/// How anomalies are reported (from `[output]`).
#[derive(Clone, Copy, Debug)]
pub struct AnomalyOptions {
    /// Write `anomaly` events at all.
    pub enabled: bool,
    /// Records (direction, kind) per flow.
    pub max_per_flow: usize,
    /// Packet anomalies per kind and second (0 = unlimited).
    pub rate: u32,
    /// Overlap policy named on overlap events.
    pub overlap: OverlapPolicy,
}

impl Default for AnomalyOptions {
    fn default() -> Self {
        AnomalyOptions {
            enabled: true,
            max_per_flow: 16,
            rate: 100,
            overlap: OverlapPolicy::default(),
        }
    }
}

/// Name of an overlap policy as configured.
pub fn policy_name(p: OverlapPolicy) -> &'static str {
    match p {
        OverlapPolicy::First => "first",
        OverlapPolicy::Last => "last",
        OverlapPolicy::Bsd => "bsd",
        OverlapPolicy::Linux => "linux",
        OverlapPolicy::Windows => "windows",
        OverlapPolicy::Vista => "vista",
        OverlapPolicy::Solaris => "solaris",
        OverlapPolicy::Hpux10 => "hpux10",
    }
}

/// One (direction, kind) of a flow.
#[derive(Clone, Debug)]
struct Rec {
    dir: Direction,
    kind: StreamAnomaly,
    count: u64,
    first: Timestamp,
    last: Timestamp,
    at: Option<(u64, u64)>,
}

/// The stream anomalies of one flow (empty, and allocation-free, for the
/// usual flow that has none).
#[derive(Debug, Default)]
pub struct FlowAnomalies {
    recs: Vec<Rec>,
}

impl FlowAnomalies {
    /// Counts an occurrence; `at` is (stream offset, length) when known.
    /// Returns false when it is a new kind beyond `max` (counted only).
    pub fn record(
        &mut self,
        dir: Direction,
        kind: StreamAnomaly,
        ts: Timestamp,
        at: Option<(u64, u64)>,
        max: usize,
    ) -> bool {
        if let Some(r) = self
            .recs
            .iter_mut()
            .find(|r| r.dir == dir && r.kind == kind)
        {
            r.count += 1;
            r.last = r.last.max(ts);
            if r.at.is_none() {
                r.at = at;
            }
            return true;
        }
        if self.recs.len() >= max {
            return false;
        }
        self.recs.push(Rec {
            dir,
            kind,
            count: 1,
            first: ts,
            last: ts,
            at,
        });
        true
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// Takes the records as (direction, first time, `anomaly` object).
    pub fn take(&mut self, overlap: OverlapPolicy) -> Vec<(Direction, Timestamp, AnomalyOut)> {
        std::mem::take(&mut self.recs)
            .into_iter()
            .map(|r| {
                let policy = (r.kind == StreamAnomaly::OverlapDiff).then(|| policy_name(overlap));
                let out = AnomalyOut {
                    layer: layer::STREAM,
                    event: r.kind.as_str(),
                    count: r.count,
                    direction: Some(r.dir.as_str()),
                    policy,
                    offset: r.at.map(|a| a.0),
                    len: r.at.map(|a| a.1),
                    last: (r.count > 1).then(|| format_ts(r.last)),
                };
                (r.dir, r.first, out)
            })
            .collect()
    }
}

/// Serialises a flow's anomaly event with its sort key.
pub fn flow_event(ev: &AnomalyEvent, ts: Timestamp, flow_id: u64, seq: u32) -> OutEvent {
    OutEvent {
        key: SortKey {
            ts,
            flow_id,
            dir: SORT_DIR,
            seq,
        },
        json: serde_json::to_string(ev).unwrap_or_default(),
        head: Some(EventHead::of_type(event_type::ANOMALY)),
        dedup: None,
    }
}

/// Endpoints of a packet anomaly, when the packet decoded far enough.
#[derive(Clone, Copy, Debug)]
pub struct PacketAddrs {
    /// Sender.
    pub src: IpAddr,
    /// Receiver.
    pub dst: IpAddr,
    /// Ports, when known.
    pub ports: Option<(u16, u16)>,
    /// IP protocol.
    pub proto: u8,
    /// Outer tunnel.
    pub tunnel: Option<TunnelInfo>,
}

/// Addresses of a fragment, read from its IP header.
pub fn fragment_addrs(frame: &[u8], at: &FragmentRef) -> Option<PacketAddrs> {
    let ip = frame.get(at.ip_offset..)?;
    let (src, dst, proto): (IpAddr, IpAddr, u8) = match at.l3 {
        L3::V4 => {
            let s: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            (s.into(), d.into(), *ip.get(9)?)
        }
        L3::V6 => {
            let s: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            (s.into(), d.into(), *ip.get(6)?)
        }
    };
    Some(PacketAddrs {
        src,
        dst,
        ports: None,
        proto,
        tunnel: at.tunnel,
    })
}

/// Decode errors worth an analyst's attention (not "not IP" or an
/// unsupported link, which are just not ours).
pub fn decode_event(e: DecodeError) -> Option<&'static str> {
    match e {
        DecodeError::Truncated => Some("truncated"),
        DecodeError::Malformed => Some("malformed"),
        DecodeError::TunnelTooDeep => Some("tunnel_too_deep"),
        DecodeError::Fragment => Some("nested_fragment"),
        DecodeError::NotIp | DecodeError::UnsupportedLink => None,
    }
}

/// Fragment anomalies as (event, counter) pairs; `addressed` tells
/// whether the event concerns the fragment just pushed (timeouts and
/// memcap evictions concern older datagrams).
fn defrag_counters(s: &DefragStats) -> [(&'static str, u64, bool); 8] {
    [
        ("frag_invalid", s.invalid_total, true),
        ("tiny_fragment", s.tiny_fragment_total, true),
        ("frag_overlap", s.overlap_total, true),
        ("frag_overlap_diff", s.overlap_diff_total, true),
        ("frag_oversize", s.oversize_total, true),
        ("too_many_fragments", s.too_many_fragments_total, true),
        ("frag_memcap", s.memcap_total, false),
        ("frag_timeout", s.timeout_total, false),
    ]
}

/// Packet anomalies of the reader thread: rate-limited, batched to the
/// output thread.
#[derive(Debug)]
pub struct PacketAnomalies {
    enabled: bool,
    rate: u32,
    /// (event, second, events in that second).
    windows: Vec<(&'static str, u64, u32)>,
    pending: Vec<OutEvent>,
    seq: u32,
    tx: Option<Sender<OutMsg>>,
    /// `anomaly` events written.
    pub events_total: u64,
    /// Occurrences beyond the rate (counted only).
    pub suppressed_total: u64,
}

/// Packet anomaly events sent to the output thread at once.
const BATCH: usize = 256;

impl PacketAnomalies {
    /// Reports to `tx` (nothing when `None` or disabled).
    pub fn new(opts: AnomalyOptions, tx: Option<Sender<OutMsg>>) -> PacketAnomalies {
        PacketAnomalies {
            enabled: opts.enabled && tx.is_some(),
            rate: opts.rate,
            windows: Vec::new(),
            pending: Vec::new(),
            seq: 0,
            tx,
            events_total: 0,
            suppressed_total: 0,
        }
    }

    /// Whether anything is reported (callers skip their bookkeeping if not).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// One occurrence of `event` at packet time `ts`.
    pub fn report(
        &mut self,
        ts: Timestamp,
        layer: &'static str,
        event: &'static str,
        addrs: Option<PacketAddrs>,
    ) {
        if !self.enabled {
            return;
        }
        if !self.admit(ts, event) {
            self.suppressed_total += 1;
            return;
        }
        let ev = AnomalyEvent {
            timestamp: format_ts(ts),
            flow_id: None,
            event_type: event_type::ANOMALY,
            src_ip: addrs.map(|a| a.src),
            src_port: addrs.and_then(|a| a.ports).map(|p| p.0),
            dest_ip: addrs.map(|a| a.dst),
            dest_port: addrs.and_then(|a| a.ports).map(|p| p.1),
            proto: addrs.map(|a| proto_name(a.proto)),
            tunnel: addrs.and_then(|a| a.tunnel).map(|t| t.to_json()),
            anomaly: AnomalyOut {
                layer,
                event,
                count: 1,
                ..AnomalyOut::default()
            },
        };
        self.pending.push(flow_event(&ev, ts, 0, self.seq));
        self.seq = self.seq.wrapping_add(1);
        self.events_total += 1;
        if self.pending.len() >= BATCH {
            self.flush();
        }
    }

    /// Reports what the defragmenter counted between `before` and `after`
    /// (one push), with the fragment's addresses where they apply.
    pub fn defrag(
        &mut self,
        ts: Timestamp,
        before: &DefragStats,
        after: &DefragStats,
        addrs: Option<PacketAddrs>,
    ) {
        let old = defrag_counters(before);
        for (i, (event, n, addressed)) in defrag_counters(after).into_iter().enumerate() {
            let prev = old.get(i).map_or(n, |o| o.1);
            for _ in prev..n {
                self.report(ts, layer::DEFRAG, event, addrs.filter(|_| addressed));
            }
        }
    }

    /// Fixed one-second windows per event kind, in packet time.
    fn admit(&mut self, ts: Timestamp, event: &'static str) -> bool {
        if self.rate == 0 {
            return true;
        }
        let sec = ts / 1_000_000_000;
        match self.windows.iter_mut().find(|w| w.0 == event) {
            Some(w) if w.1 == sec => {
                w.2 += 1;
                w.2 <= self.rate
            }
            Some(w) => {
                *w = (event, sec, 1);
                true
            }
            None => {
                self.windows.push((event, sec, 1));
                true
            }
        }
    }

    /// Sends what is pending to the output thread.
    pub fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        if let Some(tx) = &self.tx {
            let _ = tx.send(OutMsg::Events(std::mem::take(&mut self.pending)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_record_per_direction_and_kind_with_a_count() {
        let mut a = FlowAnomalies::default();
        let (s, c) = (Direction::ToServer, Direction::ToClient);
        assert!(a.record(s, StreamAnomaly::OverlapDiff, 10, Some((5, 3)), 2));
        assert!(a.record(s, StreamAnomaly::OverlapDiff, 30, Some((9, 1)), 2));
        assert!(a.record(c, StreamAnomaly::OverlapDiff, 20, None, 2));
        assert!(!a.record(s, StreamAnomaly::OutOfWindow, 40, None, 2), "cap");
        let out = a.take(OverlapPolicy::Last);
        assert_eq!(out.len(), 2);
        let (dir, ts, o) = &out[0];
        assert_eq!((*dir, *ts), (s, 10));
        assert_eq!((o.count, o.offset, o.len), (2, Some(5), Some(3)));
        assert_eq!(o.policy, Some("last"));
        assert!(o.last.is_some());
        assert!(a.is_empty());
    }

    #[test]
    fn packet_anomalies_are_rate_limited_per_kind_and_second() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let opts = AnomalyOptions {
            rate: 2,
            ..AnomalyOptions::default()
        };
        let mut p = PacketAnomalies::new(opts, Some(tx));
        for i in 0..5 {
            p.report(i, layer::DECODE, "truncated", None);
        }
        p.report(3, layer::DECODE, "malformed", None);
        p.report(1_000_000_000, layer::DECODE, "truncated", None);
        p.flush();
        assert_eq!((p.events_total, p.suppressed_total), (4, 3));
        let Ok(OutMsg::Events(evs)) = rx.try_recv() else {
            panic!("no events sent");
        };
        assert_eq!(evs.len(), 4);
        assert!(evs[0].json.contains(r#""event":"truncated""#));
        assert!(!evs[0].json.contains("src_ip"), "no addresses: none known");
    }

    #[test]
    fn defrag_deltas_become_events_addressed_only_for_this_fragment() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut p = PacketAnomalies::new(AnomalyOptions::default(), Some(tx));
        let before = DefragStats::default();
        let after = DefragStats {
            tiny_fragment_total: 1,
            timeout_total: 2,
            ..DefragStats::default()
        };
        let addrs = PacketAddrs {
            src: "192.0.2.1".parse().unwrap(),
            dst: "192.0.2.2".parse().unwrap(),
            ports: None,
            proto: 17,
            tunnel: None,
        };
        p.defrag(7, &before, &after, Some(addrs));
        p.flush();
        let Ok(OutMsg::Events(evs)) = rx.try_recv() else {
            panic!("no events sent");
        };
        assert_eq!(evs.len(), 3);
        let tiny = evs
            .iter()
            .find(|e| e.json.contains("tiny_fragment"))
            .unwrap();
        assert!(tiny.json.contains("192.0.2.1"));
        let timeouts: Vec<_> = evs
            .iter()
            .filter(|e| e.json.contains("frag_timeout"))
            .collect();
        assert_eq!(timeouts.len(), 2);
        assert!(!timeouts[0].json.contains("192.0.2.1"));
    }
}
