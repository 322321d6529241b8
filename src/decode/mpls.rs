//! MPLS label stack (RFC 3032) and what follows the bottom label.
//!
//! MPLS does not say what it carries: the first nibble after the stack
//! tells IPv4 (4) from IPv6 (6); 0 is a pseudowire control word (RFC 4385)
//! before an Ethernet frame.

use super::bytes::{be32, u8_at};
use super::link::{Next, L3};
use super::tunnel::{Inner, TunnelKind};
use super::DecodeError;

const LABEL_LEN: usize = 4;
/// Labels walked before the stack is called malformed.
const MAX_LABELS: usize = 8;
const BOTTOM_OF_STACK: u32 = 0x100;
/// Length of the pseudowire control word.
const CONTROL_WORD_LEN: usize = 4;

/// Decodes the label stack at `at`.
pub(super) fn decode(frame: &[u8], at: usize) -> Result<Inner, DecodeError> {
    let mut at = at;
    for _ in 0..MAX_LABELS {
        if frame.len() < at + LABEL_LEN {
            return Err(DecodeError::Truncated);
        }
        let entry = be32(frame, at);
        at += LABEL_LEN;
        if entry & BOTTOM_OF_STACK != 0 {
            return Ok(Inner {
                kind: TunnelKind::Mpls,
                id: Some(entry >> 12),
                next: payload(frame, at)?,
            });
        }
    }
    Err(DecodeError::Malformed)
}

/// Guesses the payload after the bottom label from its first nibble.
fn payload(frame: &[u8], at: usize) -> Result<Next, DecodeError> {
    if frame.len() <= at {
        return Err(DecodeError::Truncated);
    }
    match u8_at(frame, at) >> 4 {
        4 => Ok(Next::Ip(L3::V4, at)),
        6 => Ok(Next::Ip(L3::V6, at)),
        0 => Ok(Next::Eth(at + CONTROL_WORD_LEN)),
        _ => Err(DecodeError::NotIp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::LinkType;
    use crate::decode::testutil::{eth, hex, ipv4, ipv6, udp};
    use crate::decode::{decode, proto};

    /// Ethernet + two MPLS labels + IPv4 + UDP 'mp'.
    const TWO_LABELS: &str = "
        02 00 00 00 00 01 02 00 00 00 00 02 88 47   # eth: MPLS
        00 06 40 40                                 # mpls: label 100, not bottom
        00 0c 81 40                                 # mpls: label 200, bottom
        45 00 00 1e 00 01 40 00 40 11 00 00         # ip: len 30, UDP
        0a 00 00 01 0a 00 00 02                     # ip: 10.0.0.1 -> 10.0.0.2
        00 01 00 02 00 0a 00 00                     # udp: 1 -> 2, len 10
        6d 70                                       # 'mp'
    ";

    fn stack(labels: &[u32], payload: &[u8]) -> Vec<u8> {
        let mut s = Vec::new();
        for (i, l) in labels.iter().enumerate() {
            let bos = if i + 1 == labels.len() {
                BOTTOM_OF_STACK
            } else {
                0
            };
            s.extend_from_slice(&((l << 12) | bos | 64).to_be_bytes());
        }
        s.extend_from_slice(payload);
        s
    }

    #[test]
    fn good_two_labels() {
        let f = hex(TWO_LABELS);
        let d = decode(LinkType::ETHERNET, &f).unwrap();
        assert_eq!(&f[d.payload.clone()], b"mp");
        let t = d.tunnel.unwrap();
        assert_eq!(
            (t.kind, t.id, t.outer_src),
            (TunnelKind::Mpls, Some(200), None)
        );
    }

    #[test]
    fn ipv6_and_pseudowire_ethernet() {
        let f = eth(0x8847, &stack(&[17], &ipv6(proto::UDP, &udp((1, 2), b"6"))));
        assert_eq!(decode(LinkType::ETHERNET, &f).unwrap().sport, 1);
        let inner = eth(0x0800, &ipv4(proto::UDP, &udp((3, 4), b"pw")));
        let cw = [&[0u8, 0, 0, 1][..], &inner].concat();
        let f = eth(0x8848, &stack(&[18, 19], &cw));
        let d = decode(LinkType::ETHERNET, &f).unwrap();
        assert_eq!((d.sport, d.tunnel.unwrap().id), (3, Some(19)));
    }

    #[test]
    fn truncated_unknown_and_endless() {
        let f = hex(TWO_LABELS);
        assert_eq!(
            decode(LinkType::ETHERNET, &f[..20]),
            Err(DecodeError::Truncated)
        );
        assert_eq!(
            decode(LinkType::ETHERNET, &f[..22]),
            Err(DecodeError::Truncated)
        );
        let f = eth(0x8847, &stack(&[5], &[0x50; 20]));
        assert_eq!(decode(LinkType::ETHERNET, &f), Err(DecodeError::NotIp));
        let mut endless = Vec::new();
        for _ in 0..=MAX_LABELS {
            endless.extend_from_slice(&(100u32 << 12).to_be_bytes());
        }
        let f = eth(0x8847, &endless);
        assert_eq!(decode(LinkType::ETHERNET, &f), Err(DecodeError::Malformed));
    }
}
