//! Optional checksum validation: IPv4 header, TCP and UDP (with the IPv4
//! or IPv6 pseudo-header).
//!
//! Off by default: captures taken on the sending host carry checksums the
//! NIC fills in later. When on, a receiver would drop a packet with a bad
//! checksum, so we drop it too (before reassembly): otherwise an attacker
//! could hide data behind a segment the endpoint never accepted.

use super::bytes::{be16, u8_at};
use super::{proto, Decoded, FragmentRef, L3};

/// The header whose checksum was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// IPv4 header checksum.
    Ipv4,
    /// TCP checksum.
    Tcp,
    /// UDP checksum.
    Udp,
}

/// Bad checksums counted, by layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChecksumStats {
    /// Bad IPv4 header checksums.
    pub ipv4_bad_total: u64,
    /// Bad TCP checksums.
    pub tcp_bad_total: u64,
    /// Bad UDP checksums.
    pub udp_bad_total: u64,
}

impl ChecksumStats {
    /// Counts one bad checksum.
    pub fn count(&mut self, layer: Layer) {
        match layer {
            Layer::Ipv4 => self.ipv4_bad_total += 1,
            Layer::Tcp => self.tcp_bad_total += 1,
            Layer::Udp => self.udp_bad_total += 1,
        }
    }

    /// Adds another set of counters.
    pub fn add(&mut self, o: &ChecksumStats) {
        self.ipv4_bad_total += o.ipv4_bad_total;
        self.tcp_bad_total += o.tcp_bad_total;
        self.udp_bad_total += o.udp_bad_total;
    }
}

/// Checks the innermost IP header and the TCP/UDP checksum of a decoded
/// packet. Snapped packets and offloaded ones (IP length 0) cannot be
/// checked and pass.
///
/// # Errors
/// The layer whose checksum is wrong.
pub fn verify(frame: &[u8], d: &Decoded) -> Result<(), Layer> {
    if cfg!(fuzzing) {
        return Ok(());
    }
    let ip = frame.get(d.l3_offset..).unwrap_or_default();
    let v4 = u8_at(ip, 0) >> 4 == 4;
    if v4 {
        ipv4_header(ip)?;
        if be16(ip, 2) == 0 {
            return Ok(());
        }
    }
    if d.truncated || !(d.proto == proto::TCP || d.proto == proto::UDP) {
        return Ok(());
    }
    let Some(l4) = frame.get(d.l4_offset..d.payload.end) else {
        return Ok(());
    };
    let layer = if d.proto == proto::TCP {
        Layer::Tcp
    } else {
        Layer::Udp
    };
    if layer == Layer::Udp && v4 && be16(l4, 6) == 0 {
        return Ok(()); // IPv4 UDP without checksum
    }
    let mut sum = pseudo_header(ip, v4, d.proto, l4.len());
    sum = add(sum, l4);
    if fold(sum) == 0xFFFF {
        Ok(())
    } else {
        Err(layer)
    }
}

/// Checks the IPv4 header checksum of a fragment (its transport checksum
/// can only be checked after reassembly).
///
/// # Errors
/// [`Layer::Ipv4`] when wrong.
pub fn verify_fragment(frame: &[u8], at: &FragmentRef) -> Result<(), Layer> {
    if cfg!(fuzzing) || at.l3 != L3::V4 {
        return Ok(());
    }
    ipv4_header(frame.get(at.ip_offset..).unwrap_or_default())
}

/// The IPv4 header checksum at the start of `ip`.
fn ipv4_header(ip: &[u8]) -> Result<(), Layer> {
    let ihl = usize::from(u8_at(ip, 0) & 0x0F) * 4;
    match ip.get(..ihl) {
        Some(h) if fold(add(0, h)) == 0xFFFF => Ok(()),
        _ => Err(Layer::Ipv4),
    }
}

/// Computes the IPv4 header checksum field value for `header` (whose
/// checksum field is zero).
pub(super) fn ipv4_header_checksum(header: &[u8]) -> u16 {
    !fold(add(0, header))
}

/// Sum of the pseudo-header for `l4_len` bytes of `proto`.
fn pseudo_header(ip: &[u8], v4: bool, proto: u8, l4_len: usize) -> u64 {
    let addrs = if v4 { ip.get(12..20) } else { ip.get(8..40) };
    let sum = add(0, addrs.unwrap_or_default());
    sum + u64::from(proto) + l4_len as u64
}

/// Adds `b` as big-endian 16-bit words (odd tail padded with zero).
fn add(mut sum: u64, b: &[u8]) -> u64 {
    let mut words = b.chunks_exact(2);
    for w in &mut words {
        sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

/// Folds a sum to 16 bits (ones' complement).
fn fold(mut sum: u64) -> u16 {
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    sum as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::LinkType;
    use crate::decode::decode;
    use crate::decode::testutil::{ipv4, ipv6, tcp, udp};

    /// Fills in the IPv4 header and the L4 checksums of a raw packet.
    pub(crate) fn fix(p: &mut [u8]) {
        let d = decode(LinkType::RAW, p).unwrap();
        let v4 = p[0] >> 4 == 4;
        if v4 {
            p[10..12].copy_from_slice(&[0, 0]);
            let c = ipv4_header_checksum(&p[..20]);
            p[10..12].copy_from_slice(&c.to_be_bytes());
        }
        let at = d.l4_offset + if d.proto == proto::TCP { 16 } else { 6 };
        p[at..at + 2].copy_from_slice(&[0, 0]);
        let l4 = &p[d.l4_offset..d.payload.end];
        let s = add(pseudo_header(p, v4, d.proto, l4.len()), l4);
        let c = match !fold(s) {
            0 => 0xFFFF,
            c => c,
        };
        p[at..at + 2].copy_from_slice(&c.to_be_bytes());
    }

    fn check(p: &[u8]) -> Result<(), Layer> {
        verify(p, &decode(LinkType::RAW, p).unwrap())
    }

    #[test]
    fn good_and_bad_by_layer() {
        let mut t4 = ipv4(proto::TCP, &tcp((1, 2), 3, 0x18, &[], b"odd"));
        let mut u4 = ipv4(proto::UDP, &udp((1, 2), b"even"));
        let mut t6 = ipv6(proto::TCP, &tcp((1, 2), 3, 0x18, &[], b"six"));
        let mut u6 = ipv6(proto::UDP, &udp((1, 2), b"6"));
        for p in [&mut t4, &mut u4, &mut t6, &mut u6] {
            fix(p);
            assert_eq!(check(p), Ok(()));
        }
        t4[24] ^= 1;
        assert_eq!(check(&t4), Err(Layer::Tcp));
        t4[8] ^= 1; // TTL
        assert_eq!(check(&t4), Err(Layer::Ipv4));
        u6[40] ^= 1;
        assert_eq!(check(&u6), Err(Layer::Udp));
        t6[60] ^= 0x80;
        assert_eq!(check(&t6), Err(Layer::Tcp));
        // IPv4 UDP checksum 0 means none.
        u4[26..28].copy_from_slice(&[0, 0]);
        assert_eq!(check(&u4), Ok(()));
    }

    #[test]
    fn snapped_cannot_be_checked() {
        let mut p = ipv4(proto::TCP, &tcp((1, 2), 3, 0x18, &[], b"payload"));
        fix(&mut p);
        p[45] ^= 0xFF;
        assert_eq!(check(&p), Err(Layer::Tcp));
        assert_eq!(check(&p[..44]), Ok(()));
    }
}
