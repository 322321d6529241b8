//! GRE (RFC 2784, key and sequence number of RFC 2890) and the ERSPAN
//! headers it carries (type I, II and III).

use super::bytes::{be16, be32, header_view, u8_at};
use super::ethernet::ethertype;
use super::link::{Next, L3};
use super::tunnel::{Inner, TunnelKind};
use super::DecodeError;

mod field {
    pub const FLAGS: usize = 0;
    pub const PROTOCOL: usize = 2;
    pub const HEADER_LEN: usize = 4;
    /// Each optional field (checksum+reserved, key, sequence) is a word.
    pub const OPT_LEN: usize = 4;
}

mod flag {
    pub const CHECKSUM: u16 = 0x8000;
    /// RFC 1701 routing present: obsolete, not supported.
    pub const ROUTING: u16 = 0x4000;
    pub const KEY: u16 = 0x2000;
    pub const SEQUENCE: u16 = 0x1000;
    pub const VERSION: u16 = 0x0007;
}

/// Protocol types GRE carries that we follow (besides IP and MPLS).
mod ptype {
    /// Transparent Ethernet Bridging.
    pub const TEB: u16 = 0x6558;
    /// ERSPAN type I and II.
    pub const ERSPAN_II: u16 = 0x88BE;
    /// ERSPAN type III.
    pub const ERSPAN_III: u16 = 0x22EB;
}

/// ERSPAN header layout.
mod erspan {
    pub const II_LEN: usize = 8;
    pub const III_LEN: usize = 12;
    /// Version in the top nibble of the first byte: 1 = II, 2 = III.
    pub const VERSION_II: u8 = 1;
    pub const VERSION_III: u8 = 2;
    /// Session id: low 10 bits of the second 16-bit word.
    pub const SESSION: usize = 2;
    pub const SESSION_MASK: u16 = 0x03FF;
    /// Type III: frame type (bits 10..14) and optional-subheader flag of
    /// the last word; frame type 0 is Ethernet.
    pub const III_FLAGS: usize = 8;
    pub const III_FT_MASK: u32 = 0x7C00;
    pub const III_O_FLAG: u32 = 0x0001;
    pub const III_SUBHEADER_LEN: usize = 8;
}

header_view!("A read-only view of a GRE header.");

impl<T: AsRef<[u8]>> Packet<T> {
    fn check_len(&self) -> Result<(), DecodeError> {
        if self.buffer.as_ref().len() < field::HEADER_LEN {
            return Err(DecodeError::Truncated);
        }
        if self.flags() & (flag::ROUTING | flag::VERSION) != 0 {
            // Routing (RFC 1701) or version 1 (PPTP, carries PPP).
            return Err(DecodeError::NotIp);
        }
        if self.buffer.as_ref().len() < self.header_len() {
            return Err(DecodeError::Truncated);
        }
        Ok(())
    }

    fn flags(&self) -> u16 {
        be16(self.buffer.as_ref(), field::FLAGS)
    }

    fn protocol(&self) -> u16 {
        be16(self.buffer.as_ref(), field::PROTOCOL)
    }

    fn has(&self, f: u16) -> bool {
        self.flags() & f != 0
    }

    /// Header length with the optional words present.
    fn header_len(&self) -> usize {
        let opts = [flag::CHECKSUM, flag::KEY, flag::SEQUENCE];
        field::HEADER_LEN + opts.iter().filter(|&&f| self.has(f)).count() * field::OPT_LEN
    }

    /// The key (RFC 2890), after the checksum word when there is one.
    fn key(&self) -> Option<u32> {
        let at = field::HEADER_LEN + usize::from(self.has(flag::CHECKSUM)) * field::OPT_LEN;
        self.has(flag::KEY).then(|| be32(self.buffer.as_ref(), at))
    }
}

/// Decodes the GRE header at `at`; `end` is where the outer IP packet ends.
pub(super) fn decode(frame: &[u8], at: usize, end: usize) -> Result<Inner, DecodeError> {
    let body = frame.get(at..end.min(frame.len())).unwrap_or_default();
    let p = Packet::new_checked(body)?;
    let inner = at + p.header_len();
    let gre = |next| Inner {
        kind: TunnelKind::Gre,
        id: p.key(),
        next,
    };
    Ok(match p.protocol() {
        ethertype::IPV4 => gre(Next::Ip(L3::V4, inner)),
        ethertype::IPV6 => gre(Next::Ip(L3::V6, inner)),
        ethertype::MPLS | ethertype::MPLS_MC => gre(Next::Mpls(inner)),
        ptype::TEB => gre(Next::Eth(inner)),
        ptype::ERSPAN_II if !p.has(flag::SEQUENCE) => Inner {
            kind: TunnelKind::ErspanI,
            id: None,
            next: Next::Eth(inner),
        },
        ptype::ERSPAN_II => erspan_ii(frame, inner)?,
        ptype::ERSPAN_III => erspan_iii(frame, inner)?,
        _ => return Err(DecodeError::NotIp),
    })
}

/// ERSPAN type II header at `at`: version, VLAN, session id, index.
fn erspan_ii(frame: &[u8], at: usize) -> Result<Inner, DecodeError> {
    let h = erspan_header(frame, at, erspan::II_LEN, erspan::VERSION_II)?;
    Ok(Inner {
        kind: TunnelKind::ErspanII,
        id: Some(u32::from(be16(h, erspan::SESSION) & erspan::SESSION_MASK)),
        next: Next::Eth(at + erspan::II_LEN),
    })
}

/// ERSPAN type III header at `at`, with its optional platform subheader.
fn erspan_iii(frame: &[u8], at: usize) -> Result<Inner, DecodeError> {
    let h = erspan_header(frame, at, erspan::III_LEN, erspan::VERSION_III)?;
    let flags = be32(h, erspan::III_FLAGS);
    if flags & erspan::III_FT_MASK != 0 {
        return Err(DecodeError::NotIp); // not an Ethernet frame (e.g. IP directly)
    }
    let mut len = erspan::III_LEN;
    if flags & erspan::III_O_FLAG != 0 {
        len += erspan::III_SUBHEADER_LEN;
        if frame.len() < at + len {
            return Err(DecodeError::Truncated);
        }
    }
    Ok(Inner {
        kind: TunnelKind::ErspanIII,
        id: Some(u32::from(be16(h, erspan::SESSION) & erspan::SESSION_MASK)),
        next: Next::Eth(at + len),
    })
}

/// The ERSPAN header of `len` bytes at `at`, its version checked.
fn erspan_header(frame: &[u8], at: usize, len: usize, version: u8) -> Result<&[u8], DecodeError> {
    let h = frame
        .get(at..at.saturating_add(len))
        .ok_or(DecodeError::Truncated)?;
    if u8_at(h, 0) >> 4 != version {
        return Err(DecodeError::Malformed);
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::capture::LinkType;
    use crate::decode::testutil::{eth, gre, hex, ipv4, tcp, udp};
    use crate::decode::{decode, proto};

    /// IPv4 + GRE with checksum, key and sequence + IPv4 + UDP 'gre'.
    const GRE_CKS: &str = "
        45 00 00 43 00 01 00 00 40 2f 00 00   # ip: len 67, GRE
        c0 00 02 01 c0 00 02 02               # ip: 192.0.2.1 -> 192.0.2.2
        b0 00 08 00                           # gre: C K S, protocol IPv4
        00 00 00 00                           # gre: checksum, reserved
        00 00 30 39                           # gre: key 12345
        00 00 00 07                           # gre: sequence 7
        45 00 00 1f 00 01 40 00 40 11 00 00   # inner ip: len 31, UDP
        0a 00 00 01 0a 00 00 02               # inner ip: 10.0.0.1 -> 10.0.0.2
        00 01 00 02 00 0b 00 00               # udp: 1 -> 2, len 11
        67 72 65                              # 'gre'
    ";

    /// IPv4 + GRE + ERSPAN II (session 0x155, index 9) + Ethernet.
    const ERSPAN2_HDR: &str = "
        10 00 88 be                           # gre: S, protocol ERSPAN
        00 00 00 2a                           # gre: sequence 42
        10 64 09 55                           # erspan: ver 1, vlan 100, session 0x155
        00 00 00 09                           # erspan: index 9
    ";

    /// IPv4 + GRE + ERSPAN III (session 0x3ff, O flag) + Ethernet.
    const ERSPAN3_HDR: &str = "
        10 00 22 eb                           # gre: S, protocol ERSPAN III
        00 00 00 01                           # gre: sequence 1
        20 00 03 ff                           # erspan: ver 2, session 0x3ff
        11 22 33 44                           # erspan: timestamp
        00 00 00 01                           # erspan: sgt 0, ft 0 (Ethernet), O
        aa bb cc dd ee ff 00 11               # erspan: platform subheader
    ";

    fn raw(f: &[u8]) -> Result<crate::decode::Decoded, DecodeError> {
        decode(LinkType::RAW, f)
    }

    fn inner_frame() -> Vec<u8> {
        eth(
            0x0800,
            &ipv4(proto::TCP, &tcp((1000, 80), 5, 0x18, &[], b"in")),
        )
    }

    #[test]
    fn gre_with_all_options() {
        let f = hex(GRE_CKS);
        let d = raw(&f).unwrap();
        assert_eq!((d.src, d.dport), (Ipv4Addr::new(10, 0, 0, 1).into(), 2));
        assert_eq!(&f[d.payload], b"gre");
        let t = d.tunnel.unwrap();
        assert_eq!((t.kind, t.id, t.depth), (TunnelKind::Gre, Some(12345), 1));
        assert_eq!(t.outer_src, Some(Ipv4Addr::new(192, 0, 2, 1).into()));
    }

    #[test]
    fn gre_truncated_bad_version_unknown_protocol() {
        let f = hex(GRE_CKS);
        assert_eq!(raw(&f[..22]), Err(DecodeError::Truncated));
        assert_eq!(raw(&f[..30]), Err(DecodeError::Truncated)); // options cut
        let mut v1 = f.clone();
        v1[21] = 0x01; // version 1: PPTP
        assert_eq!(raw(&v1), Err(DecodeError::NotIp));
        let mut other = f.clone();
        other[22..24].copy_from_slice(&[0x88, 0x0b]); // PPP
        assert_eq!(raw(&other), Err(DecodeError::NotIp));
        let mut short = f;
        short[2..4].copy_from_slice(&40u16.to_be_bytes()); // outer ends in inner ip
        assert_eq!(raw(&short), Err(DecodeError::Truncated));
    }

    #[test]
    fn gre_plain_teb_ipv6_and_mpls() {
        let teb = gre(0x6558, &[], &inner_frame());
        let d = raw(&ipv4(47, &teb)).unwrap();
        assert_eq!((d.dport, d.tunnel.unwrap().id), (80, None));
        let v6 = gre(
            0x86dd,
            &[],
            &crate::decode::testutil::ipv6(proto::UDP, &udp((3, 4), b"6")),
        );
        assert_eq!(raw(&ipv4(47, &v6)).unwrap().sport, 3);
        let mut mpls = vec![0x00, 0x01, 0x01, 0x40]; // label 16, bottom
        mpls.extend(ipv4(proto::UDP, &udp((5, 6), b"m")));
        let d = raw(&ipv4(47, &gre(0x8847, &[], &mpls))).unwrap();
        assert_eq!((d.sport, d.tunnel.unwrap().kind), (5, TunnelKind::Gre));
        assert_eq!(d.tunnel.unwrap().depth, 2);
    }

    #[test]
    fn erspan_types() {
        // Type I: GRE 0x88BE without sequence number, Ethernet right after.
        let f = ipv4(47, &gre(0x88be, &[], &inner_frame()));
        let t = raw(&f).unwrap().tunnel.unwrap();
        assert_eq!((t.kind, t.id), (TunnelKind::ErspanI, None));
        // Type II.
        let f = ipv4(47, &[hex(ERSPAN2_HDR), inner_frame()].concat());
        let d = raw(&f).unwrap();
        assert_eq!(&f[d.payload.clone()], b"in");
        let t = d.tunnel.unwrap();
        assert_eq!((t.kind, t.id), (TunnelKind::ErspanII, Some(0x155)));
        // Type III with the platform subheader.
        let f = ipv4(47, &[hex(ERSPAN3_HDR), inner_frame()].concat());
        let t = raw(&f).unwrap().tunnel.unwrap();
        assert_eq!((t.kind, t.id), (TunnelKind::ErspanIII, Some(0x3ff)));
    }

    #[test]
    fn erspan_bad_version_and_truncated() {
        let mut h = hex(ERSPAN2_HDR);
        h[8] = 0x20; // version 2 under 0x88BE
        let f = ipv4(47, &[h, inner_frame()].concat());
        assert_eq!(raw(&f), Err(DecodeError::Malformed));
        let h = hex(ERSPAN3_HDR);
        assert_eq!(raw(&ipv4(47, &h[..20])), Err(DecodeError::Truncated));
        let mut h = hex(ERSPAN3_HDR);
        h[18] = 0x04; // frame type 1: not Ethernet
        assert_eq!(raw(&ipv4(47, &h)), Err(DecodeError::NotIp));
    }
}
