//! Crafted TCP segments (see `common/craft.rs`): classic evasions from
//! Ptacek & Newsham (1998) and Novak's target-based reassembly, bounds and
//! flow-table pressure. Each test writes a pcap, replays it and asserts
//! which PI values are reported and what the stats counted.
//!
//! PI values are synthetic: resident IDs with a valid check digit built
//! from `11010519491231002` and friends, mobile numbers 138/139....

mod common;

use std::collections::BTreeSet;

use common::craft::{
    hashes, line, replay_events, resident_id, stats_of, with_policy, Capture, Conn, ACK, PHONE_A,
    PHONE_B, PSH, RST, SYN,
};
use common::hash_hex;
use leakwatch::config::Config;
use leakwatch::flow::OverlapPolicy;
use serde_json::Value;

/// Replays `cap` under `cfg` with one worker; returns events and stats.
fn run(cap: &Capture, cfg: &Config) -> (Vec<Value>, Value) {
    let events = replay_events(cap, cfg);
    let stats = stats_of(&events);
    (events, stats)
}

fn dlp_notes(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["event_type"] == "dlp")
        .map(|e| e["stream"].clone())
        .collect()
}

/// Novak: two out-of-order copies of the same bytes with other content,
/// then the hole before them. `first` keeps the first copy, `last` the
/// second: each reports a different phone number.
#[test]
fn overlapping_buffered_copies_follow_the_policy() {
    let mut cap = Capture::new();
    let c = Conn::new(40001, 1000);
    c.handshake(&mut cap);
    let prefix = b"hello there\n";
    c.c(&mut cap, 12, &line(PHONE_A));
    c.c(&mut cap, 12, &line(PHONE_B));
    c.c(&mut cap, 0, prefix);
    let mut c2 = c;
    c2.close(&mut cap, 12 + line(PHONE_A).len() as u32);
    for (p, want, not) in [
        (OverlapPolicy::First, PHONE_A, PHONE_B),
        (OverlapPolicy::Last, PHONE_B, PHONE_A),
        (OverlapPolicy::Solaris, PHONE_B, PHONE_A),
        (OverlapPolicy::Bsd, PHONE_A, PHONE_B),
    ] {
        let (ev, stats) = run(&cap, &with_policy(p));
        let h = hashes(&ev);
        assert!(h.contains(&hash_hex(want)), "{p:?} reports {want}");
        assert!(!h.contains(&hash_hex(not)), "{p:?} does not report {not}");
        assert_eq!(stats["reassembly"]["overlap_diff_total"], 1);
        assert_eq!(dlp_notes(&ev)[0]["overlap_diffs"], 1, "{p:?}");
    }
}

/// Ptacek & Newsham: a retransmission of bytes already delivered, with
/// other content. `first`: the delivered value only, the anomaly noted;
/// `last`: the new copy is inspected as an extra piece too.
#[test]
fn retransmission_with_other_data_after_delivery() {
    let mut cap = Capture::new();
    let mut c = Conn::new(40002, 7000);
    c.handshake(&mut cap);
    c.c(&mut cap, 0, &line(PHONE_A));
    c.c(&mut cap, 0, &line(PHONE_B));
    c.close(&mut cap, line(PHONE_A).len() as u32);
    let (ev, stats) = run(&cap, &with_policy(OverlapPolicy::First));
    assert_eq!(hashes(&ev), BTreeSet::from([hash_hex(PHONE_A)]));
    assert_eq!(stats["reassembly"]["overlap_diff_total"], 1);
    assert_eq!(dlp_notes(&ev)[0]["overlap_diffs"], 1);
    let (ev, _) = run(&cap, &with_policy(OverlapPolicy::Last));
    assert_eq!(
        hashes(&ev),
        BTreeSet::from([hash_hex(PHONE_A), hash_hex(PHONE_B)])
    );
}

/// Data beyond the receiver's advertised window is never accepted by the
/// receiver: it must not be inspected (nor win an overlap later).
#[test]
fn out_of_window_data_is_ignored() {
    let mut cap = Capture::new();
    let mut c = Conn::new(40003, 9);
    c.handshake(&mut cap);
    let mut small = c.s_seg(0, ACK);
    small.window = 64;
    cap.push(&small, b"");
    c.c(&mut cap, 100, &line(PHONE_A)); // beyond 0 + 64
    c.s_ack(&mut cap, 0); // window opens (65535)
    let benign = vec![b'x'; 100 + line(PHONE_A).len()];
    c.c(&mut cap, 0, &benign);
    c.close(&mut cap, benign.len() as u32);
    let (ev, stats) = run(&cap, &Config::default());
    assert!(hashes(&ev).is_empty(), "out-of-window PI not reported");
    assert_eq!(stats["reassembly"]["out_of_window_total"], 1);
}

/// TTL trick: a segment that expires before the receiver (low TTL) races
/// the real one. We cannot know hop counts, so what wins is the overlap
/// policy's choice; the differing copies are always noted.
#[test]
fn ttl_trick_is_visible_as_an_overlap_anomaly() {
    let mut cap = Capture::new();
    let mut c = Conn::new(40004, 500);
    c.handshake(&mut cap);
    c.c(&mut cap, 0, b"id: ");
    let mut decoy = c.c_seg(4, ACK | PSH);
    decoy.ttl = 1;
    cap.push(&decoy, &line(PHONE_B));
    c.c(&mut cap, 4, &line(PHONE_A));
    c.close(&mut cap, 4 + line(PHONE_A).len() as u32);
    let (ev, _) = run(&cap, &with_policy(OverlapPolicy::First));
    assert!(hashes(&ev).contains(&hash_hex(PHONE_B)), "first copy wins");
    assert_eq!(dlp_notes(&ev)[0]["overlap_diffs"], 1, "evasion noted");
    let (ev, _) = run(&cap, &with_policy(OverlapPolicy::Last));
    assert!(
        hashes(&ev).contains(&hash_hex(PHONE_A)),
        "real copy inspected"
    );
}

/// An injected RST with a sequence number outside the window must not
/// end inspection; the rest of the value is still found.
#[test]
fn rst_injection_outside_the_window_is_ignored() {
    let id = resident_id("11010519491231002");
    let text = format!("{{\"customer_id\":\"{id}\"}}\n").into_bytes();
    let (a, b) = text.split_at(20);
    let mut cap = Capture::new();
    let mut c = Conn::new(40005, 123_456);
    c.handshake(&mut cap);
    c.c(&mut cap, 0, a);
    c.s_ack(&mut cap, a.len() as u32);
    cap.push(&c.c_seg(a.len() as u32 + 200_000, RST), b"");
    c.c(&mut cap, a.len() as u32, b);
    c.close(&mut cap, text.len() as u32);
    let (ev, stats) = run(&cap, &Config::default());
    assert!(hashes(&ev).contains(&hash_hex(&id)));
    assert_eq!(stats["reassembly"]["rst_out_of_window_total"], 1);
}

/// A RST inside the window does end the connection: data after it was
/// never received, so it is not inspected.
#[test]
fn rst_inside_the_window_ends_the_flow() {
    let mut cap = Capture::new();
    let c = Conn::new(40006, 42);
    c.handshake(&mut cap);
    c.c(&mut cap, 0, b"abc");
    cap.push(&c.c_seg(3, RST | ACK), b"");
    c.c(&mut cap, 3, &line(PHONE_A));
    let (ev, stats) = run(&cap, &Config::default());
    assert!(hashes(&ev).is_empty());
    assert_eq!(stats["reassembly"]["rst_out_of_window_total"], 0);
}

/// A new SYN on a closed 5-tuple is a new flow with its own stream.
#[test]
fn port_reuse_starts_a_new_flow() {
    let mut cap = Capture::new();
    let mut c = Conn::new(40007, 1_000);
    c.handshake(&mut cap);
    c.c(&mut cap, 0, &line(PHONE_A));
    c.close(&mut cap, line(PHONE_A).len() as u32);
    let mut d = Conn::new(40007, 900_000_000);
    d.handshake(&mut cap);
    d.c(&mut cap, 0, &line(PHONE_B));
    d.close(&mut cap, line(PHONE_B).len() as u32);
    let (ev, stats) = run(&cap, &Config::default());
    assert_eq!(
        hashes(&ev),
        BTreeSet::from([hash_hex(PHONE_A), hash_hex(PHONE_B)])
    );
    assert_eq!(stats["flow"]["flows_total"], 2);
    assert_eq!(stats["flow"]["reused_total"], 1);
}

/// Midstream pickup: no handshake captured; the stream starts at the first
/// segment seen.
#[test]
fn midstream_pickup_still_inspects() {
    let mut cap = Capture::new();
    let c = Conn::new(40008, 77);
    c.c(&mut cap, 500, b"...");
    c.c(&mut cap, 503, &line(PHONE_A));
    let (ev, stats) = run(&cap, &Config::default());
    assert!(hashes(&ev).contains(&hash_hex(PHONE_A)));
    assert_eq!(stats["reassembly"]["midstream_total"], 1);
}

/// Sequence numbers wrap past 2^32 inside the value.
#[test]
fn sequence_wrap_inside_a_value() {
    let mut cap = Capture::new();
    let mut c = Conn::new(40009, u32::MAX - 12);
    c.handshake(&mut cap);
    let l = line(PHONE_A);
    c.c(&mut cap, 8, &l[8..]);
    c.c(&mut cap, 0, &l[..8]);
    c.close(&mut cap, l.len() as u32);
    let (ev, stats) = run(&cap, &Config::default());
    assert!(hashes(&ev).contains(&hash_hex(PHONE_A)));
    assert_eq!(stats["reassembly"]["gaps_total"], 0);
}

/// Small-scale flood: 50k spoofed SYNs around one real flow with PI, the
/// table bounded at 1000 flows. The real flow is still analysed and the
/// table never grows past its bound.
#[test]
fn syn_flood_keeps_the_table_bounded_and_the_real_flow() {
    let mut cap = Capture::new();
    let mut real = Conn::new(40010, 31_337);
    real.handshake(&mut cap);
    let l = line(PHONE_A);
    let flood = |cap: &mut Capture, from: u32, n: u32| {
        for i in from..from + n {
            let mut s = Conn::new((i % 50_000) as u16 + 10_000, i);
            s.client.0 = [100, (i >> 16) as u8, (i >> 8) as u8, i as u8];
            cap.push(&s.c_seg(0, SYN), b"");
            s.cisn = i;
        }
    };
    flood(&mut cap, 0, 25_000);
    real.c(&mut cap, 0, &l[..10]);
    flood(&mut cap, 25_000, 25_000);
    real.c(&mut cap, 10, &l[10..]);
    real.close(&mut cap, l.len() as u32);
    let mut cfg = Config::default();
    cfg.flow.max_flows = 1000;
    let (ev, stats) = run(&cap, &cfg);
    assert!(
        hashes(&ev).contains(&hash_hex(PHONE_A)),
        "real flow analysed"
    );
    assert!(stats["flow"]["peak_flows"].as_u64().unwrap() <= 1000);
    assert!(stats["flow"]["evicted_total"].as_u64().unwrap() >= 49_000);
    assert_eq!(
        stats["flow"]["evicted_embryonic_total"], stats["flow"]["evicted_total"],
        "only spoofed half-open flows were evicted"
    );
    assert!(stats["flow"]["emergency_entered_total"].as_u64().unwrap() >= 1);
}
