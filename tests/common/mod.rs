//! Shared helpers for the integration tests: replay a capture in-process
//! and check the events against the capture's ground-truth file.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use leakwatch::alert::{AlertSink, ValueHasher};
use leakwatch::config::Config;
use leakwatch::pipeline::{self, ReplayError, RunStats, Sensor};
use serde_json::Value;

/// Key used by every test replay.
pub const TEST_KEY: &[u8] = b"leakwatch-test-key-0123456789";

/// Collects events in memory.
#[derive(Default)]
pub struct VecSink(pub Vec<String>);

impl AlertSink for VecSink {
    fn write_event(&mut self, json: &str) -> std::io::Result<()> {
        self.0.push(json.to_string());
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn pcap(name: &str) -> PathBuf {
    root().join("pcaps").join(name)
}

/// The sensor for `cfg`, with the repo's signatures unless `cfg` names others.
pub fn sensor(cfg: &Config) -> Sensor {
    let mut cfg = cfg.clone();
    if cfg.signatures.is_relative() {
        cfg.signatures = root().join(&cfg.signatures);
    }
    Sensor::build(&cfg, None, TEST_KEY).unwrap_or_else(|e| panic!("sensor: {e}"))
}

/// Replays inputs with `workers` workers; returns the event lines and stats.
pub fn replay_with(
    cfg: &Config,
    inputs: &[PathBuf],
    workers: usize,
) -> (Vec<String>, Result<RunStats, ReplayError>) {
    let mut cfg = cfg.clone();
    cfg.workers = workers;
    let mut sink = VecSink::default();
    let res = pipeline::replay(&cfg, &sensor(&cfg), inputs, &mut sink);
    (sink.0, res)
}

pub fn replay(inputs: &[PathBuf], workers: usize) -> Vec<String> {
    let (lines, res) = replay_with(&Config::default(), inputs, workers);
    if let Err(e) = res {
        panic!("replay of {inputs:?} failed: {e}");
    }
    lines
}

pub fn parse(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect()
}

pub fn hash_hex(value: &str) -> String {
    hex::encode(ValueHasher::new(TEST_KEY).hash(value.as_bytes()))
}

/// One reported value: (type, direction, where, hash, server port).
pub type Reported = (String, String, String, String, u64);

pub fn reported(events: &[Value]) -> BTreeSet<Reported> {
    let mut out = BTreeSet::new();
    for e in events.iter().filter(|e| e["event_type"] == "dlp") {
        let dir = e["direction"].as_str().unwrap_or_default().to_string();
        let port_field = if dir == "to_server" {
            "dest_port"
        } else {
            "src_port"
        };
        let server_port = e[port_field].as_u64().unwrap_or_default();
        for f in e["findings"].as_array().into_iter().flatten() {
            for v in f["values"].as_array().into_iter().flatten() {
                out.insert((
                    f["type"].as_str().unwrap_or_default().to_string(),
                    dir.clone(),
                    // The location, without the decoding chain (`|...`).
                    f["where"]
                        .as_str()
                        .unwrap_or_default()
                        .split('|')
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                    v["hash"].as_str().unwrap_or_default().to_string(),
                    server_port,
                ));
            }
        }
    }
    out
}

/// Ground truth of a pcap (`pcaps/NAME.truth.json`).
pub struct Truth {
    pub json: Value,
}

impl Truth {
    pub fn load(path: &Path) -> Truth {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Truth {
            json: serde_json::from_str(&text).expect("truth is JSON"),
        }
    }

    /// Expected (type, direction, where, hash) and the clear values.
    pub fn expected(&self) -> (BTreeSet<Reported>, Vec<String>) {
        let mut set = BTreeSet::new();
        let mut values = Vec::new();
        for f in self.json["findings"].as_array().into_iter().flatten() {
            let value = f["value"].as_str().expect("truth value").to_string();
            set.insert((
                f["type"].as_str().expect("truth type").to_string(),
                f["direction"]
                    .as_str()
                    .expect("truth direction")
                    .to_string(),
                // Compared without the decoding chain, as reported ones.
                f["where"]
                    .as_str()
                    .unwrap_or("tcp.stream")
                    .split('|')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                hash_hex(&value),
                f["dest_port"]
                    .as_u64()
                    .expect("truth dest_port (server port)"),
            ));
            values.push(value);
        }
        (set, values)
    }

    pub fn decoys(&self) -> Vec<String> {
        self.json["decoys"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d.as_str().map(str::to_string))
            .collect()
    }
}

/// Asserts that no clear value appears anywhere in the output.
pub fn assert_no_clear_pi(lines: &[String], values: &[String]) {
    let all = lines.join("\n");
    for v in values {
        assert!(
            !all.contains(v.as_str()),
            "clear PI value leaked into the output"
        );
    }
}
pub mod craft;
pub mod transcript;

/// Replays `pcaps/NAME.pcap` with `workers` workers and checks it against
/// `pcaps/NAME.truth.json`: every true value reported (type, direction,
/// location, server port), nothing else, no decoy, no PI in clear. Returns
/// the `stats` object.
pub fn check_against_truth(name: &str, workers: usize) -> Value {
    let truth = Truth::load(&pcap(&format!("{name}.truth.json")));
    let lines = replay(&[pcap(&format!("{name}.pcap"))], workers);
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
    let stats = events.last().expect("a stats event");
    assert_eq!(stats["event_type"], "stats");
    stats["stats"].clone()
}

/// `leakwatch scan -` of `input` with the shipped signatures: its one event.
pub fn scan_stdin(input: &[u8]) -> Value {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_leakwatch"))
        .args(["scan", "--signatures"])
        .arg(root().join("signatures"))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write");
    let o = child.wait_with_output().expect("wait");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(out.lines().count(), 1, "{out}");
    serde_json::from_str(out.trim()).expect("json")
}
