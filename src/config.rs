//! Configuration: a TOML file (`--config`), every bound with a sane default.
//!
//! Unknown keys are rejected, so a typo never silently leaves a default in
//! force. All validation happens before the first packet is read.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::decode::{DefragConfig, OverlapPolicy as FragmentPolicy};
use crate::flow::reassembly::{LimitPolicy, OverlapPolicy};
use crate::policy::config as policy;

/// Environment variable that holds the HMAC key when the config has none.
pub const HASH_KEY_ENV: &str = "LEAKWATCH_HASH_KEY";

/// The whole configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Key of the HMAC-SHA256 that identifies PI values in events.
    pub hash_key: Option<String>,
    /// Worker threads (0 = number of cores).
    pub workers: usize,
    /// Directory of detector files.
    pub signatures: PathBuf,
    /// Flow table bounds and timeouts.
    pub flow: FlowConfig,
    /// TCP reassembly bounds.
    pub reassembly: ReassemblyConfigFile,
    /// Event output.
    pub output: OutputConfig,
    /// Detection options.
    pub detect: DetectConfig,
    /// Policy: country PI must not leave (see [`crate::policy`]).
    pub home_country: String,
    /// Policy: zone of addresses in no `[zones.*]`.
    pub default_zone: String,
    /// Policy: `[zones.NAME]`.
    pub zones: std::collections::BTreeMap<String, policy::ZoneConfig>,
    /// Policy: `[geo]`.
    pub geo: policy::GeoConfig,
    /// Policy: `[boundary]`.
    pub boundary: policy::BoundaryConfig,
    /// Policy: `[allow]`.
    pub allow: policy::AllowConfig,
    /// Policy: `[severity]`.
    pub severity: policy::SeverityConfig,
    /// Policy: `[unencrypted]`.
    pub unencrypted: policy::UnencryptedConfig,
    /// Policy: `[dedup]`.
    pub dedup: policy::DedupConfig,
    /// Decoder options.
    pub decode: DecodeConfig,
    /// `[replay]`: how capture files are read.
    pub replay: ReplayConfig,
    /// IP fragment reassembly bounds.
    pub defrag: DefragConfigFile,
    /// DNS IP -> name cache bounds.
    pub dns: DnsConfigFile,
    /// `[live]`: live capture options.
    pub live: crate::capture::live::LiveConfig,
    /// `[run]`: process options of a live sensor (user to switch to).
    pub run: crate::capture::live::RunConfig,
    /// Mail (SMTP/POP3/IMAP/MIME) decoding limits.
    pub mail: crate::app::mail::MailConfig,
    /// `[files]`: file tracking, extraction and FTP data connection bounds.
    pub files: crate::files::FilesConfig,
    /// `[normalize]`: decoding before matching.
    pub normalize: crate::detect::normalize::NormalizeConfig,
}

impl Default for Config {
    fn default() -> Self {
        let p = policy::PolicyConfig::default();
        Config {
            hash_key: None,
            workers: 0,
            signatures: PathBuf::from("signatures"),
            flow: FlowConfig::default(),
            reassembly: ReassemblyConfigFile::default(),
            output: OutputConfig::default(),
            detect: DetectConfig::default(),
            home_country: p.home_country,
            default_zone: p.default_zone,
            zones: p.zones,
            geo: p.geo,
            boundary: p.boundary,
            allow: p.allow,
            severity: p.severity,
            unencrypted: p.unencrypted,
            dedup: p.dedup,
            decode: DecodeConfig::default(),
            replay: ReplayConfig::default(),
            normalize: Default::default(),
            defrag: DefragConfigFile::default(),
            dns: DnsConfigFile::default(),
            live: Default::default(),
            run: Default::default(),
            mail: crate::app::mail::MailConfig::default(),
            files: crate::files::FilesConfig::default(),
        }
    }
}

/// `[flow]`: flow table bounds; timeouts in seconds of packet time.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowConfig {
    /// Flows tracked at once over all workers; beyond it the least recently
    /// seen flows are evicted (counted).
    pub max_flows: usize,
    /// TCP flows that never completed a handshake.
    pub timeout_embryonic: u64,
    /// TCP flows with data.
    pub timeout_established: u64,
    /// TCP flows closed by FIN/RST.
    pub timeout_closed: u64,
    /// UDP and other flows.
    pub timeout_udp: u64,
    /// Percent of `max_flows` above which emergency mode starts (shorter
    /// timeouts, embryonic flows evicted first).
    pub emergency_enter_pct: u8,
    /// Percent of `max_flows` below which emergency mode ends.
    pub emergency_leave_pct: u8,
    /// Emergency timeout of embryonic TCP flows.
    pub emergency_timeout_embryonic: u64,
    /// Emergency timeout of TCP flows with data.
    pub emergency_timeout_established: u64,
    /// Emergency timeout of closed TCP flows.
    pub emergency_timeout_closed: u64,
    /// Emergency timeout of UDP and other flows.
    pub emergency_timeout_udp: u64,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_flows: 1_000_000,
            timeout_embryonic: 30,
            timeout_established: 600,
            timeout_closed: 10,
            timeout_udp: 60,
            emergency_enter_pct: 90,
            emergency_leave_pct: 70,
            emergency_timeout_embryonic: 5,
            emergency_timeout_established: 60,
            emergency_timeout_closed: 1,
            emergency_timeout_udp: 10,
        }
    }
}

/// `[reassembly]`: per-flow depth and the global memory bound, in bytes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReassemblyConfigFile {
    /// Bytes inspected per direction of a flow (0 = unlimited).
    pub depth: u64,
    /// Bytes of out-of-order data buffered over all workers.
    pub memcap: usize,
    /// Out-of-order segments buffered per direction.
    pub max_segments: usize,
    /// Which copy wins when segments overlap: `first` (default), `last`,
    /// `bsd`, `linux`, `windows`, `vista`, `solaris`, `hpux10` (aliases
    /// `macos`, `irix`, `windows2k3`, `hpux11`).
    pub overlap_policy: OverlapPolicy,
    /// At the memcap or `max_segments`: `skip` (give up the oldest hole,
    /// inspect the newest data; default) or `stop` (stop inspecting the
    /// direction).
    pub on_limit: LimitPolicy,
    /// Bytes of recently delivered data kept per direction to detect
    /// retransmissions with different data (0 = off; charged to memcap).
    pub recent_window: usize,
}

impl Default for ReassemblyConfigFile {
    fn default() -> Self {
        ReassemblyConfigFile {
            depth: 16 << 20,
            memcap: 1 << 30,
            max_segments: 4096,
            overlap_policy: OverlapPolicy::First,
            on_limit: LimitPolicy::Skip,
            recent_window: 4096,
        }
    }
}

/// `[output]`: event contents and ordering.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// Values listed per finding.
    pub values_cap: usize,
    /// Distinct values counted per finding.
    pub max_distinct: usize,
    /// Events held in memory to sort a replay's output; past it, events are
    /// written in batches (still sorted within each batch) and counted.
    pub sort_buffer: usize,
    /// Seconds (packet time) after which a stream's findings are reported
    /// even though the stream goes on, so long-lived flows still alert.
    pub event_max_age: u64,
    /// Write a `flow` event (end-of-flow summary) for every flow.
    pub flow_events: bool,
    /// Write `anomaly` events (overlaps with other data, out-of-window
    /// segments, bounds hit, fragment and decode anomalies, bad checksums).
    pub anomaly_events: bool,
    /// `anomaly` events one flow may produce (one per direction and kind,
    /// with a count); further kinds are counted only.
    pub anomaly_max_per_flow: usize,
    /// Packet-level `anomaly` events (decode, fragments, checksums) per
    /// kind and second of packet time; beyond it they are counted only
    /// (0 = unlimited).
    pub anomaly_rate: u32,
    /// Debug: write each TCP flow direction's reassembled bytes to a file
    /// in this directory (`--dump-streams`).
    pub dump_streams: Option<PathBuf>,
    /// Sensor name in `event_id`s (default: the host name).
    pub sensor_id: Option<String>,
    /// Seconds between periodic `stats` events: packet time in replay,
    /// wall time in `live` and `replay --realtime`; 0 = only the final
    /// one. Unset: 0 in replay, 60 in live (see [`Config::stats_interval`]).
    pub stats_interval: Option<u64>,
    /// `[[output.sinks]]`: where events go (default: stdout).
    pub sinks: Vec<crate::alert::sinks::config::SinkConfig>,
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            values_cap: 1000,
            max_distinct: 100_000,
            sort_buffer: 1_000_000,
            event_max_age: 60,
            flow_events: false,
            anomaly_events: true,
            anomaly_max_per_flow: 16,
            anomaly_rate: 100,
            dump_streams: None,
            sensor_id: None,
            stats_interval: None,
            sinks: Vec::new(),
        }
    }
}

/// `[detect]`: detection options.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Report low-confidence matches (weak patterns without context).
    pub report_low: bool,
    /// Lowest confidence reported: `low`, `medium` (default) or `high`.
    /// Overrides `report_low` when set.
    pub min_confidence: Option<crate::detect::Confidence>,
    /// Directory of compiled Hyperscan databases, so that start-up and
    /// reloads skip compiling unchanged signatures. Unset: the user's cache
    /// directory (`$XDG_CACHE_HOME` or `~/.cache`, then
    /// `leakwatch/hyperscan`); `""`: no cache.
    pub hyperscan_cache: Option<PathBuf>,
}

impl DetectConfig {
    /// The Hyperscan cache directory in use (`None`: compile every time).
    pub fn hyperscan_cache_dir(&self) -> Option<PathBuf> {
        match &self.hyperscan_cache {
            None => crate::detect::hs_cache::HsCache::default_dir(),
            Some(p) if p.as_os_str().is_empty() => None,
            Some(p) => Some(p.clone()),
        }
    }
}

/// `[decode]`: decoder options.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecodeConfig {
    /// Check IPv4 header, TCP and UDP checksums and drop packets where they
    /// are wrong, as the receiver would (counted). Off by default: captures
    /// taken on a sending host with checksum offload have bad checksums.
    pub validate_checksums: bool,
}

/// `[replay]`: how capture files are read.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReplayConfig {
    /// Map a single classic pcap file into memory window by window instead
    /// of reading it (no copy out of the page cache). Turn off for a file
    /// another process may truncate while it is replayed: that ends a
    /// mapped replay with a bus error (reported, exit status 74).
    pub mmap: bool,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        let d = crate::capture::InputOptions::default();
        ReplayConfig { mmap: d.mmap }
    }
}

impl ReplayConfig {
    /// The capture options these settings ask for.
    pub fn inputs(&self) -> crate::capture::InputOptions {
        crate::capture::InputOptions { mmap: self.mmap }
    }
}

/// `[defrag]`: IPv4/IPv6 fragment reassembly bounds.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DefragConfigFile {
    /// Fragments per datagram (1..=8192); more drops the datagram.
    pub max_fragments: usize,
    /// Bytes of fragments held at once; the oldest datagrams are evicted
    /// to make room.
    pub memcap: usize,
    /// Seconds (packet time) an incomplete datagram is kept.
    pub timeout: u64,
    /// Overlap policy: "first" (default), "last", "bsd", "linux", "windows".
    pub policy: FragmentPolicy,
}

impl Default for DefragConfigFile {
    fn default() -> Self {
        let d = DefragConfig::default();
        DefragConfigFile {
            max_fragments: d.max_fragments,
            memcap: d.memcap,
            timeout: d.timeout / 1_000_000_000,
            policy: d.policy,
        }
    }
}

impl DefragConfigFile {
    /// The defragmenter's configuration.
    pub fn to_config(&self) -> DefragConfig {
        DefragConfig {
            max_fragments: self.max_fragments,
            memcap: self.memcap,
            timeout: self.timeout.saturating_mul(1_000_000_000),
            policy: self.policy,
        }
    }
}

/// `[dns]`: the IP -> name cache that names destinations from DNS answers
/// seen earlier in the traffic.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfigFile {
    /// Addresses remembered (0 disables); the oldest answer is evicted.
    pub name_cache_entries: usize,
    /// Seconds (packet time) an answer is used for; TTLs are ignored.
    pub name_cache_max_age: u64,
}

impl Default for DnsConfigFile {
    fn default() -> Self {
        let d = crate::app::dns::cache::NameCacheConfig::default();
        DnsConfigFile {
            name_cache_entries: d.max_entries,
            name_cache_max_age: d.max_age / 1_000_000_000,
        }
    }
}

impl DnsConfigFile {
    /// The cache's configuration.
    pub fn to_config(&self) -> crate::app::dns::cache::NameCacheConfig {
        crate::app::dns::cache::NameCacheConfig {
            max_entries: self.name_cache_entries,
            max_age: self.name_cache_max_age.saturating_mul(1_000_000_000),
        }
    }
}

/// A configuration that cannot be used; names the file and the problem.
#[derive(Debug)]
pub struct ConfigError {
    path: PathBuf,
    msg: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config {}: {}", self.path.display(), self.msg)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads and validates a config file.
    ///
    /// # Errors
    /// Unreadable file, TOML syntax error or unknown key (with line and
    /// column), or a value out of range.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let err = |msg: String| ConfigError {
            path: path.to_path_buf(),
            msg,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
        let mut cfg = Config::parse(&text).map_err(err)?;
        let base = path.parent().unwrap_or(Path::new("."));
        for s in &mut cfg.output.sinks {
            s.resolve_paths(base);
        }
        Ok(cfg)
    }

    /// Parses and validates config text.
    ///
    /// # Errors
    /// A message with line and column for syntax errors and unknown keys.
    pub fn parse(text: &str) -> Result<Config, String> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| line_col(text, s.start))
                .unwrap_or_default();
            format!("{at}{}", e.message())
        })?;
        cfg.validate()?;
        if cfg.live.stats_interval.is_some() {
            tracing::warn!(
                "config: [live] stats_interval is deprecated; use [output] stats_interval \
                 (one key for replay and live)"
            );
        }
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), String> {
        self.normalize.validate()?;
        if self.flow.max_flows == 0 {
            return Err("flow.max_flows must be at least 1".into());
        }
        if self.output.values_cap == 0 || self.output.max_distinct == 0 {
            return Err("output.values_cap and output.max_distinct must be at least 1".into());
        }
        if self.output.sort_buffer == 0 {
            return Err("output.sort_buffer must be at least 1".into());
        }
        if self.mail.max_depth == 0 || self.mail.max_parts == 0 {
            return Err("mail.max_depth and mail.max_parts must be at least 1".into());
        }
        crate::alert::sinks::validate_all(&self.output.sinks)?;
        if self.reassembly.max_segments == 0 {
            return Err("reassembly.max_segments must be at least 1".into());
        }
        if !(1..=8192).contains(&self.defrag.max_fragments) {
            return Err("defrag.max_fragments must be between 1 and 8192".into());
        }
        self.files.validate()?;
        let f = &self.flow;
        if f.emergency_leave_pct >= f.emergency_enter_pct || f.emergency_enter_pct > 100 {
            return Err(
                "flow.emergency_leave_pct must be below flow.emergency_enter_pct (at most 100)"
                    .into(),
            );
        }
        if matches!(&self.hash_key, Some(k) if k.len() < 16) {
            return Err(
                "hash_key must be at least 16 characters (use a long random secret)".into(),
            );
        }
        Ok(())
    }

    /// Seconds between periodic `stats` events: `[output] stats_interval`
    /// (or the deprecated `[live]` one); unset, 60 in live capture and 0
    /// (off) in an offline replay.
    pub fn stats_interval(&self, live: bool) -> u64 {
        let default = if live { 60 } else { 0 };
        self.output
            .stats_interval
            .or(self.live.stats_interval)
            .unwrap_or(default)
    }

    /// The sensor name in event ids.
    pub fn sensor_id(&self) -> String {
        self.output
            .sensor_id
            .clone()
            .unwrap_or_else(crate::alert::sinks::hostname)
    }

    /// Worker count to use: the configured one, else the number of cores.
    pub fn worker_count(&self) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }
    }
}

fn line_col(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    format!("line {line}, column {col}: ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_all_defaults() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.flow.max_flows, 1_000_000);
        assert_eq!(c.output.values_cap, 1000);
        assert!(c.hash_key.is_none());
    }

    #[test]
    fn stats_interval_is_one_key_with_a_default_per_mode() {
        let c = Config::parse("").unwrap();
        assert_eq!((c.stats_interval(false), c.stats_interval(true)), (0, 60));
        let c = Config::parse("[output]\nstats_interval = 5\n").unwrap();
        assert_eq!((c.stats_interval(false), c.stats_interval(true)), (5, 5));
        // The deprecated [live] key still loads; [output] wins over it.
        let c = Config::parse("[live]\nstats_interval = 7\n").unwrap();
        assert_eq!(c.stats_interval(true), 7);
        let c =
            Config::parse("[output]\nstats_interval = 0\n[live]\nstats_interval = 7\n").unwrap();
        assert_eq!(c.stats_interval(true), 0);
    }

    #[test]
    fn unknown_key_names_line() {
        let e = Config::parse("workers = 2\n[flow]\nmax_flow = 3\n").unwrap_err();
        assert!(e.contains("line 3"), "{e}");
        assert!(e.contains("max_flow"), "{e}");
    }

    #[test]
    fn decode_and_defrag_sections() {
        let c = Config::parse("").unwrap();
        assert!(!c.decode.validate_checksums);
        assert_eq!(c.defrag.to_config(), DefragConfig::default());
        let c = Config::parse(
            "[decode]\nvalidate_checksums = true\n[defrag]\npolicy = \"linux\"\ntimeout = 5\n",
        )
        .unwrap();
        assert!(c.decode.validate_checksums);
        assert_eq!(c.defrag.to_config().policy, FragmentPolicy::Linux);
        assert_eq!(c.defrag.to_config().timeout, 5_000_000_000);
        assert!(Config::parse("[defrag]\npolicy = \"solaris\"").is_err());
        assert!(Config::parse("[defrag]\nmax_fragments = 0").is_err());
    }

    #[test]
    fn reassembly_policies_parse() {
        let c = Config::parse(
            "[reassembly]\noverlap_policy = \"linux\"\non_limit = \"stop\"\n[flow]\nemergency_enter_pct = 80\n",
        )
        .unwrap();
        assert_eq!(c.reassembly.overlap_policy, OverlapPolicy::Linux);
        assert_eq!(c.reassembly.on_limit, LimitPolicy::Stop);
        assert_eq!(c.flow.emergency_enter_pct, 80);
        let c = Config::parse("[reassembly]\noverlap_policy = \"macos\"\n").unwrap();
        assert_eq!(c.reassembly.overlap_policy, OverlapPolicy::Bsd);
        assert!(Config::parse("[reassembly]\noverlap_policy = \"beos\"\n").is_err());
        assert!(Config::parse("[flow]\nemergency_leave_pct = 95\n").is_err());
    }

    #[test]
    fn short_key_rejected() {
        let e = Config::parse("hash_key = \"abc\"").unwrap_err();
        assert!(e.contains("hash_key"), "{e}");
    }
}
