//! Delivery tests against real receivers on loopback, started here:
//! `redis-server` (skipped, with a message, when it is not installed), a
//! Unix socket listener, an HTTP server that fails and recovers, syslog and
//! TCP listeners. Receivers are killed and restarted mid-stream; every
//! event must arrive at least once, in order, with stable `event_id`s.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use leakwatch::alert::sinks::config::{SinkConfig, SinkKind, SyslogProtocol};
use leakwatch::alert::sinks::redis::{Consumer, RedisUrl};
use leakwatch::alert::{AlertSink, SinkSet};

/// Synthetic events with ids (as the output thread stamps them).
fn events(from: usize, n: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| {
            format!(r#"{{"event_id":"id-{i:04}","event_type":"dlp","severity":"high","n":{i}}}"#)
        })
        .collect()
}

fn id_of(line: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(line).expect("event is JSON");
    v["event_id"].as_str().expect("event_id").to_string()
}

/// At least once and in order: de-duplicated on event_id (first
/// occurrence), the ids must be exactly `want`.
fn assert_all_in_order(got: &[String], want: &[String]) {
    let mut seen = HashSet::new();
    let uniq: Vec<&String> = got.iter().filter(|i| seen.insert(i.as_str())).collect();
    let want_ids: Vec<String> = want.iter().map(|e| id_of(e.as_bytes())).collect();
    let uniq: Vec<String> = uniq.into_iter().cloned().collect();
    assert_eq!(uniq, want_ids, "every event, once de-duplicated, in order");
}

fn base(kind: SinkKind) -> SinkConfig {
    let mut c = SinkConfig::new(kind);
    c.backoff_min_ms = Some(10);
    c.backoff_max_ms = Some(100);
    c.timeout_ms = Some(1000);
    c.batch_size = Some(7);
    c.drain_timeout_ms = Some(10_000);
    c
}

fn write_all(set: &mut SinkSet, evs: &[String]) {
    for e in evs {
        set.write_event(e).unwrap();
    }
    set.flush().unwrap();
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ------------------------------------------------------------------ redis --

struct Redis {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Redis {
    /// Starts redis-server on loopback with an fsync-always AOF, so a
    /// SIGKILL keeps what it acknowledged. None when not installed.
    fn start(port: u16, dir: &Path) -> Option<Redis> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let r = Redis {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        wait_until("redis-server to accept connections", 10, || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Some(r)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn restart(&mut self) {
        self.kill();
        let dir = self.dir.clone();
        *self = Redis::start(self.port, &dir).expect("redis restarts");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn redis_or_skip(dir: &Path) -> Option<Redis> {
    let r = Redis::start(free_port(), dir);
    if r.is_none() {
        eprintln!("SKIPPED: redis-server not installed (scripts/deps.sh installs it)");
    }
    r
}

fn read_stream(url: &str, key: &str, group: &str, expect: usize) -> Vec<String> {
    let url = RedisUrl::parse(url).unwrap();
    let mut c = Consumer::new(&url, key, group, "test", Duration::from_secs(5)).unwrap();
    let mut got = Vec::new();
    let end = Instant::now() + Duration::from_secs(10);
    while got.len() < expect && Instant::now() < end {
        let entries = c.read(100, 200).unwrap();
        let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
        got.extend(entries.iter().map(|e| id_of(&e.event)));
        c.ack(&ids).unwrap();
    }
    got
}

#[test]
fn redis_killed_and_restarted_mid_stream_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(mut redis) = redis_or_skip(tmp.path()) else {
        return;
    };
    let mut c = base(SinkKind::Redis);
    c.url = Some(redis.url());
    c.stream = Some("lw:test".into());
    c.maxlen = Some(100_000);
    c.spool_dir = Some(tmp.path().join("spool"));
    let mut set = SinkSet::build(&[c], None).unwrap();
    let ctl = set.control();
    let all = events(0, 300);
    write_all(&mut set, &all[..100]);
    wait_until("first 100 delivered", 10, || {
        ctl.status()[0].delivered_total >= 100
    });
    redis.kill();
    write_all(&mut set, &all[100..200]);
    wait_until("the sink to notice", 10, || !ctl.status()[0].up);
    assert!(ctl.status()[0].backlog > 0, "events wait in the spool");
    redis.restart();
    write_all(&mut set, &all[200..]);
    let st = set.close().unwrap();
    assert_eq!(st[0].backlog, 0, "{st:?}");
    assert!(st[0].send_errors_total > 0);
    let got = read_stream(&redis.url(), "lw:test", "g1", 300);
    assert_all_in_order(&got, &all);
}

#[test]
fn redis_spool_resumes_after_restart_of_leakwatch_and_tail_reads_it() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(redis) = redis_or_skip(tmp.path()) else {
        return;
    };
    let spool = tmp.path().join("spool");
    let all = events(0, 40);
    // Run 1: the sink points at a port nobody listens on.
    let mut dead = base(SinkKind::Redis);
    dead.url = Some(format!("redis://127.0.0.1:{}", free_port()));
    dead.spool_dir = Some(spool.clone());
    dead.drain_timeout_ms = Some(50);
    let mut set = SinkSet::build(&[dead], None).unwrap();
    write_all(&mut set, &all[..30]);
    let st = set.close().unwrap();
    assert_eq!(st[0].backlog, 30, "kept in the spool: {st:?}");
    // A torn record at the tail (kill -9 while writing) is cut, not sent.
    let mut segs: Vec<PathBuf> = std::fs::read_dir(&spool)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    segs.sort();
    let torn = segs
        .iter()
        .rev()
        .find(|p| p.metadata().unwrap().len() > 0)
        .unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(torn).unwrap();
    f.write_all(&[200, 0, 0, 0, 1, 2]).unwrap();
    drop(f);
    // Run 2: same spool, live server.
    let mut live = base(SinkKind::Redis);
    live.url = Some(redis.url());
    live.spool_dir = Some(spool);
    let mut set = SinkSet::build(&[live], None).unwrap();
    write_all(&mut set, &all[30..]);
    let st = set.close().unwrap();
    assert_eq!((st[0].backlog, st[0].delivered_total), (0, 40), "{st:?}");
    // The reference consumer prints every event and acknowledges it.
    let out = Command::new(env!("CARGO_BIN_EXE_leakwatch"))
        .args([
            "tail",
            "--redis",
            &redis.url(),
            "--group",
            "daemon",
            "--max",
            "40",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<String> = out
        .stdout
        .lines()
        .map(|l| id_of(l.unwrap().as_bytes()))
        .collect();
    assert_eq!(got.len(), 40);
    assert_all_in_order(&got, &all);
    // Acknowledged: a second run of the group gets nothing new.
    let out = Command::new(env!("CARGO_BIN_EXE_leakwatch"))
        .args([
            "tail",
            "--redis",
            &redis.url(),
            "--group",
            "daemon",
            "--idle-exit",
            "1",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "all acknowledged");
}

// ------------------------------------------------------------------- http --

/// An HTTP server that answers 500 to the first `fail` requests, then
/// closes the next `close` connections without answering, then accepts
/// (200) and records each body's lines.
fn http_server(l: TcpListener, fail: usize, close: usize, got: Arc<Mutex<Vec<String>>>) {
    let mut n = 0;
    for s in l.incoming() {
        let Ok(mut s) = s else { break };
        n += 1;
        let body = read_request(&mut s);
        if body.is_none() {
            break; // the test's stop request
        }
        if n <= fail {
            let _ = s.write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
        } else if n <= fail + close {
            drop(s);
        } else {
            let body = body.unwrap_or_default();
            got.lock()
                .unwrap()
                .extend(body.lines().map(|l| id_of(l.as_bytes())));
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        }
    }
}

fn read_request(s: &mut TcpStream) -> Option<String> {
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut r = BufReader::new(s);
    let mut len = 0;
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    if !line.starts_with("POST ") {
        return None;
    }
    loop {
        line.clear();
        r.read_line(&mut line).ok()?;
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    String::from_utf8(body).ok()
}

#[test]
fn http_failures_and_a_restarted_server_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = Arc::clone(&got);
    let server = thread::spawn(move || http_server(l, 2, 2, g));
    let mut c = base(SinkKind::Http);
    c.url = Some(format!("http://{addr}/ingest"));
    c.spool_dir = Some(tmp.path().join("spool"));
    let mut set = SinkSet::build(&[c], None).unwrap();
    let ctl = set.control();
    let all = events(0, 120);
    write_all(&mut set, &all[..60]);
    wait_until("first 60 delivered", 10, || {
        ctl.status()[0].delivered_total >= 60
    });
    assert!(
        ctl.status()[0].send_errors_total >= 4,
        "500s and closed connections are retried"
    );
    // Stop the server (the receiver goes away) and start a new one later
    // on the same port.
    let _ = TcpStream::connect(addr).and_then(|mut s| s.write_all(b"STOP\r\n\r\n"));
    server.join().unwrap();
    write_all(&mut set, &all[60..90]);
    wait_until("the sink to notice", 10, || !ctl.status()[0].up);
    let l = TcpListener::bind(addr).unwrap();
    let g = Arc::clone(&got);
    let server = thread::spawn(move || http_server(l, 0, 0, g));
    write_all(&mut set, &all[90..]);
    let st = set.close().unwrap();
    assert_eq!(st[0].backlog, 0, "{st:?}");
    let _ = TcpStream::connect(addr).and_then(|mut s| s.write_all(b"STOP\r\n\r\n"));
    server.join().unwrap();
    assert_all_in_order(&got.lock().unwrap(), &all);
}

// ------------------------------------------------------------------- unix --

#[test]
fn unix_stream_listener_restarted_between_batches_gets_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("daemon.sock");
    let mut c = base(SinkKind::Unix);
    c.path = Some(path.clone());
    let mut set = SinkSet::build(&[c], None).unwrap();
    let ctl = set.control();
    let all = events(0, 30);
    // No listener yet: events wait (memory queue here).
    write_all(&mut set, &all[..10]);
    wait_until("a failed attempt", 10, || {
        ctl.status()[0].send_errors_total > 0
    });
    let got = Arc::new(Mutex::new(Vec::new()));
    let listen = |n: usize| {
        let l = UnixListener::bind(&path).unwrap();
        let g = Arc::clone(&got);
        thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let mut r = BufReader::new(s);
            for _ in 0..n {
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                g.lock().unwrap().push(id_of(line.trim_end().as_bytes()));
            }
            // Connection and listener close here: the receiver restarts.
        })
    };
    let t = listen(10);
    t.join().unwrap();
    std::fs::remove_file(&path).unwrap();
    let t = listen(20);
    write_all(&mut set, &all[10..]);
    t.join().unwrap();
    let st = set.close().unwrap();
    assert_eq!(st[0].backlog, 0);
    assert_all_in_order(&got.lock().unwrap(), &all);
}

#[test]
fn unix_datagrams_one_event_each() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("dgram.sock");
    let rx = UnixDatagram::bind(&path).unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut c = base(SinkKind::UnixDgram);
    c.path = Some(path);
    let mut set = SinkSet::build(&[c], None).unwrap();
    let all = events(0, 12);
    write_all(&mut set, &all);
    let mut got = Vec::new();
    let mut buf = vec![0; 65536];
    for _ in 0..12 {
        let n = rx.recv(&mut buf).unwrap();
        got.push(id_of(&buf[..n]));
    }
    set.close().unwrap();
    assert_all_in_order(&got, &all);
}

// ------------------------------------------------------------ tcp, syslog --

#[test]
fn tcp_ndjson_and_syslog_tcp_octet_counting() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let sl = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut tcp = base(SinkKind::Tcp);
    tcp.address = Some(l.local_addr().unwrap().to_string());
    let mut sys = base(SinkKind::Syslog);
    sys.address = Some(sl.local_addr().unwrap().to_string());
    sys.protocol = Some(SyslogProtocol::Tcp);
    sys.types = vec!["dlp".into()];
    let mut set = SinkSet::build(&[tcp, sys], None).unwrap();
    let all = events(0, 5);
    write_all(&mut set, &all);
    let (s, _) = l.accept().unwrap();
    let lines: Vec<String> = BufReader::new(s)
        .lines()
        .take(5)
        .map(|l| id_of(l.unwrap().as_bytes()))
        .collect();
    assert_all_in_order(&lines, &all);
    let (mut s, _) = sl.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut r = BufReader::new(&mut s);
    for want in &all {
        let mut len = Vec::new();
        r.read_until(b' ', &mut len).unwrap();
        let n: usize = std::str::from_utf8(&len[..len.len() - 1])
            .unwrap()
            .parse()
            .unwrap();
        let mut msg = vec![0; n];
        r.read_exact(&mut msg).unwrap();
        let msg = String::from_utf8(msg).unwrap();
        // facility local0 (16) * 8 + err (3) for severity high
        assert!(msg.starts_with("<131>1 - "), "{msg}");
        assert!(msg.contains(" leakwatch "), "{msg}");
        assert!(msg.ends_with(want.as_str()), "{msg}");
    }
    set.close().unwrap();
}

#[test]
fn syslog_udp_datagrams() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut c = base(SinkKind::Syslog);
    c.address = Some(rx.local_addr().unwrap().to_string());
    c.facility = Some(4);
    let mut set = SinkSet::build(&[c], None).unwrap();
    set.write_event(r#"{"event_id":"x","event_type":"stats"}"#)
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = rx.recv(&mut buf).unwrap();
    let msg = std::str::from_utf8(&buf[..n]).unwrap();
    assert!(msg.starts_with("<38>1 - "), "auth(4)*8 + info(6): {msg}");
    assert!(msg.contains(" stats - {"), "MSGID is the event type: {msg}");
    set.close().unwrap();
}

// ---------------------------------------------------------------- replay --

#[test]
fn replay_with_configured_sinks_stamps_event_ids_and_rotates() {
    let tmp = tempfile::tempdir().unwrap();
    let eve = tmp.path().join("eve.json");
    let cfg = tmp.path().join("lw.toml");
    std::fs::write(
        &cfg,
        format!(
            "hash_key = \"0123456789abcdef0123\"\n[output]\nsensor_id = \"s1\"\nstats_interval = 1\n\
             [[output.sinks]]\ntype = \"file\"\npath = \"{}\"\nrotate_bytes = 500\nrotate_keep = 50\n",
            eve.display()
        ),
    )
    .unwrap();
    let pcap = Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps/http_form_json.pcap");
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_leakwatch"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["replay", "--workers", "2", "--config"])
            .arg(&cfg)
            .arg(&pcap)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stdout.is_empty(),
            "events go to the configured sink only"
        );
        let mut files: Vec<PathBuf> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains("eve.json"))
            .collect();
        assert!(files.len() >= 2, "rotated: {files:?}");
        files.sort();
        let mut lines = Vec::new();
        for f in &files {
            lines.extend(
                std::fs::read_to_string(f)
                    .unwrap()
                    .lines()
                    .map(str::to_string),
            );
        }
        for f in files {
            std::fs::remove_file(f).unwrap();
        }
        lines
    };
    let lines = run();
    assert!(lines.len() >= 2);
    let ids: Vec<String> = lines.iter().map(|l| id_of(l.as_bytes())).collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "event ids are unique");
    let stats = lines
        .iter()
        .find(|l| l.contains("\"event_type\":\"stats\""))
        .expect("final stats event");
    let stats: serde_json::Value = serde_json::from_str(stats).unwrap();
    assert_eq!(stats["stats"]["sinks"][0]["type"], "file", "{stats}");
    let dlp: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("\"event_type\":\"dlp\""))
        .collect();
    assert!(!dlp.is_empty());
    // Same capture, same sensor: the same ids for the same dlp events.
    let again = run();
    let dlp_again: Vec<&String> = again
        .iter()
        .filter(|l| l.contains("\"event_type\":\"dlp\""))
        .collect();
    assert_eq!(dlp, dlp_again);
}

/// Spool throughput (not a timed test: `cargo test --test sinks -- --ignored
/// --nocapture spool_throughput`).
#[test]
#[ignore]
fn spool_throughput() {
    use leakwatch::alert::sinks::spool::{FsyncPolicy, Spool, SpoolConfig};
    let tmp = tempfile::tempdir().unwrap();
    let cfg = SpoolConfig {
        dir: tmp.path().to_path_buf(),
        max_bytes: 1 << 30,
        segment_bytes: 16 << 20,
        fsync: FsyncPolicy::Interval,
        fsync_interval: Duration::from_secs(1),
    };
    let mut s = Spool::open(cfg).unwrap();
    let ev = vec![b'x'; 1000];
    let n = 100_000;
    let t = Instant::now();
    for _ in 0..n {
        s.append(&ev).unwrap();
    }
    let w = t.elapsed();
    let t = Instant::now();
    let mut out = Vec::new();
    let mut read = 0;
    while let Some(tok) = s.peek(500, usize::MAX, &mut out).unwrap() {
        read += out.len();
        out.clear();
        s.ack(tok).unwrap();
    }
    let r = t.elapsed();
    assert_eq!(read, n);
    eprintln!(
        "spool: append {:.0} events/s, read+ack {:.0} events/s (1 KB events)",
        n as f64 / w.as_secs_f64(),
        n as f64 / r.as_secs_f64()
    );
}
