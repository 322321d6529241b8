//! Ethernet II with 802.1Q / 802.1ad (QinQ) tags.

use super::bytes::{be16, header_view};
use super::link::{Next, L3};
use super::DecodeError;

/// Ethertypes we act on.
pub(super) mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// IPv6.
    pub const IPV6: u16 = 0x86DD;
    /// 802.1Q customer VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad service VLAN tag.
    pub const QINQ: u16 = 0x88A8;
    /// Pre-standard QinQ tag.
    pub const QINQ_OLD: u16 = 0x9100;
    /// MPLS unicast.
    pub const MPLS: u16 = 0x8847;
    /// MPLS multicast.
    pub const MPLS_MC: u16 = 0x8848;
}

mod field {
    /// After the destination and source addresses.
    pub const ETHERTYPE: usize = 12;
    pub const HEADER_LEN: usize = 14;
    /// In a VLAN tag: tag control information, then the next ethertype.
    pub const TAG_TCI: usize = 0;
    pub const TAG_ETHERTYPE: usize = 2;
    pub const TAG_LEN: usize = 4;
}

/// Most VLAN tags we walk through before calling the frame malformed.
const MAX_TAGS: usize = 8;

header_view!("A read-only view of an Ethernet II header.");

impl<T: AsRef<[u8]>> Packet<T> {
    fn check_len(&self) -> Result<(), DecodeError> {
        if self.buffer.as_ref().len() < field::HEADER_LEN {
            return Err(DecodeError::Truncated);
        }
        Ok(())
    }

    /// The ethertype (or 802.3 length) after the addresses.
    pub(super) fn ethertype(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ETHERTYPE)
    }
}

/// Decodes the Ethernet header at `offset`: what follows it and where.
pub(super) fn decode(
    frame: &[u8],
    offset: usize,
    vlan: &mut [u16; 2],
) -> Result<Next, DecodeError> {
    let eth = Packet::new_checked(frame.get(offset..).unwrap_or_default())?;
    dispatch(frame, eth.ethertype(), offset + field::HEADER_LEN, vlan)
}

/// Follows `ethertype` at `offset` through VLAN tags to an IP header or an
/// MPLS label stack, recording the first two VLAN ids (outer first).
pub(super) fn dispatch(
    frame: &[u8],
    mut ethertype: u16,
    mut offset: usize,
    vlan: &mut [u16; 2],
) -> Result<Next, DecodeError> {
    for tag in 0..=MAX_TAGS {
        match ethertype {
            ethertype::IPV4 => return Ok(Next::Ip(L3::V4, offset)),
            ethertype::IPV6 => return Ok(Next::Ip(L3::V6, offset)),
            ethertype::MPLS | ethertype::MPLS_MC => return Ok(Next::Mpls(offset)),
            ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD if tag < MAX_TAGS => {
                let t = frame.get(offset..).unwrap_or_default();
                if t.len() < field::TAG_LEN {
                    return Err(DecodeError::Truncated);
                }
                if let Some(slot) = vlan.get_mut(tag) {
                    *slot = be16(t, field::TAG_TCI) & 0x0FFF;
                }
                ethertype = be16(t, field::TAG_ETHERTYPE);
                offset += field::TAG_LEN;
            }
            ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD => break,
            _ => return Err(DecodeError::NotIp),
        }
    }
    Err(DecodeError::Malformed)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::capture::LinkType;
    use crate::decode::testutil::{eth, hex, ipv4, ipv6, udp};
    use crate::decode::{decode, proto};

    /// Ethernet + IPv4 + UDP "hi", padded to the 60-byte minimum.
    const PADDED: &str = "
        02 00 00 00 00 01  02 00 00 00 00 02  08 00   # eth: dst, src, IPv4
        45 00 00 1e 00 01 40 00 40 11 00 00           # ip: len 30, DF, ttl 64, UDP
        0a 00 00 01 0a 00 00 02                       # ip: 10.0.0.1 -> 10.0.0.2
        30 39 00 35 00 0a 00 00                       # udp: 12345 -> 53, len 10
        68 69                                         # 'hi'
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  # ethernet padding
    ";

    #[test]
    fn good_frame_padding_trimmed() {
        let f = hex(PADDED);
        assert_eq!(f.len(), 60);
        let d = decode(LinkType::ETHERNET, &f).unwrap();
        assert_eq!(d.src, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(d.dst, Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!((d.proto, d.sport, d.dport), (proto::UDP, 12345, 53));
        assert_eq!(&f[d.payload.clone()], b"hi");
        assert_eq!(d.vlan, [0, 0]);
        assert!(!d.truncated);
    }

    #[test]
    fn truncated_header() {
        let f = hex(PADDED);
        assert_eq!(
            Packet::new_checked(&f[..13]).err(),
            Some(DecodeError::Truncated)
        );
        assert_eq!(
            decode(LinkType::ETHERNET, &f[..13]),
            Err(DecodeError::Truncated)
        );
        assert_eq!(decode(LinkType::ETHERNET, &[]), Err(DecodeError::Truncated));
    }

    #[test]
    fn not_ip() {
        // ARP, and an 802.3 length field.
        for et in [0x0806, 0x0040] {
            let f = eth(et, &[0; 28]);
            assert_eq!(decode(LinkType::ETHERNET, &f), Err(DecodeError::NotIp));
        }
    }

    /// Ethernet frame with the given tags (tpid, vid) before `inner`.
    fn tagged(tags: &[(u16, u16)], inner: u16, payload: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut next = tags.iter().skip(1).map(|t| t.0).chain([inner]);
        for &(_, vid) in tags {
            body.extend_from_slice(&(0x2000 | vid).to_be_bytes()); // PCP 1
            body.extend_from_slice(&next.next().unwrap_or(inner).to_be_bytes());
        }
        body.extend_from_slice(payload);
        eth(tags.first().map_or(inner, |t| t.0), &body)
    }

    #[test]
    fn vlan_and_qinq() {
        let ip = ipv4(proto::UDP, &udp((1, 2), b"x"));
        type Tags = &'static [(u16, u16)];
        let cases: [(Tags, [u16; 2]); 4] = [
            (&[(0x8100, 100)], [100, 0]),
            (&[(0x88a8, 10), (0x8100, 20)], [10, 20]),
            (&[(0x9100, 4095), (0x8100, 1)], [4095, 1]),
            (&[(0x88a8, 1), (0x8100, 2), (0x8100, 3)], [1, 2]),
        ];
        for (tags, want) in cases {
            let f = tagged(tags, ethertype::IPV4, &ip);
            let d = decode(LinkType::ETHERNET, &f).unwrap();
            assert_eq!(d.vlan, want, "{tags:?}");
            assert_eq!(&f[d.payload], b"x");
        }
        let f = tagged(
            &[(0x8100, 7)],
            ethertype::IPV6,
            &ipv6(proto::UDP, &udp((1, 2), b"6")),
        );
        assert_eq!(decode(LinkType::ETHERNET, &f).unwrap().vlan, [7, 0]);
    }

    #[test]
    fn vlan_truncated_and_too_many() {
        let f = tagged(&[(0x8100, 100)], ethertype::IPV4, &[]);
        assert_eq!(
            decode(LinkType::ETHERNET, &f[..16]),
            Err(DecodeError::Truncated)
        );
        let tags = [(0x8100, 1); MAX_TAGS + 1];
        let f = tagged(&tags, ethertype::IPV4, &ipv4(proto::UDP, &udp((1, 2), b"")));
        assert_eq!(decode(LinkType::ETHERNET, &f), Err(DecodeError::Malformed));
        let f = tagged(
            &[(0x8100, 1); MAX_TAGS],
            ethertype::IPV4,
            &ipv4(17, &udp((1, 2), b"")),
        );
        assert!(decode(LinkType::ETHERNET, &f).is_ok());
    }
}
