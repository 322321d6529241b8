//! TCP header and the options the reassembler needs.

use super::bytes::{be16, be32, header_view, u8_at};
use super::{tcp_flags, DecodeError, Decoded, TcpMeta};

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const SEQ: usize = 4;
    pub const ACK: usize = 8;
    pub const DATA_OFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: usize = 14;
    pub const MIN_HEADER_LEN: usize = 20;
}

/// Option kinds.
mod opt {
    pub const END: u8 = 0;
    pub const NOP: u8 = 1;
    pub const WSCALE: u8 = 3;
}

/// Largest window shift allowed (RFC 7323 §2.3: larger values mean 14).
const MAX_WSCALE: u8 = 14;

header_view!("A read-only view of a TCP header.");

impl<T: AsRef<[u8]>> Packet<T> {
    fn check_len(&self) -> Result<(), DecodeError> {
        let len = self.buffer.as_ref().len();
        if len < field::MIN_HEADER_LEN {
            return Err(DecodeError::Truncated);
        }
        if self.header_len() < field::MIN_HEADER_LEN {
            return Err(DecodeError::Malformed);
        }
        if self.header_len() > len {
            return Err(DecodeError::Truncated);
        }
        Ok(())
    }

    /// Header length in bytes (data offset * 4).
    pub(super) fn header_len(&self) -> usize {
        usize::from(u8_at(self.buffer.as_ref(), field::DATA_OFF) >> 4) * 4
    }

    /// Source port.
    pub(super) fn src_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::SRC_PORT)
    }

    /// Destination port.
    pub(super) fn dst_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::DST_PORT)
    }

    /// The fields the reassembler needs; the window scale only from a SYN.
    pub(super) fn meta(&self) -> TcpMeta {
        let b = self.buffer.as_ref();
        let flags = u8_at(b, field::FLAGS);
        let wscale = if flags & tcp_flags::SYN != 0 {
            self.wscale()
        } else {
            None
        };
        TcpMeta {
            seq: be32(b, field::SEQ),
            ack: be32(b, field::ACK),
            flags,
            window: be16(b, field::WINDOW),
            wscale,
        }
    }

    /// The window-scale option; malformed options end the walk quietly.
    fn wscale(&self) -> Option<u8> {
        let b = self.buffer.as_ref();
        let mut opts = b.get(field::MIN_HEADER_LEN..self.header_len())?;
        while let Some((&kind, rest)) = opts.split_first() {
            match kind {
                opt::END => return None,
                opt::NOP => opts = rest,
                _ => {
                    let len = usize::from(*rest.first()?);
                    let body = opts.get(2..len)?;
                    if kind == opt::WSCALE && len == 3 {
                        return body.first().map(|&s| s.min(MAX_WSCALE));
                    }
                    opts = opts.get(len..)?;
                }
            }
        }
        None
    }
}

/// Decodes the TCP header at the start of `l4` into `d`; returns its length.
pub(super) fn decode(l4: &[u8], d: &mut Decoded) -> Result<usize, DecodeError> {
    let p = Packet::new_checked(l4)?;
    d.sport = p.src_port();
    d.dport = p.dst_port();
    d.tcp = Some(p.meta());
    Ok(p.header_len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::LinkType;
    use crate::decode::testutil::{hex, ipv4, tcp};
    use crate::decode::{decode, proto};

    /// IPv4 + TCP SYN with the usual Linux options.
    const SYN: &str = "
        45 00 00 3c 00 00 40 00 40 06 00 00   # ip: len 60, TCP
        7f 00 00 01 7f 00 00 01               # ip: 127.0.0.1 -> 127.0.0.1
        b7 4e 1f 90 11 22 33 44 00 00 00 00   # tcp: 46926 -> 8080, seq 0x11223344
        a0 02 ff d7 00 00 00 00               # tcp: doff 10, SYN, win 65495
        02 04 ff d7 04 02 08 0a               # opt: MSS 65495, SACK-perm, TS...
        00 00 00 01 00 00 00 00 01 03 03 07   # opt: ...TS, NOP, WS 7
    ";

    fn raw(f: &[u8]) -> Result<crate::decode::Decoded, DecodeError> {
        decode(LinkType::RAW, f)
    }

    #[test]
    fn syn_with_window_scale() {
        let f = hex(SYN);
        let d = raw(&f).unwrap();
        let want = TcpMeta {
            seq: 0x1122_3344,
            ack: 0,
            flags: tcp_flags::SYN,
            window: 65495,
            wscale: Some(7),
        };
        assert_eq!(d.tcp, Some(want));
        assert_eq!((d.sport, d.dport), (46926, 8080));
        assert_eq!(d.payload, 60..60);
    }

    #[test]
    fn window_scale_only_on_syn_and_clamped() {
        let ws = [1, 3, 3, 20];
        let f = ipv4(
            proto::TCP,
            &tcp((1, 2), 0, tcp_flags::SYN | tcp_flags::ACK, &ws, b""),
        );
        assert_eq!(raw(&f).unwrap().tcp.unwrap().wscale, Some(MAX_WSCALE));
        let f = ipv4(proto::TCP, &tcp((1, 2), 0, tcp_flags::ACK, &ws, b"data"));
        let d = raw(&f).unwrap();
        assert_eq!(d.tcp.unwrap().wscale, None);
        assert_eq!(&f[d.payload], b"data");
    }

    #[test]
    fn malformed_options_tolerated() {
        // Zero option length, option running past the header, EOL first.
        for opts in [[8, 0, 3, 3], [3, 9, 7, 0], [0, 3, 3, 7], [3, 3, 0, 0]] {
            let f = ipv4(proto::TCP, &tcp((1, 2), 0, tcp_flags::SYN, &opts, b"z"));
            let d = raw(&f).unwrap();
            let want = if opts == [3, 3, 0, 0] { Some(0) } else { None };
            assert_eq!(d.tcp.unwrap().wscale, want, "{opts:?}");
            assert_eq!(&f[d.payload], b"z");
        }
    }

    #[test]
    fn truncated_and_bad_lengths() {
        let f = hex(SYN);
        // Capture ends inside the options: truncated.
        assert_eq!(raw(&f[..50]), Err(DecodeError::Truncated));
        // Data offset below 5.
        let mut bad = f.clone();
        bad[32] = 0x40;
        assert_eq!(raw(&bad), Err(DecodeError::Malformed));
        // IP length ends inside the TCP header: malformed, not truncated.
        let mut bad = f;
        bad[2..4].copy_from_slice(&50u16.to_be_bytes());
        assert_eq!(raw(&bad), Err(DecodeError::Malformed));
        let view = Packet::new_checked(&[0u8; 19][..]);
        assert_eq!(view.err(), Some(DecodeError::Truncated));
    }
}
