//! Severity of a `dlp` event.
//!
//! 1. Each finding starts at its base severity: `[severity.types]` looked up
//!    by PI type, then by category, then the built-in defaults
//!    ([`DEFAULT_TYPES`]: credentials and sensitive attributes high, identity
//!    documents and cards medium), then `[severity].default` (low).
//!    A low-confidence finding drops `low_confidence_drop` steps (to no less
//!    than low). The event takes the highest finding.
//! 2. Volume: the distinct values of all findings together set a floor:
//!    at least medium, high and critical from `tiers` (50 / 500 / 5,000 by
//!    default, the thresholds Chinese courts apply to PI infringement).
//!    The records with PI (`records` on the event: rows of a CSV, objects
//!    of a JSON array, `<tr>` rows, lines) set a second floor from
//!    `records_tiers` (default: `tiers`); `volume = "max"` (default) takes
//!    the higher, `"distinct"` or `"records"` only one. A 600-row export
//!    whose rows each hold a name and a mobile number is 600 records
//!    however few distinct values of one type it holds.
//! 3. Violations raise it by `[severity.raise]` steps (the largest raise of
//!    the kinds present; default boundary and cross_border 1, unencrypted 0),
//!    capped at critical.

use ahash::AHashMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::config::{SeverityConfig, VolumeBasis};
use super::{Kind, TransferFinding};
use crate::detect::Confidence;

/// Event severity, ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// `steps` levels up (negative: down), saturating.
    pub fn step(self, steps: i16) -> Severity {
        let v = (self as i16).saturating_add(steps).clamp(0, 3);
        match v {
            0 => Severity::Low,
            1 => Severity::Medium,
            2 => Severity::High,
            _ => Severity::Critical,
        }
    }

    /// Name used in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// Built-in base severities by PI type or category (DESIGN.md vocabulary);
/// `[severity.types]` entries replace them one by one.
pub const DEFAULT_TYPES: &[(&str, Severity)] = &[
    ("credential", Severity::High),
    ("sensitive_attr", Severity::High),
    ("cn_resident_id", Severity::Medium),
    ("cn_passport", Severity::Medium),
    ("hk_macau_permit", Severity::Medium),
    ("bank_card", Severity::Medium),
];

/// The compiled severity model.
#[derive(Clone, Debug)]
pub struct SeverityModel {
    default: Severity,
    /// Looked up for every finding of every event: ahash, not SipHash.
    types: AHashMap<Box<str>, Severity>,
    tiers: [u64; 3],
    records_tiers: [u64; 3],
    volume: VolumeBasis,
    low_drop: u8,
    raise: [u8; 3],
}

impl SeverityModel {
    /// Compiles `[severity]`.
    ///
    /// # Errors
    /// Tiers not strictly increasing or zero, naming `severity.tiers`.
    pub fn build(cfg: &SeverityConfig) -> Result<SeverityModel, super::PolicyError> {
        let t = cfg.tiers;
        check_tiers("severity.tiers", t)?;
        let rt = cfg.records_tiers.unwrap_or(t);
        check_tiers("severity.records_tiers", rt)?;
        let mut types: AHashMap<Box<str>, Severity> = DEFAULT_TYPES
            .iter()
            .map(|(k, v)| ((*k).into(), *v))
            .collect();
        types.extend(cfg.types.iter().map(|(k, v)| (k.as_str().into(), *v)));
        let mut raise = [0u8; 3];
        raise[Kind::Unencrypted as usize] = cfg.raise.unencrypted;
        raise[Kind::Boundary as usize] = cfg.raise.boundary;
        raise[Kind::CrossBorder as usize] = cfg.raise.cross_border;
        Ok(SeverityModel {
            default: cfg.default,
            types,
            tiers: t,
            records_tiers: rt,
            volume: cfg.volume,
            low_drop: cfg.low_confidence_drop,
            raise,
        })
    }

    /// Base severity of one finding, before volume and violations.
    pub fn finding(&self, f: &TransferFinding<'_>) -> Severity {
        let base = self
            .types
            .get(f.pi_type)
            .or_else(|| self.types.get(f.category))
            .copied()
            .unwrap_or(self.default);
        if f.confidence == Confidence::Low {
            base.step(-i16::from(self.low_drop))
        } else {
            base
        }
    }

    /// Floor set by the number of distinct values.
    pub fn volume_floor(&self, distinct: u64) -> Severity {
        floor(&self.tiers, distinct)
    }

    /// Floor set by the number of records with PI.
    pub fn records_floor(&self, records: u64) -> Severity {
        floor(&self.records_tiers, records)
    }

    /// Severity of an event with these findings and violation kinds present.
    pub fn score(&self, findings: &[TransferFinding<'_>], kinds: [bool; 3]) -> Severity {
        self.explain(findings, kinds, 0).0
    }

    /// Severity of an event with `records` records holding PI, and a short
    /// explanation (types, counts and tiers; never values), e.g. `base
    /// medium (cn_resident_id); volume high: 600 records >= 500; raised 1
    /// by cross_border`.
    pub fn explain(
        &self,
        findings: &[TransferFinding<'_>],
        kinds: [bool; 3],
        records: u64,
    ) -> (Severity, String) {
        let top = findings.iter().max_by_key(|f| self.finding(f));
        let base = top.map_or(Severity::Low, |f| self.finding(f));
        let distinct = findings
            .iter()
            .fold(0u64, |a, f| a.saturating_add(f.distinct));
        let d_floor = self.volume_floor(distinct);
        let r_floor = self.records_floor(records);
        let (floor, n, what, tiers) = match self.volume {
            VolumeBasis::Distinct => (d_floor, distinct, "distinct values", &self.tiers),
            VolumeBasis::Records => (r_floor, records, "records", &self.records_tiers),
            VolumeBasis::Max if r_floor > d_floor => {
                (r_floor, records, "records", &self.records_tiers)
            }
            VolumeBasis::Max => (d_floor, distinct, "distinct values", &self.tiers),
        };
        let (raise, by) = kinds
            .iter()
            .zip(self.raise)
            .enumerate()
            .filter(|(_, (present, _))| **present)
            .map(|(k, (_, r))| (r, k))
            .max()
            .unwrap_or((0, 0));
        let sev = base.max(floor).step(i16::from(raise));
        // One buffer, written in place: this runs for every event.
        let mut reason = String::with_capacity(128);
        let _ = write!(
            reason,
            "base {} ({}); volume {}: ",
            base.as_str(),
            top.map_or("none", |f| f.pi_type),
            floor.as_str(),
        );
        // `600 records >= 500` or `12 distinct values < 50`.
        let _ = match tiers.iter().rev().find(|t| n >= **t) {
            Some(t) => write!(reason, "{n} {what} >= {t}"),
            None => write!(reason, "{n} {what} < {}", tiers[0]),
        };
        let _ = write!(reason, "; {records} records, {distinct} distinct values");
        if raise > 0 {
            let kind = [Kind::Unencrypted, Kind::Boundary, Kind::CrossBorder]
                .into_iter()
                .find(|k| *k as usize == by)
                .map_or("", Kind::as_str);
            let _ = write!(reason, "; raised {raise} by {kind}");
        }
        (sev, reason)
    }
}

/// Floor from three increasing tiers.
fn floor(tiers: &[u64; 3], n: u64) -> Severity {
    match tiers.iter().filter(|t| n >= **t).count() {
        0 => Severity::Low,
        1 => Severity::Medium,
        2 => Severity::High,
        _ => Severity::Critical,
    }
}

/// Tiers must be three increasing counts above 0.
fn check_tiers(key: &str, t: [u64; 3]) -> Result<(), super::PolicyError> {
    if t[0] == 0 || t[0] >= t[1] || t[1] >= t[2] {
        return Err(super::PolicyError::new(
            key,
            format!("{t:?} must be three increasing counts above 0, like [50, 500, 5000]"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(t: &'static str, cat: &'static str, n: u64, c: Confidence) -> TransferFinding<'static> {
        TransferFinding {
            pi_type: t,
            category: cat,
            distinct: n,
            confidence: c,
        }
    }

    fn model(toml_text: &str) -> SeverityModel {
        SeverityModel::build(&toml::from_str(toml_text).unwrap()).unwrap()
    }

    const NONE: [bool; 3] = [false; 3];

    #[test]
    fn volume_tiers() {
        let m = model("");
        let s = |n| m.score(&[f("email", "contact", n, Confidence::Medium)], NONE);
        assert_eq!(s(1), Severity::Low);
        assert_eq!(s(49), Severity::Low);
        assert_eq!(s(50), Severity::Medium);
        assert_eq!(s(500), Severity::High);
        assert_eq!(s(4999), Severity::High);
        assert_eq!(s(5000), Severity::Critical);
        // Volume sums over findings.
        let two = [
            f("email", "contact", 30, Confidence::Medium),
            f("cn_mobile", "contact", 30, Confidence::Medium),
        ];
        assert_eq!(m.score(&two, NONE), Severity::Medium);
        let m = model("tiers = [10, 20, 30]");
        assert_eq!(
            m.score(&[f("email", "contact", 20, Confidence::Medium)], NONE),
            Severity::High
        );
    }

    #[test]
    fn records_raise_the_floor() {
        let m = model("");
        let one = [f("cn_mobile", "contact", 40, Confidence::Medium)];
        // 40 distinct values alone: low; in 600 records: high (tier 500).
        assert_eq!(m.explain(&one, NONE, 1).0, Severity::Low);
        let (sev, why) = m.explain(&one, NONE, 600);
        assert_eq!(sev, Severity::High);
        assert!(why.contains("600 records >= 500"), "{why}");
        assert!(why.contains("40 distinct values"), "{why}");
        // Distinct values win when higher.
        let many = [f("cn_mobile", "contact", 5000, Confidence::Medium)];
        let (sev, why) = m.explain(&many, NONE, 60);
        assert_eq!(sev, Severity::Critical);
        assert!(why.contains("5000 distinct values >= 5000"), "{why}");
        // Own tiers, and a basis that ignores records.
        let m = model("records_tiers = [5, 10, 20]");
        assert_eq!(m.explain(&one, NONE, 10).0, Severity::High);
        let m = model("volume = \"distinct\"");
        assert_eq!(m.explain(&one, NONE, 6000).0, Severity::Low);
        let m = model("volume = \"records\"");
        assert_eq!(m.explain(&many, NONE, 1).0, Severity::Low);
        // The raise is explained.
        let (sev, why) = model("").explain(&one, [false, false, true], 600);
        assert_eq!(sev, Severity::Critical);
        assert!(why.ends_with("raised 1 by cross_border"), "{why}");
    }

    #[test]
    fn bad_records_tiers_named() {
        let c: SeverityConfig = toml::from_str("records_tiers = [5, 5, 6]").unwrap();
        let e = SeverityModel::build(&c).unwrap_err();
        assert_eq!(e.key(), "severity.records_tiers");
    }

    #[test]
    fn type_confidence_and_kind() {
        let m = model("");
        assert_eq!(
            m.score(&[f("credential", "auth", 1, Confidence::Medium)], NONE),
            Severity::High
        );
        assert_eq!(
            m.score(&[f("credential", "auth", 1, Confidence::Low)], NONE),
            Severity::Medium
        );
        assert_eq!(
            m.score(&[f("email", "contact", 1, Confidence::Low)], NONE),
            Severity::Low
        );
        assert_eq!(
            m.score(
                &[f("cn_resident_id", "identity", 1, Confidence::High)],
                NONE
            ),
            Severity::Medium
        );
        // boundary/cross_border raise one step; unencrypted does not.
        let id = [f("cn_resident_id", "identity", 1, Confidence::High)];
        assert_eq!(m.score(&id, [true, false, false]), Severity::Medium);
        assert_eq!(m.score(&id, [true, true, true]), Severity::High);
        let cred = [f("credential", "auth", 600, Confidence::High)];
        assert_eq!(m.score(&cred, [false, false, true]), Severity::Critical);
    }

    #[test]
    fn configured_types_override_defaults() {
        let m = model("default = \"medium\"\n[types]\ncredential = \"critical\"\nfinancial = \"high\"\ncn_resident_id = \"low\"\n[raise]\nunencrypted = 2\n");
        assert_eq!(
            m.score(&[f("credential", "auth", 1, Confidence::Medium)], NONE),
            Severity::Critical
        );
        assert_eq!(
            m.score(&[f("custom:x", "financial", 1, Confidence::Medium)], NONE),
            Severity::High
        );
        // Exact type beats category: bank_card keeps its built-in medium.
        assert_eq!(
            m.score(&[f("bank_card", "financial", 1, Confidence::Medium)], NONE),
            Severity::Medium
        );
        assert_eq!(
            m.score(
                &[f("cn_resident_id", "identity", 1, Confidence::Medium)],
                NONE
            ),
            Severity::Low
        );
        assert_eq!(
            m.score(
                &[f("email", "contact", 1, Confidence::Medium)],
                [true, false, false]
            ),
            Severity::Critical
        );
    }

    #[test]
    fn bad_tiers_named() {
        let c: SeverityConfig = toml::from_str("tiers = [500, 50, 5000]").unwrap();
        let e = SeverityModel::build(&c).unwrap_err();
        assert_eq!(e.key(), "severity.tiers");
        assert!(toml::from_str::<SeverityConfig>("default = \"severe\"").is_err());
    }

    #[test]
    fn steps_saturate() {
        assert_eq!(Severity::Low.step(-3), Severity::Low);
        assert_eq!(Severity::High.step(5), Severity::Critical);
        assert_eq!(
            serde_json::to_string(&Severity::Critical).unwrap(),
            "\"critical\""
        );
    }
}
