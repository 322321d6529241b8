//! Prometheus text endpoint (`--metrics 127.0.0.1:9101`): a tiny HTTP/1.0
//! server on its own thread answering `GET /metrics` (anything else: 404).
//! Requests are bounded (8 KiB head, 2 s timeout) and served one at a time.
//!
//! Metric names (all prefixed `leakwatch_`) are listed in README
//! ("Operations").

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::alert::SinkControl;
use crate::decode::DecodeError;
use crate::pipeline::counters::LiveCounters;

/// What the endpoint reports.
#[derive(Clone)]
pub struct Sources {
    /// Pipeline counters.
    pub counters: Arc<LiveCounters>,
    /// Sinks.
    pub sinks: Option<SinkControl>,
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(
        out,
        "# HELP leakwatch_{name} {help}\n# TYPE leakwatch_{name} {kind}"
    );
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], v: u64) {
    let _ = write!(out, "leakwatch_{name}");
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, val)) in labels.iter().enumerate() {
            let sep = if i > 0 { "," } else { "" };
            let val = val
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            let _ = write!(out, "{sep}{k}=\"{val}\"");
        }
        out.push('}');
    }
    let _ = writeln!(out, " {v}");
}

/// Renders every metric in the Prometheus text format (0.0.4).
pub fn render(src: &Sources) -> String {
    let mut o = String::with_capacity(4096);
    let c = &src.counters;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    metric(
        &mut o,
        "packets_total",
        "counter",
        "Frames read from the capture.",
    );
    sample(&mut o, "packets_total", &[], load(&c.packets_total));
    metric(&mut o, "bytes_total", "counter", "Captured bytes read.");
    sample(&mut o, "bytes_total", &[], load(&c.bytes_total));
    metric(
        &mut o,
        "capture_drops_total",
        "counter",
        "Packets dropped by the kernel or interface.",
    );
    sample(
        &mut o,
        "capture_drops_total",
        &[],
        load(&c.capture_drops_total),
    );
    metric(
        &mut o,
        "decode_errors_total",
        "counter",
        "Frames that did not decode, by kind.",
    );
    for (k, n) in DecodeError::ALL.iter().zip(c.decode_errors.iter()) {
        sample(
            &mut o,
            "decode_errors_total",
            &[("kind", k.counter_name())],
            load(n),
        );
    }
    workers(&mut o, c);
    if let Some(s) = &src.sinks {
        sinks(&mut o, s);
    }
    o
}

fn workers(o: &mut String, c: &LiveCounters) {
    let ws = c.worker_stats();
    let mut flows = [0u64; 4];
    let mut reasm: std::collections::BTreeMap<&'static str, u64> = Default::default();
    metric(
        o,
        "worker_packets_total",
        "counter",
        "Packets processed per worker (load).",
    );
    for (i, (p, s)) in ws.iter().enumerate() {
        sample(o, "worker_packets_total", &[("worker", &i.to_string())], *p);
        flows[0] += s.flow.flows_total;
        flows[1] += s.flow.timeouts_total;
        flows[2] += s.flow.evicted_total;
        flows[3] += s.flow.emergency_entered_total;
        for (k, v) in s.reassembly.counters() {
            *reasm.entry(k).or_default() += v;
        }
    }
    metric(
        o,
        "worker_bytes_scanned_total",
        "counter",
        "Bytes given to detection per worker.",
    );
    for (i, (_, s)) in ws.iter().enumerate() {
        sample(
            o,
            "worker_bytes_scanned_total",
            &[("worker", &i.to_string())],
            s.bytes_scanned_total,
        );
    }
    let names = [
        ("flows_total", "Flows created."),
        ("flow_timeouts_total", "Flows ended by timeout."),
        (
            "flow_evicted_total",
            "Flows evicted at the flow table bound.",
        ),
        (
            "flow_emergency_total",
            "Times the flow table entered emergency mode.",
        ),
    ];
    for ((name, help), v) in names.iter().zip(flows) {
        metric(o, name, "counter", help);
        sample(o, name, &[], v);
    }
    metric(
        o,
        "reassembly_total",
        "counter",
        "TCP reassembly counters and bounds hit, by kind.",
    );
    for (k, v) in reasm {
        sample(o, "reassembly_total", &[("kind", k)], v);
    }
}

fn sinks(o: &mut String, s: &SinkControl) {
    metric(
        o,
        "events_total",
        "counter",
        "Events written, by type and severity.",
    );
    for (ty, sev, n) in s.event_counts() {
        sample(o, "events_total", &[("type", ty), ("severity", sev)], n);
    }
    let st = s.status();
    type Get = fn(&crate::alert::sinks::SinkStatus) -> u64;
    let rows: [(&str, &str, &str, Get); 9] = [
        (
            "sink_events_total",
            "counter",
            "Events accepted by the sink's filter.",
            |x| x.events_total,
        ),
        (
            "sink_delivered_total",
            "counter",
            "Events acknowledged by the peer.",
            |x| x.delivered_total,
        ),
        (
            "sink_backlog_events",
            "gauge",
            "Events waiting for delivery.",
            |x| x.backlog,
        ),
        (
            "sink_spool_bytes",
            "gauge",
            "Bytes of the spool (or memory queue).",
            |x| x.backlog_bytes,
        ),
        (
            "sink_dropped_total",
            "counter",
            "Undelivered events dropped because the backlog was full.",
            |x| x.dropped_total,
        ),
        (
            "sink_lost_total",
            "counter",
            "Events lost otherwise (spool I/O error, no spool at exit).",
            |x| x.lost_total,
        ),
        (
            "sink_send_errors_total",
            "counter",
            "Failed delivery attempts.",
            |x| x.send_errors_total,
        ),
        (
            "sink_blocked_total",
            "counter",
            "Waits on a full backlog (on_full = block).",
            |x| x.blocked_total,
        ),
        (
            "sink_up",
            "gauge",
            "1 when the last delivery attempt succeeded.",
            |x| u64::from(x.up),
        ),
    ];
    for (name, kind, help, get) in rows {
        metric(o, name, kind, help);
        for x in &st {
            sample(o, name, &[("sink", &x.name), ("type", x.kind)], get(x));
        }
    }
}

/// The running endpoint; dropping it stops the thread.
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Binds `addr` and serves on a thread of its own.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub fn start(addr: &str, src: Sources) -> io::Result<MetricsServer> {
        let l = TcpListener::bind(addr)
            .map_err(|e| io::Error::new(e.kind(), format!("--metrics {addr}: {e}")))?;
        l.set_nonblocking(true)?;
        let addr = l.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("lw-metrics".into())
            .spawn(move || serve(&l, &src, &s))?;
        tracing::info!(%addr, "metrics endpoint listening (GET /metrics)");
        Ok(MetricsServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The bound address (port 0 resolved).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(l: &TcpListener, src: &Sources, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match l.accept() {
            Ok((s, _)) => {
                if let Err(e) = answer(s, src) {
                    tracing::debug!(error = %e, "metrics request failed");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics endpoint accept failed");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

fn answer(mut s: TcpStream, src: &Sources) -> io::Result<()> {
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    s.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = s.read(&mut buf)?;
        if n == 0 || head.len() > 8192 {
            break;
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let (method, path) = (parts.next(), parts.next());
    let ok = method == Some(b"GET")
        && matches!(path, Some(p) if p == b"/metrics" || p.starts_with(b"/metrics?"));
    let (status, ctype, body) = if ok {
        ("200 OK", "text/plain; version=0.0.4", render(src))
    } else {
        (
            "404 Not Found",
            "text/plain",
            "not found; try GET /metrics\n".to_string(),
        )
    };
    write!(
        s,
        "HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    s.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn get(addr: SocketAddr, path: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_metrics_and_404() {
        let c = LiveCounters::new(2);
        c.publish_reader(42, 4200, 1, &[]);
        c.publish_worker(1, 40, Default::default);
        let sinks = crate::alert::SinkSet::build(
            &[{
                let mut s = crate::alert::sinks::config::SinkConfig::new(
                    crate::alert::sinks::config::SinkKind::Unix,
                );
                s.path = Some("/nonexistent/leakwatch-test.sock".into());
                s.name = Some("daemon".into());
                s.backoff_max_ms = Some(10);
                s.drain_timeout_ms = Some(10);
                s
            }],
            None,
        )
        .unwrap();
        let src = Sources {
            counters: c,
            sinks: Some(sinks.control()),
        };
        let m = MetricsServer::start("127.0.0.1:0", src).unwrap();
        let body = get(m.addr(), "/metrics");
        assert!(body.starts_with("HTTP/1.0 200"), "{body}");
        assert!(body.contains("leakwatch_packets_total 42\n"), "{body}");
        assert!(
            body.contains("leakwatch_worker_packets_total{worker=\"1\"} 40\n"),
            "{body}"
        );
        assert!(
            body.contains("leakwatch_sink_backlog_events{sink=\"daemon\",type=\"unix\"} 0"),
            "{body}"
        );
        assert!(get(m.addr(), "/").starts_with("HTTP/1.0 404"));
        drop(sinks);
    }
}
