//! The policy part of `leakwatch.toml` (serde types).
//!
//! Every table rejects unknown keys, so a typo never leaves a default in
//! force. These types only check syntax; [`Policy::from_config`] checks
//! meaning (CIDRs, country codes, zone names, dates, the mmdb file) and names
//! the key path of anything wrong.
//!
//! [`Policy::from_config`]: super::Policy::from_config

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use super::severity::Severity;

/// All policy settings; the top-level keys of `leakwatch.toml` that
/// [`crate::config::Config`] forwards here (see [`PolicyConfig::from`]).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// ISO 3166-1 alpha-2 code of the country data must not leave
    /// (`"CN"`: mainland China; HK, MO and TW are other codes).
    pub home_country: String,
    /// Zone of every address that no `[zones.*]` CIDR covers.
    pub default_zone: String,
    /// Named address sets, `[zones.NAME]`.
    pub zones: BTreeMap<String, ZoneConfig>,
    /// `[geo]`: where public addresses are located.
    pub geo: GeoConfig,
    /// `[boundary]`: which PI may go from which zone to which.
    pub boundary: BoundaryConfig,
    /// `[allow]`: sanctioned transfers.
    pub allow: AllowConfig,
    /// `[severity]`: how severe an event is.
    pub severity: SeverityConfig,
    /// `[unencrypted]`: when cleartext PI is a violation.
    pub unencrypted: UnencryptedConfig,
    /// `[dedup]`: repeated values on one path.
    pub dedup: DedupConfig,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            home_country: "CN".into(),
            default_zone: "internet".into(),
            zones: BTreeMap::new(),
            geo: GeoConfig::default(),
            boundary: BoundaryConfig::default(),
            allow: AllowConfig::default(),
            severity: SeverityConfig::default(),
            unencrypted: UnencryptedConfig::default(),
            dedup: DedupConfig::default(),
        }
    }
}

/// `[zones.NAME]`: one named zone.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    /// IPv4 and IPv6 networks (`10.1.0.0/16`, `fd00:1::/48`, or a bare
    /// address). The longest matching prefix over all zones wins.
    #[serde(default)]
    pub cidrs: Vec<String>,
    /// Where the zone's addresses are located (default: `home_country`).
    #[serde(default)]
    pub country: Option<String>,
}

/// `[geo]`: IP to country for addresses in the default zone.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GeoConfig {
    /// A MaxMind-format country or city database (GeoLite2, DB-IP lite,
    /// IPinfo lite); relative paths are relative to the config file.
    pub mmdb: Option<PathBuf>,
    /// `"CIDR" = "CC"`: wins over the mmdb and the embedded table.
    pub overrides: BTreeMap<String, String>,
}

/// `[boundary]`: lists of `[[boundary.deny]]` and `[[boundary.allow]]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BoundaryConfig {
    /// Paths on which the listed PI is forbidden.
    pub deny: Vec<BoundaryRuleConfig>,
    /// Exceptions to deny rules (the most specific rule wins).
    pub allow: Vec<BoundaryRuleConfig>,
}

/// One boundary rule.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoundaryRuleConfig {
    /// Sender zone(s), or `"*"`.
    pub from: ZoneList,
    /// Receiver zone(s), or `"*"`.
    pub to: ZoneList,
    /// PI types or categories, `"*"` for all (the default).
    #[serde(default = "any_type")]
    pub types: Vec<String>,
    /// Why the rule exists; echoed in the violation's reason.
    #[serde(default)]
    pub reason: Option<String>,
}

fn any_type() -> Vec<String> {
    vec!["*".into()]
}

/// A zone name or a list of them (`"*"` is any zone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneList(pub Vec<String>);

impl<'de> Deserialize<'de> for ZoneList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ZoneList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a zone name or a list of zone names")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ZoneList, E> {
                Ok(ZoneList(vec![s.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ZoneList, A::Error> {
                let mut v = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    v.push(s);
                }
                Ok(ZoneList(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// `[allow]`: sanctioned transfers.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AllowConfig {
    /// List suppressed violations under `allowed` on the event (audit trail).
    pub log_sanctioned: bool,
    /// `[[allow.rule]]` entries.
    pub rule: Vec<AllowRuleConfig>,
}

impl Default for AllowConfig {
    fn default() -> Self {
        AllowConfig {
            log_sanctioned: true,
            rule: Vec::new(),
        }
    }
}

/// One sanctioned transfer. Every key given must match; at least one of
/// `from`, `to`, `from_cidrs`, `to_cidrs`, `names` is required.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowRuleConfig {
    /// Name echoed on events (default `allow.rule[N]`).
    #[serde(default)]
    pub name: Option<String>,
    /// Why the transfer is sanctioned (contract, approval number...).
    pub reason: String,
    /// Last day (UTC) the rule applies: `"2027-06-30"` or a TOML date.
    pub expires: toml::Value,
    /// Sender zone(s).
    #[serde(default)]
    pub from: Option<ZoneList>,
    /// Receiver zone(s).
    #[serde(default)]
    pub to: Option<ZoneList>,
    /// Sender networks.
    #[serde(default)]
    pub from_cidrs: Vec<String>,
    /// Receiver networks.
    #[serde(default)]
    pub to_cidrs: Vec<String>,
    /// Server names (`dest_name`): exact, or `*.example.com` for any subdomain.
    #[serde(default)]
    pub names: Vec<String>,
    /// PI types or categories (default all); every finding involved in the
    /// violation must match.
    #[serde(default = "any_type")]
    pub types: Vec<String>,
    /// Violation kinds suppressed (default all three).
    #[serde(default)]
    pub kinds: Vec<String>,
}

/// `[severity]`: per-type base, confidence, volume tiers and violation kind.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeverityConfig {
    /// Base severity of types and categories not listed in `types`.
    pub default: Severity,
    /// `type_or_category = "level"`, merged over the built-in defaults.
    pub types: BTreeMap<String, Severity>,
    /// Distinct values in one event at which severity is at least medium,
    /// high and critical.
    pub tiers: [u64; 3],
    /// Records with PI in one event at which severity is at least medium,
    /// high and critical (default: `tiers`).
    pub records_tiers: Option<[u64; 3]>,
    /// How the volume floor combines distinct values and records: `max`
    /// (the higher floor of the two), `distinct` or `records` only.
    pub volume: VolumeBasis,
    /// Steps a low-confidence finding loses.
    pub low_confidence_drop: u8,
    /// Steps added by each violation kind present.
    pub raise: RaiseConfig,
}

impl Default for SeverityConfig {
    fn default() -> Self {
        SeverityConfig {
            default: Severity::Low,
            types: BTreeMap::new(),
            tiers: [50, 500, 5000],
            records_tiers: None,
            volume: VolumeBasis::Max,
            low_confidence_drop: 1,
            raise: RaiseConfig::default(),
        }
    }
}

/// `[severity] volume`: what sets the volume floor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumeBasis {
    /// The higher of the distinct-value and the records floor.
    #[default]
    Max,
    /// Distinct values only.
    Distinct,
    /// Records with PI only.
    Records,
}

/// `[severity.raise]`: steps added per violation kind (the largest applies).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaiseConfig {
    /// Cleartext PI.
    pub unencrypted: u8,
    /// Forbidden zone path.
    pub boundary: u8,
    /// PI leaving the home country.
    pub cross_border: u8,
}

impl Default for RaiseConfig {
    fn default() -> Self {
        RaiseConfig {
            unencrypted: 0,
            boundary: 1,
            cross_border: 1,
        }
    }
}

/// When cleartext PI is a violation.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UnencryptedScope {
    /// Any cleartext PI (MPS Guideline §5.1 asks for encryption in transit).
    #[default]
    Always,
    /// Only when sender and receiver are in different zones.
    CrossZone,
    /// Only when the receiver is in the default zone or outside the home
    /// country.
    LeavesSite,
    /// Never.
    Never,
}

/// `[unencrypted]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UnencryptedConfig {
    /// `always` (default), `cross_zone`, `leaves_site` or `never`.
    pub scope: UnencryptedScope,
}

/// `[dedup]`: the same value on the same path is reported once per window.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupConfig {
    /// Off: every value is reported every time.
    pub enabled: bool,
    /// Seconds of packet time a reported value stays "seen" on its path.
    pub window: u64,
    /// Remembered (path, value) pairs per worker; the oldest go first.
    pub max_entries: usize,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            enabled: true,
            window: 300,
            max_entries: 100_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_shape_parses() {
        let c: PolicyConfig = toml::from_str(
            r#"
home_country = "CN"
[zones.office]
cidrs = ["10.1.0.0/16"]
[zones.sg_branch]
cidrs = ["10.9.0.0/16"]
country = "SG"
[geo]
mmdb = "/var/lib/GeoIP/GeoLite2-Country.mmdb"
[geo.overrides]
"203.0.113.0/24" = "US"
[[boundary.deny]]
from = "pci"
to = ["office", "internet"]
types = ["*"]
"#,
        )
        .unwrap();
        assert_eq!(c.zones.len(), 2);
        assert_eq!(c.boundary.deny[0].from, ZoneList(vec!["pci".into()]));
        assert_eq!(c.boundary.deny[0].to.0.len(), 2);
        assert_eq!(c.geo.overrides.len(), 1);
    }

    #[test]
    fn unknown_keys_rejected() {
        let e = toml::from_str::<PolicyConfig>("[zones.a]\ncidr = []\n").unwrap_err();
        assert!(e.to_string().contains("cidr"), "{e}");
        let e =
            toml::from_str::<PolicyConfig>("[unencrypted]\nscope = \"sometimes\"\n").unwrap_err();
        assert!(e.to_string().contains("sometimes"), "{e}");
    }

    #[test]
    fn zone_list_rejects_numbers() {
        let e = toml::from_str::<PolicyConfig>("[[boundary.deny]]\nfrom = 1\nto = \"*\"\n")
            .unwrap_err();
        assert!(e.to_string().contains("zone name"), "{e}");
    }
}
