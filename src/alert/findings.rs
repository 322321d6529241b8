//! Accumulates the matches of one stream segment (or transaction) into
//! findings: distinct values per (detector, location), hashed and masked as
//! they arrive, so no clear value is kept.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use super::event::{FindingOut, HexHash, ValueOut};
use super::hash::{ValueHash, ValueHasher};
use super::mask::mask;
use crate::detect::{Confidence, DetectorId, DetectorInfo, Match};

/// Bounds on what one finding keeps.
#[derive(Clone, Copy, Debug)]
pub struct FindingLimits {
    /// Values listed per finding (`values`); more set `truncated`.
    pub values_cap: usize,
    /// Distinct values counted per finding; more set `count_truncated`.
    pub max_distinct: usize,
}

impl Default for FindingLimits {
    fn default() -> Self {
        FindingLimits {
            values_cap: 1000,
            max_distinct: 100_000,
        }
    }
}

/// Hasher for sets of [`ValueHash`]es. The values are keyed HMAC outputs,
/// uniform and unknown to whoever sent the traffic, so folding their
/// words is as good a hash as SipHash at a fraction of the cost.
#[derive(Default)]
struct FoldHasher(u64);

impl Hasher for FoldHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for w in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b.get_mut(..w.len()).unwrap_or_default().copy_from_slice(w);
            self.0 = self.0.rotate_left(23) ^ u64::from_ne_bytes(b);
        }
    }
}

/// Distinct value hashes of one finding.
type Seen = HashSet<ValueHash, BuildHasherDefault<FoldHasher>>;

#[derive(Debug)]
struct Acc {
    detector: DetectorId,
    location: &'static str,
    confidence: Confidence,
    seen: Seen,
    values: Vec<ValueOut>,
    truncated: bool,
    count_truncated: bool,
}

/// Findings of one event in the making.
#[derive(Debug, Default)]
pub struct FindingSet {
    accs: Vec<Acc>,
}

impl FindingSet {
    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.accs.is_empty()
    }

    /// Number of distinct values over all findings.
    pub fn distinct(&self) -> u64 {
        self.accs.iter().map(|a| a.seen.len() as u64).sum()
    }

    /// Adds one match found at `location`.
    pub fn add(
        &mut self,
        m: &Match<'_>,
        location: &'static str,
        info: &DetectorInfo,
        hasher: &ValueHasher,
        limits: &FindingLimits,
    ) {
        let acc = self.acc_for(m.detector, location);
        if m.confidence > acc.confidence {
            acc.confidence = m.confidence;
        }
        let h = hasher.hash(m.value);
        if acc.seen.contains(&h) {
            return;
        }
        if acc.seen.len() >= limits.max_distinct {
            acc.count_truncated = true;
            return;
        }
        acc.seen.insert(h);
        if acc.values.len() < limits.values_cap {
            acc.values.push(ValueOut {
                masked: mask(&info.pi_type, m.value),
                hash: HexHash(h),
            });
        } else {
            acc.truncated = true;
        }
    }

    fn acc_for(&mut self, detector: DetectorId, location: &'static str) -> &mut Acc {
        let pos = self
            .accs
            .iter()
            .position(|a| a.detector == detector && a.location == location);
        let i = match pos {
            Some(i) => i,
            None => {
                self.accs.push(Acc {
                    detector,
                    location,
                    confidence: Confidence::Low,
                    seen: Seen::default(),
                    values: Vec::new(),
                    truncated: false,
                    count_truncated: false,
                });
                self.accs.len() - 1
            }
        };
        &mut self.accs[i]
    }

    /// Keyed hashes of every distinct value, in no particular order.
    pub fn hashes(&self) -> Vec<ValueHash> {
        self.accs
            .iter()
            .flat_map(|a| a.seen.iter().copied())
            .collect()
    }

    /// Turns the set into event findings, sorted by type, detector and
    /// location so output is deterministic; leaves the set empty.
    pub fn take(&mut self, detectors: &[DetectorInfo]) -> Vec<FindingOut> {
        let mut out: Vec<FindingOut> = self
            .accs
            .drain(..)
            .map(|a| {
                let info = detectors.get(usize::from(a.detector));
                FindingOut {
                    pi_type: info.map(|i| i.pi_type.clone()).unwrap_or_default(),
                    detector: info.map(|i| i.id.clone()).unwrap_or_default(),
                    count: a.seen.len() as u64,
                    confidence: a.confidence.as_str(),
                    location: a.location,
                    values: a.values,
                    truncated: a.truncated,
                    count_truncated: a.count_truncated,
                    category: info.map(|i| i.category.clone()).unwrap_or_default(),
                    level: a.confidence,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            (&a.pi_type, &a.detector, a.location).cmp(&(&b.pi_type, &b.detector, b.location))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> Vec<DetectorInfo> {
        vec![DetectorInfo {
            id: "cn_mobile".into(),
            pi_type: "cn_mobile".into(),
            category: "contact".into(),
        }]
    }

    fn m(value: &[u8], c: Confidence) -> Match<'_> {
        Match {
            detector: 0,
            value,
            confidence: c,
            offset: 0,
        }
    }

    #[test]
    fn counts_distinct_and_keeps_best_confidence() {
        let d = info();
        let h = ValueHasher::new(b"k");
        let lim = FindingLimits::default();
        let mut s = FindingSet::default();
        s.add(
            &m(b"13800138000", Confidence::Medium),
            "tcp.stream",
            &d[0],
            &h,
            &lim,
        );
        s.add(
            &m(b"13800138000", Confidence::High),
            "tcp.stream",
            &d[0],
            &h,
            &lim,
        );
        s.add(
            &m(b"13900139000", Confidence::Medium),
            "tcp.stream",
            &d[0],
            &h,
            &lim,
        );
        let out = s.take(&d);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].count, 2);
        assert_eq!(out[0].confidence, "high");
        assert_eq!(out[0].values[0].masked, "138****8000");
        assert!(s.is_empty());
    }

    #[test]
    fn caps_values_and_distinct_counts() {
        let d = info();
        let h = ValueHasher::new(b"k");
        let lim = FindingLimits {
            values_cap: 2,
            max_distinct: 3,
        };
        let mut s = FindingSet::default();
        for v in [
            b"13800138001",
            b"13800138002",
            b"13800138003",
            b"13800138004",
        ] {
            s.add(&m(v, Confidence::Medium), "tcp.stream", &d[0], &h, &lim);
        }
        let out = s.take(&d);
        assert_eq!(out[0].count, 3);
        assert_eq!(out[0].values.len(), 2);
        assert!(out[0].truncated);
        assert!(out[0].count_truncated);
    }
}
