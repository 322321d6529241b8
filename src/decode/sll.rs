//! Linux cooked captures: SLL (v1, 16-byte header) and SLL2 (20 bytes).

use super::bytes::be16;
use super::link::Next;
use super::{ethernet, DecodeError};

mod field {
    /// SLL v1: packet type, ARPHRD type, address length, 8 address bytes,
    /// then the protocol (an ethertype).
    pub const SLL_HATYPE: usize = 2;
    pub const SLL_PROTOCOL: usize = 14;
    pub const SLL_LEN: usize = 16;
    /// SLL2: the protocol comes first; then reserved, ifindex, ARPHRD type,
    /// packet type, address length and 8 address bytes.
    pub const SLL2_PROTOCOL: usize = 0;
    pub const SLL2_HATYPE: usize = 8;
    pub const SLL2_LEN: usize = 20;
}

/// `ARPHRD_NETLINK`: the protocol field is a netlink family, not an ethertype.
const ARPHRD_NETLINK: u16 = 824;

/// Which cooked header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Version {
    V1,
    V2,
}

impl Version {
    fn header_len(self) -> usize {
        match self {
            Version::V1 => field::SLL_LEN,
            Version::V2 => field::SLL2_LEN,
        }
    }
}

/// A read-only view of an SLL or SLL2 header.
#[derive(Debug)]
pub(super) struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    version: Version,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` after checking it holds a whole header.
    pub(super) fn new_checked(buffer: T, version: Version) -> Result<Self, DecodeError> {
        let p = Packet { buffer, version };
        p.check_len()?;
        Ok(p)
    }

    fn check_len(&self) -> Result<(), DecodeError> {
        if self.buffer.as_ref().len() < self.version.header_len() {
            return Err(DecodeError::Truncated);
        }
        Ok(())
    }

    /// ARPHRD type of the interface.
    pub(super) fn hatype(&self) -> u16 {
        let at = match self.version {
            Version::V1 => field::SLL_HATYPE,
            Version::V2 => field::SLL2_HATYPE,
        };
        be16(self.buffer.as_ref(), at)
    }

    /// Protocol of the payload (an ethertype for most interfaces).
    pub(super) fn protocol(&self) -> u16 {
        let at = match self.version {
            Version::V1 => field::SLL_PROTOCOL,
            Version::V2 => field::SLL2_PROTOCOL,
        };
        be16(self.buffer.as_ref(), at)
    }
}

/// Decodes a cooked header: what follows it and where.
pub(super) fn decode(
    frame: &[u8],
    version: Version,
    vlan: &mut [u16; 2],
) -> Result<Next, DecodeError> {
    let p = Packet::new_checked(frame, version)?;
    if p.hatype() == ARPHRD_NETLINK {
        return Err(DecodeError::NotIp);
    }
    ethernet::dispatch(frame, p.protocol(), version.header_len(), vlan)
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv6Addr};

    use super::*;
    use crate::capture::LinkType;
    use crate::decode::testutil::{hex, ipv4, tcp};
    use crate::decode::{decode, proto};

    /// SLL v1 + IPv4 + TCP.
    const SLL_V1: &str = "
        00 00 00 01 00 06                  # sll: to us, ARPHRD_ETHER, addr len 6
        02 00 00 00 00 01 00 00            # sll: address, padded to 8
        08 00                              # sll: protocol IPv4
        45 00 00 2a 00 01 40 00 40 06 00 00  # ip: len 42, TCP
        7f 00 00 01 7f 00 00 02            # ip: 127.0.0.1 -> 127.0.0.2
        c3 50 00 50 00 00 00 01 00 00 00 00  # tcp: 50000 -> 80, seq 1
        50 18 ff ff 00 00 00 00            # tcp: doff 5, PSH|ACK, win 65535
        47 45                              # 'GE'
    ";

    /// SLL2 + IPv6 + UDP.
    const SLL_V2: &str = "
        86 dd 00 00 00 00 00 02            # sll2: protocol IPv6, reserved, ifindex 2
        00 01 04 06                        # sll2: ARPHRD_ETHER, outgoing, addr len 6
        02 00 00 00 00 01 00 00            # sll2: address
        60 00 00 00 00 09 11 40            # ip6: payload 9, UDP, hop limit 64
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01  # ip6: ::1
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01  # ip6: ::1
        d4 31 00 35 00 09 00 00            # udp: 54321 -> 53, len 9
        71                                 # 'q'
    ";

    #[test]
    fn sll_v1_good() {
        let f = hex(SLL_V1);
        let d = decode(LinkType::LINUX_SLL, &f).unwrap();
        assert_eq!((d.proto, d.sport, d.dport), (proto::TCP, 50000, 80));
        assert_eq!(d.tcp.map(|t| t.seq), Some(1));
        assert_eq!(&f[d.payload], b"GE");
    }

    #[test]
    fn sll_v2_good() {
        let f = hex(SLL_V2);
        let d = decode(LinkType::LINUX_SLL2, &f).unwrap();
        assert_eq!(d.src, IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!((d.proto, d.sport, d.dport), (proto::UDP, 54321, 53));
        assert_eq!(&f[d.payload], b"q");
    }

    #[test]
    fn truncated_and_not_ip() {
        let f = hex(SLL_V1);
        assert_eq!(
            decode(LinkType::LINUX_SLL, &f[..15]),
            Err(DecodeError::Truncated)
        );
        assert_eq!(
            decode(LinkType::LINUX_SLL2, &f[..19]),
            Err(DecodeError::Truncated)
        );
        let mut netlink = f.clone();
        netlink[2..4].copy_from_slice(&ARPHRD_NETLINK.to_be_bytes());
        assert_eq!(
            decode(LinkType::LINUX_SLL, &netlink),
            Err(DecodeError::NotIp)
        );
        let mut arp = f;
        arp[14..16].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(decode(LinkType::LINUX_SLL, &arp), Err(DecodeError::NotIp));
    }

    #[test]
    fn constructed_with_vlan() {
        let mut f = vec![
            0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x81, 0x00, 0x00, 0x2a, 0x08, 0x00,
        ];
        f.extend(ipv4(proto::TCP, &tcp((1, 2), 9, 0x10, &[], b"data")));
        let d = decode(LinkType::LINUX_SLL, &f).unwrap();
        assert_eq!(d.vlan, [42, 0]);
        assert_eq!(&f[d.payload], b"data");
    }
}
