//! IPv4 header.

use std::net::Ipv4Addr;

use super::bytes::{array, be16, header_view, u8_at};
use super::ip::IpInfo;
use super::DecodeError;

mod field {
    pub const VER_IHL: usize = 0;
    pub const LENGTH: usize = 2;
    pub const FLG_OFF: usize = 6;
    pub const PROTOCOL: usize = 9;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
    pub const MIN_HEADER_LEN: usize = 20;
}

/// More-fragments flag in the flags/offset word.
const MF: u16 = 0x2000;
/// Fragment offset bits.
const OFFSET_MASK: u16 = 0x1FFF;

header_view!("A read-only view of an IPv4 header.");

impl<T: AsRef<[u8]>> Packet<T> {
    fn check_len(&self) -> Result<(), DecodeError> {
        let len = self.buffer.as_ref().len();
        // The version first: a short packet of the wrong version is malformed.
        if len > 0 && self.version() != 4 {
            return Err(DecodeError::Malformed);
        }
        if len < field::MIN_HEADER_LEN {
            return Err(DecodeError::Truncated);
        }
        if self.header_len() < field::MIN_HEADER_LEN {
            return Err(DecodeError::Malformed);
        }
        if self.header_len() > len {
            return Err(DecodeError::Truncated);
        }
        let total = self.total_len();
        if total != 0 && total < self.header_len() {
            return Err(DecodeError::Malformed);
        }
        Ok(())
    }

    fn version(&self) -> u8 {
        u8_at(self.buffer.as_ref(), field::VER_IHL) >> 4
    }

    /// Header length in bytes (IHL * 4).
    pub(super) fn header_len(&self) -> usize {
        usize::from(u8_at(self.buffer.as_ref(), field::VER_IHL) & 0x0F) * 4
    }

    /// Total length field; 0 when a NIC offloaded segmentation.
    pub(super) fn total_len(&self) -> usize {
        usize::from(be16(self.buffer.as_ref(), field::LENGTH))
    }

    /// True for any fragment: more-fragments set or a non-zero offset.
    pub(super) fn is_fragment(&self) -> bool {
        let w = be16(self.buffer.as_ref(), field::FLG_OFF);
        w & MF != 0 || w & OFFSET_MASK != 0
    }

    /// Protocol of the payload.
    pub(super) fn protocol(&self) -> u8 {
        u8_at(self.buffer.as_ref(), field::PROTOCOL)
    }

    /// Source address.
    pub(super) fn src(&self) -> Ipv4Addr {
        Ipv4Addr::from(array::<4>(self.buffer.as_ref(), field::SRC).unwrap_or_default())
    }

    /// Destination address.
    pub(super) fn dst(&self) -> Ipv4Addr {
        Ipv4Addr::from(array::<4>(self.buffer.as_ref(), field::DST).unwrap_or_default())
    }
}

/// Decodes the IPv4 header at `offset` of `frame`.
pub(super) fn decode(frame: &[u8], offset: usize) -> Result<IpInfo, DecodeError> {
    let p = Packet::new_checked(frame.get(offset..).unwrap_or_default())?;
    if p.is_fragment() {
        return Err(DecodeError::Fragment);
    }
    // A zero total length comes from segmentation offload on the capturing
    // host: the packet is whatever was captured.
    let total = match p.total_len() {
        0 => frame.len().saturating_sub(offset),
        n => n,
    };
    Ok(IpInfo {
        src: p.src().into(),
        dst: p.dst().into(),
        proto: p.protocol(),
        l4_start: offset + p.header_len(),
        end: offset + total,
    })
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::capture::LinkType;
    use crate::decode::testutil::{hex, ipv4, tcp};
    use crate::decode::{decode, proto};

    /// IPv4 with one option word + ICMP echo.
    const WITH_OPTIONS: &str = "
        46 00 00 24 12 34 00 00 40 01 00 00   # ip: ihl 6, len 36, ICMP
        c0 a8 01 01 08 08 08 08               # ip: 192.168.1.1 -> 8.8.8.8
        01 01 01 00                           # ip: options NOP NOP NOP EOL
        08 00 00 00 00 01 00 01               # icmp: echo request
        61 62 63 64                           # 'abcd'
    ";

    fn raw(f: &[u8]) -> Result<crate::decode::Decoded, DecodeError> {
        decode(LinkType::RAW, f)
    }

    #[test]
    fn good_with_options_other_protocol() {
        let f = hex(WITH_OPTIONS);
        let d = raw(&f).unwrap();
        assert_eq!(d.src, Ipv4Addr::new(192, 168, 1, 1));
        assert_eq!(d.dst, Ipv4Addr::new(8, 8, 8, 8));
        assert_eq!((d.proto, d.sport, d.dport, d.tcp), (1, 0, 0, None));
        assert_eq!(d.payload, 24..36);
        assert!(!d.truncated);
    }

    #[test]
    fn truncated() {
        let f = hex(WITH_OPTIONS);
        assert_eq!(raw(&f[..19]), Err(DecodeError::Truncated));
        // Header options cut off.
        assert_eq!(raw(&f[..22]), Err(DecodeError::Truncated));
        // Payload snapped: decoded, flagged, clipped.
        let d = raw(&f[..30]).unwrap();
        assert!(d.truncated);
        assert_eq!(d.payload, 24..30);
    }

    #[test]
    fn bad_lengths() {
        let mut f = hex(WITH_OPTIONS);
        f[0] = 0x44; // IHL 4 < 5
        assert_eq!(raw(&f), Err(DecodeError::Malformed));
        let mut f = hex(WITH_OPTIONS);
        f[2..4].copy_from_slice(&20u16.to_be_bytes()); // shorter than the header
        assert_eq!(raw(&f), Err(DecodeError::Malformed));
        let mut f = hex(WITH_OPTIONS);
        f[0] = 0x4f; // IHL 15: 60 bytes, more than captured
        assert_eq!(raw(&f), Err(DecodeError::Truncated));
    }

    #[test]
    fn fragments() {
        let mut f = ipv4(proto::TCP, &tcp((1, 2), 0, 0x10, &[], b"x"));
        f[6] = 0x20; // MF
        assert_eq!(raw(&f), Err(DecodeError::Fragment));
        f[6] = 0x00;
        f[7] = 0x10; // offset 16 * 8
        assert_eq!(raw(&f), Err(DecodeError::Fragment));
        f[6] = 0x40; // DF only
        f[7] = 0x00;
        assert!(raw(&f).is_ok());
    }

    #[test]
    fn zero_total_length_from_offload() {
        let mut f = ipv4(proto::TCP, &tcp((1, 2), 0, 0x18, &[], b"offloaded"));
        f[2..4].copy_from_slice(&[0, 0]);
        let d = raw(&f).unwrap();
        assert_eq!(&f[d.payload], b"offloaded");
        assert!(!d.truncated);
    }
}
