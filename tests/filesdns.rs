//! Legacy Office files, GBK text uploads, the worker-wide file memcap and
//! DNS over TCP naming, on real captures (`pcaps/filesdns_*.pcap`, built by
//! `pcaps/make_filesdns.sh`): planted values found where the truth says,
//! one `fileinfo` per file with the right type and hash, and the same
//! output with 1 and 4 workers.

mod common;

use common::{check_against_truth, hash_hex, parse, pcap, replay_with, Truth};
use leakwatch::config::Config;
use serde_json::Value;

fn events(cfg: &Config, name: &str, workers: usize) -> (Vec<String>, Vec<Value>) {
    let (lines, res) = replay_with(cfg, &[pcap(&format!("{name}.pcap"))], workers);
    if let Err(e) = res {
        panic!("replay of {name} failed: {e}");
    }
    let ev = parse(&lines);
    (lines, ev)
}

fn non_stats(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .filter(|l| !l.contains("\"event_type\":\"stats\""))
        .collect()
}

#[test]
fn legacy_office_and_gbk_uploads() {
    let truth = Truth::load(&pcap("filesdns_files.truth.json"));
    for w in [1, 4] {
        let stats = check_against_truth("filesdns_files", w);
        assert_eq!(
            stats["file_tracking"]["extracted_total"].as_u64(),
            Some(
                truth.json["files"]
                    .as_array()
                    .map_or(0, |f| f.len() as u64 - 1)
            ),
            "xls and doc unpacked"
        );
    }
    let (_, ev) = events(&Config::default(), "filesdns_files", 1);
    let infos: Vec<&Value> = ev
        .iter()
        .filter(|e| e["event_type"] == "fileinfo")
        .collect();
    let want = truth.json["files"].as_array().expect("files");
    assert_eq!(infos.len(), want.len());
    for f in want {
        let e = infos
            .iter()
            .find(|e| e["fileinfo"]["sha256"] == f["sha256"])
            .unwrap_or_else(|| panic!("no fileinfo for {}", f["name"]));
        let fi = &e["fileinfo"];
        assert_eq!(fi["magic"], f["magic"], "{}", f["name"]);
        assert_eq!(fi["size"], f["size"], "{}", f["name"]);
        assert_eq!(fi["complete"], true);
        assert_eq!(e["src_port"], f["client_port"]);
        let found: usize = fi["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| x["values"].as_array().map_or(0, Vec::len))
            .sum();
        assert_eq!(Some(found as u64), f["findings"].as_u64(), "{}", f["name"]);
    }
    // The landline's only context word is Chinese ("联系电话"): high
    // confidence shows it was read after transcoding.
    let landline = truth.json["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["type"] == "cn_landline")
        .expect("landline planted");
    let hash = hash_hex(landline["value"].as_str().expect("value"));
    let finding = ev
        .iter()
        .filter(|e| e["event_type"] == "dlp")
        .flat_map(|e| e["findings"].as_array().cloned().unwrap_or_default())
        .find(|f| f.to_string().contains(&hash))
        .expect("landline finding");
    assert_eq!(finding["confidence"], "high", "{finding}");
}

#[test]
fn worker_memcap_is_noted_and_counted() {
    let mut cfg = Config::default();
    cfg.files.memcap = 4096; // smaller than the .xls and .doc
    let (_, ev) = events(&cfg, "filesdns_files", 1);
    let xls = ev
        .iter()
        .find(|e| e["fileinfo"]["magic"] == "ole")
        .expect("the .xls is typed but not unpacked");
    assert_eq!(xls["fileinfo"]["limits_hit"], serde_json::json!(["memcap"]));
    let stats = &ev.last().expect("stats")["stats"];
    assert_eq!(stats["file_tracking"]["limits_hit"]["memcap"], 2);
    assert_eq!(stats["file_tracking"]["extracted_total"], 0);
}

#[test]
fn dns_over_tcp_names_the_destination() {
    let truth = Truth::load(&pcap("filesdns_dns_tcp.truth.json"));
    let mut out = Vec::new();
    for w in [1, 4] {
        let stats = check_against_truth("filesdns_dns_tcp", w);
        assert_eq!(stats["dns_names"]["tcp_messages_total"], 1, "{stats}");
        assert_eq!(stats["dns_names"]["responses_total"], 1);
        let mut cfg = Config::default();
        cfg.output.flow_events = true;
        let (lines, ev) = events(&cfg, "filesdns_dns_tcp", w);
        for f in truth.json["findings"].as_array().into_iter().flatten() {
            let hash = hash_hex(f["value"].as_str().expect("value"));
            let e = ev
                .iter()
                .filter(|e| e["event_type"] == "dlp")
                .find(|e| e.to_string().contains(&hash))
                .expect("dlp event");
            assert_eq!(e["dest_name"], f["dest_name"]);
        }
        out.push(non_stats(lines));
    }
    assert_eq!(out[0], out[1], "same output with 1 and 4 workers");
}

#[test]
fn ja4s_on_flow_events() {
    let mut cfg = Config::default();
    cfg.output.flow_events = true;
    let (_, ev) = events(&cfg, "tls_sni", 1);
    let tls = ev
        .iter()
        .find(|e| e["event_type"] == "flow" && e["tls"].is_object())
        .map(|e| &e["tls"])
        .expect("a flow with a tls object");
    let ja4s = tls["ja4s"].as_str().expect("ja4s");
    let cipher = tls["cipher"].as_str().expect("cipher");
    // t13 + extension count + ALPN (TLS 1.3 sends the selected ALPN in
    // the encrypted extensions, so `00`) _ cipher _ hash.
    let parts: Vec<&str> = ja4s.split('_').collect();
    assert_eq!(parts.len(), 3, "{ja4s}");
    assert!(
        parts[0].starts_with("t13") && parts[0].ends_with("00"),
        "{ja4s}"
    );
    assert_eq!(format!("0x{}", parts[1]), cipher);
    assert_eq!(parts[2].len(), 12);
}
