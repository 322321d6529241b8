//! VXLAN (RFC 7348): an Ethernet frame in UDP to port 4789.

use super::bytes::{be32, header_view, u8_at};
use super::link::Next;
use super::tunnel::{Inner, TunnelKind};
use super::DecodeError;

/// IANA port of VXLAN.
pub const PORT: u16 = 4789;

mod field {
    pub const FLAGS: usize = 0;
    pub const VNI: usize = 4;
    pub const HEADER_LEN: usize = 8;
    pub const UDP_DST_PORT: usize = 2;
    pub const UDP_HEADER_LEN: usize = 8;
}

/// The "VNI valid" flag, the only one defined.
const FLAG_I: u8 = 0x08;

header_view!("A read-only view of a VXLAN header.");

impl<T: AsRef<[u8]>> Packet<T> {
    fn check_len(&self) -> Result<(), DecodeError> {
        if self.buffer.as_ref().len() < field::HEADER_LEN {
            return Err(DecodeError::Truncated);
        }
        Ok(())
    }

    fn valid(&self) -> bool {
        u8_at(self.buffer.as_ref(), field::FLAGS) & FLAG_I != 0
    }

    fn vni(&self) -> u32 {
        be32(self.buffer.as_ref(), field::VNI) >> 8
    }
}

/// The VXLAN tunnel in the UDP datagram at `at` (ending at `end`), if it
/// is one: destination port 4789 and the I flag set. Anything else is
/// ordinary UDP, so this never fails.
pub(super) fn decode(frame: &[u8], at: usize, end: usize) -> Option<Inner> {
    let udp = frame.get(at..end.min(frame.len()))?;
    if super::bytes::be16(udp, field::UDP_DST_PORT) != PORT {
        return None;
    }
    let p = Packet::new_checked(udp.get(field::UDP_HEADER_LEN..)?).ok()?;
    p.valid().then(|| Inner {
        kind: TunnelKind::Vxlan,
        id: Some(p.vni()),
        next: Next::Eth(at + field::UDP_HEADER_LEN + field::HEADER_LEN),
    })
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::capture::LinkType;
    use crate::decode::testutil::{eth, hex, ipv4, ipv6, tcp, udp, vxlan};
    use crate::decode::{decode, proto};

    /// Ethernet + IPv4 + UDP 4789 + VXLAN (VNI 5001) + Ethernet + IPv4 + TCP.
    const VXLAN: &str = "
        02 00 00 00 00 01 02 00 00 00 00 02 08 00   # eth: outer
        45 00 00 5c 00 01 00 00 40 11 00 00         # ip: len 92, UDP
        c0 00 02 0a c0 00 02 0b                     # ip: 192.0.2.10 -> 192.0.2.11
        d4 31 12 b5 00 48 00 00                     # udp: 54321 -> 4789, len 72
        08 00 00 00 00 13 89 00                     # vxlan: I, VNI 5001
        02 00 00 00 00 03 02 00 00 00 00 04 08 00   # eth: inner
        45 00 00 2a 00 01 40 00 40 06 00 00         # ip: len 42, TCP
        0a 00 00 01 0a 00 00 02                     # ip: 10.0.0.1 -> 10.0.0.2
        c3 50 00 50 00 00 00 01 00 00 00 00         # tcp: 50000 -> 80, seq 1
        50 18 ff ff 00 00 00 00                     # tcp: doff 5, PSH|ACK
        68 69                                       # 'hi'
    ";

    #[test]
    fn good() {
        let f = hex(VXLAN);
        let d = decode(LinkType::ETHERNET, &f).unwrap();
        assert_eq!(d.src, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!((d.proto, d.sport, d.dport), (proto::TCP, 50000, 80));
        assert_eq!(&f[d.payload.clone()], b"hi");
        let t = d.tunnel.unwrap();
        assert_eq!((t.kind, t.id), (TunnelKind::Vxlan, Some(5001)));
        assert_eq!(t.outer_dst, Some(Ipv4Addr::new(192, 0, 2, 11).into()));
        assert_eq!(d.l3_offset, 64);
    }

    #[test]
    fn truncated_and_bad_lengths() {
        let f = hex(VXLAN);
        // Inner Ethernet cut.
        assert_eq!(
            decode(LinkType::ETHERNET, &f[..60]),
            Err(DecodeError::Truncated)
        );
        // VXLAN header cut: plain UDP to 4789, snapped.
        let d = decode(LinkType::ETHERNET, &f[..46]).unwrap();
        assert!(d.tunnel.is_none() && d.truncated);
        // Outer IP length ends inside the inner IP header.
        let mut short = f.clone();
        short[16..18].copy_from_slice(&60u16.to_be_bytes());
        short[38..40].copy_from_slice(&40u16.to_be_bytes());
        assert_eq!(
            decode(LinkType::ETHERNET, &short),
            Err(DecodeError::Truncated)
        );
    }

    #[test]
    fn not_vxlan_is_plain_udp() {
        let mut f = hex(VXLAN);
        f[42] = 0; // I flag clear
        let d = decode(LinkType::ETHERNET, &f).unwrap();
        assert_eq!((d.dport, d.tunnel), (4789, None));
        let d = decode(
            LinkType::RAW,
            &ipv4(proto::UDP, &udp((4789, 53), b"12345678x")),
        )
        .unwrap();
        assert!(d.tunnel.is_none());
    }

    #[test]
    fn nested_and_too_deep() {
        let inner = eth(0x86dd, &ipv6(proto::TCP, &tcp((7, 8), 1, 0x18, &[], b"v6")));
        let mut f = inner.clone();
        for vni in 1..=4 {
            f = eth(0x0800, &ipv4(proto::UDP, &vxlan(vni, &f)));
        }
        let d = decode(LinkType::ETHERNET, &f).unwrap();
        assert_eq!(&f[d.payload.clone()], b"v6");
        let t = d.tunnel.unwrap();
        assert_eq!((t.id, t.depth), (Some(4), 4)); // the outermost VNI
        let f = eth(0x0800, &ipv4(proto::UDP, &vxlan(5, &f)));
        assert_eq!(
            decode(LinkType::ETHERNET, &f),
            Err(DecodeError::TunnelTooDeep)
        );
    }
}
