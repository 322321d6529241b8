//! Crafted evasions (Ptacek & Newsham 1998; Novak's target-based
//! reassembly) beyond `replay_tcp.rs`, asserting the `anomaly` events as
//! well as what is reported: overlaps under every overlap policy,
//! out-of-window data and RSTs, bad checksums with validation on and off,
//! the TTL trick, the urgent pointer, SYN and RST with data, IP fragment
//! anomalies, and the bounds on anomaly events.
//!
//! PI values are synthetic mobile numbers.

mod common;

use std::collections::BTreeSet;

use common::craft::{
    fold, frame, hashes, line, replay_events as run, replay_lines as run_lines, stats_of as stats,
    sum16, with_policy, Capture, Conn, ACK, PHONE_A, PHONE_B, PSH, RST, SYN,
};
use common::hash_hex;
use leakwatch::config::Config;
use leakwatch::flow::OverlapPolicy;
use serde_json::Value;

const URG: u8 = 0x20;

fn anomalies(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["event_type"] == "anomaly")
        .cloned()
        .collect()
}

/// The anomaly events' `(type, event)` pairs, sorted.
fn kinds(events: &[Value]) -> Vec<(String, String)> {
    let mut k: Vec<_> = anomalies(events)
        .iter()
        .map(|e| {
            let a = &e["anomaly"];
            (
                a["type"].as_str().unwrap_or("").to_string(),
                a["event"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    k.sort();
    k
}

fn pair(t: &str, e: &str) -> (String, String) {
    (t.to_string(), e.to_string())
}

/// Novak's target-based overlap: an out-of-order segment at 12 holding
/// PHONE_A, then an overlapping one holding PHONE_B that starts one byte
/// earlier (`front`) or ends one byte later (`!front`), then the bytes
/// before. Which copy the receiver keeps depends on its OS.
fn novak(port: u16, front: bool) -> Capture {
    let mut cap = Capture::new();
    let mut c = Conn::new(port, 3000);
    c.handshake(&mut cap);
    let prefix = b"hello there\n";
    let old = line(PHONE_A);
    c.c(&mut cap, 12, &old);
    let (start, new) = if front {
        (11, [b"\n".as_slice(), &line(PHONE_B)].concat())
    } else {
        (12, [line(PHONE_B).as_slice(), b"\n"].concat())
    };
    c.c(&mut cap, start, &new);
    c.c(&mut cap, 0, prefix);
    let end = (start as usize + new.len()).max(12 + old.len());
    c.close(&mut cap, end as u32);
    cap
}

#[test]
fn overlaps_follow_every_target_policy_and_are_reported_with_offsets() {
    use OverlapPolicy::*;
    // (policy, name, new copy wins when it starts earlier, when it ends later)
    let table = [
        (First, "first", false, false),
        (Last, "last", true, true),
        (Bsd, "bsd", true, false),
        (Linux, "linux", true, true),
        (Windows, "windows", true, false),
        (Vista, "vista", false, false),
        (Solaris, "solaris", true, true),
        (Hpux10, "hpux10", true, false),
    ];
    let len = line(PHONE_B).len() as u64 + 1;
    for (p, name, front_new, back_new) in table {
        for (front, new_wins, offset) in [(true, front_new, 11), (false, back_new, 12)] {
            let ev = run(&novak(40100, front), &with_policy(p));
            let (want, not) = if new_wins {
                (PHONE_B, PHONE_A)
            } else {
                (PHONE_A, PHONE_B)
            };
            let h = hashes(&ev);
            let case = format!("{name} front={front}");
            assert!(h.contains(&hash_hex(want)), "{case}: {want} inspected");
            assert!(!h.contains(&hash_hex(not)), "{case}: {not} not inspected");
            let an = anomalies(&ev);
            assert_eq!(an.len(), 1, "{case}: {an:?}");
            let a = &an[0]["anomaly"];
            assert_eq!(a["type"], "stream", "{case}");
            assert_eq!(a["event"], "overlap_diff", "{case}");
            assert_eq!(a["policy"], name, "{case}");
            assert_eq!(a["direction"], "to_server", "{case}");
            assert_eq!(a["count"], 1, "{case}");
            assert_eq!(a["offset"], offset, "{case}");
            assert_eq!(a["len"], len, "{case}");
            assert_eq!(an[0]["src_port"], 40100, "{case}: sender of the bytes");
            // The anomaly never carries the bytes.
            assert!(!an[0].to_string().contains(PHONE_A), "{case}");
            assert!(!an[0].to_string().contains(PHONE_B), "{case}");
        }
    }
}

/// Ptacek & Newsham: several retransmissions of delivered bytes with
/// other content give one event with a count.
#[test]
fn repeated_retransmissions_with_other_data_are_one_event_with_a_count() {
    let mut cap = Capture::new();
    let mut c = Conn::new(40101, 7000);
    c.handshake(&mut cap);
    c.c(&mut cap, 0, &line(PHONE_A));
    c.c(&mut cap, 0, &line(PHONE_B));
    c.c(&mut cap, 0, &line("13912345679"));
    c.close(&mut cap, line(PHONE_A).len() as u32);
    let ev = run(&cap, &with_policy(OverlapPolicy::First));
    let an = anomalies(&ev);
    assert_eq!(an.len(), 1, "{an:?}");
    assert_eq!(an[0]["anomaly"]["count"], 2);
    assert_eq!(an[0]["anomaly"]["offset"], 0);
    assert!(an[0]["anomaly"]["last"].is_string(), "time of the last one");
    assert_eq!(stats(&ev)["anomaly"]["stream_events_total"], 1);
}

#[test]
fn out_of_window_data_is_an_anomaly_with_its_offset() {
    let mut cap = Capture::new();
    let mut c = Conn::new(40102, 9);
    c.handshake(&mut cap);
    let mut small = c.s_seg(0, ACK);
    small.window = 64;
    cap.push(&small, b"");
    c.c(&mut cap, 100, &line(PHONE_A)); // beyond 0 + 64
    c.s_ack(&mut cap, 0);
    let benign = vec![b'x'; 100 + line(PHONE_A).len()];
    c.c(&mut cap, 0, &benign);
    c.close(&mut cap, benign.len() as u32);
    let ev = run(&cap, &Config::default());
    assert!(hashes(&ev).is_empty());
    let an = anomalies(&ev);
    assert_eq!(kinds(&ev), vec![pair("stream", "out_of_window")]);
    assert_eq!(an[0]["anomaly"]["offset"], 100);
    assert_eq!(an[0]["anomaly"]["len"], line(PHONE_A).len());
}

#[test]
fn rst_outside_the_window_is_an_anomaly_and_inspection_goes_on() {
    let mut cap = Capture::new();
    let mut c = Conn::new(40103, 50);
    c.handshake(&mut cap);
    let l = line(PHONE_A);
    c.c(&mut cap, 0, &l[..12]);
    c.s_ack(&mut cap, 12);
    cap.push(&c.c_seg(200_012, RST), b"");
    c.c(&mut cap, 12, &l[12..]);
    c.close(&mut cap, l.len() as u32);
    let ev = run(&cap, &Config::default());
    assert!(hashes(&ev).contains(&hash_hex(PHONE_A)));
    assert_eq!(kinds(&ev), vec![pair("stream", "rst_out_of_window")]);
}

/// A segment with a bad TCP checksum is dropped by the receiver. Without
/// validation (offloaded captures) the sensor keeps it (first copy wins,
/// overlap noted); with validation it is dropped and reported.
#[test]
fn bad_checksum_segment_with_validation_off_and_on() {
    let mut cap = Capture::new();
    let mut c = Conn::new(40104, 77);
    c.handshake(&mut cap);
    let mut bad = c.c_seg(0, ACK | PSH);
    bad.bad_checksum = true;
    cap.push(&bad, &line(PHONE_B));
    c.c(&mut cap, 0, &line(PHONE_A));
    c.close(&mut cap, line(PHONE_A).len() as u32);

    let ev = run(&cap, &Config::default());
    assert!(
        hashes(&ev).contains(&hash_hex(PHONE_B)),
        "kept without validation"
    );
    assert_eq!(kinds(&ev), vec![pair("stream", "overlap_diff")]);

    let mut cfg = Config::default();
    cfg.decode.validate_checksums = true;
    let ev = run(&cap, &cfg);
    assert_eq!(hashes(&ev), BTreeSet::from([hash_hex(PHONE_A)]));
    assert_eq!(kinds(&ev), vec![pair("checksum", "tcp_checksum")]);
    let a = &anomalies(&ev)[0];
    assert_eq!(a["src_ip"], "10.1.0.2");
    assert_eq!(a["src_port"], 40104);
    assert_eq!(a["dest_port"], 9000);
    assert_eq!(a["proto"], "TCP");
    assert_eq!(stats(&ev)["decoder"]["checksum_bad"]["tcp_total"], 1);
}

/// TTL trick: a low-TTL copy that expires before the receiver. Hop counts
/// are unknown to a sensor, so this is a documented limitation: the
/// differing copies are an `overlap_diff` anomaly, and the policy decides.
#[test]
fn ttl_trick_shows_as_an_overlap_anomaly() {
    let mut cap = Capture::new();
    let mut c = Conn::new(40105, 500);
    c.handshake(&mut cap);
    c.c(&mut cap, 0, b"id: ");
    let mut decoy = c.c_seg(4, ACK | PSH);
    decoy.ttl = 1;
    cap.push(&decoy, &line(PHONE_B));
    c.c(&mut cap, 4, &line(PHONE_A));
    c.close(&mut cap, 4 + line(PHONE_A).len() as u32);
    for p in [OverlapPolicy::First, OverlapPolicy::Last] {
        let ev = run(&cap, &with_policy(p));
        let an = anomalies(&ev);
        assert_eq!(kinds(&ev), vec![pair("stream", "overlap_diff")], "{p:?}");
        assert_eq!(an[0]["anomaly"]["offset"], 4, "{p:?}");
    }
}

/// Sets URG and an urgent pointer on a crafted frame, fixing the checksum.
fn urgent(mut f: Vec<u8>, ptr: u16) -> Vec<u8> {
    let tcp = 14 + 20;
    f[tcp + 13] |= URG;
    f[tcp + 18..tcp + 20].copy_from_slice(&ptr.to_be_bytes());
    f[tcp + 16..tcp + 18].copy_from_slice(&[0, 0]);
    let seg = &f[tcp..];
    // Pseudo-header: addresses, protocol 6, TCP length.
    let c = fold(sum16(&f[26..34]) + 6 + seg.len() as u32 + sum16(seg));
    f[tcp + 16..tcp + 18].copy_from_slice(&c.to_be_bytes());
    f
}

/// Urgent data is delivered inline (as SO_OOBINLINE receivers see it):
/// the value in an urgent segment is found. A receiver that pulls the
/// urgent byte out of the stream sees one byte less; that is not modelled
/// (README: known limitations).
#[test]
fn urgent_pointer_data_is_inspected_inline() {
    let mut cap = Capture::new();
    let mut c = Conn::new(40106, 1234);
    c.handshake(&mut cap);
    let l = line(PHONE_A);
    let f = urgent(frame(&c.c_seg(0, ACK | PSH), &l), 5);
    cap.push_frame(f);
    c.close(&mut cap, l.len() as u32);
    let ev = run(&cap, &Config::default());
    assert_eq!(hashes(&ev), BTreeSet::from([hash_hex(PHONE_A)]));
    assert!(anomalies(&ev).is_empty());
}

/// Data on a SYN is part of the stream (RFC 9293; TCP Fast Open): a
/// retransmission of it after the handshake is not an anomaly; other data
/// at the same place is.
#[test]
fn syn_with_data() {
    let build = |retrans: &[u8]| {
        let mut cap = Capture::new();
        let mut c = Conn::new(40107, 4000);
        let syn = common::craft::Seg {
            src: c.client,
            dst: c.server,
            seq: c.cisn,
            ack: 0,
            flags: SYN,
            window: 65535,
            ttl: 64,
            bad_checksum: false,
        };
        cap.push(&syn, &line(PHONE_A));
        let mut synack = c.s_seg(0, SYN | ACK);
        synack.seq = c.sisn;
        cap.push(&synack, b"");
        c.c(&mut cap, 0, retrans);
        c.close(&mut cap, retrans.len() as u32);
        cap
    };
    let ev = run(&build(&line(PHONE_A)), &Config::default());
    assert_eq!(hashes(&ev), BTreeSet::from([hash_hex(PHONE_A)]));
    assert!(anomalies(&ev).is_empty(), "{:?}", anomalies(&ev));
    let ev = run(&build(&line(PHONE_B)), &Config::default());
    assert_eq!(kinds(&ev), vec![pair("stream", "overlap_diff")]);
}

/// A RST inside the window that carries data: the receiver's stack drops
/// the payload, but it did cross the wire in clear, so it is inspected
/// (conservative for DLP) and the flow ends.
#[test]
fn rst_with_data_is_inspected_and_ends_the_flow() {
    let mut cap = Capture::new();
    let c = Conn::new(40108, 600);
    c.handshake(&mut cap);
    c.c(&mut cap, 0, b"hello\n");
    cap.push(&c.c_seg(6, RST | ACK), &line(PHONE_A));
    c.c(&mut cap, 6 + line(PHONE_A).len() as u32, &line(PHONE_B));
    let ev = run(&cap, &Config::default());
    let h = hashes(&ev);
    assert!(h.contains(&hash_hex(PHONE_A)), "RST payload inspected");
    assert!(!h.contains(&hash_hex(PHONE_B)), "nothing after the RST");
}

// ------------------------------------------------------------ fragments

/// An Ethernet/IPv4 fragment: `off8` in 8-byte units.
fn ip_fragment(id: u16, proto: u8, off8: u16, more: bool, payload: &[u8]) -> Vec<u8> {
    let total = 20 + payload.len();
    let flags = off8 | if more { 0x2000 } else { 0 };
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&(total as u16).to_be_bytes());
    ip.extend_from_slice(&id.to_be_bytes());
    ip.extend_from_slice(&flags.to_be_bytes());
    ip.extend_from_slice(&[64, proto, 0, 0, 192, 0, 2, 7, 192, 0, 2, 9]);
    let sum = fold(sum16(&ip));
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend_from_slice(&ip);
    f.extend_from_slice(payload);
    f
}

/// A tiny first fragment (TCP header split), a UDP datagram whose
/// fragments overlap with other data, and a truncated frame.
fn fragment_capture(cap: &mut Capture) {
    cap.push_frame(ip_fragment(
        1,
        6,
        0,
        true,
        &[0x9c, 0x40, 0x23, 0x28, 0, 0, 0, 1],
    ));
    let mut udp = vec![0x9c, 0x41, 0x02, 0x02, 0, 24, 0, 0];
    udp.extend_from_slice(b"AAAAAAAA");
    cap.push_frame(ip_fragment(2, 17, 0, true, &udp));
    cap.push_frame(ip_fragment(2, 17, 1, true, b"BBBBBBBB"));
    cap.push_frame(ip_fragment(2, 17, 2, false, b"CCCCCCCC"));
    cap.push_frame(vec![
        2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0,
    ]);
}

#[test]
fn fragment_and_decode_anomalies_are_reported() {
    let mut cap = Capture::new();
    fragment_capture(&mut cap);
    let ev = run(&cap, &Config::default());
    let k = kinds(&ev);
    for want in [
        pair("defrag", "tiny_fragment"),
        pair("defrag", "frag_overlap_diff"),
        pair("decode", "truncated"),
    ] {
        assert!(k.contains(&want), "{want:?} in {k:?}");
    }
    let tiny = anomalies(&ev)
        .into_iter()
        .find(|e| e["anomaly"]["event"] == "tiny_fragment")
        .unwrap();
    assert_eq!(tiny["src_ip"], "192.0.2.7");
    assert_eq!(tiny["dest_ip"], "192.0.2.9");
    assert!(tiny.get("flow_id").is_none());
}

#[test]
fn packet_anomalies_are_rate_limited_per_kind() {
    let mut cap = Capture::new();
    for _ in 0..10 {
        cap.push_frame(vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45]);
    }
    let mut cfg = Config::default();
    cfg.output.anomaly_rate = 3;
    let ev = run(&cap, &cfg);
    assert_eq!(anomalies(&ev).len(), 3);
    assert_eq!(stats(&ev)["anomaly"]["packet_over_rate_total"], 7);
    assert_eq!(stats(&ev)["decoder"]["errors"]["truncated_total"], 10);
}

#[test]
fn per_flow_cap_and_switch_off() {
    // Two kinds in one flow: an overlap and an out-of-window RST.
    let mut cap = Capture::new();
    let mut c = Conn::new(40109, 10);
    c.handshake(&mut cap);
    c.c(&mut cap, 0, &line(PHONE_A));
    c.c(&mut cap, 0, &line(PHONE_B));
    c.s_ack(&mut cap, line(PHONE_A).len() as u32);
    cap.push(&c.c_seg(300_000, RST), b"");
    c.close(&mut cap, line(PHONE_A).len() as u32);
    assert_eq!(anomalies(&run(&cap, &Config::default())).len(), 2);
    let mut cfg = Config::default();
    cfg.output.anomaly_max_per_flow = 1;
    let ev = run(&cap, &cfg);
    assert_eq!(anomalies(&ev).len(), 1);
    assert_eq!(stats(&ev)["anomaly"]["stream_over_flow_cap_total"], 1);
    cfg.output.anomaly_events = false;
    let ev = run(&cap, &cfg);
    assert!(anomalies(&ev).is_empty());
    assert_eq!(
        stats(&ev)["reassembly"]["overlap_diff_total"],
        1,
        "still counted"
    );
}

/// Stream anomalies from the workers and packet anomalies from the reader
/// sort into the output the same way with 1 and 4 workers.
#[test]
fn anomaly_output_is_identical_with_1_and_4_workers() {
    let mut cap = Capture::new();
    for i in 0..12u16 {
        let mut c = Conn::new(41000 + i, 100 * u32::from(i));
        c.handshake(&mut cap);
        c.c(&mut cap, 0, &line(PHONE_A));
        c.c(&mut cap, 0, &line(PHONE_B));
        c.close(&mut cap, line(PHONE_A).len() as u32);
        if i % 4 == 0 {
            fragment_capture(&mut cap);
        }
    }
    let strip = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .filter(|l| !l.contains(r#""event_type":"stats""#))
            .collect()
    };
    let one = strip(run_lines(&cap, &Config::default(), 1));
    let four = strip(run_lines(&cap, &Config::default(), 4));
    assert!(one.iter().filter(|l| l.contains("anomaly")).count() >= 12 + 9);
    assert_eq!(one, four);
}
