//! Zones: named sets of networks; the longest prefix over all zones wins and
//! addresses in no zone fall into the default zone.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::cidr::{parse_cidr, CidrTable};
use super::config::{ZoneConfig, ZoneList};
use super::geo::Country;
use super::PolicyError;

/// Index of a zone in [`Zones`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ZoneId(u16);

/// The zone map.
#[derive(Debug)]
pub struct Zones {
    names: Vec<Arc<str>>,
    /// Configured country per zone (`None`: home country / geo).
    countries: Vec<Option<Country>>,
    table: CidrTable<ZoneId>,
    default: ZoneId,
    default_name: Arc<str>,
}

/// A zone selector in a rule: any zone, or one of a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZoneSel {
    /// `"*"`.
    Any,
    /// Listed zones.
    Some(Vec<ZoneId>),
}

impl ZoneSel {
    /// Whether `z` is selected.
    #[inline]
    pub fn matches(&self, z: ZoneId) -> bool {
        match self {
            ZoneSel::Any => true,
            ZoneSel::Some(v) => v.contains(&z),
        }
    }

    /// 1 for named zones, 0 for the wildcard (rule specificity).
    pub fn specificity(&self) -> u8 {
        u8::from(matches!(self, ZoneSel::Some(_)))
    }
}

impl Zones {
    /// Builds the map from `[zones.*]` and `default_zone`.
    ///
    /// # Errors
    /// Bad zone name, bad CIDR, a CIDR in two zones, bad country code, or a
    /// zone table named like the default zone; the error names the key.
    pub fn build(
        cfg: &BTreeMap<String, ZoneConfig>,
        default_zone: &str,
    ) -> Result<Zones, PolicyError> {
        check_name("default_zone", default_zone)?;
        if cfg.len() >= usize::from(u16::MAX) {
            return Err(PolicyError::new("zones", "too many zones"));
        }
        let mut z = Zones {
            names: Vec::new(),
            countries: Vec::new(),
            table: CidrTable::new(),
            default: ZoneId(0),
            default_name: default_zone.into(),
        };
        let mut owner: BTreeMap<String, String> = BTreeMap::new();
        for (name, zc) in cfg {
            let key = format!("zones.{name}");
            check_name(&key, name)?;
            if name == default_zone {
                return Err(PolicyError::new(
                    &key,
                    format!("\"{name}\" is the default zone (default_zone), which holds every address in no other zone; give this zone another name"),
                ));
            }
            let id = ZoneId(z.names.len() as u16);
            z.names.push(name.as_str().into());
            z.countries.push(match &zc.country {
                Some(c) => Some(super::parse_country(&format!("{key}.country"), c)?),
                None => None,
            });
            for (i, s) in zc.cidrs.iter().enumerate() {
                let ckey = format!("{key}.cidrs[{i}]");
                let net = parse_cidr(s).map_err(|m| PolicyError::new(&ckey, m))?;
                if let Some(prev) = owner.insert(net.to_string(), ckey.clone()) {
                    return Err(PolicyError::new(
                        &ckey,
                        format!("{net} is also listed at {prev}; a network belongs to one zone"),
                    ));
                }
                z.table.insert(net, id);
            }
        }
        z.default = ZoneId(z.names.len() as u16);
        z.names.push(z.default_name.clone());
        z.countries.push(None);
        Ok(z)
    }

    /// Zone of an address.
    #[inline]
    pub fn lookup(&self, ip: IpAddr) -> ZoneId {
        self.table.lookup(ip).map_or(self.default, |(z, _)| z)
    }

    /// The default zone.
    pub fn default_zone(&self) -> ZoneId {
        self.default
    }

    /// Name of a zone.
    pub fn name(&self, z: ZoneId) -> &Arc<str> {
        // Ids only come from this map, so the index exists.
        self.names
            .get(usize::from(z.0))
            .unwrap_or(&self.default_name)
    }

    /// Configured country of a zone.
    pub fn country(&self, z: ZoneId) -> Option<Country> {
        self.countries.get(usize::from(z.0)).copied().flatten()
    }

    /// Id of a zone by name.
    pub fn id(&self, name: &str) -> Option<ZoneId> {
        self.names
            .iter()
            .position(|n| &**n == name)
            .map(|i| ZoneId(i as u16))
    }

    /// Resolves a rule's zone list (`"*"` alone is any zone).
    ///
    /// # Errors
    /// An unknown zone name or an empty list, naming `key`.
    pub fn select(&self, key: &str, list: &ZoneList) -> Result<ZoneSel, PolicyError> {
        if list.0.is_empty() {
            return Err(PolicyError::new(
                key,
                "empty zone list (use \"*\" for any zone)",
            ));
        }
        if list.0.iter().any(|n| n == "*") {
            if list.0.len() > 1 {
                return Err(PolicyError::new(
                    key,
                    "\"*\" cannot be combined with zone names",
                ));
            }
            return Ok(ZoneSel::Any);
        }
        let ids = list
            .0
            .iter()
            .map(|n| {
                self.id(n).ok_or_else(|| {
                    PolicyError::new(
                        key,
                        format!("unknown zone \"{n}\"; known zones: {}", self.known()),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(ZoneSel::Some(ids))
    }

    fn known(&self) -> String {
        self.names
            .iter()
            .map(|n| n.as_ref())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn check_name(key: &str, name: &str) -> Result<(), PolicyError> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(PolicyError::new(
            key,
            format!("zone name {name:?} must be letters, digits, '_' or '-'"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zones(toml_text: &str) -> Result<Zones, PolicyError> {
        let cfg: BTreeMap<String, ZoneConfig> = toml::from_str(toml_text).unwrap();
        Zones::build(&cfg, "internet")
    }

    #[test]
    fn lookup_and_default() {
        let z = zones(
            "[office]\ncidrs = [\"10.1.0.0/16\", \"fd00:1::/48\"]\n[lab]\ncidrs = [\"10.1.5.0/24\"]\ncountry = \"SG\"\n",
        )
        .unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(&**z.name(z.lookup(ip("10.1.2.3"))), "office");
        assert_eq!(&**z.name(z.lookup(ip("10.1.5.3"))), "lab");
        assert_eq!(&**z.name(z.lookup(ip("fd00:1::9"))), "office");
        assert_eq!(&**z.name(z.lookup(ip("::ffff:10.1.2.3"))), "office");
        assert_eq!(z.lookup(ip("8.8.8.8")), z.default_zone());
        assert_eq!(&**z.name(z.default_zone()), "internet");
        assert_eq!(z.country(z.lookup(ip("10.1.5.3"))).unwrap().as_str(), "SG");
        assert_eq!(z.country(z.lookup(ip("10.1.2.3"))), None);
    }

    #[test]
    fn errors_name_keys() {
        let e = zones("[office]\ncidrs = [\"10.1.0.0/16\", \"10.1.2.3/16\"]\n").unwrap_err();
        assert_eq!(e.key(), "zones.office.cidrs[1]");
        assert!(e.to_string().contains("did you mean 10.1.0.0/16"), "{e}");
        let e =
            zones("[a]\ncidrs = [\"10.0.0.0/8\"]\n[b]\ncidrs = [\"10.0.0.0/8\"]\n").unwrap_err();
        assert!(e.to_string().contains("zones.a.cidrs[0]"), "{e}");
        let e = zones("[a]\ncountry = \"Singapore\"\n").unwrap_err();
        assert_eq!(e.key(), "zones.a.country");
        let e = zones("[internet]\ncidrs = []\n").unwrap_err();
        assert_eq!(e.key(), "zones.internet");
        let e = zones("[\"bad name\"]\n").unwrap_err();
        assert!(e.to_string().contains("bad name"), "{e}");
    }

    #[test]
    fn select_checks_names() {
        let z = zones("[office]\n[pci]\n").unwrap();
        let l = |v: &[&str]| ZoneList(v.iter().map(|s| s.to_string()).collect());
        assert_eq!(z.select("k", &l(&["*"])).unwrap(), ZoneSel::Any);
        assert!(z.select("k", &l(&["pci", "internet"])).is_ok());
        let e = z.select("boundary.deny[0].to", &l(&["ofice"])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("boundary.deny[0].to: unknown zone \"ofice\""),
            "{e}"
        );
        assert!(e.to_string().contains("office, pci, internet"), "{e}");
        assert!(z.select("k", &l(&[])).is_err());
        assert!(z.select("k", &l(&["*", "pci"])).is_err());
    }
}
