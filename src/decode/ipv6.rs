//! IPv6 header and extension headers.

use std::net::Ipv6Addr;

use super::bytes::{array, be16, header_view, u8_at};
use super::ip::IpInfo;
use super::DecodeError;

mod field {
    pub const VER: usize = 0;
    pub const LENGTH: usize = 4;
    pub const NXT_HDR: usize = 6;
    pub const SRC: usize = 8;
    pub const DST: usize = 24;
    pub const HEADER_LEN: usize = 40;
    /// In an extension header: next header, then its length.
    pub const EXT_NXT_HDR: usize = 0;
    pub const EXT_LEN: usize = 1;
    /// In a fragment header: offset (13 bits) and M flag.
    pub const FRAG_OFF_M: usize = 2;
    pub const FRAG_HEADER_LEN: usize = 8;
}

/// Extension header protocol numbers.
mod ext {
    pub const HOP_BY_HOP: u8 = 0;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const AH: u8 = 51;
    pub const DEST_OPTS: u8 = 60;
}

/// Most extension headers we walk before calling the packet malformed.
const MAX_EXT_HEADERS: usize = 8;

header_view!("A read-only view of the fixed IPv6 header.");

impl<T: AsRef<[u8]>> Packet<T> {
    fn check_len(&self) -> Result<(), DecodeError> {
        let b = self.buffer.as_ref();
        // The version first: a short packet of the wrong version is malformed.
        if !b.is_empty() && u8_at(b, field::VER) >> 4 != 6 {
            return Err(DecodeError::Malformed);
        }
        if b.len() < field::HEADER_LEN {
            return Err(DecodeError::Truncated);
        }
        Ok(())
    }

    /// Payload length field (extension headers included); 0 for jumbograms
    /// and offloaded segments.
    pub(super) fn payload_len(&self) -> usize {
        usize::from(be16(self.buffer.as_ref(), field::LENGTH))
    }

    /// The first next-header value.
    pub(super) fn next_header(&self) -> u8 {
        u8_at(self.buffer.as_ref(), field::NXT_HDR)
    }

    /// Source address.
    pub(super) fn src(&self) -> Ipv6Addr {
        Ipv6Addr::from(array::<16>(self.buffer.as_ref(), field::SRC).unwrap_or_default())
    }

    /// Destination address.
    pub(super) fn dst(&self) -> Ipv6Addr {
        Ipv6Addr::from(array::<16>(self.buffer.as_ref(), field::DST).unwrap_or_default())
    }
}

/// Decodes the IPv6 header at `offset` of `frame`, walking extension headers
/// to the upper-layer protocol.
pub(super) fn decode(frame: &[u8], offset: usize) -> Result<IpInfo, DecodeError> {
    let p = Packet::new_checked(frame.get(offset..).unwrap_or_default())?;
    let l3_payload = offset + field::HEADER_LEN;
    let end = match p.payload_len() {
        0 => frame.len(),
        n => l3_payload + n,
    };
    let (proto, l4_start) = walk_ext(frame, p.next_header(), l3_payload, end)?;
    Ok(IpInfo {
        src: p.src().into(),
        dst: p.dst().into(),
        proto,
        l4_start,
        end,
    })
}

/// Skips extension headers from `at`; returns the upper protocol and where
/// it starts. `end` is where the IP length says the packet ends.
fn walk_ext(
    frame: &[u8],
    mut next: u8,
    mut at: usize,
    end: usize,
) -> Result<(u8, usize), DecodeError> {
    for _ in 0..MAX_EXT_HEADERS {
        let len = match next {
            ext::HOP_BY_HOP | ext::ROUTING | ext::DEST_OPTS => {
                (usize::from(ext_byte(frame, at, field::EXT_LEN, end)?) + 1) * 8
            }
            ext::AH => (usize::from(ext_byte(frame, at, field::EXT_LEN, end)?) + 2) * 4,
            ext::FRAGMENT => {
                // An atomic fragment (offset 0, no more fragments) is a whole
                // packet (RFC 6946); anything else needs reassembly.
                let hi = ext_byte(frame, at, field::FRAG_OFF_M, end)?;
                let lo = ext_byte(frame, at, field::FRAG_OFF_M + 1, end)?;
                if u16::from_be_bytes([hi, lo]) & 0xFFF9 != 0 {
                    return Err(DecodeError::Fragment);
                }
                field::FRAG_HEADER_LEN
            }
            _ => return Ok((next, at)),
        };
        next = ext_byte(frame, at, field::EXT_NXT_HDR, end)?;
        at += len;
        if at > end {
            return Err(DecodeError::Malformed);
        }
        if at > frame.len() {
            return Err(DecodeError::Truncated);
        }
    }
    Err(DecodeError::Malformed)
}

/// Byte `i` of the extension header at `at`: beyond the IP length the packet
/// is malformed, beyond the capture it is truncated.
fn ext_byte(frame: &[u8], at: usize, i: usize, end: usize) -> Result<u8, DecodeError> {
    let pos = at + i;
    if pos >= end {
        return Err(DecodeError::Malformed);
    }
    frame.get(pos).copied().ok_or(DecodeError::Truncated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::LinkType;
    use crate::decode::testutil::{hex, ipv6, tcp, udp};
    use crate::decode::{decode, proto};

    /// IPv6 + hop-by-hop + destination options + TCP.
    const EXT: &str = "
        60 00 00 00 00 26 00 40            # ip6: payload 38, next hop-by-hop
        20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01  # ip6: 2001:db8::1
        20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02  # ip6: 2001:db8::2
        3c 00 01 04 00 00 00 00            # hbh: next dest-opts, len 0, PadN
        06 00 01 04 00 00 00 00            # dest: next TCP, len 0, PadN
        00 50 c3 50 00 00 00 64 00 00 00 00  # tcp: 80 -> 50000, seq 100
        50 10 01 00 00 00 00 00            # tcp: doff 5, ACK
        6f 6b                              # 'ok'
    ";

    fn raw(f: &[u8]) -> Result<crate::decode::Decoded, DecodeError> {
        decode(LinkType::RAW, f)
    }

    fn ext_hdr(next: u8, len_units: u8, body_len: usize) -> Vec<u8> {
        let mut h = vec![next, len_units];
        h.resize(body_len, 0);
        h
    }

    #[test]
    fn good_with_extension_headers() {
        let f = hex(EXT);
        let d = raw(&f).unwrap();
        assert_eq!(d.dst, "2001:db8::2".parse::<std::net::IpAddr>().unwrap());
        assert_eq!((d.proto, d.sport, d.dport), (proto::TCP, 80, 50000));
        assert_eq!(&f[d.payload], b"ok");
    }

    #[test]
    fn routing_and_ah_then_udp() {
        let mut pl = ext_hdr(ext::AH, 0, 8); // routing, 8 bytes
        pl.extend(ext_hdr(proto::UDP, 1, 12)); // AH: (1 + 2) * 4 bytes
        pl.extend(udp((5, 6), b"ah"));
        let f = ipv6(ext::ROUTING, &pl);
        let d = raw(&f).unwrap();
        assert_eq!((d.proto, d.sport), (proto::UDP, 5));
        assert_eq!(&f[d.payload], b"ah");
    }

    #[test]
    fn fragments() {
        let mut frag = vec![proto::TCP, 0, 0x00, 0x01, 0, 0, 0, 1]; // M set
        frag.extend(tcp((1, 2), 0, 0x10, &[], b"x"));
        assert_eq!(raw(&ipv6(ext::FRAGMENT, &frag)), Err(DecodeError::Fragment));
        frag[2..4].copy_from_slice(&[0x00, 0x08]); // offset 1, last
        assert_eq!(raw(&ipv6(ext::FRAGMENT, &frag)), Err(DecodeError::Fragment));
        frag[2..4].copy_from_slice(&[0, 0]); // atomic fragment: a whole packet
        let f = ipv6(ext::FRAGMENT, &frag);
        assert_eq!(&f[raw(&f).unwrap().payload], b"x");
    }

    #[test]
    fn truncated_and_bad_lengths() {
        let f = hex(EXT);
        assert_eq!(raw(&f[..39]), Err(DecodeError::Truncated));
        assert_eq!(raw(&f[..45]), Err(DecodeError::Truncated)); // inside hop-by-hop
        let d = raw(&f[..f.len() - 1]).unwrap();
        assert!(d.truncated);
        // Extension header longer than the IP payload.
        let mut bad = f.clone();
        bad[41] = 20;
        assert_eq!(raw(&bad), Err(DecodeError::Malformed));
        // Payload length too short for the TCP header.
        let mut bad = f.clone();
        bad[5] = 20;
        assert_eq!(raw(&bad), Err(DecodeError::Malformed));
        let mut bad = f;
        bad[0] = 0x70;
        assert_eq!(decode(LinkType::IPV6, &bad), Err(DecodeError::Malformed));
    }

    #[test]
    fn too_many_extension_headers_and_no_next() {
        let mut pl = Vec::new();
        for _ in 0..MAX_EXT_HEADERS {
            pl.extend(ext_hdr(ext::DEST_OPTS, 0, 8));
        }
        pl.extend(ext_hdr(proto::UDP, 0, 8));
        assert_eq!(raw(&ipv6(ext::DEST_OPTS, &pl)), Err(DecodeError::Malformed));
        let d = raw(&ipv6(59, &[])).unwrap();
        assert_eq!((d.proto, d.payload.len()), (59, 0));
    }
}
