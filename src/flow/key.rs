//! Flow keys and direction.

use std::net::IpAddr;

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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
            },
            src_is_lo,
        )
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
        h.0
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
}
