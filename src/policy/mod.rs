//! Policy: turns findings into violations an incident team acts on.
//!
//! Three checks run on every `dlp` event, each explained by a `reason`:
//!
//! - **unencrypted**: PI in cleartext, within the configured scope
//!   (`[unencrypted] scope`: `always` (default), `cross_zone`,
//!   `leaves_site`, `never`);
//! - **boundary**: PI on a zone path the boundary matrix forbids
//!   ([`boundary`]: most specific rule wins, no rule = allowed);
//! - **cross_border**: the *sender* is in the home country (`home_country`,
//!   default `CN`, mainland China) and the *receiver* is not. HK, MO and TW
//!   have their own codes, so they count as outside.
//!
//! Addresses are placed in zones by longest prefix ([`zones`]); an address
//! in no zone is in the default zone (`default_zone`, default `internet`).
//! Countries ([`Policy::locate`]), most specific statement first:
//! 1. the zone's `country`, when the zone sets one;
//! 2. `[geo.overrides]`;
//! 3. an address in a configured zone without `country`: `home_country`;
//! 4. a special-purpose address (RFC 1918, CGNAT, loopback, link-local, ULA,
//!    documentation...) in the default zone: `home_country` (it is on site);
//! 5. the `[geo] mmdb` database, when configured and it knows the address;
//! 6. the embedded table (IPFire location database, every country);
//! 7. otherwise `ZZ` (unknown). Since the embedded table lists the home
//!    country's allocations completely, an unknown public address is
//!    treated as outside it: as a receiver it makes a cross-border transfer,
//!    as a sender it does not.
//!
//! Allow-lists ([`allow`]) then suppress sanctioned violations, severity
//! ([`severity`]) is computed from what remains, and [`dedup`] lets each
//! worker drop values already reported on the same path.
//!
//! # Use
//! ```
//! use std::sync::Arc;
//! use leakwatch::detect::Confidence;
//! use leakwatch::policy::{Policy, PolicyConfig, Transfer, TransferFinding};
//!
//! let cfg: PolicyConfig = toml::from_str(r#"
//!     [zones.office]
//!     cidrs = ["10.20.0.0/16"]
//!     [geo.overrides]
//!     "198.51.100.0/24" = "US"
//! "#).unwrap();
//! let policy = Arc::new(Policy::from_config(&cfg, ".".as_ref()).unwrap());
//! let findings = [TransferFinding {
//!     pi_type: "cn_resident_id", category: "identity", distinct: 3,
//!     confidence: Confidence::High,
//! }];
//! let v = policy.evaluate(&Transfer {
//!     sender: "10.20.1.15".parse().unwrap(),
//!     receiver: "198.51.100.80".parse().unwrap(),
//!     dest_name: Some("upload.example.com"),
//!     encrypted: false,
//!     findings: &findings,
//!     ts_ns: 0,
//! });
//! let json = serde_json::to_value(&v).unwrap();
//! assert_eq!(json["violations"][0]["kind"], "unencrypted");
//! assert_eq!(json["violations"][1]["kind"], "cross_border");
//! assert_eq!(json["dest_country"], "US");
//! ```

pub mod allow;
pub mod boundary;
pub mod cidr;
pub mod config;
pub mod dedup;
pub mod geo;
mod keypath;
pub mod severity;
pub mod zones;

use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

pub use config::PolicyConfig;
pub use dedup::{DedupStats, Deduper, PathKey};
pub use geo::{Country, GeoSource};
pub use severity::Severity;
pub use zones::ZoneId;

use crate::detect::Confidence;
use allow::AllowList;
use boundary::Boundary;
use config::UnencryptedScope;
use geo::{Geo, Mmdb};
use severity::SeverityModel;
use zones::Zones;

/// A policy that cannot be used: the key path and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    key: String,
    msg: String,
}

impl PolicyError {
    /// An error about the value at `key` (e.g. `zones.office.cidrs[1]`).
    pub fn new(key: &str, msg: impl Into<String>) -> PolicyError {
        PolicyError {
            key: key.to_owned(),
            msg: msg.into(),
        }
    }

    /// Key path of the offending value.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// 1-based line of the offending key in the config `text` it came from
    /// (the deepest part of the key path present), for messages like
    /// `config FILE: line 12: zones.office.cidrs[1]: ...`.
    pub fn line_in(&self, text: &str) -> Option<usize> {
        keypath::line_of(text, &self.key)
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.msg)
    }
}

impl std::error::Error for PolicyError {}

/// Parses a country code, naming `key` on error.
pub(crate) fn parse_country(key: &str, s: &str) -> Result<Country, PolicyError> {
    Country::parse(s).ok_or_else(|| {
        PolicyError::new(
            key,
            format!("{s:?} is not an ISO 3166-1 alpha-2 code (two capital letters, e.g. \"CN\", \"HK\", \"US\")"),
        )
    })
}

/// Violation kinds (indexes into per-kind arrays).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Cleartext PI.
    Unencrypted = 0,
    /// Forbidden zone path.
    Boundary = 1,
    /// PI leaving the home country.
    CrossBorder = 2,
}

impl Kind {
    /// Name used in events and config.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Unencrypted => "unencrypted",
            Kind::Boundary => "boundary",
            Kind::CrossBorder => "cross_border",
        }
    }

    /// Parses a kind name.
    pub fn parse(s: &str) -> Option<Kind> {
        [Kind::Unencrypted, Kind::Boundary, Kind::CrossBorder]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One PI type found in the transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferFinding<'a> {
    /// PI type (DESIGN.md vocabulary).
    pub pi_type: &'a str,
    /// Detector category (`identity`, `contact`, `financial`...).
    pub category: &'a str,
    /// Distinct values of this type in the transfer.
    pub distinct: u64,
    /// Highest confidence among its matches.
    pub confidence: Confidence,
}

/// What the policy judges: PI going from `sender` to `receiver`.
#[derive(Clone, Copy, Debug)]
pub struct Transfer<'a> {
    /// The side that sent the PI (direction resolved by the caller: the
    /// client for a request body, the server for a response).
    pub sender: IpAddr,
    /// The side that received it.
    pub receiver: IpAddr,
    /// The name the flow's server is known by (TLS SNI, HTTP Host, SMTP
    /// domain, DNS answer); for a download it names the sender.
    pub dest_name: Option<&'a str>,
    /// Whether the PI travelled inside encryption (TLS...).
    pub encrypted: bool,
    /// PI types found; no findings means no violations.
    pub findings: &'a [TransferFinding<'a>],
    /// Packet time, ns since the epoch (allow-list expiry).
    pub ts_ns: u64,
}

/// One violation, serialised as in the event schema:
/// `{"kind":"unencrypted","reason":..}`,
/// `{"kind":"boundary","from":"pci","to":"office","reason":..}`,
/// `{"kind":"cross_border","from_country":"CN","to_country":"US","reason":..}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Violation {
    /// Cleartext PI.
    Unencrypted {
        /// Why.
        reason: String,
    },
    /// Forbidden zone path.
    Boundary {
        /// Sender zone.
        from: Arc<str>,
        /// Receiver zone.
        to: Arc<str>,
        /// Why (the deciding rule and the types it forbids).
        reason: String,
    },
    /// PI leaving the home country.
    CrossBorder {
        /// Sender country.
        from_country: Country,
        /// Receiver country.
        to_country: Country,
        /// Why (and where each country came from).
        reason: String,
    },
}

impl Violation {
    /// The kind.
    pub fn kind(&self) -> Kind {
        match self {
            Violation::Unencrypted { .. } => Kind::Unencrypted,
            Violation::Boundary { .. } => Kind::Boundary,
            Violation::CrossBorder { .. } => Kind::CrossBorder,
        }
    }
}

/// A violation an allow rule suppressed (listed when `log_sanctioned`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Allowed {
    /// Rule name.
    pub rule: Arc<str>,
    /// Rule reason.
    pub reason: Arc<str>,
    /// Kind of the suppressed violation.
    pub kind: Kind,
}

/// The policy's judgement of one transfer; its fields go on the `dlp` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Sender zone.
    pub src_zone: Arc<str>,
    /// Receiver zone.
    pub dest_zone: Arc<str>,
    /// Sender country (`ZZ` unknown).
    pub src_country: Country,
    /// Receiver country (`ZZ` unknown).
    pub dest_country: Country,
    /// Violations, in the order unencrypted, boundary, cross_border.
    pub violations: Vec<Violation>,
    /// Event severity.
    pub severity: Severity,
    /// Why that severity: base type, volume (records and distinct values
    /// against their tiers) and raise; omitted when empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub severity_reason: String,
    /// Suppressed violations; omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<Allowed>,
}

/// The compiled, immutable policy. Hold it as `Arc<Policy>` and swap the
/// `Arc` to reload (e.g. on SIGHUP); workers keep using the old one until
/// they pick up the new.
#[derive(Debug)]
pub struct Policy {
    home: Country,
    zones: Zones,
    geo: Geo,
    boundary: Boundary,
    allow: AllowList,
    severity: SeverityModel,
    unencrypted: UnencryptedScope,
    dedup: config::DedupConfig,
}

impl Policy {
    /// Compiles and validates the policy; relative paths (`geo.mmdb`) are
    /// resolved against `base_dir` (the config file's directory).
    ///
    /// # Errors
    /// The first invalid value, naming its key path (`zones.pci.cidrs[2]`,
    /// `boundary.deny[0].to`, `allow.rule[1].expires`, `geo.mmdb`...) and
    /// what is expected.
    pub fn from_config(cfg: &PolicyConfig, base_dir: &Path) -> Result<Policy, PolicyError> {
        let home = parse_country("home_country", &cfg.home_country)?;
        if home.is_unknown() {
            return Err(PolicyError::new(
                "home_country",
                "\"ZZ\" means unknown; give the country to protect, e.g. \"CN\"",
            ));
        }
        let zones = Zones::build(&cfg.zones, &cfg.default_zone)?;
        let geo = build_geo(cfg, base_dir, home)?;
        if cfg.dedup.enabled && (cfg.dedup.window == 0 || cfg.dedup.max_entries == 0) {
            return Err(PolicyError::new(
                "dedup",
                "window and max_entries must be at least 1 (or set enabled = false)",
            ));
        }
        Ok(Policy {
            home,
            boundary: Boundary::build(&cfg.boundary, &zones)?,
            allow: AllowList::build(&cfg.allow, &zones)?,
            severity: SeverityModel::build(&cfg.severity)?,
            unencrypted: cfg.unencrypted.scope,
            dedup: cfg.dedup.clone(),
            zones,
            geo,
        })
    }

    /// Judges one transfer. Cost: two zone lookups, two geo lookups, one
    /// pass over the boundary rules per finding; allocates only the
    /// violations' reasons.
    pub fn evaluate(&self, t: &Transfer<'_>) -> Verdict {
        self.evaluate_records(t, 0)
    }

    /// [`Policy::evaluate`] of a transfer whose PI sits in `records`
    /// records (rows, array objects, lines; see `detect::records`), which
    /// may raise the volume floor of the severity.
    pub fn evaluate_records(&self, t: &Transfer<'_>, records: u64) -> Verdict {
        let from = self.zones.lookup(t.sender);
        let to = self.zones.lookup(t.receiver);
        let (sc, s_src) = self.locate_in(t.sender, from);
        let (rc, r_src) = self.locate_in(t.receiver, to);
        let mut v = Verdict {
            src_zone: self.zones.name(from).clone(),
            dest_zone: self.zones.name(to).clone(),
            src_country: sc,
            dest_country: rc,
            violations: Vec::new(),
            severity: Severity::Low,
            severity_reason: String::new(),
            allowed: Vec::new(),
        };
        if t.findings.is_empty() {
            return v;
        }
        let path = allow::Path {
            sender: t.sender,
            receiver: t.receiver,
            from,
            to,
            dest_name: t.dest_name,
            ts_ns: t.ts_ns,
        };
        let all = || t.findings.iter().map(|f| (f.pi_type, f.category));
        if !t.encrypted && self.unencrypted_applies(from, to, rc) {
            let mut reason = type_list(t.findings.iter());
            reason.push_str(" sent in cleartext");
            self.judge(&mut v, &path, Violation::Unencrypted { reason }, all());
        }
        self.check_boundary(&mut v, &path, t.findings);
        if sc == self.home && rc != self.home {
            let mut reason = type_list(t.findings.iter());
            let _ = write!(
                reason,
                " sent from {sc} (zone {}; country from {}) to {rc} (zone {}; country from {}), outside {}",
                self.zones.name(from),
                s_src.as_str(),
                self.zones.name(to),
                r_src.as_str(),
                self.home,
            );
            let viol = Violation::CrossBorder {
                from_country: sc,
                to_country: rc,
                reason,
            };
            self.judge(&mut v, &path, viol, all());
        }
        let mut kinds = [false; 3];
        for x in &v.violations {
            kinds[x.kind() as usize] = true;
        }
        (v.severity, v.severity_reason) = self.severity.explain(t.findings, kinds, records);
        v
    }

    fn check_boundary(
        &self,
        v: &mut Verdict,
        p: &allow::Path<'_>,
        findings: &[TransferFinding<'_>],
    ) {
        let mut rule = None;
        let denied = || {
            findings.iter().filter(|f| {
                self.boundary
                    .denied(p.from, p.to, f.pi_type, f.category)
                    .is_some()
            })
        };
        for f in findings {
            if let Some(r) = self.boundary.denied(p.from, p.to, f.pi_type, f.category) {
                rule = Some(r);
                break;
            }
        }
        let Some(rule) = rule else { return };
        let mut reason = format!(
            "{} forbids {} from {} to {}",
            rule.label,
            type_list(denied()),
            self.zones.name(p.from),
            self.zones.name(p.to)
        );
        if let Some(r) = &rule.reason {
            reason = format!("{reason}: {r}");
        }
        let viol = Violation::Boundary {
            from: self.zones.name(p.from).clone(),
            to: self.zones.name(p.to).clone(),
            reason,
        };
        self.judge(v, p, viol, denied().map(|f| (f.pi_type, f.category)));
    }

    /// Adds a violation unless an allow rule sanctions it.
    fn judge<'f>(
        &self,
        v: &mut Verdict,
        p: &allow::Path<'_>,
        viol: Violation,
        involved: impl Iterator<Item = (&'f str, &'f str)> + Clone,
    ) {
        match self.allow.find(p, viol.kind(), involved) {
            Some(rule) => {
                if self.allow.log_sanctioned {
                    v.allowed.push(Allowed {
                        rule: rule.name.clone(),
                        reason: rule.reason.clone(),
                        kind: viol.kind(),
                    });
                }
            }
            None => v.violations.push(viol),
        }
    }

    fn unencrypted_applies(&self, from: ZoneId, to: ZoneId, rc: Country) -> bool {
        match self.unencrypted {
            UnencryptedScope::Always => true,
            UnencryptedScope::CrossZone => from != to,
            UnencryptedScope::LeavesSite => to == self.zones.default_zone() || rc != self.home,
            UnencryptedScope::Never => false,
        }
    }

    /// Zone of an address.
    pub fn zone_of(&self, ip: IpAddr) -> &Arc<str> {
        self.zones.name(self.zones.lookup(ip))
    }

    /// Country of an address and where it came from (see the module docs
    /// for the order).
    pub fn locate(&self, ip: IpAddr) -> (Country, GeoSource) {
        self.locate_in(ip, self.zones.lookup(ip))
    }

    #[inline]
    fn locate_in(&self, ip: IpAddr, zone: ZoneId) -> (Country, GeoSource) {
        if let Some(c) = self.zones.country(zone) {
            return (c, GeoSource::Zone);
        }
        if zone == self.zones.default_zone() {
            return self.geo.locate(ip);
        }
        match self.geo.override_of(ip) {
            Some(c) => (c, GeoSource::Override),
            None => (self.home, GeoSource::Zone),
        }
    }

    /// The home country.
    pub fn home_country(&self) -> Country {
        self.home
    }

    /// A fresh per-worker [`Deduper`] with the `[dedup]` settings.
    pub fn new_deduper(&self) -> Deduper {
        Deduper::new(&self.dedup)
    }

    /// One line describing the geo data in use (log it at start-up).
    pub fn geo_description(&self) -> String {
        self.geo.describe()
    }

    /// Checks that every PI type or category named in boundary and allow
    /// rules and `[severity.types]` exists among the loaded detectors, so a
    /// typo does not silently disable a rule. Call after loading detectors.
    ///
    /// # Errors
    /// The first unknown name, with the rule's key path.
    pub fn check_types<'a>(
        &self,
        cfg: &PolicyConfig,
        known: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Result<(), PolicyError> {
        let exists = |n: &str| known.clone().any(|(t, c)| t == n || c == n);
        let check = |key: String, names: &[Box<str>]| {
            names.iter().find(|n| !exists(n)).map_or(Ok(()), |n| {
                Err(PolicyError::new(
                    &key,
                    format!("no detector has type or category \"{n}\""),
                ))
            })
        };
        for r in self.boundary.rules() {
            check(format!("{}.types", r.label), r.types.names())?;
        }
        for (i, r) in self.allow.rules().iter().enumerate() {
            check(format!("allow.rule[{i}].types"), r.types.names())?;
        }
        for k in cfg.severity.types.keys() {
            check("severity.types".into(), &[k.as_str().into()])?;
        }
        Ok(())
    }
}

fn build_geo(cfg: &PolicyConfig, base_dir: &Path, home: Country) -> Result<Geo, PolicyError> {
    let mut overrides = cidr::CidrTable::new();
    for (net, cc) in &cfg.geo.overrides {
        let key = format!("geo.overrides.\"{net}\"");
        let n = cidr::parse_cidr(net).map_err(|m| PolicyError::new(&key, m))?;
        overrides.insert(n, parse_country(&key, cc)?);
    }
    let mmdb = match &cfg.geo.mmdb {
        Some(p) => {
            let path = base_dir.join(p);
            Some(Mmdb::open(&path).map_err(|e| {
                PolicyError::new(
                    "geo.mmdb",
                    format!("cannot open {}: {e} (a MaxMind-format .mmdb file; remove the key to use the embedded table)", path.display()),
                )
            })?)
        }
        None => None,
    };
    Geo::new(overrides, mmdb, home).map_err(|e| PolicyError::new("geo", e))
}

/// `a, b and c` of the findings' types (for reasons; types only, never values).
fn type_list<'f>(findings: impl Iterator<Item = &'f TransferFinding<'f>>) -> String {
    let mut s = String::new();
    for f in findings {
        if !s.is_empty() {
            s.push_str(", ");
        }
        s.push_str(f.pi_type);
    }
    s
}

impl From<&crate::config::Config> for PolicyConfig {
    fn from(c: &crate::config::Config) -> PolicyConfig {
        PolicyConfig {
            home_country: c.home_country.clone(),
            default_zone: c.default_zone.clone(),
            zones: c.zones.clone(),
            geo: c.geo.clone(),
            boundary: c.boundary.clone(),
            allow: c.allow.clone(),
            severity: c.severity.clone(),
            unencrypted: c.unencrypted.clone(),
            dedup: c.dedup.clone(),
        }
    }
}

/// Validates the policy part of a config without keeping it (for
/// `leakwatch check-config`).
///
/// # Errors
/// As [`Policy::from_config`].
pub fn check_config(cfg: &crate::config::Config, base_dir: &Path) -> Result<(), PolicyError> {
    Policy::from_config(&PolicyConfig::from(cfg), base_dir).map(|_| ())
}

#[cfg(test)]
mod tests;
