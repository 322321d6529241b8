//! Allow-lists: sanctioned transfers that suppress violations.
//!
//! A rule applies to a violation when every criterion it sets matches the
//! transfer (sender zone `from`, receiver zone `to`, sender network
//! `from_cidrs`, receiver network `to_cidrs`, server name `names`), the
//! violation's kind is in `kinds`, every finding involved in the violation
//! matches `types`, and the packet time is on or before the `expires` day
//! (UTC). Direction is expressed by `from`/`to`: a rule for office -> partner
//! does not sanction partner -> office. The first matching rule in file
//! order is reported.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::NaiveDate;

use super::boundary::TypeSel;
use super::cidr::{parse_cidr, CidrTable};
use super::config::{AllowConfig, AllowRuleConfig};
use super::zones::{ZoneId, ZoneSel, Zones};
use super::{Kind, PolicyError};

/// A server-name pattern: exact, or `*.suffix` for any subdomain of suffix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamePattern {
    /// Whole name, lowercase.
    Exact(Box<str>),
    /// `.suffix`, lowercase, with the leading dot.
    Suffix(Box<str>),
}

impl NamePattern {
    /// Parses `example.com` or `*.example.com`.
    ///
    /// # Errors
    /// Empty names, or `*` anywhere but a leading `*.`.
    pub fn parse(s: &str) -> Result<NamePattern, String> {
        let lower = s.trim_end_matches('.').to_ascii_lowercase();
        let (suffix, body) = match lower.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, lower.as_str()),
        };
        if body.is_empty() || body.contains('*') || body.contains(|c: char| c.is_whitespace()) {
            return Err(format!(
                "bad name pattern {s:?} (expected host.example.com or *.example.com)"
            ));
        }
        Ok(if suffix {
            NamePattern::Suffix(format!(".{body}").into())
        } else {
            NamePattern::Exact(body.into())
        })
    }

    /// Case-insensitive match; a trailing dot on `name` is ignored.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.strip_suffix('.').unwrap_or(name);
        match self {
            NamePattern::Exact(e) => name.eq_ignore_ascii_case(e),
            NamePattern::Suffix(s) => {
                name.len() > s.len()
                    && name
                        .get(name.len() - s.len()..)
                        .is_some_and(|tail| tail.eq_ignore_ascii_case(s))
            }
        }
    }
}

/// One compiled rule.
#[derive(Debug)]
pub struct AllowRule {
    /// Name echoed on events.
    pub name: Arc<str>,
    /// Reason echoed on events.
    pub reason: Arc<str>,
    /// Packet time (ns since the epoch) from which the rule no longer applies.
    pub expires_ns: u64,
    from: Option<ZoneSel>,
    to: Option<ZoneSel>,
    from_cidrs: Option<CidrTable<()>>,
    to_cidrs: Option<CidrTable<()>>,
    names: Vec<NamePattern>,
    /// PI types or categories covered.
    pub types: TypeSel,
    kinds: [bool; 3],
}

/// What a rule is checked against.
#[derive(Clone, Copy, Debug)]
pub struct Path<'a> {
    /// Sender address.
    pub sender: IpAddr,
    /// Receiver address.
    pub receiver: IpAddr,
    /// Sender zone.
    pub from: ZoneId,
    /// Receiver zone.
    pub to: ZoneId,
    /// Server name, if known.
    pub dest_name: Option<&'a str>,
    /// Packet time, ns.
    pub ts_ns: u64,
}

impl AllowRule {
    fn matches_path(&self, p: &Path<'_>) -> bool {
        p.ts_ns < self.expires_ns
            && self.from.as_ref().is_none_or(|s| s.matches(p.from))
            && self.to.as_ref().is_none_or(|s| s.matches(p.to))
            && self
                .from_cidrs
                .as_ref()
                .is_none_or(|t| t.lookup(p.sender).is_some())
            && self
                .to_cidrs
                .as_ref()
                .is_none_or(|t| t.lookup(p.receiver).is_some())
            && (self.names.is_empty()
                || p.dest_name
                    .is_some_and(|n| self.names.iter().any(|pat| pat.matches(n))))
    }

    /// Whether the rule has expired at packet time `ts_ns`.
    pub fn expired(&self, ts_ns: u64) -> bool {
        ts_ns >= self.expires_ns
    }
}

/// The compiled allow-list.
#[derive(Debug, Default)]
pub struct AllowList {
    rules: Vec<AllowRule>,
    /// Whether suppressed violations are listed on events.
    pub log_sanctioned: bool,
}

impl AllowList {
    /// Compiles `[allow]`.
    ///
    /// # Errors
    /// Bad dates, CIDRs, names, zones, kinds, or a rule with no criterion;
    /// the error names the key path.
    pub fn build(cfg: &AllowConfig, zones: &Zones) -> Result<AllowList, PolicyError> {
        let rules = cfg
            .rule
            .iter()
            .enumerate()
            .map(|(i, r)| compile(&format!("allow.rule[{i}]"), r, zones))
            .collect::<Result<_, _>>()?;
        Ok(AllowList {
            rules,
            log_sanctioned: cfg.log_sanctioned,
        })
    }

    /// First rule sanctioning a violation of `kind` whose findings have the
    /// given `(type, category)` pairs.
    pub fn find<'s, 'f>(
        &'s self,
        p: &Path<'_>,
        kind: Kind,
        involved: impl Iterator<Item = (&'f str, &'f str)> + Clone,
    ) -> Option<&'s AllowRule> {
        self.rules.iter().find(|r| {
            r.kinds[kind as usize]
                && r.matches_path(p)
                && involved.clone().all(|(t, c)| r.types.score(t, c).is_some())
                && involved.clone().next().is_some()
        })
    }

    /// All rules.
    pub fn rules(&self) -> &[AllowRule] {
        &self.rules
    }
}

fn compile(key: &str, r: &AllowRuleConfig, zones: &Zones) -> Result<AllowRule, PolicyError> {
    if r.from.is_none()
        && r.to.is_none()
        && r.from_cidrs.is_empty()
        && r.to_cidrs.is_empty()
        && r.names.is_empty()
    {
        return Err(PolicyError::new(
            key,
            "an allow rule needs at least one of from, to, from_cidrs, to_cidrs, names (it would sanction everything)",
        ));
    }
    if r.reason.trim().is_empty() {
        return Err(PolicyError::new(
            &format!("{key}.reason"),
            "give the reason the transfer is sanctioned",
        ));
    }
    let sel = |k: &str, l: &Option<super::config::ZoneList>| {
        l.as_ref()
            .map(|l| zones.select(&format!("{key}.{k}"), l))
            .transpose()
    };
    Ok(AllowRule {
        name: r.name.clone().unwrap_or_else(|| key.to_owned()).into(),
        reason: r.reason.as_str().into(),
        expires_ns: parse_expiry(&format!("{key}.expires"), &r.expires)?,
        from: sel("from", &r.from)?,
        to: sel("to", &r.to)?,
        from_cidrs: cidrs(&format!("{key}.from_cidrs"), &r.from_cidrs)?,
        to_cidrs: cidrs(&format!("{key}.to_cidrs"), &r.to_cidrs)?,
        names: r
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                NamePattern::parse(n).map_err(|m| PolicyError::new(&format!("{key}.names[{i}]"), m))
            })
            .collect::<Result<_, _>>()?,
        types: TypeSel::parse(&format!("{key}.types"), &r.types)?,
        kinds: kinds(&format!("{key}.kinds"), &r.kinds)?,
    })
}

fn cidrs(key: &str, list: &[String]) -> Result<Option<CidrTable<()>>, PolicyError> {
    if list.is_empty() {
        return Ok(None);
    }
    let mut t = CidrTable::new();
    for (i, s) in list.iter().enumerate() {
        let net = parse_cidr(s).map_err(|m| PolicyError::new(&format!("{key}[{i}]"), m))?;
        t.insert(net, ());
    }
    Ok(Some(t))
}

fn kinds(key: &str, list: &[String]) -> Result<[bool; 3], PolicyError> {
    if list.is_empty() {
        return Ok([true; 3]);
    }
    let mut k = [false; 3];
    for (i, s) in list.iter().enumerate() {
        let kind = Kind::parse(s).ok_or_else(|| {
            PolicyError::new(
                &format!("{key}[{i}]"),
                format!("unknown kind {s:?} (expected unencrypted, boundary or cross_border)"),
            )
        })?;
        k[kind as usize] = true;
    }
    Ok(k)
}

/// Exclusive end of the `expires` day, in ns since the epoch.
fn parse_expiry(key: &str, v: &toml::Value) -> Result<u64, PolicyError> {
    let text = match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Datetime(d) => d.to_string(),
        other => {
            return Err(PolicyError::new(
                key,
                format!(
                    "expected a date like \"2027-06-30\", found a {}",
                    other.type_str()
                ),
            ))
        }
    };
    let day = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        PolicyError::new(
            key,
            format!(
                "{text:?} is not a date like \"2027-06-30\" (the last day the rule applies, UTC)"
            ),
        )
    })?;
    let end = day
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| t.and_utc().timestamp_nanos_opt())
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| PolicyError::new(key, format!("{text:?} is out of range (1970..2262)")))?;
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::config::PolicyConfig;

    const DAY_NS: u64 = 86_400_000_000_000;

    fn build(rules: &str) -> Result<(Zones, AllowList), PolicyError> {
        let text = format!("[zones.office]\ncidrs = [\"10.1.0.0/16\"]\n[zones.partner]\ncidrs = [\"10.7.0.0/16\"]\n{rules}");
        let c: PolicyConfig = toml::from_str(&text).unwrap();
        let z = Zones::build(&c.zones, &c.default_zone)?;
        let a = AllowList::build(&c.allow, &z)?;
        Ok((z, a))
    }

    fn path<'a>(z: &Zones, s: &str, r: &str, name: Option<&'a str>, ts_ns: u64) -> Path<'a> {
        let (sender, receiver) = (s.parse().unwrap(), r.parse().unwrap());
        Path {
            sender,
            receiver,
            from: z.lookup(sender),
            to: z.lookup(receiver),
            dest_name: name,
            ts_ns,
        }
    }

    #[test]
    fn names() {
        let p = NamePattern::parse("*.Example.com").unwrap();
        assert!(p.matches("api.example.com"));
        assert!(p.matches("a.b.EXAMPLE.com."));
        assert!(!p.matches("example.com"));
        assert!(!p.matches("badexample.com"));
        let e = NamePattern::parse("crm.example.com").unwrap();
        assert!(e.matches("CRM.example.com") && !e.matches("x.crm.example.com"));
        assert!(NamePattern::parse("a*.example.com").is_err());
        assert!(NamePattern::parse("*.").is_err());
    }

    #[test]
    fn expiry_is_end_of_day_utc() {
        let (z, a) = build(
            "[[allow.rule]]\nname = \"crm\"\nreason = \"contract 42\"\nexpires = \"1970-01-02\"\nfrom = \"office\"\n",
        )
        .unwrap();
        let inv = [("email", "contact")];
        let at = |ts| {
            a.find(
                &path(&z, "10.1.0.1", "8.8.8.8", None, ts),
                Kind::CrossBorder,
                inv.iter().copied(),
            )
            .map(|r| &*r.name)
        };
        assert_eq!(at(2 * DAY_NS - 1), Some("crm"));
        assert_eq!(at(2 * DAY_NS), None);
        assert!(a.rules()[0].expired(2 * DAY_NS));
        // TOML dates work too.
        let (_, a) =
            build("[[allow.rule]]\nreason = \"r\"\nexpires = 1970-01-01\nto = \"partner\"\n")
                .unwrap();
        assert_eq!(a.rules()[0].expires_ns, DAY_NS);
        assert_eq!(&*a.rules()[0].name, "allow.rule[0]");
    }

    #[test]
    fn criteria_all_must_match() {
        let (z, a) = build(concat!(
            "[[allow.rule]]\nname = \"payroll\"\nreason = \"r\"\nexpires = \"2099-12-31\"\n",
            "from = \"office\"\nto_cidrs = [\"8.8.8.0/24\"]\nnames = [\"*.payroll.example\"]\n",
            "types = [\"cn_resident_id\", \"financial\"]\nkinds = [\"cross_border\"]\n",
        ))
        .unwrap();
        let ok = path(&z, "10.1.0.1", "8.8.8.8", Some("api.payroll.example"), 0);
        let id = [("cn_resident_id", "identity"), ("bank_card", "financial")];
        assert!(a.find(&ok, Kind::CrossBorder, id.iter().copied()).is_some());
        // Wrong kind, a type not covered, no involved finding.
        assert!(a.find(&ok, Kind::Unencrypted, id.iter().copied()).is_none());
        let more = [("cn_resident_id", "identity"), ("email", "contact")];
        assert!(a
            .find(&ok, Kind::CrossBorder, more.iter().copied())
            .is_none());
        assert!(a.find(&ok, Kind::CrossBorder, [].iter().copied()).is_none());
        // Reverse direction, other name, no name, other network.
        for p in [
            path(&z, "8.8.8.8", "10.1.0.1", Some("api.payroll.example"), 0),
            path(&z, "10.1.0.1", "8.8.8.8", Some("payroll.example.evil"), 0),
            path(&z, "10.1.0.1", "8.8.8.8", None, 0),
            path(&z, "10.1.0.1", "8.8.4.4", Some("api.payroll.example"), 0),
        ] {
            assert!(
                a.find(&p, Kind::CrossBorder, id.iter().copied()).is_none(),
                "{p:?}"
            );
        }
    }

    #[test]
    fn errors_name_keys() {
        let cases = [
            (
                "expires = \"30/06/2027\"\nfrom = \"office\"",
                "allow.rule[0].expires",
            ),
            (
                "expires = 20270630\nfrom = \"office\"",
                "allow.rule[0].expires",
            ),
            ("expires = \"2027-06-30\"", "allow.rule[0]"),
            (
                "expires = \"2027-06-30\"\nto = \"ofice\"",
                "allow.rule[0].to",
            ),
            (
                "expires = \"2027-06-30\"\nto_cidrs = [\"1.2.3.4/8\"]",
                "allow.rule[0].to_cidrs[0]",
            ),
            (
                "expires = \"2027-06-30\"\nnames = [\"*\"]",
                "allow.rule[0].names[0]",
            ),
            (
                "expires = \"2027-06-30\"\nfrom = \"office\"\nkinds = [\"cleartext\"]",
                "allow.rule[0].kinds[0]",
            ),
        ];
        for (body, key) in cases {
            let e = build(&format!("[[allow.rule]]\nreason = \"r\"\n{body}\n")).unwrap_err();
            assert_eq!(e.key(), key, "{e}");
        }
    }
}
