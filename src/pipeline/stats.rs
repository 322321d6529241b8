//! The end-of-run `stats` event: what every stage counted.

use std::time::Duration;

use serde_json::{json, Value};

use super::output::OutputStats;
use super::reader::ReaderStats;
use super::worker::{FileStats, WorkerStats};
use crate::alert::event::{event_type, format_ts};
use crate::alert::SCHEMA_VERSION;
use crate::capture::live::InterfaceStats;
use crate::decode::DecodeError;
use crate::flow::table::FlowTableStats;
use crate::flow::ReassemblyStats;

/// Counters of a whole run, summed over threads.
#[derive(Clone, Debug)]
pub struct RunStats {
    /// Input files in the order read.
    pub files: Vec<String>,
    /// Worker threads.
    pub workers: usize,
    /// Reader counters.
    pub reader: ReaderStats,
    /// Flow table counters (summed over workers).
    pub flow: FlowTableStats,
    /// Reassembly counters (summed over workers).
    pub reassembly: ReassemblyStats,
    /// Peak out-of-order bytes buffered (summed over workers' peaks).
    pub reassembly_peak_bytes: u64,
    /// Bytes scanned by detection.
    pub bytes_scanned_total: u64,
    /// Validated matches.
    pub matches_total: u64,
    /// `dlp` events built.
    pub dlp_events_total: u64,
    /// `anomaly` events from the workers (stream anomalies).
    pub anomaly_events_total: u64,
    /// Stream anomaly kinds over the per-flow cap (counted only).
    pub anomaly_suppressed_total: u64,
    /// File tracking counters (summed over workers).
    pub file_tracking: FileStats,
    /// Normalisation counters (summed over workers).
    pub normalize: crate::detect::normalize::NormalizeStats,
    /// Column mapping counters (summed over workers).
    pub columns: crate::detect::columns::ColumnStats,
    /// Output counters.
    pub output: OutputStats,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
    /// Live: counters per interface (kernel drops); empty in a replay.
    pub interfaces: Vec<InterfaceStats>,
}

impl RunStats {
    /// Sums the threads' counters.
    pub fn new(
        files: Vec<String>,
        workers: usize,
        reader: ReaderStats,
        per_worker: &[WorkerStats],
        output: OutputStats,
        elapsed: Duration,
    ) -> RunStats {
        let mut s = RunStats {
            files,
            workers,
            reader,
            flow: FlowTableStats::default(),
            reassembly: ReassemblyStats::default(),
            reassembly_peak_bytes: 0,
            bytes_scanned_total: 0,
            matches_total: 0,
            dlp_events_total: 0,
            anomaly_events_total: 0,
            anomaly_suppressed_total: 0,
            file_tracking: FileStats::default(),
            normalize: Default::default(),
            columns: Default::default(),
            output,
            elapsed,
            interfaces: Vec::new(),
        };
        for w in per_worker {
            add_flow(&mut s.flow, &w.flow);
            s.reassembly.merge(&w.reassembly);
            s.reassembly_peak_bytes += w.reassembly_peak_bytes;
            s.bytes_scanned_total += w.bytes_scanned_total;
            s.matches_total += w.matches_total;
            s.dlp_events_total += w.dlp_events_total;
            s.anomaly_events_total += w.anomaly_events_total;
            s.anomaly_suppressed_total += w.anomaly_suppressed_total;
            s.file_tracking.merge(&w.files);
            s.normalize.add(&w.normalize);
            s.columns.add(&w.columns);
        }
        s
    }

    /// Captured megabytes (10^6) per second of wall-clock time.
    pub fn throughput_mbps(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        self.reader.bytes_total as f64 / 1e6 / secs
    }

    /// `stats.flow`: the flow table counters summed over workers.
    pub(crate) fn flow_json(&self) -> Value {
        json!({
            "flows_total": self.flow.flows_total,
            "timeouts_total": self.flow.timeouts_total,
            "evicted_total": self.flow.evicted_total,
            "reused_total": self.flow.reused_total,
            "peak_flows": self.flow.peak_flows,
            "emergency_entered_total": self.flow.emergency_entered_total,
            "evicted_embryonic_total": self.flow.evicted_embryonic_total,
        })
    }

    /// `stats.reassembly`: the reassembly counters summed over workers.
    pub(crate) fn reassembly_json(&self) -> Value {
        let mut m: serde_json::Map<String, Value> = self
            .reassembly
            .counters()
            .into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        m.insert(
            "peak_buffered_bytes".into(),
            json!(self.reassembly_peak_bytes),
        );
        Value::Object(m)
    }

    /// `stats.detect`: scanned bytes, matches and the column mapping
    /// counters, summed over workers.
    pub(crate) fn detect_json(&self) -> Value {
        json!({
            "bytes_scanned_total": self.bytes_scanned_total,
            "matches_total": self.matches_total,
            "columns": self.columns.to_json(),
        })
    }

    fn file_tracking_json(&self) -> Value {
        let mut v = self.file_tracking.to_json();
        let f = &self.reader.ftp_route;
        v["ftp_route"] = json!({
            "announced": f.announced,
            "routed_packets": f.routed_packets,
            "evicted": f.evicted,
            "expired": f.expired,
        });
        v
    }

    /// The `stats` event as one JSON line.
    pub fn to_event_json(&self) -> String {
        let r = &self.reader;
        let decode: serde_json::Map<String, Value> = DecodeError::ALL
            .iter()
            .zip(r.decode_errors.iter())
            .map(|(k, n)| (k.counter_name().to_string(), json!(n)))
            .collect();
        let secs = self.elapsed.as_secs_f64();
        let v = json!({
            "timestamp": format_ts(r.last_ts),
            "event_type": event_type::STATS,
            "stats": {
                "schema_version": SCHEMA_VERSION,
                "files": self.files,
                "workers": self.workers,
                "elapsed_seconds": (secs * 1000.0).round() / 1000.0,
                "throughput_mbps": (self.throughput_mbps() * 10.0).round() / 10.0,
                "capture": {
                    "packets_total": r.packets_total,
                    "bytes_total": r.bytes_total,
                    "first_packet": format_ts(r.first_ts),
                    "last_packet": format_ts(r.last_ts),
                    "warnings": r.warnings,
                },
                "decoder": {
                    "tcp_total": r.tcp_total,
                    "udp_total": r.udp_total,
                    "other_proto_total": r.other_proto_total,
                    "snapped_total": r.snapped_total,
                    "errors": decode,
                    "checksum_bad": {
                        "ipv4_total": r.checksum.ipv4_bad_total,
                        "tcp_total": r.checksum.tcp_bad_total,
                        "udp_total": r.checksum.udp_bad_total,
                    },
                },
                "defrag": r.defrag.to_json(),
                "dns_names": {
                    "responses_total": r.dns_names.responses_total,
                    "malformed_total": r.dns_names.malformed_total,
                    "inserted_total": r.dns_names.inserted_total,
                    "evicted_total": r.dns_names.evicted_total,
                    "named_packets_total": r.dns_names.named_packets_total,
                    "tcp_messages_total": r.dns_names.tcp.messages_total,
                    "tcp_abandoned_total": r.dns_names.tcp.abandoned_total,
                    "tcp_evicted_total": r.dns_names.tcp.evicted_total,
                },
                "flow": self.flow_json(),
                "reassembly": self.reassembly_json(),
                "file_tracking": self.file_tracking_json(),
                "detect": self.detect_json(),
                "normalize": {
                    "decoded_items_total": self.normalize.decoded_items_total,
                    "derived_items_total": self.normalize.derived_items_total,
                    "derived_bytes_total": self.normalize.derived_bytes_total,
                    "limit_total": self.normalize.limit_total,
                },
                "output": {
                    "dlp_events_total": self.dlp_events_total,
                    "events_total": self.output.events_total,
                    "sort_buffer_full_total": self.output.sort_buffer_full_total,
                },
                "anomaly": {
                    "stream_events_total": self.anomaly_events_total,
                    "stream_over_flow_cap_total": self.anomaly_suppressed_total,
                    "packet_events_total": r.anomaly_events_total,
                    "packet_over_rate_total": r.anomaly_suppressed_total,
                },
                "dedup": {
                    "checked_total": self.output.dedup.checked_total,
                    "repeats_total": self.output.dedup.repeats_total,
                    "evicted_total": self.output.dedup.evicted_total,
                    "expired_total": self.output.dedup.expired_total,
                    "suppressed_events_total": self.output.dedup.suppressed_events_total,
                },
            }
        });
        self.add_live(v).to_string()
    }

    /// Live runs: drop counters per interface; any run: whether a signal
    /// stopped it early (keys added only when they apply).
    fn add_live(&self, mut v: Value) -> Value {
        let Some(cap) = v
            .pointer_mut("/stats/capture")
            .and_then(Value::as_object_mut)
        else {
            return v;
        };
        if self.reader.interrupted {
            cap.insert("interrupted".into(), json!(true));
        }
        if !self.interfaces.is_empty() {
            let sum =
                |f: &dyn Fn(&InterfaceStats) -> u64| self.interfaces.iter().map(f).sum::<u64>();
            cap.insert(
                "kernel_drops_total".into(),
                json!(sum(&|i| i.kernel.dropped)),
            );
            cap.insert(
                "if_drops_total".into(),
                json!(sum(&|i| i.kernel.if_dropped)),
            );
            let list: Vec<Value> = self
                .interfaces
                .iter()
                .map(InterfaceStats::to_json)
                .collect();
            cap.insert("interfaces".into(), Value::Array(list));
        }
        v
    }
}

fn add_flow(a: &mut FlowTableStats, b: &FlowTableStats) {
    a.flows_total += b.flows_total;
    a.timeouts_total += b.timeouts_total;
    a.evicted_total += b.evicted_total;
    a.reused_total += b.reused_total;
    a.peak_flows += b.peak_flows;
    a.emergency_entered_total += b.emergency_entered_total;
    a.evicted_embryonic_total += b.evicted_embryonic_total;
}
