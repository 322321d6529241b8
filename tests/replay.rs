//! End-to-end: replay the real captures in `pcaps/` and compare the events
//! with each capture's ground truth: every true value found, in the right
//! direction and place; nothing else reported (no decoy); no PI in clear;
//! the same output with 1 and 4 workers.

mod common;

use common::*;

fn non_stats(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| !l.contains("\"event_type\":\"stats\""))
        .cloned()
        .collect()
}

#[test]
fn http_form_and_json_posts() {
    check_against_truth("http_form_json", 1);
}

#[test]
fn raw_tcp_values_split_across_tiny_segments() {
    check_against_truth("raw_tcp_segments", 1);
}

#[test]
fn reordered_lost_and_duplicated_segments() {
    check_against_truth("reorder_loss_dup", 1);
}

#[test]
fn benign_capture_full_of_decoys_reports_nothing() {
    check_against_truth("benign_decoys", 1);
}

#[test]
fn udp_payloads() {
    check_against_truth("udp_payload", 1);
}

#[test]
fn output_is_identical_with_1_and_4_workers() {
    for name in [
        "http_form_json",
        "raw_tcp_segments",
        "reorder_loss_dup",
        "udp_payload",
    ] {
        let one = non_stats(&replay(&[pcap(&format!("{name}.pcap"))], 1));
        let four = non_stats(&replay(&[pcap(&format!("{name}.pcap"))], 4));
        assert!(!one.is_empty(), "{name}: no events");
        assert_eq!(one, four, "{name}: output differs between 1 and 4 workers");
    }
}

#[test]
fn a_directory_is_one_capture_in_timestamp_order() {
    let lines = replay(&[pcap("split")], 2);
    let events = parse(&lines);
    let ts: Vec<&str> = events
        .iter()
        .filter(|e| e["event_type"] == "dlp")
        .filter_map(|e| e["timestamp"].as_str())
        .collect();
    assert!(ts.len() >= 2, "events from both files");
    let mut sorted = ts.clone();
    sorted.sort();
    assert_eq!(ts, sorted, "events in timestamp order");
    let stats = &events.last().expect("stats")["stats"];
    assert_eq!(stats["files"].as_array().map(Vec::len), Some(2));
}

#[test]
fn flow_events_summarise_every_flow_when_enabled() {
    let mut cfg = leakwatch::config::Config::default();
    cfg.output.flow_events = true;
    let (lines, res) = replay_with(&cfg, &[pcap("reorder_loss_dup.pcap")], 2);
    let stats = res.expect("replay");
    let events = parse(&lines);
    let flows: Vec<_> = events
        .iter()
        .filter(|e| e["event_type"] == "flow")
        .collect();
    assert_eq!(flows.len() as u64, stats.flow.flows_total);
    let f = &flows[0]["flow"];
    assert!(f["pkts_toserver"].as_u64().unwrap_or(0) > 10);
    assert!(f["bytes_toclient"].as_u64().unwrap_or(0) > 100_000);
    assert_eq!(f["reason"], "shutdown");
    assert_eq!(flows[0]["dest_port"], 9100, "src is the client");
}

#[test]
fn http_events_carry_the_transaction() {
    let events = parse(&replay(&[pcap("http_form_json.pcap")], 1));
    let dlp: Vec<_> = events.iter().filter(|e| e["event_type"] == "dlp").collect();
    assert!(!dlp.is_empty());
    for e in dlp {
        assert_eq!(e["app_proto"], "http");
        assert_eq!(e["dest_name"], "shop.example.cn");
        assert_eq!(e["http"]["http_method"], "POST");
        assert!(e["http"]["url"].is_string());
        if e["direction"] == "to_client" {
            assert_eq!(e["http"]["status"], 200);
        }
    }
}
