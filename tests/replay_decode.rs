//! End-to-end for the IP and link layer: real kernel IP fragments (IPv4 and
//! IPv6) and real captures wrapped in tunnels (GRE, ERSPAN I/II/III, VXLAN,
//! MPLS, IPv4-in-IPv6, nested VXLAN-in-GRE with a VLAN) must give exactly
//! the findings of their ground truth, with no PI in clear.

mod common;

use common::*;
use leakwatch::config::Config;

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
    let stats = check_against_truth("udp_fragments", 2);
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
        let stats = check_against_truth(&format!("tunnels_{kind}"), 2);
        assert_eq!(decode_errors(&stats), 0, "{kind}: {stats}");
        assert!(
            stats["decoder"]["tcp_total"].as_u64().unwrap_or(0) > 10,
            "{kind}"
        );
    }
}

#[test]
fn fragments_inside_vxlan() {
    let stats = check_against_truth("tunnels_vxlan_fragments", 2);
    assert_eq!(stats["defrag"]["reassembled_total"], 6);
}

#[test]
fn checksum_validation_drops_nothing_in_clean_captures() {
    // Real kernel checksums (kept valid by tcprewrite --fixcsum and by
    // encap.py): validation must accept every packet and reassembled
    // datagram, IPv4 and IPv6, and still find everything.
    let mut cfg = Config::default();
    cfg.decode.validate_checksums = true;
    for name in ["tunnels_gre", "tunnels_ipip6", "udp_fragments"] {
        let (lines, res) = replay_with(&cfg, &[pcap(&format!("{name}.pcap"))], 1);
        res.expect("replay");
        let events = parse(&lines);
        let stats = &events.last().expect("stats")["stats"];
        let bad = &stats["decoder"]["checksum_bad"];
        for layer in ["ipv4_total", "tcp_total", "udp_total"] {
            assert_eq!(bad[layer], 0, "{name}: {bad}");
        }
        let truth = Truth::load(&pcap(&format!("{name}.truth.json")));
        assert_eq!(reported(&events), truth.expected().0, "{name}");
    }
}

/// Ones' complement checksum of `b`.
fn csum(b: &[u8]) -> u16 {
    craft::fold(craft::sum16(b))
}

/// Ethernet + IPv4 fragment 10.20.1.15 -> 198.51.100.80 (UDP, id 0x4242)
/// with a correct header checksum unless `bad_csum`.
fn fragment(off: usize, more: bool, data: &[u8], bad_csum: bool) -> Vec<u8> {
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&((20 + data.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&[0x42, 0x42]);
    ip.extend_from_slice(&(((off / 8) as u16) | if more { 0x2000 } else { 0 }).to_be_bytes());
    ip.extend_from_slice(&[64, 17, 0, 0, 10, 20, 1, 15, 198, 51, 100, 80]);
    let c = csum(&ip) ^ u16::from(bad_csum);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(data);
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
    f.extend_from_slice(&ip);
    f
}

/// A classic pcap of Ethernet `frames`, 1 ms apart.
fn write_pcap(path: &std::path::Path, frames: &[Vec<u8>]) {
    let start = craft::Capture::new().now;
    let frames = (0u64..)
        .zip(frames)
        .map(|(i, f)| (start + i * 1000, f.clone()));
    craft::Capture {
        frames: frames.collect(),
        now: 0,
    }
    .write(path);
}

/// Classic fragment evasion: a fragment with a bad IP checksum, which the
/// receiver drops, arrives first and overlaps the real data with junk.
/// With validation on we drop it too and see what the receiver saw.
#[test]
fn bad_checksum_fragment_cannot_hide_data() {
    let truth = Truth::load(&pcap("udp_fragments.truth.json"));
    let id = truth.json["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["type"] == "cn_resident_id"))
        .and_then(|f| f["value"].as_str())
        .expect("an id in the truth")
        .to_string();
    let text = format!("kyc-svc[311]: record verified idcard={id} ok\n");
    let mut body = text.into_bytes();
    body.resize(96, b' ');
    // UDP 41700 -> 5515 with a correct checksum.
    let mut udp = vec![0xa2, 0xe4, 0x15, 0x8b];
    udp.extend_from_slice(&((8 + body.len()) as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(&body);
    let mut pseudo = vec![10, 20, 1, 15, 198, 51, 100, 80, 0, 17];
    pseudo.extend_from_slice(&(udp.len() as u16).to_be_bytes());
    pseudo.extend_from_slice(&udp);
    let c = csum(&pseudo);
    udp[6..8].copy_from_slice(&c.to_be_bytes());
    let junk = vec![b'x'; 48];
    let frames = vec![
        fragment(48, true, &junk, true), // the decoy: bad checksum
        fragment(0, true, &udp[..48], false),
        fragment(48, true, &udp[48..96], false),
        fragment(96, false, &udp[96..], false),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("evasion.pcap");
    write_pcap(&path, &frames);
    let hash = hash_hex(&id);
    let run = |validate: bool| {
        let mut cfg = Config::default();
        cfg.decode.validate_checksums = validate;
        let (lines, res) = replay_with(&cfg, std::slice::from_ref(&path), 1);
        res.expect("replay");
        assert_no_clear_pi(&lines, std::slice::from_ref(&id));
        parse(&lines)
    };
    let events = run(true);
    assert!(
        reported(&events).iter().any(|r| r.3 == hash),
        "validated: id found"
    );
    let stats = &events.last().expect("stats")["stats"];
    assert_eq!(stats["decoder"]["checksum_bad"]["ipv4_total"], 1);
    assert_eq!(stats["defrag"]["reassembled_total"], 1);
    // Without validation, first-wins takes the junk: the id is hidden, but
    // the differing overlap is counted.
    let events = run(false);
    assert!(!reported(&events).iter().any(|r| r.3 == hash), "junk won");
    let stats = &events.last().expect("stats")["stats"];
    assert_eq!(stats["defrag"]["overlap_diff_total"], 1);
}

#[test]
fn events_carry_the_outer_tunnel() {
    for (name, kind) in [
        ("tunnels_vxlan", "vxlan"),
        ("tunnels_gre", "gre"),
        ("tunnels_mpls", "mpls"),
    ] {
        let events = parse(&replay(&[pcap(&format!("{name}.pcap"))], 2));
        let dlp: Vec<_> = events.iter().filter(|e| e["event_type"] == "dlp").collect();
        assert!(!dlp.is_empty(), "{name}");
        for e in dlp {
            assert_eq!(e["tunnel"]["kind"], kind, "{name}");
            // MPLS runs over Ethernet: no outer IP to report.
            assert_eq!(
                e["tunnel"]["outer_src_ip"].is_string(),
                kind != "mpls",
                "{name}"
            );
        }
    }
}

/// `tunnels_vxlan.pcap` with its VXLAN network id (5001) changed to `vni`
/// in every frame (outer UDP checksum zeroed, which IPv4 allows), written
/// to a temporary file.
fn vxlan_with_vni(vni: u32) -> (tempfile::TempDir, std::path::PathBuf) {
    const UDP: usize = 14 + 20;
    let mut bytes = std::fs::read(pcap("tunnels_vxlan.pcap")).expect("read pcap");
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        let frame = at + 16;
        let word = frame + UDP + 8 + 4;
        assert_eq!(
            u32::from_be_bytes(bytes[word..word + 4].try_into().unwrap()),
            5001 << 8,
            "VNI where encap.py puts it"
        );
        bytes[word..word + 4].copy_from_slice(&(vni << 8).to_be_bytes());
        bytes[frame + UDP + 6..frame + UDP + 8].copy_from_slice(&[0, 0]);
        at = frame + caplen;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!("vni{vni}.pcap"));
    std::fs::write(&path, bytes).expect("write pcap");
    (dir, path)
}

#[test]
fn vxlan_tenants_with_the_same_inner_addresses_stay_apart() {
    // Two tenants send the same inner flows at the same time: each is
    // reassembled on its own and reports its own findings (merged as one
    // flow, the second tenant's segments would be taken for retransmissions).
    let single = reported(&parse(&replay(&[pcap("tunnels_vxlan.pcap")], 2)));
    assert!(!single.is_empty());
    let (_d, other) = vxlan_with_vni(5002);
    let events = parse(&replay(&[pcap("tunnels_vxlan.pcap"), other], 2));
    for vni in [5001, 5002] {
        let mine: Vec<_> = events
            .iter()
            .filter(|e| e["event_type"] == "dlp" && e["tunnel"]["vni"] == vni)
            .cloned()
            .collect();
        assert_eq!(reported(&mine), single, "tenant {vni}");
    }
}
