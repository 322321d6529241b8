//! TCP reassembly: an arbitrary sequence of segments (both directions, any
//! flags, sequence numbers near one base or anywhere) into one session
//! under small bounds. Checks: no panic; buffered bytes and segments stay
//! within memcap and `max_segments` and match the budget exactly; the sink
//! never hears from a closed direction and every direction closes once at
//! flush; depth holds; and delivered bytes are consistent. Every payload
//! byte is the low byte of its own sequence number, so all copies of an
//! offset agree and the delivered stream must count up by one, jumping by
//! `n` over each `n`-byte gap. Every overlap policy, both limit policies
//! and the recent-bytes window are exercised; with `junk` set, some
//! segments carry other bytes (differing overlaps), and only the bounds
//! and the sink contract are checked.
#![no_main]

use arbitrary::Arbitrary;
use leakwatch::decode::TcpMeta;
use leakwatch::flow::TcpSession;
use leakwatch::flow::{
    Direction, LimitPolicy, MemBudget, OverlapPolicy, ReassemblyConfig, ReassemblyStats,
    StreamSink,
};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Op {
    to_client: bool,
    far: bool,
    dseq: i16,
    raw_seq: u32,
    dack: i16,
    flags: u8,
    len: u8,
    /// With `Input::junk`: this segment's bytes differ from the pattern.
    junk: bool,
}

#[derive(Arbitrary, Debug)]
struct Input {
    base: u32,
    depth: u16,
    memcap: u16,
    max_segments: u8,
    policy: u8,
    stop: bool,
    recent: u8,
    junk: bool,
    ops: Vec<Op>,
}

const POLICIES: [OverlapPolicy; 8] = [
    OverlapPolicy::First,
    OverlapPolicy::Last,
    OverlapPolicy::Bsd,
    OverlapPolicy::Linux,
    OverlapPolicy::Windows,
    OverlapPolicy::Vista,
    OverlapPolicy::Solaris,
    OverlapPolicy::Hpux10,
];

/// Checks the sink contract and the byte pattern per direction.
#[derive(Default)]
struct Check {
    /// Expected next byte (after a first byte was seen), per direction.
    expect: [Option<u8>; 2],
    /// Bytes of gap pending since the last byte, per direction.
    gap: [u64; 2],
    delivered: [u64; 2],
    closes: [u32; 2],
    /// Skip the byte-pattern check (differing copies were sent).
    junk: bool,
}

impl StreamSink for Check {
    fn on_data(&mut self, dir: Direction, data: &[u8]) {
        let d = dir.index();
        assert!(!data.is_empty());
        assert_eq!(self.closes[d], 0, "data after close");
        for &b in data {
            if self.junk {
                break;
            }
            if let Some(e) = self.expect[d] {
                assert_eq!(b, e.wrapping_add(self.gap[d] as u8), "stream out of order");
            }
            self.gap[d] = 0;
            self.expect[d] = Some(b.wrapping_add(1));
        }
        self.delivered[d] += data.len() as u64;
    }
    fn on_gap(&mut self, dir: Direction, len: u64) {
        let d = dir.index();
        assert!(len > 0);
        assert_eq!(self.closes[d], 0, "gap after close");
        self.gap[d] = self.gap[d].wrapping_add(len);
    }
    fn on_overlap_data(&mut self, dir: Direction, data: &[u8]) {
        assert!(self.junk, "differing copies without junk");
        assert!(!data.is_empty());
        assert_eq!(self.closes[dir.index()], 0, "overlap data after close");
    }
    fn on_close(&mut self, dir: Direction) {
        self.closes[dir.index()] += 1;
        assert_eq!(self.closes[dir.index()], 1, "closed twice");
    }
}

fuzz_target!(|input: Input| {
    let cfg = ReassemblyConfig {
        depth: u64::from(input.depth % 2048),
        memcap: usize::from(input.memcap % 4096),
        max_segments: usize::from(input.max_segments % 8),
        overlap: POLICIES[usize::from(input.policy) % POLICIES.len()],
        on_limit: if input.stop {
            LimitPolicy::Stop
        } else {
            LimitPolicy::Skip
        },
        recent_window: usize::from(input.recent % 64),
    };
    let mut s = TcpSession::new();
    let mut budget = MemBudget::default();
    let mut stats = ReassemblyStats::default();
    let mut sink = Check {
        junk: input.junk,
        ..Check::default()
    };
    let mut payload = [0u8; 255];
    for op in input.ops.iter().take(512) {
        let dir = if op.to_client {
            Direction::ToClient
        } else {
            Direction::ToServer
        };
        let seq = if op.far {
            op.raw_seq
        } else {
            input.base.wrapping_add(op.dseq as u32)
        };
        let tcp = TcpMeta {
            seq,
            ack: input.base.wrapping_add(op.dack as u32),
            flags: op.flags,
            window: 1024,
            wscale: None,
        };
        // A SYN's data starts one after its sequence number.
        let first = if op.flags & 0x02 != 0 {
            seq.wrapping_add(1)
        } else {
            seq
        };
        let len = usize::from(op.len);
        for (i, b) in payload.iter_mut().take(len).enumerate() {
            *b = first.wrapping_add(i as u32) as u8;
            if input.junk && op.junk {
                *b ^= 0xa5;
            }
        }
        s.on_packet(
            dir,
            &tcp,
            &payload[..len],
            &cfg,
            &mut budget,
            &mut stats,
            &mut sink,
        );
        assert_eq!(budget.used, s.charged_bytes());
        assert!(s.charged_bytes() <= cfg.memcap);
        for d in [Direction::ToServer, Direction::ToClient] {
            assert!(s.buffered_segments(d) <= cfg.max_segments);
        }
    }
    s.flush(&mut budget, &mut stats, &mut sink);
    assert_eq!(budget.used, 0);
    assert_eq!(s.buffered_bytes(), 0);
    assert!(s.is_closed());
    assert_eq!(sink.closes, [1, 1]);
    for d in 0..2 {
        assert!(cfg.depth == 0 || sink.delivered[d] <= cfg.depth);
    }
});
