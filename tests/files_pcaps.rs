//! Files and FTP on real captures (`pcaps/files_*.pcap`, built by
//! `pcaps/make_files.sh`): every planted value found where the truth says
//! (inside docx/xlsx/PDF/zip, FTP credentials and data connections), one
//! `fileinfo` event per file with the right type, size and SHA-256, and
//! the same output with 1 and 4 workers.

mod common;

use common::{check_against_truth, parse, pcap, replay, Truth};
use leakwatch::config::Config;
use serde_json::Value;

fn non_stats(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| !l.contains("\"event_type\":\"stats\""))
        .cloned()
        .collect()
}

/// Each file of the truth has exactly one matching `fileinfo` event.
fn check_files(name: &str, workers: usize) {
    let truth = Truth::load(&pcap(&format!("{name}.truth.json")));
    let events = parse(&replay(&[pcap(&format!("{name}.pcap"))], workers));
    let infos: Vec<&Value> = events
        .iter()
        .filter(|e| e["event_type"] == "fileinfo")
        .collect();
    let want = truth.json["files"].as_array().expect("truth files");
    assert_eq!(infos.len(), want.len(), "{name}: fileinfo events");
    for f in want {
        let sha = f["sha256"].as_str().expect("sha256");
        let ev = infos
            .iter()
            .find(|e| e["fileinfo"]["sha256"] == sha)
            .unwrap_or_else(|| panic!("{name}: no fileinfo for {}", f["name"]));
        let fi = &ev["fileinfo"];
        assert_eq!(fi["magic"], f["magic"], "{}", f["name"]);
        assert_eq!(fi["size"], f["size"], "{}", f["name"]);
        assert_eq!(fi["complete"], true, "{}", f["name"]);
        assert_eq!(fi["filename"], f["name"], "{}: names hold no PI", f["name"]);
        assert_eq!(ev["app_proto"], f["app_proto"], "{}", f["name"]);
        assert_eq!(ev["direction"], f["direction"], "{}", f["name"]);
        let port = if f["direction"] == "to_server" {
            "dest_port"
        } else {
            "src_port"
        };
        assert_eq!(ev[port], f["dest_port"], "{}", f["name"]);
        let found: usize = fi["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| x["values"].as_array().map_or(0, Vec::len))
            .sum();
        assert_eq!(
            Some(found as u64),
            f["findings"].as_u64(),
            "{}: PI in the file",
            f["name"]
        );
        assert!(fi["md5"].as_str().is_some_and(|m| m.len() == 32));
    }
}

#[test]
fn http_uploads_and_download_are_files() {
    for w in [1, 4] {
        let stats = check_against_truth("files_http", w);
        assert_eq!(stats["file_tracking"]["fileinfo_events"], 4);
        check_files("files_http", w);
    }
}

#[test]
fn ftp_transfers_are_linked_to_their_session() {
    for w in [1, 4] {
        let stats = check_against_truth("files_ftp", w);
        assert_eq!(
            stats["file_tracking"]["ftp_data_linked"], 3,
            "PASV, PASV, PORT"
        );
        assert_eq!(stats["file_tracking"]["ftp_route"]["announced"], 3);
        check_files("files_ftp", w);
    }
    let events = parse(&replay(&[pcap("files_ftp.pcap")], 1));
    let modes: Vec<&str> = events
        .iter()
        .filter(|e| e["event_type"] == "fileinfo")
        .filter_map(|e| e["ftp"]["data_mode"].as_str())
        .collect();
    assert_eq!(modes, vec!["passive", "passive", "active"]);
}

#[test]
fn output_is_identical_with_1_and_4_workers() {
    for name in ["files_http", "files_ftp"] {
        let p = [pcap(&format!("{name}.pcap"))];
        let one = non_stats(&replay(&p, 1));
        let four = non_stats(&replay(&p, 4));
        assert!(one.iter().any(|l| l.contains("\"fileinfo\"")));
        assert_eq!(one, four, "{name}: output differs between 1 and 4 workers");
    }
}

#[test]
fn small_buffer_bound_is_noted_and_counted() {
    let cfg = Config::parse("[files]\nmax_buffer = 150\n").expect("config");
    let (lines, res) = common::replay_with(&cfg, &[pcap("files_http.pcap")], 2);
    res.expect("replay");
    let events = parse(&lines);
    let limited = events
        .iter()
        .filter(|e| e["event_type"] == "fileinfo")
        .filter(|e| e["fileinfo"]["limits_hit"][0] == "file_buffer")
        .count();
    assert_eq!(limited, 4, "docx, xlsx, pdf and zip exceed 150 bytes");
    let stats = &events.last().expect("stats")["stats"];
    assert_eq!(stats["file_tracking"]["limits_hit"]["file_buffer"], 4);
}
