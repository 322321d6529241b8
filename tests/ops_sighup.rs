//! Operations, end to end through the binary: logrotate's move + SIGHUP of
//! a file sink while `replay --realtime` (the live code path: same signal
//! handlers, control thread and sink reopen as `live`) is writing, and the
//! periodic `stats` events of that path. No root, no network.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::craft::{resident_id, Capture, Conn};
use serde_json::Value;

/// Connections in the test pcap, one resident ID each, 100 ms apart.
const CONNS: u32 = 30;

/// A pcap of `CONNS` short connections spread over 3 s of packet time.
fn spread_pcap(path: &Path) {
    let mut cap = Capture::new();
    for i in 0..CONNS {
        let id = resident_id(&format!("11010519900307{i:03}"));
        let text = format!("{{\"customer_id\":\"{id}\"}}\n").into_bytes();
        let mut c = Conn::new(40000 + i as u16, 1000 * i);
        c.handshake(&mut cap);
        c.c(&mut cap, 0, &text);
        c.close(&mut cap, text.len() as u32);
        cap.now += 100_000;
    }
    cap.write(path);
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn of_type<'a>(evs: &'a [Value], t: &str) -> Vec<&'a Value> {
    evs.iter().filter(|e| e["event_type"] == t).collect()
}

fn start(args: &[&str], cfg: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_leakwatch"))
        .args(args)
        .arg("--config")
        .arg(cfg)
        .env("LEAKWATCH_HASH_KEY", "ops-test-key-0123456789")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start leakwatch")
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill {sig}");
}

/// Waits until `path` holds at least `n` `dlp` events (10 s at most).
fn wait_dlp(path: &Path, n: usize) {
    let until = Instant::now() + Duration::from_secs(10);
    while of_type(&lines(path), "dlp").len() < n {
        assert!(Instant::now() < until, "no {n} dlp events in time");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sighup_after_a_move_reopens_the_file_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("spread.pcap");
    spread_pcap(&pcap);
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[output]\nstats_interval = 1\n[live]\n").unwrap();
    let eve = dir.path().join("eve.json");
    let moved = dir.path().join("eve.json.1");
    let p = pcap.to_str().unwrap();
    let e = eve.to_str().unwrap();
    let child = start(&["replay", "--realtime", p, "--eve", e], &cfg);
    wait_dlp(&eve, 3);
    std::fs::rename(&eve, &moved).unwrap(); // what logrotate does
    signal(&child, "-HUP");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(eve.exists(), "SIGHUP did not create a new file");

    let old = lines(&moved);
    let new = lines(&eve);
    let (old_dlp, new_dlp) = (of_type(&old, "dlp"), of_type(&new, "dlp"));
    assert!(
        old_dlp.len() >= 3,
        "events before the move stay in the moved file"
    );
    assert!(!new_dlp.is_empty(), "events continue in the new file");
    assert_eq!(old_dlp.len() + new_dlp.len(), CONNS as usize, "{stderr}");
    let ids: Vec<&str> = old
        .iter()
        .chain(&new)
        .map(|v| v["event_id"].as_str().expect("event_id"))
        .collect();
    let distinct: BTreeSet<&&str> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "an event was written twice");
    let last = new.last().expect("events in the new file");
    assert_eq!(
        last["event_type"], "stats",
        "the final stats ends the new file"
    );
    assert!(last["stats"].get("periodic").is_none());
}

#[test]
fn realtime_writes_periodic_stats_in_the_one_schema() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("spread.pcap");
    spread_pcap(&pcap);
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[output]\nstats_interval = 1\n[live]\n").unwrap();
    let eve = dir.path().join("eve.json");
    let p = pcap.to_str().unwrap();
    let child = start(
        &["replay", "--realtime", p, "--eve", eve.to_str().unwrap()],
        &cfg,
    );
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let evs = lines(&eve);
    let periodic: Vec<&Value> = of_type(&evs, "stats")
        .into_iter()
        .filter(|e| e["stats"]["periodic"] == true)
        .collect();
    assert!(periodic.len() >= 2, "3 s at 1 s intervals");
    let s = &periodic[periodic.len() - 1]["stats"];
    assert_eq!(s["clock"], "wall");
    assert!(s["capture"]["packets_total"].as_u64().unwrap() > 0);
    assert_eq!(s["capture"]["drops_total"], 0);
    assert!(s["capture"]["interfaces"].is_array());
    assert!(s["flow"]["flows_total"].as_u64().unwrap() > 0);
    assert_eq!(s["reload"]["failed_total"], 0);
    assert_eq!(s["sinks"][0]["type"], "file");
    assert_eq!(s["seq"], periodic.len() as u64);
}
