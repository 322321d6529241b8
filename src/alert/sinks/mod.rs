//! Delivery to the incident daemon: any number of sinks at once, each with
//! its own filter.
//!
//! ```text
//!                         ┌─ file / stdout     (written by the output thread)
//! output thread ─ SinkSet ┼─ backlog ─► thread ─ unix / unix_dgram / tcp(+TLS)
//!                         │  (spool or            http(s) / syslog / redis
//!                         └─  memory queue)
//! ```
//! Local sinks (file, stdout) are written in the output thread; an I/O
//! error there fails the run as before. Every network sink has a delivery
//! thread and a bounded backlog ([`spool`] on disk, or a memory queue), so a
//! slow or dead peer never blocks capture or the other sinks; batches are
//! removed from the backlog only once the peer accepted them (at least
//! once; consumers de-duplicate on `event_id`).
//!
//! Hooks for the daemon: [`SinkControl::reopen`] (SIGHUP, logrotate),
//! [`AlertSink::flush`], [`SinkSet::close`] (SIGTERM: drain, then keep the
//! rest in the spool), [`SinkControl::status`] (stats and metrics).

pub mod backlog;
pub mod config;
pub mod conn;
pub mod file;
pub mod http;
pub mod redis;
pub mod remote;
pub mod spool;
pub mod stream;
pub mod syslog;
pub mod tls;

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Deserialize;

use self::backlog::{Backlog, MemQueue};
use self::config::{SinkConfig, SinkKind, EVENT_TYPES};
use self::file::{RotatingFile, Rotation};
use self::remote::{Remote, RemoteOptions, Shared, Transport};
use super::{AlertSink, EveWriter, EventHead};
use crate::policy::Severity;

pub use self::config::validate_all;
pub use self::remote::SinkStatus;

/// Severity labels in metrics, index 0 = none.
pub const SEVERITIES: [&str; 5] = ["none", "low", "medium", "high", "critical"];

/// The fields of an event that filters and counters look at.
#[derive(Deserialize, Default)]
struct Head<'a> {
    #[serde(borrow, default)]
    event_type: Option<&'a str>,
    #[serde(borrow, default)]
    severity: Option<&'a str>,
}

fn severity_index(s: Option<&str>) -> usize {
    match s {
        Some("low") => 1,
        Some("medium") => 2,
        Some("high") => 3,
        Some("critical") => 4,
        _ => 0,
    }
}

/// Which events a sink takes.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    types: Vec<String>,
    min_severity: usize,
}

impl Filter {
    /// From a sink's `types` and `min_severity`.
    pub fn new(types: &[String], min: Option<Severity>) -> Filter {
        let min_severity = match min {
            None | Some(Severity::Low) => 0,
            Some(Severity::Medium) => 2,
            Some(Severity::High) => 3,
            Some(Severity::Critical) => 4,
        };
        Filter {
            types: types.to_vec(),
            min_severity,
        }
    }

    fn pass(&self, ty: &str, sev: usize) -> bool {
        let type_ok = self.types.is_empty() || self.types.iter().any(|t| t == ty);
        type_ok && (sev == 0 || sev >= self.min_severity)
    }
}

/// Events written, by type and severity (shared with metrics).
pub struct EventCounts {
    counts: Vec<[AtomicU64; 5]>,
}

impl EventCounts {
    fn new() -> EventCounts {
        EventCounts {
            counts: (0..=EVENT_TYPES.len())
                .map(|_| Default::default())
                .collect(),
        }
    }

    fn add(&self, ty: &str, sev: usize) {
        let i = EVENT_TYPES
            .iter()
            .position(|t| *t == ty)
            .unwrap_or(EVENT_TYPES.len());
        if let Some(c) = self.counts.get(i).and_then(|r| r.get(sev)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Non-zero counts as (event type, severity, count); unknown types are
    /// `other`.
    pub fn snapshot(&self) -> Vec<(&'static str, &'static str, u64)> {
        let mut out = Vec::new();
        for (i, row) in self.counts.iter().enumerate() {
            let ty = EVENT_TYPES.get(i).copied().unwrap_or("other");
            for (s, c) in row.iter().enumerate() {
                let n = c.load(Ordering::Relaxed);
                if n > 0 {
                    out.push((ty, SEVERITIES.get(s).copied().unwrap_or("none"), n));
                }
            }
        }
        out
    }
}

struct LocalStatus {
    name: String,
    kind: &'static str,
    events: AtomicU64,
}

struct ControlInner {
    reopen_gen: AtomicU64,
    locals: Vec<LocalStatus>,
    remotes: Vec<Arc<Shared>>,
    counts: EventCounts,
}

/// A cheap, cloneable handle on a [`SinkSet`] for other threads (signal
/// handling, stats, metrics).
#[derive(Clone)]
pub struct SinkControl(Arc<ControlInner>);

impl SinkControl {
    /// Asks file sinks to reopen their paths before the next write
    /// (SIGHUP after logrotate moved the files).
    pub fn reopen(&self) {
        self.0.reopen_gen.fetch_add(1, Ordering::Relaxed);
    }

    /// Status of every sink.
    pub fn status(&self) -> Vec<SinkStatus> {
        let mut out: Vec<SinkStatus> = self
            .0
            .locals
            .iter()
            .map(|l| SinkStatus {
                name: l.name.clone(),
                kind: l.kind,
                events_total: l.events.load(Ordering::Relaxed),
                up: true,
                durable: true,
                ..SinkStatus::default()
            })
            .collect();
        out.extend(self.0.remotes.iter().map(|r| r.status()));
        out
    }

    /// Events written by type and severity.
    pub fn event_counts(&self) -> Vec<(&'static str, &'static str, u64)> {
        self.0.counts.snapshot()
    }
}

enum Out {
    Eve(EveWriter),
    File(RotatingFile),
    Remote(Remote),
}

struct Entry {
    filter: Filter,
    out: Out,
    /// Index into `locals` for local sinks.
    local: Option<usize>,
}

/// All configured sinks, as one [`AlertSink`] for the output thread.
pub struct SinkSet {
    entries: Vec<Entry>,
    control: SinkControl,
    reopen_seen: u64,
}

impl SinkSet {
    /// Builds the sinks of `cfgs`, plus a truncating file sink for `eve`
    /// (the `--eve` option); with neither, events go to stdout.
    ///
    /// # Errors
    /// A sink that cannot start (file, spool directory, TLS setup); the
    /// error names the sink.
    pub fn build(cfgs: &[SinkConfig], eve: Option<&Path>) -> io::Result<SinkSet> {
        let mut entries = Vec::new();
        let mut locals = Vec::new();
        let mut remotes = Vec::new();
        for (i, c) in cfgs.iter().enumerate() {
            let name = c.display_name(i);
            let ctx = |e: io::Error| io::Error::new(e.kind(), format!("sink {name}: {e}"));
            let out = build_one(c, &name).map_err(ctx)?;
            let local = push_status(&out, &name, c.kind.name(), &mut locals, &mut remotes);
            entries.push(Entry {
                filter: Filter::new(&c.types, c.min_severity),
                out,
                local,
            });
        }
        let default_stdout = entries.is_empty() && eve.is_none();
        let extra = match eve {
            // Truncated at start as before, then a file sink like the
            // configured ones, so SIGHUP reopens it too (logrotate).
            Some(p) => {
                drop(EveWriter::create(p)?);
                let f = RotatingFile::open(p, Rotation::default())?;
                Some((Out::File(f), "eve", "file"))
            }
            None if default_stdout => Some((Out::Eve(EveWriter::stdout()), "stdout", "stdout")),
            None => None,
        };
        if let Some((out, name, kind)) = extra {
            let local = push_status(&out, name, kind, &mut locals, &mut remotes);
            entries.push(Entry {
                filter: Filter::default(),
                out,
                local,
            });
        }
        let control = SinkControl(Arc::new(ControlInner {
            reopen_gen: AtomicU64::new(0),
            locals,
            remotes,
            counts: EventCounts::new(),
        }));
        Ok(SinkSet {
            entries,
            control,
            reopen_seen: 0,
        })
    }

    /// The handle for signal handlers, stats and metrics.
    pub fn control(&self) -> SinkControl {
        self.control.clone()
    }

    /// Flushes local sinks, then lets every network sink deliver its
    /// backlog for up to its `drain_timeout_ms` (in parallel); what is left
    /// stays in the spool. Returns the final status of every sink.
    ///
    /// # Errors
    /// Flushing a local sink failed (network sinks never fail here).
    pub fn close(mut self) -> io::Result<Vec<SinkStatus>> {
        let flushed = self.flush();
        let mut remotes = Vec::new();
        for e in self.entries.drain(..) {
            if let Out::Remote(r) = e.out {
                remotes.push(r);
            }
        }
        std::thread::scope(|s| {
            for r in remotes {
                s.spawn(move || r.close());
            }
        });
        flushed?;
        Ok(self.control.status())
    }

    /// Reopens file sinks after SIGHUP. A file that cannot be reopened
    /// (e.g. its directory is not writable by the user leakwatch runs as)
    /// keeps its open descriptor, so events still reach the moved file:
    /// logged loudly, never a reason to stop capture.
    fn check_reopen(&mut self) -> io::Result<()> {
        let g = self.control.0.reopen_gen.load(Ordering::Relaxed);
        if g == self.reopen_seen {
            return Ok(());
        }
        self.reopen_seen = g;
        for e in &mut self.entries {
            if let Out::File(f) = &mut e.out {
                match f.reopen() {
                    Ok(()) => tracing::info!("event file reopened"),
                    Err(err) => tracing::error!(
                        "cannot reopen the event file, still writing to the old one: {err}"
                    ),
                }
            }
        }
        Ok(())
    }
}

fn push_status(
    out: &Out,
    name: &str,
    kind: &'static str,
    locals: &mut Vec<LocalStatus>,
    remotes: &mut Vec<Arc<Shared>>,
) -> Option<usize> {
    if let Out::Remote(r) = out {
        remotes.push(Arc::clone(r.shared()));
        return None;
    }
    locals.push(LocalStatus {
        name: name.to_string(),
        kind,
        events: AtomicU64::new(0),
    });
    Some(locals.len() - 1)
}

fn build_one(c: &SinkConfig, name: &str) -> io::Result<Out> {
    let path = || {
        c.path
            .clone()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "needs `path`"))
    };
    match c.kind {
        SinkKind::Stdout => Ok(Out::Eve(EveWriter::stdout())),
        SinkKind::File => {
            let rot = Rotation {
                max_bytes: c.rotate_bytes,
                every: c.rotate_seconds.map(std::time::Duration::from_secs),
                keep: c.rotate_keep.unwrap_or(5),
            };
            Ok(Out::File(RotatingFile::open(&path()?, rot)?))
        }
        _ => {
            let transport = transport(c)?;
            let backlog = match c.spool() {
                Some(s) => Backlog::Disk(Box::new(spool::Spool::open(s)?)),
                None => Backlog::Mem(MemQueue::new(c.queue_events.unwrap_or(100_000))),
            };
            let opts = RemoteOptions {
                name: name.to_string(),
                kind: c.kind.name(),
                batch: c.batch(),
                batch_bytes: 4 << 20,
                backoff: c.backoff(),
                on_full: c.on_full.unwrap_or_default(),
                drain_timeout: c.drain_timeout(),
            };
            Ok(Out::Remote(Remote::start(opts, backlog, transport)?))
        }
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_string())
}

fn transport(c: &SinkConfig) -> io::Result<Box<dyn Transport>> {
    use self::conn::Endpoint;
    let t = c.timeout();
    let addr = || c.address.clone().ok_or_else(|| invalid("needs `address`"));
    let tls = |addr: &str| -> io::Result<Option<Arc<tls::TlsSetup>>> {
        if c.tls != Some(true) {
            return Ok(None);
        }
        let host = match &c.server_name {
            Some(n) => n.clone(),
            None => http::split_host_port(addr, 0).map_err(|e| invalid(&e))?.0,
        };
        Ok(Some(Arc::new(tls::TlsSetup::new(
            &host,
            c.ca_file.as_deref(),
        )?)))
    };
    Ok(match c.kind {
        SinkKind::Unix => {
            let p = c.path.clone().ok_or_else(|| invalid("needs `path`"))?;
            Box::new(stream::LineStream::new(Endpoint::Unix(p), t))
        }
        SinkKind::UnixDgram => {
            let p = c.path.clone().ok_or_else(|| invalid("needs `path`"))?;
            Box::new(stream::Datagrams::new(p, t))
        }
        SinkKind::Tcp => {
            let a = addr()?;
            let tls = tls(&a)?;
            Box::new(stream::LineStream::new(Endpoint::Tcp { addr: a, tls }, t))
        }
        SinkKind::Http => {
            let url = c.url.as_deref().ok_or_else(|| invalid("needs `url`"))?;
            Box::new(http::HttpPost::new(url, c.ca_file.as_deref(), t)?)
        }
        SinkKind::Syslog => {
            let a = addr()?;
            let fmt = syslog::Formatter::new(
                c.facility.unwrap_or(16),
                c.app_name.as_deref().unwrap_or("leakwatch"),
            );
            let out = match c.protocol.unwrap_or_default() {
                config::SyslogProtocol::Udp => syslog::SyslogOut::Udp(a, None),
                config::SyslogProtocol::Tcp => {
                    let tls = tls(&a)?;
                    syslog::SyslogOut::Tcp(Endpoint::Tcp { addr: a, tls }, None)
                }
            };
            Box::new(syslog::Syslog::new(fmt, out, t))
        }
        SinkKind::Redis => {
            let url = c.url.as_deref().ok_or_else(|| invalid("needs `url`"))?;
            let url = redis::RedisUrl::parse(url).map_err(|e| invalid(&e))?;
            let key = c
                .stream
                .clone()
                .unwrap_or_else(|| "leakwatch:events".into());
            Box::new(redis::RedisStream::new(
                url,
                key,
                c.maxlen.unwrap_or(1_000_000),
                t,
            ))
        }
        SinkKind::File | SinkKind::Stdout => return Err(invalid("not a network sink")),
    })
}

impl AlertSink for SinkSet {
    fn write_event(&mut self, json: &str) -> io::Result<()> {
        let head: Head<'_> = serde_json::from_str(json).unwrap_or_default();
        let ty = head.event_type.unwrap_or("");
        self.route(json, ty, severity_index(head.severity))
    }

    fn write_event_head(&mut self, json: &str, head: EventHead) -> io::Result<()> {
        debug_assert_eq!(
            {
                let h: Head<'_> = serde_json::from_str(json).unwrap_or_default();
                (h.event_type, h.severity)
            },
            (Some(head.event_type), head.severity),
            "the head given must be the event's own"
        );
        self.route(json, head.event_type, severity_index(head.severity))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.check_reopen()?;
        for e in &mut self.entries {
            match &mut e.out {
                Out::Eve(w) => w.flush()?,
                Out::File(f) => f.flush()?,
                Out::Remote(r) => r.sync(),
            }
        }
        Ok(())
    }
}

impl SinkSet {
    /// Counts an event of type `ty` and severity index `sev` and writes it
    /// to every sink whose filter passes it.
    fn route(&mut self, json: &str, ty: &str, sev: usize) -> io::Result<()> {
        self.check_reopen()?;
        self.control.0.counts.add(ty, sev);
        for e in &mut self.entries {
            if !e.filter.pass(ty, sev) {
                continue;
            }
            match &mut e.out {
                Out::Eve(w) => w.write_event(json)?,
                Out::File(f) => f.write_line(json.as_bytes())?,
                Out::Remote(r) => r.push(json.as_bytes()),
            }
            if let Some(l) = e.local.and_then(|i| self.control.0.locals.get(i)) {
                l.events.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }
}

/// This host's name (for syslog and the default sensor id).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_by_type_and_severity() {
        let f = Filter::new(&["dlp".to_string()], Some(Severity::High));
        assert!(f.pass("dlp", 3));
        assert!(f.pass("dlp", 4));
        assert!(!f.pass("dlp", 2));
        assert!(!f.pass("stats", 0));
        let f = Filter::new(&[], Some(Severity::Medium));
        assert!(f.pass("stats", 0), "events without severity pass");
        assert!(!f.pass("dlp", 1));
    }

    #[test]
    fn set_routes_by_filter_and_counts() {
        let d = tempfile::tempdir().unwrap();
        let mut all = SinkConfig::new(SinkKind::File);
        all.path = Some(d.path().join("all.json"));
        let mut high = SinkConfig::new(SinkKind::File);
        high.path = Some(d.path().join("high.json"));
        high.types = vec!["dlp".into()];
        high.min_severity = Some(Severity::High);
        let mut set = SinkSet::build(&[all, high], None).unwrap();
        let ctl = set.control();
        set.write_event(r#"{"event_type":"dlp","severity":"low"}"#)
            .unwrap();
        set.write_event(r#"{"event_type":"dlp","severity":"critical"}"#)
            .unwrap();
        set.write_event(r#"{"event_type":"stats"}"#).unwrap();
        let st = set.close().unwrap();
        let read = |n: &str| {
            std::fs::read_to_string(d.path().join(n))
                .unwrap()
                .lines()
                .count()
        };
        assert_eq!(read("all.json"), 3);
        assert_eq!(read("high.json"), 1);
        assert_eq!(st[1].events_total, 1);
        let counts = ctl.event_counts();
        assert!(counts.contains(&("dlp", "critical", 1)), "{counts:?}");
        assert!(counts.contains(&("stats", "none", 1)), "{counts:?}");
    }
}
