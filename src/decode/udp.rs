//! UDP header.

use super::bytes::{be16, header_view};
use super::{DecodeError, Decoded};

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const LENGTH: usize = 4;
    pub const HEADER_LEN: usize = 8;
}

header_view!("A read-only view of a UDP header.");

impl<T: AsRef<[u8]>> Packet<T> {
    fn check_len(&self) -> Result<(), DecodeError> {
        if self.buffer.as_ref().len() < field::HEADER_LEN {
            return Err(DecodeError::Truncated);
        }
        Ok(())
    }

    /// Source port.
    pub(super) fn src_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::SRC_PORT)
    }

    /// Destination port.
    pub(super) fn dst_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::DST_PORT)
    }

    /// Length field (header included); 0 in IPv6 jumbograms.
    pub(super) fn len(&self) -> usize {
        usize::from(be16(self.buffer.as_ref(), field::LENGTH))
    }
}

/// Decodes the UDP header at the start of `l4` (the IP payload, clipped to
/// the capture) into `d`, clipping `d.payload` to the UDP length. `ip_len`
/// is the IP payload length the IP header claims. Returns the header length.
pub(super) fn decode(l4: &[u8], ip_len: usize, d: &mut Decoded) -> Result<usize, DecodeError> {
    let p = Packet::new_checked(l4)?;
    d.sport = p.src_port();
    d.dport = p.dst_port();
    match p.len() {
        0 => {} // jumbogram or offload: the IP length rules
        n if n < field::HEADER_LEN || n > ip_len => return Err(DecodeError::Malformed),
        n => d.payload.end = d.payload.end.min(d.payload.start + n),
    }
    Ok(field::HEADER_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::LinkType;
    use crate::decode::testutil::{hex, ipv4, udp};
    use crate::decode::{decode, proto};

    /// IPv4 + UDP with a length shorter than the IP payload.
    const SHORT_UDP: &str = "
        45 00 00 22 00 00 40 00 40 11 00 00   # ip: len 34, UDP
        0a 00 00 01 0a 00 00 02               # ip: 10.0.0.1 -> 10.0.0.2
        00 35 d4 31 00 0b 00 00               # udp: 53 -> 54321, len 11
        61 62 63 78 78 78                     # 'abc' then 3 bytes past the UDP length
    ";

    fn raw(f: &[u8]) -> Result<crate::decode::Decoded, DecodeError> {
        decode(LinkType::RAW, f)
    }

    #[test]
    fn good_clipped_to_udp_length() {
        let f = hex(SHORT_UDP);
        let d = raw(&f).unwrap();
        assert_eq!((d.proto, d.sport, d.dport), (proto::UDP, 53, 54321));
        assert_eq!(&f[d.payload], b"abc");
    }

    #[test]
    fn bad_lengths() {
        let mut f = hex(SHORT_UDP);
        f[24..26].copy_from_slice(&7u16.to_be_bytes());
        assert_eq!(raw(&f), Err(DecodeError::Malformed));
        f[24..26].copy_from_slice(&15u16.to_be_bytes()); // past the IP payload
        assert_eq!(raw(&f), Err(DecodeError::Malformed));
        f[24..26].copy_from_slice(&0u16.to_be_bytes()); // jumbo/offload: IP rules
        let d = raw(&f).unwrap();
        assert_eq!(&f[d.payload], b"abcxxx");
    }

    #[test]
    fn truncated() {
        let f = hex(SHORT_UDP);
        assert_eq!(raw(&f[..27]), Err(DecodeError::Truncated));
        let f = ipv4(proto::UDP, &udp((1, 2), b"0123456789"));
        let d = raw(&f[..f.len() - 4]).unwrap();
        assert!(d.truncated);
        assert_eq!(&f[d.payload], b"012345");
        assert_eq!(
            Packet::new_checked(&[0u8; 7][..]).err(),
            Some(DecodeError::Truncated)
        );
    }
}
