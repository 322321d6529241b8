//! Impaired captures from real stacks (issue 4 Proof): a client/server
//! pair exchanged one stream each way under 1 %, 5 % and 20 % reordering
//! with jitter, duplication, loss after the capture point and corruption
//! before it (`pcaps/make_scen.sh impaired`). Each receiver recorded the
//! bytes it got; the truth keeps their SHA-256 and the PI in them.
//!
//! With checksum validation on (the receiver drops corrupted copies, so
//! must the sensor) the reassembled stream of each direction
//! (`output.dump_streams`) must equal what the receiver got, and every
//! PI value it got must be reported in that direction.

mod common;

use std::path::{Path, PathBuf};

use common::{hash_hex, parse, replay_with, reported, root};
use leakwatch::config::Config;
use serde_json::Value;
use sha2::{Digest, Sha256};

const RATES: [u32; 3] = [1, 5, 20];

fn truth(rate: u32) -> Value {
    let p = root().join(format!("pcaps/scenarios/impaired_{rate}.truth.json"));
    serde_json::from_str(&std::fs::read_to_string(p).expect("truth")).expect("JSON")
}

fn pcap(rate: u32) -> PathBuf {
    root().join(format!("pcaps/scenarios/impaired_{rate}.pcap"))
}

fn config(validate: bool, dump: Option<&Path>) -> Config {
    let mut cfg = Config::default();
    cfg.decode.validate_checksums = validate;
    cfg.output.dump_streams = dump.map(Path::to_path_buf);
    cfg
}

/// The dumped stream of the direction sent from `src` to `dst`.
fn dumped(dir: &Path, src: &str, sport: u64, dst: &str, dport: u64) -> Vec<u8> {
    let suffix = format!("_{src}_{sport}_{dst}_{dport}.bin");
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dump dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(&suffix))
        .collect();
    assert_eq!(files.len(), 1, "one dump file for {suffix}: {files:?}");
    std::fs::read(&files[0]).expect("dump file")
}

fn anomaly_events<'a>(events: &'a [Value], event: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["event_type"] == "anomaly" && e["anomaly"]["event"] == event)
        .collect()
}

#[test]
fn reassembled_streams_equal_what_the_receivers_got() {
    for rate in RATES {
        let t = truth(rate);
        let obs = |k: &str| t["observed"][k].as_u64().unwrap_or(0);
        let kinds = [
            "reordered",
            "retransmitted",
            "duplicated",
            "bad_tcp_checksums",
        ];
        if rate >= 5 {
            for k in kinds {
                assert!(obs(k) > 0, "{rate} %: {k} happened");
            }
        } else {
            assert!(
                kinds.iter().map(|k| obs(k)).sum::<u64>() > 0,
                "{rate} %: impaired"
            );
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let (lines, res) = replay_with(&config(true, Some(tmp.path())), &[pcap(rate)], 1);
        res.expect("replay");
        let events = parse(&lines);
        let rep = reported(&events);
        let (cli, srv) = (
            t["client_ip"].as_str().unwrap(),
            t["server_ip"].as_str().unwrap(),
        );
        for s in t["streams"].as_array().expect("streams") {
            let (sport, dport) = (
                s["src_port"].as_u64().unwrap(),
                s["dest_port"].as_u64().unwrap(),
            );
            let to_server = s["direction"] == "to_server";
            let (src, dst) = if to_server { (cli, srv) } else { (srv, cli) };
            let bytes = dumped(tmp.path(), src, sport, dst, dport);
            let what = format!("{rate} %: {}", s["direction"]);
            assert_eq!(
                bytes.len() as u64,
                s["received_len"].as_u64().unwrap(),
                "{what}"
            );
            assert_eq!(
                hex::encode(Sha256::digest(&bytes)),
                s["received_sha256"].as_str().unwrap(),
                "{what}: reassembled == received"
            );
            let pi = s["received_pi"].as_array().expect("received_pi");
            assert!(pi.len() >= 30, "{what}: the planted values");
            for v in pi {
                let h = hash_hex(v["value"].as_str().unwrap());
                assert!(
                    rep.iter().any(|r| r.3 == h && r.1 == s["direction"]),
                    "{what}: {} reported",
                    v["type"]
                );
            }
        }
        let bad = t["observed"]["bad_tcp_checksums"].as_u64().unwrap();
        assert_eq!(
            anomaly_events(&events, "tcp_checksum").len() as u64,
            bad,
            "{rate} %: one anomaly per corrupted copy"
        );
        assert!(
            anomaly_events(&events, "overlap_diff").is_empty(),
            "{rate} %"
        );
    }
}

/// Without validation the sensor keeps the corrupted copies the receiver
/// dropped: their retransmissions differ, which is an `overlap_diff`
/// anomaly, and the stream is not what the receiver got.
#[test]
fn corrupted_copies_without_validation_show_as_overlap_anomalies() {
    let t = truth(20);
    assert!(
        t["observed"]["bad_tcp_checksums"].as_u64().unwrap() > 0,
        "corruption in the 20 % capture"
    );
    assert!(t["observed"]["reordered"].as_u64().unwrap() > 0);
    assert!(t["observed"]["duplicated"].as_u64().unwrap() > 0);
    let (lines, res) = replay_with(&config(false, None), &[pcap(20)], 1);
    res.expect("replay");
    let events = parse(&lines);
    assert!(!anomaly_events(&events, "overlap_diff").is_empty());
    assert!(anomaly_events(&events, "tcp_checksum").is_empty());
}

/// The same events with 1 and 4 workers, anomalies included.
#[test]
fn impaired_output_is_identical_with_1_and_4_workers() {
    for rate in RATES {
        for validate in [false, true] {
            let run = |w| {
                let (lines, res) = replay_with(&config(validate, None), &[pcap(rate)], w);
                res.expect("replay");
                lines
                    .into_iter()
                    .filter(|l| !l.contains(r#""event_type":"stats""#))
                    .collect::<Vec<_>>()
            };
            assert_eq!(run(1), run(4), "{rate} % validate={validate}");
        }
    }
}
