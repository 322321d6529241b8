//! Flow keys and direction.

use std::net::IpAddr;

use crate::decode::Decoded;

/// Which side sent a packet or a byte, relative to the flow's client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// Sent by the client (the side that opened the connection).
    ToServer,
    /// Sent by the server.
    ToClient,
}

impl Direction {
    /// Index for per-direction arrays (`ToServer` = 0).
    pub fn index(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }
    /// The other direction.
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }
    /// Name used in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ToServer => "to_server",
            Direction::ToClient => "to_client",
        }
    }
}

/// Direction-independent flow key: the lower (address, port) endpoint first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FlowKey {
    /// Lower endpoint address.
    pub lo_ip: IpAddr,
    /// Higher endpoint address.
    pub hi_ip: IpAddr,
    /// Port of the lower endpoint.
    pub lo_port: u16,
    /// Port of the higher endpoint.
    pub hi_port: u16,
    /// IP protocol.
    pub proto: u8,
    /// VLAN ids (0 = none).
    pub vlan: [u16; 2],
    /// VXLAN network id of the outermost tunnel, plus one (0 = none): the
    /// tenant, whose inner addresses may overlap another tenant's. Other
    /// tunnel ids are left out: MPLS labels, and often ERSPAN sessions and
    /// GRE keys, differ between a flow's two directions.
    pub vni: u32,
}

impl FlowKey {
    /// Builds the key of a packet; the bool is true when the packet's source
    /// is the key's `lo` endpoint.
    pub fn new(
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        proto: u8,
        vlan: [u16; 2],
    ) -> (FlowKey, bool) {
        let src_is_lo = (src, sport) <= (dst, dport);
        let (lo_ip, lo_port, hi_ip, hi_port) = if src_is_lo {
            (src, sport, dst, dport)
        } else {
            (dst, dport, src, sport)
        };
        (
            FlowKey {
                lo_ip,
                hi_ip,
                lo_port,
                hi_port,
                proto,
                vlan,
                vni: 0,
            },
            src_is_lo,
        )
    }

    /// The key of a decoded packet, tenant included, and whether its
    /// source is the `lo` end. The reader shards by it and the workers
    /// track flows by it, so both take it from here.
    pub fn of(d: &Decoded) -> (FlowKey, bool) {
        let (key, src_is_lo) = FlowKey::new(d.src, d.sport, d.dst, d.dport, d.proto, d.vlan);
        (key.in_vni(d.tunnel.and_then(|t| t.vxlan_vni())), src_is_lo)
    }

    /// The key of a packet that came through VXLAN network `vni` (`None`:
    /// none): flows of different tenants stay apart.
    pub fn in_vni(self, vni: Option<u32>) -> FlowKey {
        FlowKey {
            vni: vni.map_or(0, |v| v.saturating_add(1)),
            ..self
        }
    }

    /// Symmetric hash used to shard flows over workers: stable across runs
    /// and machines (FNV-1a over the canonical key), so a replay shards the
    /// same way every time.
    pub fn shard_hash(&self) -> u64 {
        let mut h = Fnv(0xcbf2_9ce4_8422_2325);
        h.ip(self.lo_ip);
        h.ip(self.hi_ip);
        h.bytes(&self.lo_port.to_be_bytes());
        h.bytes(&self.hi_port.to_be_bytes());
        h.bytes(&[self.proto]);
        h.bytes(&self.vlan[0].to_be_bytes());
        h.bytes(&self.vlan[1].to_be_bytes());
        if self.vni != 0 {
            h.bytes(&self.vni.to_be_bytes());
        }
        h.0
    }

    /// The worker of `workers` that owns this flow. Taken from the hash's
    /// high bits (multiply-shift): FNV-1a's low bit is only the parity of
    /// every input byte's low bit, so `hash % 2` would put all the flows of
    /// one client and server whose ports share a parity pattern (a client
    /// stepping its ports by two, as Linux's connect() does) on one worker.
    pub fn shard(&self, workers: usize) -> usize {
        ((u128::from(self.shard_hash()) * workers as u128) >> 64) as usize
    }
}

/// Four words for the flow tables' hasher instead of the derived dozen
/// writes (enum tags, slice lengths, each port and VLAN id): a worker
/// hashes a key for every packet. Equal keys give equal words.
impl std::hash::Hash for FlowKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        match (self.lo_ip, self.hi_ip) {
            (IpAddr::V4(lo), IpAddr::V4(hi)) => {
                h.write_u64(u64::from(u32::from(lo)) << 32 | u64::from(u32::from(hi)));
            }
            (lo, hi) => {
                h.write_u128(ip_bits(lo));
                h.write_u128(ip_bits(hi));
            }
        }
        h.write_u64(
            u64::from(self.lo_port) << 48
                | u64::from(self.hi_port) << 32
                | u64::from(self.vlan[0]) << 16
                | u64::from(self.vlan[1]),
        );
        h.write_u64(u64::from(self.proto) << 32 | u64::from(self.vni));
    }
}

/// An address as 128 bits (IPv4 mapped into IPv6).
fn ip_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(a.to_ipv6_mapped()),
        IpAddr::V6(a) => u128::from(a),
    }
}

struct Fnv(u64);

impl Fnv {
    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn ip(&mut self, ip: IpAddr) {
        match ip {
            IpAddr::V4(a) => self.bytes(&a.octets()),
            IpAddr::V6(a) => self.bytes(&a.octets()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vxlan_tenants_are_apart() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let t1 = FlowKey::new(a, 40000, b, 80, 6, [0, 0])
            .0
            .in_vni(Some(5001));
        let t2 = FlowKey::new(b, 80, a, 40000, 6, [0, 0])
            .0
            .in_vni(Some(5001));
        let other = FlowKey::new(a, 40000, b, 80, 6, [0, 0])
            .0
            .in_vni(Some(5002));
        let plain = FlowKey::new(a, 40000, b, 80, 6, [0, 0]).0.in_vni(None);
        assert_eq!(t1, t2);
        assert_eq!(t1.shard_hash(), t2.shard_hash());
        assert_ne!(t1, other);
        assert_ne!(t1.shard_hash(), other.shard_hash());
        assert_ne!(t1, plain);
        assert_eq!(plain, FlowKey::new(a, 40000, b, 80, 6, [0, 0]).0);
        // VNI 0 is a tenant too, not "none".
        assert_ne!(plain, plain.in_vni(Some(0)));
    }

    #[test]
    fn key_and_hash_are_symmetric() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "192.0.2.7".parse().unwrap();
        let (k1, lo1) = FlowKey::new(a, 40000, b, 80, 6, [0, 0]);
        let (k2, lo2) = FlowKey::new(b, 80, a, 40000, 6, [0, 0]);
        assert_eq!(k1, k2);
        assert_ne!(lo1, lo2);
        assert_eq!(k1.shard_hash(), k2.shard_hash());
        let (k3, _) = FlowKey::new(a, 40001, b, 80, 6, [0, 0]);
        assert_ne!(k1.shard_hash(), k3.shard_hash());
    }

    #[test]
    fn even_client_ports_spread_over_workers() {
        let client: IpAddr = "10.0.0.1".parse().unwrap();
        let server: IpAddr = "192.0.2.7".parse().unwrap();
        for workers in [2, 3, 4] {
            let mut per_worker = vec![0usize; workers];
            // Even ports under one high byte: the low bits of FNV-1a are
            // the same for all of them.
            for port in (0x9c00..0x9d00).step_by(2) {
                let (key, _) = FlowKey::new(client, port, server, 443, 6, [0, 0]);
                let w = key.shard(workers);
                assert!(w < workers);
                per_worker[w] += 1;
            }
            let fair = 128 / workers;
            for (w, &n) in per_worker.iter().enumerate() {
                assert!(
                    n * 10 >= fair * 7,
                    "{workers} workers: worker {w} got {n} of 128 flows: {per_worker:?}"
                );
            }
        }
        assert_eq!(FlowKey::new(client, 1, server, 2, 6, [0, 0]).0.shard(1), 0);
    }
}
