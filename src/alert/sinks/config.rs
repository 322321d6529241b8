//! `[[output.sinks]]`: one table per sink. Keys not used by a sink's type
//! are rejected so that a misplaced option never silently does nothing.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::spool::{FsyncPolicy, FullPolicy, SpoolConfig};
use crate::policy::Severity;

/// Kind of sink.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkKind {
    /// JSON lines to a file (rotation, reopen).
    File,
    /// JSON lines to standard output.
    Stdout,
    /// JSON lines over a Unix stream socket.
    Unix,
    /// One event per Unix datagram.
    UnixDgram,
    /// JSON lines over TCP (optionally TLS).
    Tcp,
    /// NDJSON batches POSTed over HTTP(S).
    Http,
    /// RFC 5424 syslog over UDP or TCP (octet counting).
    Syslog,
    /// Redis Streams `XADD`.
    Redis,
}

impl SinkKind {
    /// The name used in config, logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            SinkKind::File => "file",
            SinkKind::Stdout => "stdout",
            SinkKind::Unix => "unix",
            SinkKind::UnixDgram => "unix_dgram",
            SinkKind::Tcp => "tcp",
            SinkKind::Http => "http",
            SinkKind::Syslog => "syslog",
            SinkKind::Redis => "redis",
        }
    }

    /// Delivered by a thread of its own, through a queue or spool.
    pub fn is_remote(self) -> bool {
        !matches!(self, SinkKind::File | SinkKind::Stdout)
    }
}

/// Transport of the syslog sink.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyslogProtocol {
    /// One datagram per event (RFC 5426).
    #[default]
    Udp,
    /// Octet-counting framing (RFC 6587 3.4.1).
    Tcp,
}

/// One `[[output.sinks]]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    /// Sink type.
    #[serde(rename = "type")]
    pub kind: SinkKind,
    /// Name in logs and metrics (default: type and index).
    pub name: Option<String>,
    /// Event types written (empty: all).
    #[serde(default)]
    pub types: Vec<String>,
    /// Lowest severity of `dlp` events written (events without a severity,
    /// e.g. `stats`, always pass).
    pub min_severity: Option<Severity>,

    /// file: path; unix, unix_dgram: socket path.
    pub path: Option<PathBuf>,
    /// file: rotate past this many bytes.
    pub rotate_bytes: Option<u64>,
    /// file: rotate after this many seconds (wall clock).
    pub rotate_seconds: Option<u64>,
    /// file: rotated files kept (`path.1` newest .. `path.N`).
    pub rotate_keep: Option<usize>,

    /// tcp, syslog: `host:port`.
    pub address: Option<String>,
    /// http: `http(s)://host[:port]/path`; redis: `redis://[:password@]host[:port][/db]`.
    pub url: Option<String>,
    /// tcp, syslog (tcp): wrap the connection in TLS.
    pub tls: Option<bool>,
    /// PEM file of CA certificates to trust instead of the Mozilla roots.
    pub ca_file: Option<PathBuf>,
    /// TLS server name when it differs from the host in `address`.
    pub server_name: Option<String>,
    /// syslog: `udp` (default) or `tcp`.
    pub protocol: Option<SyslogProtocol>,
    /// syslog: facility number 0..=23 (default 16, local0).
    pub facility: Option<u8>,
    /// syslog: APP-NAME (default `leakwatch`).
    pub app_name: Option<String>,
    /// redis: stream key (default `leakwatch:events`).
    pub stream: Option<String>,
    /// redis: approximate `MAXLEN` of the stream (default 1,000,000).
    pub maxlen: Option<u64>,

    /// Events per delivery batch (HTTP body, Redis pipeline).
    pub batch_size: Option<usize>,
    /// Connect, read and write timeout in milliseconds (default 5,000).
    pub timeout_ms: Option<u64>,
    /// First retry delay after a failure (default 100 ms), doubled per
    /// failure up to `backoff_max_ms` (default 30,000).
    pub backoff_min_ms: Option<u64>,
    /// Longest retry delay.
    pub backoff_max_ms: Option<u64>,
    /// Events held in memory when there is no spool (default 100,000).
    pub queue_events: Option<usize>,
    /// Spool directory (one per sink); without it the queue is in memory
    /// and events still queued at exit are lost (counted).
    pub spool_dir: Option<PathBuf>,
    /// Spool bound (default 1 GiB).
    pub spool_max_bytes: Option<u64>,
    /// Segment size (default 16 MiB).
    pub spool_segment_bytes: Option<u64>,
    /// `always`, `interval` (default) or `never`.
    pub fsync: Option<FsyncPolicy>,
    /// Interval of `fsync = "interval"` (default 1,000 ms).
    pub fsync_interval_ms: Option<u64>,
    /// `drop_oldest` (default) or `block`.
    pub on_full: Option<FullPolicy>,
    /// At shutdown, how long to keep delivering the backlog (default 5,000 ms).
    pub drain_timeout_ms: Option<u64>,
}

/// The event types a filter may name.
pub const EVENT_TYPES: &[&str] = &[
    "dlp", "stats", "flow", "anomaly", "fileinfo", "smtp", "tls", "dns", "http",
];

fn ms(v: Option<u64>, default: u64) -> Duration {
    Duration::from_millis(v.unwrap_or(default))
}

impl SinkConfig {
    /// A sink of `kind` with every option unset.
    pub fn new(kind: SinkKind) -> SinkConfig {
        SinkConfig {
            kind,
            name: None,
            types: Vec::new(),
            min_severity: None,
            path: None,
            rotate_bytes: None,
            rotate_seconds: None,
            rotate_keep: None,
            address: None,
            url: None,
            tls: None,
            ca_file: None,
            server_name: None,
            protocol: None,
            facility: None,
            app_name: None,
            stream: None,
            maxlen: None,
            batch_size: None,
            timeout_ms: None,
            backoff_min_ms: None,
            backoff_max_ms: None,
            queue_events: None,
            spool_dir: None,
            spool_max_bytes: None,
            spool_segment_bytes: None,
            fsync: None,
            fsync_interval_ms: None,
            on_full: None,
            drain_timeout_ms: None,
        }
    }

    /// The sink's name (`name`, else `TYPE-INDEX`).
    pub fn display_name(&self, index: usize) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{}-{index}", self.kind.name()))
    }

    /// Network timeout.
    pub fn timeout(&self) -> Duration {
        ms(self.timeout_ms, 5_000)
    }

    /// Retry delays (first, longest).
    pub fn backoff(&self) -> (Duration, Duration) {
        (
            ms(self.backoff_min_ms, 100),
            ms(self.backoff_max_ms, 30_000),
        )
    }

    /// Shutdown drain time.
    pub fn drain_timeout(&self) -> Duration {
        ms(self.drain_timeout_ms, 5_000)
    }

    /// Events per batch.
    pub fn batch(&self) -> usize {
        self.batch_size.unwrap_or(500).max(1)
    }

    /// The spool settings, when a spool directory is set.
    pub fn spool(&self) -> Option<SpoolConfig> {
        Some(SpoolConfig {
            dir: self.spool_dir.clone()?,
            max_bytes: self.spool_max_bytes.unwrap_or(1 << 30),
            segment_bytes: self.spool_segment_bytes.unwrap_or(16 << 20),
            fsync: self.fsync.unwrap_or_default(),
            fsync_interval: ms(self.fsync_interval_ms, 1_000),
        })
    }

    /// Makes relative paths (`path`, `spool_dir`, `ca_file`) relative to
    /// `base`, the config file's directory.
    pub fn resolve_paths(&mut self, base: &std::path::Path) {
        for p in [&mut self.path, &mut self.spool_dir, &mut self.ca_file]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
    }

    /// Checks the options against the type.
    ///
    /// # Errors
    /// A message naming the option.
    pub fn validate(&self) -> Result<(), String> {
        for t in &self.types {
            if !EVENT_TYPES.contains(&t.as_str()) {
                return Err(format!(
                    "types: unknown event type {t:?} (known: {})",
                    EVENT_TYPES.join(", ")
                ));
            }
        }
        let need = |what: bool, key: &str| {
            if what {
                Ok(())
            } else {
                Err(format!("type {:?} needs `{key}`", self.kind.name()))
            }
        };
        match self.kind {
            SinkKind::File | SinkKind::Unix | SinkKind::UnixDgram => {
                need(self.path.is_some(), "path")?
            }
            SinkKind::Tcp | SinkKind::Syslog => need(self.address.is_some(), "address")?,
            SinkKind::Http | SinkKind::Redis => need(self.url.is_some(), "url")?,
            SinkKind::Stdout => {}
        }
        self.validate_unused()?;
        if matches!(self.facility, Some(f) if f > 23) {
            return Err("facility must be 0..=23".into());
        }
        if matches!(self.spool_max_bytes, Some(n) if n < 4096) {
            return Err("spool_max_bytes must be at least 4096".into());
        }
        if matches!(self.queue_events, Some(0)) {
            return Err("queue_events must be at least 1".into());
        }
        if let Some(u) = &self.url {
            match self.kind {
                SinkKind::Http => super::http::Url::parse(u).map(|_| ())?,
                SinkKind::Redis => super::redis::RedisUrl::parse(u).map(|_| ())?,
                _ => {}
            }
        }
        let wants_tls =
            self.tls == Some(true) || self.url.as_deref().is_some_and(|u| u.starts_with("https"));
        if wants_tls && !cfg!(feature = "tls") {
            return Err("TLS needs leakwatch built with the `tls` feature".into());
        }
        Ok(())
    }

    /// Options that only some types use.
    fn validate_unused(&self) -> Result<(), String> {
        let k = self.kind;
        let file = k == SinkKind::File;
        let checks: [(bool, bool, &str); 13] = [
            (
                self.path.is_some(),
                matches!(k, SinkKind::File | SinkKind::Unix | SinkKind::UnixDgram),
                "path",
            ),
            (self.rotate_bytes.is_some(), file, "rotate_bytes"),
            (self.rotate_seconds.is_some(), file, "rotate_seconds"),
            (self.rotate_keep.is_some(), file, "rotate_keep"),
            (
                self.address.is_some(),
                matches!(k, SinkKind::Tcp | SinkKind::Syslog),
                "address",
            ),
            (
                self.url.is_some(),
                matches!(k, SinkKind::Http | SinkKind::Redis),
                "url",
            ),
            (
                self.tls.is_some(),
                matches!(k, SinkKind::Tcp | SinkKind::Syslog),
                "tls",
            ),
            (self.protocol.is_some(), k == SinkKind::Syslog, "protocol"),
            (self.facility.is_some(), k == SinkKind::Syslog, "facility"),
            (self.app_name.is_some(), k == SinkKind::Syslog, "app_name"),
            (self.stream.is_some(), k == SinkKind::Redis, "stream"),
            (self.maxlen.is_some(), k == SinkKind::Redis, "maxlen"),
            (
                self.spool_dir.is_some() || self.queue_events.is_some(),
                k.is_remote(),
                "spool_dir/queue_events",
            ),
        ];
        for (set, allowed, key) in checks {
            if set && !allowed {
                return Err(format!("`{key}` does not apply to type {:?}", k.name()));
            }
        }
        Ok(())
    }
}

/// Checks every sink and that names are unique.
///
/// # Errors
/// `output.sinks[i]: problem`.
pub fn validate_all(sinks: &[SinkConfig]) -> Result<(), String> {
    let mut names = std::collections::HashSet::new();
    let mut spools = std::collections::HashSet::new();
    for (i, s) in sinks.iter().enumerate() {
        s.validate()
            .map_err(|e| format!("output.sinks[{i}]: {e}"))?;
        if !names.insert(s.display_name(i)) {
            return Err(format!(
                "output.sinks[{i}]: duplicate name {:?}",
                s.display_name(i)
            ));
        }
        if let Some(d) = &s.spool_dir {
            if !spools.insert(d.clone()) {
                return Err(format!(
                    "output.sinks[{i}]: spool_dir {} is used by another sink (one spool per sink)",
                    d.display()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<SinkConfig>, String> {
        #[derive(Deserialize)]
        struct W {
            sinks: Vec<SinkConfig>,
        }
        let w: W = toml::from_str(text).map_err(|e| e.to_string())?;
        validate_all(&w.sinks)?;
        Ok(w.sinks)
    }

    #[test]
    fn sinks_parse_and_validate() {
        let s = parse(
            "[[sinks]]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:6379/0\"\ntypes = [\"dlp\"]\nmin_severity = \"medium\"\nspool_dir = \"/tmp/x\"\n\
             [[sinks]]\ntype = \"file\"\npath = \"eve.json\"\nrotate_bytes = 1000\n",
        )
        .unwrap();
        assert_eq!(s[0].kind, SinkKind::Redis);
        assert_eq!(s[0].min_severity, Some(Severity::Medium));
        assert_eq!(s[1].display_name(1), "file-1");
        assert!(s[0].spool().is_some());
    }

    #[test]
    fn misplaced_and_missing_options_are_rejected() {
        let e = parse("[[sinks]]\ntype = \"stdout\"\nrotate_bytes = 5\n").unwrap_err();
        assert!(e.contains("rotate_bytes"), "{e}");
        let e = parse("[[sinks]]\ntype = \"tcp\"\n").unwrap_err();
        assert!(e.contains("address"), "{e}");
        let e =
            parse("[[sinks]]\ntype = \"file\"\npath = \"a\"\ntypes = [\"dlpp\"]\n").unwrap_err();
        assert!(e.contains("dlpp"), "{e}");
        let e = parse("[[sinks]]\ntype = \"http\"\nurl = \"ftp://x\"\n").unwrap_err();
        assert!(e.contains("http"), "{e}");
        assert!(parse("[[sinks]]\ntype = \"kafka\"\n").is_err());
    }
}
