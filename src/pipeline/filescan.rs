//! `leakwatch scan FILE|-`: runs the detectors over a plain file or stdin
//! (tuning detectors, DLP on exported data) and writes one `dlp` event per
//! input that holds PI, in the event format of traffic events with
//! `app_proto = "file"`, `where = "file"` and a `file` object instead of
//! the network fields. The input is read in bounded chunks through the
//! streaming scanner, so its size does not matter.

use std::io::{self, Read};

use serde::Serialize;

use crate::alert::{mask_text, AlertSink, FindingLimits, FindingOut, FindingSet};
use crate::detect::{Match, MatchSink};

use super::Sensor;

/// Where findings of a scanned file are reported.
pub const LOCATION: &str = "file";
/// Bytes read per scan call.
const CHUNK: usize = 64 * 1024;
/// Longest file name shown (masked) in an event.
const MAX_NAME: usize = 256;

/// The `file` object of a file `dlp` event.
#[derive(Clone, Debug, Serialize)]
pub struct FileOut {
    /// Path as given (`-` for stdin), masked like URLs.
    pub name: String,
    /// Bytes scanned.
    pub size: u64,
}

/// A `dlp` event about a scanned file.
#[derive(Clone, Debug, Serialize)]
pub struct FileDlpEvent {
    /// Scan time, RFC 3339 UTC.
    pub timestamp: String,
    /// Always `dlp`.
    pub event_type: &'static str,
    /// Always `file`.
    pub app_proto: &'static str,
    /// The input.
    pub file: FileOut,
    /// What was found.
    pub findings: Vec<FindingOut>,
    /// Records (rows, array objects, lines) holding at least one finding.
    pub records: u64,
}

/// Counters of one scan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileScanStats {
    /// Bytes read.
    pub bytes: u64,
    /// Values found (distinct per detector).
    pub distinct: u64,
    /// Events written (0 or 1).
    pub events: u64,
    /// Records holding PI.
    pub records: u64,
}

struct Collect<'a> {
    set: FindingSet,
    sensor: &'a Sensor,
    limits: &'a FindingLimits,
}

impl MatchSink for Collect<'_> {
    fn on_match(&mut self, m: &Match<'_>) {
        let dets = self.sensor.engine.detectors();
        if let Some(info) = dets.get(usize::from(m.detector)) {
            self.set
                .add(m, LOCATION, info, &self.sensor.hasher, self.limits);
        }
    }
}

/// Scans everything `input` yields as one stream named `name` and writes
/// an event to `sink` when PI was found.
///
/// # Errors
/// Reading the input or writing the event.
pub fn scan_reader(
    sensor: &Sensor,
    limits: &FindingLimits,
    name: &str,
    input: &mut dyn Read,
    sink: &mut dyn AlertSink,
) -> io::Result<FileScanStats> {
    let mut scanner = sensor.engine.scanner();
    let mut state = crate::detect::StreamState::default();
    let mut records = crate::detect::records::Records::default();
    let mut c = Collect {
        set: FindingSet::default(),
        sensor,
        limits,
    };
    let mut buf = vec![0u8; CHUNK];
    let mut stats = FileScanStats::default();
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        stats.bytes += n as u64;
        let chunk = buf.get(..n).unwrap_or_default();
        records.scan(&mut scanner, &mut state, chunk, &mut c);
    }
    records.finish(&mut scanner, &mut state, &mut c);
    stats.distinct = c.set.distinct();
    stats.records = records.take();
    if c.set.is_empty() {
        return Ok(stats);
    }
    let ev = FileDlpEvent {
        timestamp: now_rfc3339(),
        event_type: crate::alert::event::event_type::DLP,
        app_proto: LOCATION,
        file: FileOut {
            name: mask_text(name.as_bytes(), MAX_NAME),
            size: stats.bytes,
        },
        findings: c.set.take(sensor.engine.detectors()),
        records: stats.records,
    };
    let json = serde_json::to_string(&ev).map_err(io::Error::other)?;
    sink.write_event(&json)?;
    sink.flush()?;
    stats.events = 1;
    Ok(stats)
}

/// The current time as in traffic events (microseconds, `Z`).
fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(now.as_secs()).unwrap_or(0);
    chrono::DateTime::from_timestamp(secs, now.subsec_nanos())
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    struct Vec8(Vec<String>);
    impl AlertSink for Vec8 {
        fn write_event(&mut self, json: &str) -> io::Result<()> {
            self.0.push(json.to_string());
            Ok(())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn sensor() -> Sensor {
        let cfg = Config {
            signatures: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures"),
            ..Config::default()
        };
        Sensor::build(&cfg, None, b"k").unwrap()
    }

    #[test]
    fn one_masked_event_across_chunks() {
        let s = sensor();
        // The mobile number straddles the first chunk boundary.
        let mut text = vec![b' '; CHUNK - 5];
        text.extend_from_slice(b"13800138000 and u@example.com\n");
        let mut sink = Vec8(Vec::new());
        let st = scan_reader(
            &s,
            &FindingLimits::default(),
            "/x/13800138000.txt",
            &mut &text[..],
            &mut sink,
        )
        .unwrap();
        assert_eq!((st.events, st.distinct, st.records), (1, 2, 1));
        let ev = &sink.0[0];
        assert!(
            ev.contains("\"app_proto\":\"file\"") && ev.contains("\"where\":\"file\""),
            "{ev}"
        );
        assert!(!ev.contains("13800138000"), "clear value in {ev}");
    }

    #[test]
    fn nothing_found_writes_nothing() {
        let s = sensor();
        let mut sink = Vec8(Vec::new());
        let st = scan_reader(
            &s,
            &FindingLimits::default(),
            "-",
            &mut &b"hello"[..],
            &mut sink,
        )
        .unwrap();
        assert_eq!((st.bytes, st.events), (5, 0));
        assert!(sink.0.is_empty());
    }
}
