//! Longest-prefix lookup over IPv4 and IPv6 networks.
//!
//! One hash map per prefix length in use, probed from the longest length
//! down: a lookup costs at most one probe per distinct length (a handful for
//! real configs), needs no allocation, and building is trivial to get right.
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) and networks inside
//! `::ffff:0:0/96` are treated as the IPv4 ones they carry.

use std::net::IpAddr;

use ahash::AHashMap;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Parses `10.1.0.0/16`, `2001:db8::/32` or a bare address (a /32 or /128).
/// Networks inside `::ffff:0:0/96` become IPv4 networks.
///
/// # Errors
/// Not a network, or host bits set (`10.1.2.3/16`): a message that suggests
/// the network meant.
pub fn parse_cidr(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    let net = match s.parse::<IpNet>() {
        Ok(n) => n,
        Err(_) => match s.parse::<IpAddr>() {
            Ok(a) => IpNet::from(a),
            Err(_) => {
                return Err(format!(
                    "\"{s}\" is not a network (expected e.g. 10.1.0.0/16 or 2001:db8::/32)"
                ))
            }
        },
    };
    if net.trunc() != net {
        return Err(format!(
            "\"{s}\" has host bits set; did you mean {}?",
            net.trunc()
        ));
    }
    Ok(canonical_net(net))
}

/// Maps an IPv4-mapped IPv6 network to its IPv4 network.
fn canonical_net(net: IpNet) -> IpNet {
    if let IpNet::V6(n) = net {
        if let (Some(v4), true) = (n.addr().to_ipv4_mapped(), n.prefix_len() >= 96) {
            if let Ok(n4) = Ipv4Net::new(v4, n.prefix_len() - 96) {
                return IpNet::V4(n4);
            }
        }
    }
    net
}

/// A map from networks to values answering "which value has the longest
/// prefix containing this address".
#[derive(Clone, Debug)]
pub struct CidrTable<V> {
    /// `(prefix length, masked address -> value)`, longest first.
    v4: Vec<(u8, AHashMap<u32, V>)>,
    v6: Vec<(u8, AHashMap<u128, V>)>,
}

impl<V> Default for CidrTable<V> {
    fn default() -> Self {
        CidrTable {
            v4: Vec::new(),
            v6: Vec::new(),
        }
    }
}

fn mask4(a: u32, len: u8) -> u32 {
    a & u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

fn mask6(a: u128, len: u8) -> u128 {
    a & u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

fn slot<K, V>(levels: &mut Vec<(u8, AHashMap<K, V>)>, len: u8) -> &mut AHashMap<K, V> {
    let i = match levels.iter().position(|(l, _)| *l <= len) {
        Some(i) if levels.get(i).is_some_and(|(l, _)| *l == len) => i,
        Some(i) => {
            levels.insert(i, (len, AHashMap::default()));
            i
        }
        None => {
            levels.push((len, AHashMap::default()));
            levels.len() - 1
        }
    };
    &mut levels[i].1
}

impl<V: Copy> CidrTable<V> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a network; returns the value it replaces when the same network
    /// was already present.
    pub fn insert(&mut self, net: IpNet, value: V) -> Option<V> {
        match canonical_net(net) {
            IpNet::V4(n) => slot(&mut self.v4, n.prefix_len())
                .insert(mask4(n.addr().into(), n.prefix_len()), value),
            IpNet::V6(n) => slot(&mut self.v6, n.prefix_len())
                .insert(mask6(n.addr().into(), n.prefix_len()), value),
        }
    }

    /// The value of the longest prefix containing `ip`, with that prefix length.
    #[inline]
    pub fn lookup(&self, ip: IpAddr) -> Option<(V, u8)> {
        match ip.to_canonical() {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                self.v4
                    .iter()
                    .find_map(|(len, m)| m.get(&mask4(a, *len)).map(|v| (*v, *len)))
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                self.v6
                    .iter()
                    .find_map(|(len, m)| m.get(&mask6(a, *len)).map(|v| (*v, *len)))
            }
        }
    }

    /// Whether no network was added.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

/// Builds the network for a prefix of an address (used by tests and callers
/// that compute networks).
pub fn net_of(ip: IpAddr, len: u8) -> Option<IpNet> {
    match ip {
        IpAddr::V4(a) => Ipv4Net::new(a, len).ok().map(|n| IpNet::V4(n.trunc())),
        IpAddr::V6(a) => Ipv6Net::new(a, len).ok().map(|n| IpNet::V6(n.trunc())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn table(nets: &[(&str, u32)]) -> CidrTable<u32> {
        let mut t = CidrTable::new();
        for (n, v) in nets {
            t.insert(parse_cidr(n).unwrap(), *v);
        }
        t
    }

    #[test]
    fn longest_prefix_wins_v4() {
        let t = table(&[("10.0.0.0/8", 1), ("10.1.0.0/16", 2), ("10.1.2.0/24", 3)]);
        assert_eq!(t.lookup(ip("10.9.9.9")), Some((1, 8)));
        assert_eq!(t.lookup(ip("10.1.9.9")), Some((2, 16)));
        assert_eq!(t.lookup(ip("10.1.2.3")), Some((3, 24)));
        assert_eq!(t.lookup(ip("11.0.0.1")), None);
    }

    #[test]
    fn longest_prefix_wins_v6() {
        let t = table(&[("fd00::/8", 1), ("fd00:1::/32", 2), ("fd00:1::5", 3)]);
        assert_eq!(t.lookup(ip("fd77::1")), Some((1, 8)));
        assert_eq!(t.lookup(ip("fd00:1::6")), Some((2, 32)));
        assert_eq!(t.lookup(ip("fd00:1::5")), Some((3, 128)));
        assert_eq!(t.lookup(ip("2001:db8::1")), None);
    }

    #[test]
    fn default_routes_and_hosts() {
        let t = table(&[("0.0.0.0/0", 1), ("::/0", 2), ("192.0.2.1", 3)]);
        assert_eq!(t.lookup(ip("8.8.8.8")), Some((1, 0)));
        assert_eq!(t.lookup(ip("2001:db8::")), Some((2, 0)));
        assert_eq!(t.lookup(ip("192.0.2.1")), Some((3, 32)));
    }

    #[test]
    fn v4_mapped_is_v4() {
        let t = table(&[("10.1.0.0/16", 1), ("::ffff:10.2.0.0/112", 2)]);
        assert_eq!(t.lookup(ip("::ffff:10.1.3.4")), Some((1, 16)));
        assert_eq!(t.lookup(ip("10.2.0.9")), Some((2, 16)));
        assert_eq!(
            parse_cidr("::ffff:10.2.0.0/112").unwrap().to_string(),
            "10.2.0.0/16"
        );
    }

    #[test]
    fn bad_networks_explained() {
        assert!(parse_cidr("10.1.2.3/16")
            .unwrap_err()
            .contains("10.1.0.0/16"));
        assert!(parse_cidr("10.1.0.0/33")
            .unwrap_err()
            .contains("not a network"));
        assert!(parse_cidr("office").unwrap_err().contains("not a network"));
    }

    #[test]
    fn duplicate_insert_returns_old() {
        let mut t = table(&[("10.0.0.0/8", 1)]);
        assert_eq!(t.insert(parse_cidr("10.0.0.0/8").unwrap(), 2), Some(1));
        assert_eq!(t.lookup(ip("10.0.0.1")), Some((2, 8)));
    }

    /// Reference: linear scan keeping the longest containing prefix.
    fn naive(nets: &[(IpNet, u32)], a: IpAddr) -> Option<(u32, u8)> {
        let a = a.to_canonical();
        nets.iter()
            .filter(|(n, _)| n.contains(&a))
            .max_by_key(|(n, _)| n.prefix_len())
            .map(|(n, v)| (*v, n.prefix_len()))
    }

    proptest! {
        #[test]
        fn matches_linear_scan_v4(
            nets in proptest::collection::vec((any::<u32>(), 0u8..=32), 0..40),
            probes in proptest::collection::vec(any::<u32>(), 1..40),
        ) {
            let mut t = CidrTable::new();
            let mut list: Vec<(IpNet, u32)> = Vec::new();
            for (i, (a, len)) in nets.iter().enumerate() {
                let n = net_of(IpAddr::from(a.to_be_bytes()), *len).unwrap();
                list.retain(|(m, _)| *m != n);
                list.push((n, i as u32));
                t.insert(n, i as u32);
            }
            // Probe inside the networks too, not only at random.
            let inside = nets.iter().map(|(a, _)| *a);
            for p in probes.into_iter().chain(inside) {
                let a = IpAddr::from(p.to_be_bytes());
                prop_assert_eq!(t.lookup(a), naive(&list, a));
                let mapped = IpAddr::V6(std::net::Ipv4Addr::from(p).to_ipv6_mapped());
                prop_assert_eq!(t.lookup(mapped), naive(&list, a));
            }
        }

        #[test]
        fn matches_linear_scan_v6(
            nets in proptest::collection::vec((any::<u128>(), 0u8..=128), 0..40),
            probes in proptest::collection::vec(any::<u128>(), 1..40),
        ) {
            let mut t = CidrTable::new();
            let mut list: Vec<(IpNet, u32)> = Vec::new();
            for (i, (a, len)) in nets.iter().enumerate() {
                let n = net_of(IpAddr::from(a.to_be_bytes()), *len).unwrap();
                list.retain(|(m, _)| canonical_net(*m) != canonical_net(n));
                list.push((canonical_net(n), i as u32));
                t.insert(n, i as u32);
            }
            for p in probes.into_iter().chain(nets.iter().map(|(a, _)| *a)) {
                let a = IpAddr::from(p.to_be_bytes());
                prop_assert_eq!(t.lookup(a), naive(&list, a));
            }
        }
    }
}
