//! The command line: exit codes and error messages a user sees.

mod common;

use std::process::{Command, Output};

use common::*;

fn leakwatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leakwatch"))
        .current_dir(root())
        .env("LEAKWATCH_HASH_KEY", "cli-test-key-0123456789")
        .args(args)
        .output()
        .expect("run leakwatch")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn demo_replay_prints_dlp_events_and_stats() {
    let o = leakwatch(&["replay", "--workers", "2", "pcaps/demo.pcap"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.iter().any(|l| l.contains("\"event_type\":\"dlp\"")));
    assert!(lines
        .last()
        .is_some_and(|l| l.contains("\"event_type\":\"stats\"")));
    assert!(stderr(&o).contains("dlp events"));
}

#[test]
fn eve_option_writes_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let eve = dir.path().join("eve.json");
    let o = leakwatch(&["replay", "--eve", eve.to_str().unwrap(), "pcaps/demo.pcap"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let text = std::fs::read_to_string(&eve).expect("eve file");
    assert!(text.lines().count() >= 2);
}

#[test]
fn missing_file_names_it() {
    let o = leakwatch(&["replay", "pcaps/no-such-file.pcap"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no-such-file.pcap"), "{}", stderr(&o));
}

#[test]
fn not_a_capture_names_the_file() {
    let o = leakwatch(&["replay", "pcaps/broken/not_a_pcap.pcap"]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("not_a_pcap.pcap") && e.contains("not a pcap"),
        "{e}"
    );
}

#[test]
fn corrupt_record_names_file_and_packet_and_keeps_earlier_events() {
    let o = leakwatch(&["replay", "pcaps/broken/corrupt_record.pcap"]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("corrupt_record.pcap") && e.contains("packet 3"),
        "{e}"
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("\"event_type\":\"stats\""),
        "stats still written"
    );
}

#[test]
fn truncated_last_packet_is_a_warning() {
    let o = leakwatch(&["replay", "pcaps/broken/truncated_last.pcap"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("warning") && e.contains("truncated_last.pcap"),
        "{e}"
    );
}

#[test]
fn bad_config_names_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "workers = 1\n[flow]\nmax_flowz = 3\n").expect("write");
    let o = leakwatch(&[
        "replay",
        "--config",
        cfg.to_str().unwrap(),
        "pcaps/demo.pcap",
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("bad.toml") && e.contains("line 3") && e.contains("max_flowz"),
        "{e}"
    );
}

#[test]
fn bad_signatures_dir_is_rejected_before_reading() {
    let o = leakwatch(&[
        "replay",
        "--signatures",
        "pcaps/no-such-dir",
        "pcaps/demo.pcap",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no-such-dir"), "{}", stderr(&o));
}
