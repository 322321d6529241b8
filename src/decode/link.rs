//! Link layer: dispatch on the link type to the network header.

use super::{ethernet, sll, tunnel, DecodeError, Frame};
use crate::capture::LinkType;

/// IP version of a network header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum L3 {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// The next header a link or tunnel header leads to, and its offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// An IP header.
    Ip(L3, usize),
    /// An Ethernet header (bridged in a tunnel).
    Eth(usize),
    /// An MPLS label stack.
    Mpls(usize),
}

/// BSD `AF_INET`, the same on every OS.
const AF_INET: u32 = 2;
/// `AF_INET6` differs by OS: Linux 10, NetBSD/OpenBSD/BSD/OS 24,
/// FreeBSD/DragonFly 28, macOS 30.
const AF_INET6: [u32; 4] = [10, 24, 28, 30];

pub(super) fn decode_link(lt: LinkType, frame: &[u8]) -> Result<Frame, DecodeError> {
    let mut vlan = [0u16; 2];
    let next = match lt {
        LinkType::ETHERNET => ethernet::decode(frame, 0, &mut vlan)?,
        LinkType::LINUX_SLL => sll::decode(frame, sll::Version::V1, &mut vlan)?,
        LinkType::LINUX_SLL2 => sll::decode(frame, sll::Version::V2, &mut vlan)?,
        LinkType::NULL | LinkType::LOOP => Next::Ip(loopback_family(frame)?, 4),
        LinkType::RAW => Next::Ip(ip_version(frame)?, 0),
        LinkType::IPV4 => Next::Ip(L3::V4, 0),
        LinkType::IPV6 => Next::Ip(L3::V6, 0),
        _ => return Err(DecodeError::UnsupportedLink),
    };
    tunnel::walk(frame, next, vlan)
}

/// The 4-byte address family of `DLT_NULL` (host order of the capturing
/// machine) or `DLT_LOOP` (network order); either order is accepted since
/// the values cannot be confused.
fn loopback_family(frame: &[u8]) -> Result<L3, DecodeError> {
    let b: [u8; 4] = super::bytes::array(frame, 0).ok_or(DecodeError::Truncated)?;
    let (le, be) = (u32::from_le_bytes(b), u32::from_be_bytes(b));
    if le == AF_INET || be == AF_INET {
        Ok(L3::V4)
    } else if AF_INET6.iter().any(|&f| f == le || f == be) {
        Ok(L3::V6)
    } else {
        Err(DecodeError::NotIp)
    }
}

/// IP version from the first nibble of a raw IP packet.
fn ip_version(frame: &[u8]) -> Result<L3, DecodeError> {
    match frame.first().map(|b| b >> 4) {
        Some(4) => Ok(L3::V4),
        Some(6) => Ok(L3::V6),
        Some(_) => Err(DecodeError::Malformed),
        None => Err(DecodeError::Truncated),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::decode::testutil::{ipv4, ipv6, udp};
    use crate::decode::{decode, proto};

    const ALL_LINKS: [LinkType; 9] = [
        LinkType::NULL,
        LinkType::ETHERNET,
        LinkType::RAW,
        LinkType::LOOP,
        LinkType::LINUX_SLL,
        LinkType::IPV4,
        LinkType::IPV6,
        LinkType::LINUX_SLL2,
        LinkType(147), // a user link type: unsupported
    ];

    fn with_family(family: [u8; 4], ip: &[u8]) -> Vec<u8> {
        [&family[..], ip].concat()
    }

    #[test]
    fn null_and_loop_either_byte_order() {
        let v4 = ipv4(proto::UDP, &udp((1, 2), b"4"));
        let v6 = ipv6(proto::UDP, &udp((1, 2), b"6"));
        for lt in [LinkType::NULL, LinkType::LOOP] {
            for fam in [2u32.to_le_bytes(), 2u32.to_be_bytes()] {
                let f = with_family(fam, &v4);
                assert_eq!(&f[decode(lt, &f).unwrap().payload], b"4");
            }
            for n in AF_INET6 {
                for fam in [n.to_le_bytes(), n.to_be_bytes()] {
                    let f = with_family(fam, &v6);
                    assert_eq!(&f[decode(lt, &f).unwrap().payload], b"6", "family {n}");
                }
            }
            let f = with_family(7u32.to_le_bytes(), &v4);
            assert_eq!(decode(lt, &f), Err(DecodeError::NotIp));
            assert_eq!(decode(lt, &[2, 0, 0]), Err(DecodeError::Truncated));
        }
    }

    #[test]
    fn raw_and_fixed_ip_links() {
        let v4 = ipv4(proto::UDP, &udp((1, 2), b"4"));
        let v6 = ipv6(proto::UDP, &udp((1, 2), b"6"));
        assert!(decode(LinkType::RAW, &v4).unwrap().src.is_ipv4());
        assert!(decode(LinkType::RAW, &v6).unwrap().src.is_ipv6());
        assert!(decode(LinkType::IPV4, &v4).unwrap().src.is_ipv4());
        assert!(decode(LinkType::IPV6, &v6).unwrap().src.is_ipv6());
        assert_eq!(
            decode(LinkType::RAW, &[0x50; 40]),
            Err(DecodeError::Malformed)
        );
        assert_eq!(decode(LinkType::RAW, &[]), Err(DecodeError::Truncated));
        assert_eq!(decode(LinkType::IPV4, &v6), Err(DecodeError::Malformed));
        assert_eq!(decode(LinkType::IPV6, &v4), Err(DecodeError::Malformed));
        assert_eq!(
            decode(LinkType(147), &v4),
            Err(DecodeError::UnsupportedLink)
        );
    }

    proptest! {
        #[test]
        fn never_panics_payload_in_bounds(
            link in 0..ALL_LINKS.len(),
            frame in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            if let Ok(d) = decode(ALL_LINKS[link], &frame) {
                prop_assert!(d.payload.start <= d.payload.end);
                prop_assert!(d.payload.end <= frame.len());
            }
        }

        /// Mostly-valid frames (tunnels too) reach deeper layers than
        /// random bytes do.
        #[test]
        fn mutated_valid_frames(
            link in 0..6usize,
            pos in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            cut in any::<prop::sample::Index>(),
        ) {
            use crate::decode::testutil::{eth, gre, tcp, vxlan};
            let ip = ipv4(proto::TCP, &tcp((1, 2), 3, 0x12, &[3, 3, 7, 0], b"payload"));
            let mut frame = match link {
                0 => eth(0x0800, &ip),
                1 => ip,
                2 => ipv6(proto::TCP, &tcp((1, 2), 3, 0x12, &[], b"p")),
                // ERSPAN II in IPv4.
                3 => ipv4(47, &gre(0x88be, &[(0x1000, 1)], &[&[0x10, 0, 0, 5, 0, 0, 0, 0][..], &eth(0x0800, &ip)].concat())),
                // VXLAN carrying GRE carrying MPLS.
                4 => eth(0x0800, &ipv4(proto::UDP, &vxlan(9, &eth(0x0800, &ipv4(47, &gre(0x8847, &[(0x2000, 7)], &[&[0, 1, 1, 64][..], &ip].concat())))))),
                _ => eth(0x8847, &[&[0, 1, 1, 64][..], &ipv6(4, &ip)].concat()),
            };
            let i = pos.index(frame.len());
            frame[i] = byte;
            frame.truncate(cut.index(frame.len() + 1));
            let lt = [LinkType::ETHERNET, LinkType::RAW, LinkType::RAW, LinkType::RAW, LinkType::ETHERNET, LinkType::ETHERNET][link];
            match crate::decode::decode_frame(lt, &frame) {
                Ok(crate::decode::Frame::Packet(d)) => {
                    prop_assert!(d.payload.start <= d.payload.end);
                    prop_assert!(d.payload.end <= frame.len());
                    prop_assert!(d.l3_offset <= d.l4_offset && d.l4_offset <= frame.len());
                }
                Ok(crate::decode::Frame::Fragment(at)) => {
                    prop_assert!(at.ip_offset < frame.len() && at.end <= frame.len());
                }
                Err(_) => {}
            }
        }
    }
}
