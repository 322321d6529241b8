//! End-to-end for the IP and link layer: real kernel IP fragments (IPv4 and
//! IPv6) and real captures wrapped in tunnels (GRE, ERSPAN I/II/III, VXLAN,
//! MPLS, IPv4-in-IPv6, nested VXLAN-in-GRE with a VLAN) must give exactly
//! the findings of their ground truth, with no PI in clear.

mod common;

use common::*;
use leakwatch::config::Config;

fn check_against_truth(name: &str) -> serde_json::Value {
    let truth = Truth::load(&pcap(&format!("{name}.truth.json")));
    let lines = replay(&[pcap(&format!("{name}.pcap"))], 2);
    let events = parse(&lines);
    let got = reported(&events);
    let (want, values) = truth.expected();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty(),
        "{name}: true values not reported: {missing:#?}"
    );
    assert!(
        extra.is_empty(),
        "{name}: values reported that are not in the truth: {extra:#?}"
    );
    for d in truth.decoys() {
        let h = hash_hex(&d);
        assert!(!got.iter().any(|r| r.3 == h), "{name}: decoy reported");
    }
    assert_no_clear_pi(&lines, &values);
    let stats = events.last().expect("a stats event").clone();
    assert_eq!(stats["event_type"], "stats");
    stats["stats"].clone()
}

fn decode_errors(stats: &serde_json::Value) -> u64 {
    let errors = stats["decoder"]["errors"]
        .as_object()
        .expect("errors object");
    errors
        .iter()
        .filter(|(k, _)| *k != "not_ip_total")
        .map(|(_, v)| v.as_u64().unwrap_or(0))
        .sum()
}

#[test]
fn kernel_fragmented_udp_ipv4_and_ipv6() {
    let stats = check_against_truth("udp_fragments");
    let defrag = &stats["defrag"];
    // 4 IPv4 and 2 IPv6 datagrams of 3-4 fragments each.
    assert_eq!(defrag["reassembled_total"], 6, "{defrag}");
    assert_eq!(defrag["fragments_total"], 23, "{defrag}");
    assert_eq!(defrag["timeout_total"], 0);
    assert_eq!(decode_errors(&stats), 0, "{stats}");
}

#[test]
fn tunnels_give_the_inner_findings() {
    for kind in [
        "gre", "erspan1", "erspan2", "erspan3", "vxlan", "mpls", "ipip6", "nested",
    ] {
        let stats = check_against_truth(&format!("tunnels_{kind}"));
        assert_eq!(decode_errors(&stats), 0, "{kind}: {stats}");
        assert!(
            stats["decoder"]["tcp_total"].as_u64().unwrap_or(0) > 10,
            "{kind}"
        );
    }
}

#[test]
fn fragments_inside_vxlan() {
    let stats = check_against_truth("tunnels_vxlan_fragments");
    assert_eq!(stats["defrag"]["reassembled_total"], 6);
}

#[test]
fn checksum_validation_drops_nothing_in_clean_captures() {
    // The tunnel captures have valid outer and inner checksums, except
    // fragments rewritten by tcprewrite: only the http capture is used.
    let mut cfg = Config::default();
    cfg.decode.validate_checksums = true;
    let (lines, res) = replay_with(&cfg, &[pcap("tunnels_gre.pcap")], 1);
    res.expect("replay");
    let events = parse(&lines);
    let stats = &events.last().expect("stats")["stats"];
    let bad = &stats["decoder"]["checksum_bad"];
    assert_eq!(bad["ipv4_total"], 0, "{bad}");
    assert_eq!(bad["tcp_total"], 0, "{bad}");
    assert!(events.iter().any(|e| e["event_type"] == "dlp"));
}
