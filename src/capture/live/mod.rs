//! Live capture: frames from network interfaces, and paced replay of files.
//!
//! A [`PacketSource`] is polled by one reader thread of the pipeline: it
//! waits at most a given time for frames, hands each one (borrowed, no
//! copy) to a callback, and reports kernel counters. Three kinds:
//!
//! - [`afpacket`] (Linux, the default): an `AF_PACKET` socket with a
//!   `TPACKET_V3` memory-mapped ring; `fanout` sockets per interface join
//!   one `PACKET_FANOUT_HASH` group so that several reader threads share the
//!   interface's traffic.
//! - [`mod@pcap`]: libpcap (promiscuous, snaplen, buffer size,
//!   immediate mode, BPF filter), one reader per interface.
//! - [`paced`]: a capture file replayed at its recorded speed (or a
//!   multiple), through the same code path as a live interface.
//!
//! The kernel's fanout hash decides only which *reader* sees a frame; the
//! reader then routes it by our own symmetric flow hash, so a flow always
//! lands on one worker even where the kernel hashes differently from us
//! (tunnels, VLANs, fragments). See the README section "Live capture".

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::{FrameInfo, Timestamp};

#[cfg(target_os = "linux")]
pub mod afpacket;
pub mod paced;
pub mod pcap;
pub mod privs;
pub mod ring;

/// Which capture mechanism reads the interfaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// `AF_PACKET` `TPACKET_V3` ring with fanout (Linux only).
    Afpacket,
    /// libpcap.
    Pcap,
}

impl Backend {
    /// The platform default: `afpacket` on Linux, else `pcap`.
    pub fn platform_default() -> Backend {
        if cfg!(target_os = "linux") {
            Backend::Afpacket
        } else {
            Backend::Pcap
        }
    }

    /// Parses `afpacket` or `pcap`.
    pub fn parse(s: &str) -> Option<Backend> {
        match s {
            "afpacket" | "af_packet" => Some(Backend::Afpacket),
            "pcap" | "libpcap" => Some(Backend::Pcap),
            _ => None,
        }
    }
}

/// `[live]`: live capture options (all overridable on the command line).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LiveConfig {
    /// Interfaces to capture on (`-i` adds to / replaces these).
    pub interfaces: Vec<String>,
    /// `afpacket` (Linux default) or `pcap`.
    pub capture: Option<Backend>,
    /// Bytes captured per frame.
    pub snaplen: u32,
    /// Put the interfaces in promiscuous mode.
    pub promisc: bool,
    /// BPF filter expression (tcpdump syntax); empty = everything.
    pub bpf: String,
    /// libpcap: kernel buffer size in bytes.
    pub buffer_size: usize,
    /// afpacket: ring block size in bytes (a multiple of the page size).
    pub block_size: u32,
    /// afpacket: ring blocks per socket (ring = block_size x block_count).
    pub block_count: u32,
    /// afpacket: milliseconds after which a partly filled block is handed
    /// over anyway (latency at low rates).
    pub block_timeout_ms: u32,
    /// afpacket: sockets (reader threads) per interface; 0 = one per worker.
    pub fanout: usize,
    /// Deprecated alias of `[output] stats_interval`, still read so that
    /// old configs load; `[output]` wins when both are set.
    pub stats_interval: Option<u64>,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            interfaces: Vec::new(),
            capture: None,
            snaplen: 65535,
            promisc: true,
            bpf: String::new(),
            buffer_size: 64 << 20,
            block_size: 1 << 20,
            block_count: 32,
            block_timeout_ms: 50,
            fanout: 0,
            stats_interval: None,
        }
    }
}

/// `[run]`: process options of a live sensor.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Switch to this user (and its group) once the captures are open.
    pub user: Option<String>,
    /// Process traffic as root (otherwise `live` refuses to).
    pub allow_root: bool,
}

/// Capture counters of the kernel (and of the interface, where known),
/// accumulated since the source was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Frames the kernel received for this capture (including dropped ones).
    pub received: u64,
    /// Frames dropped because the capture buffer or ring was full.
    pub dropped: u64,
    /// Frames dropped by the interface or driver (libpcap only).
    pub if_dropped: u64,
}

impl KernelStats {
    /// All drops.
    pub fn drops(&self) -> u64 {
        self.dropped + self.if_dropped
    }
}

/// Why a live capture could not be opened or read.
#[derive(Debug)]
pub struct LiveError {
    source: String,
    msg: String,
}

impl LiveError {
    /// An error of `source` (an interface or file name).
    pub fn new(source: impl Into<String>, msg: impl Into<String>) -> LiveError {
        LiveError {
            source: source.into(),
            msg: msg.into(),
        }
    }
}

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.msg)
    }
}

impl std::error::Error for LiveError {}

/// A source of frames polled by one reader thread.
pub trait PacketSource: Send {
    /// Interface (or file) name, for stats and messages.
    fn name(&self) -> &str;

    /// Waits at most about `timeout` for frames and hands each to `f`.
    /// Returns `Ok(false)` at the end of input (files only).
    ///
    /// # Errors
    /// The capture failed (interface gone, corrupt file).
    fn poll(
        &mut self,
        timeout: Duration,
        f: &mut dyn FnMut(FrameInfo, &[u8]),
    ) -> Result<bool, LiveError>;

    /// Kernel counters since the source was opened.
    fn kernel_stats(&mut self) -> KernelStats;

    /// The source's "now" in packet time, used to time out idle flows
    /// (the wall clock for interfaces).
    fn clock(&self) -> Timestamp;

    /// Non-fatal warnings, taken once.
    fn take_warnings(&mut self) -> Vec<String> {
        Vec::new()
    }
}

/// Counters of one source, published by its reader thread for periodic
/// `stats` events (relaxed atomics: figures, not synchronisation).
#[derive(Debug, Default)]
pub struct SourceCounters {
    /// Frames read.
    pub packets: AtomicU64,
    /// Captured bytes read.
    pub bytes: AtomicU64,
    /// Kernel: frames received.
    pub kernel_received: AtomicU64,
    /// Kernel: frames dropped (buffer/ring full).
    pub kernel_dropped: AtomicU64,
    /// Interface: frames dropped.
    pub if_dropped: AtomicU64,
}

impl SourceCounters {
    /// Stores the kernel counters.
    pub fn set_kernel(&self, k: KernelStats) {
        self.kernel_received.store(k.received, Ordering::Relaxed);
        self.kernel_dropped.store(k.dropped, Ordering::Relaxed);
        self.if_dropped.store(k.if_dropped, Ordering::Relaxed);
    }

    /// A snapshot with the source's name.
    pub fn snapshot(&self, name: &str) -> InterfaceStats {
        InterfaceStats {
            name: name.to_string(),
            packets_total: self.packets.load(Ordering::Relaxed),
            bytes_total: self.bytes.load(Ordering::Relaxed),
            kernel: KernelStats {
                received: self.kernel_received.load(Ordering::Relaxed),
                dropped: self.kernel_dropped.load(Ordering::Relaxed),
                if_dropped: self.if_dropped.load(Ordering::Relaxed),
            },
        }
    }
}

/// Counters of one capture source, as reported in `stats` events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InterfaceStats {
    /// Interface or file name.
    pub name: String,
    /// Frames read by leakwatch.
    pub packets_total: u64,
    /// Captured bytes read by leakwatch.
    pub bytes_total: u64,
    /// Kernel counters.
    pub kernel: KernelStats,
}

impl InterfaceStats {
    /// The JSON object of `stats.capture.interfaces[]`.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "packets_total": self.packets_total,
            "bytes_total": self.bytes_total,
            "kernel_packets_total": self.kernel.received,
            "kernel_drops_total": self.kernel.dropped,
            "if_drops_total": self.kernel.if_dropped,
        })
    }
}

/// Sums counters of sources with the same name (fanout sockets of one
/// interface), keeping the first-seen order.
pub fn merge_by_name(all: &[InterfaceStats]) -> Vec<InterfaceStats> {
    let mut out: Vec<InterfaceStats> = Vec::new();
    for s in all {
        match out.iter_mut().find(|o| o.name == s.name) {
            Some(o) => {
                o.packets_total += s.packets_total;
                o.bytes_total += s.bytes_total;
                o.kernel.received += s.kernel.received;
                o.kernel.dropped += s.kernel.dropped;
                o.kernel.if_dropped += s.kernel.if_dropped;
            }
            None => out.push(s.clone()),
        }
    }
    out
}

/// How to open interfaces.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// Capture mechanism.
    pub backend: Backend,
    /// Capture options.
    pub live: LiveConfig,
    /// afpacket sockets per interface (already resolved, at least 1).
    pub fanout: usize,
}

/// Opens every interface. With `afpacket`, `fanout` sockets per interface
/// share its traffic; with `pcap`, one handle per interface.
///
/// # Errors
/// The first interface that cannot be opened (missing, no permission, bad
/// BPF expression, ring too large).
pub fn open_interfaces(
    ifaces: &[String],
    opts: &OpenOptions,
) -> Result<Vec<Box<dyn PacketSource>>, LiveError> {
    let mut out: Vec<Box<dyn PacketSource>> = Vec::new();
    for iface in ifaces {
        match opts.backend {
            Backend::Pcap => out.push(Box::new(pcap::PcapSource::open(iface, &opts.live)?)),
            #[cfg(target_os = "linux")]
            Backend::Afpacket => {
                for s in afpacket::open_group(iface, &opts.live, opts.fanout.max(1))? {
                    out.push(Box::new(s));
                }
            }
            #[cfg(not(target_os = "linux"))]
            Backend::Afpacket => {
                return Err(LiveError::new(
                    iface,
                    "AF_PACKET capture exists only on Linux; use --capture pcap",
                ))
            }
        }
    }
    Ok(out)
}

/// The wall clock as a packet timestamp.
pub fn wall_clock() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names() {
        assert_eq!(Backend::parse("pcap"), Some(Backend::Pcap));
        assert_eq!(Backend::parse("afpacket"), Some(Backend::Afpacket));
        assert_eq!(Backend::parse("pf_ring"), None);
    }

    #[test]
    fn merge_sums_fanout_sockets() {
        let s = |n: &str, p: u64, d: u64| InterfaceStats {
            name: n.into(),
            packets_total: p,
            bytes_total: p * 10,
            kernel: KernelStats {
                received: p + d,
                dropped: d,
                if_dropped: 0,
            },
        };
        let m = merge_by_name(&[s("eth0", 5, 1), s("eth1", 7, 0), s("eth0", 3, 2)]);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].name, "eth0");
        assert_eq!(m[0].packets_total, 8);
        assert_eq!(m[0].kernel.dropped, 3);
        assert_eq!(m[0].kernel.drops(), 3);
        assert_eq!(m[1].bytes_total, 70);
    }

    #[test]
    fn counters_snapshot() {
        let c = SourceCounters::default();
        c.packets.store(4, Ordering::Relaxed);
        c.set_kernel(KernelStats {
            received: 9,
            dropped: 2,
            if_dropped: 1,
        });
        let s = c.snapshot("veth0");
        assert_eq!(s.packets_total, 4);
        assert_eq!(s.kernel.drops(), 3);
        assert_eq!(s.to_json()["kernel_drops_total"], 2);
    }
}
