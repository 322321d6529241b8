//! Fixture helpers for decode tests.

/// Hex rows with `#` comments, as in the fixtures.
pub(crate) fn hex(rows: &str) -> Vec<u8> {
    let digits: String = rows
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    hex::decode(digits).expect("fixture is valid hex")
}

/// Ethernet II frame with fixed addresses.
pub(crate) fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// IPv4 packet (no options, DF set) from 10.0.0.1 to 10.0.0.2.
pub(crate) fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    p.extend_from_slice(payload);
    p
}

/// IPv6 packet from 2001:db8::1 to 2001:db8::2; `payload` includes any
/// extension headers.
pub(crate) fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[next, 64]);
    for last in [1u8, 2] {
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        p.extend_from_slice(&[0; 11]);
        p.push(last);
    }
    p.extend_from_slice(payload);
    p
}

/// TCP segment; `options` must be a multiple of 4 bytes.
pub(crate) fn tcp(
    ports: (u16, u16),
    seq: u32,
    flags: u8,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(&ports.0.to_be_bytes());
    s.extend_from_slice(&ports.1.to_be_bytes());
    s.extend_from_slice(&seq.to_be_bytes());
    s.extend_from_slice(&7u32.to_be_bytes());
    s.push((((20 + options.len()) / 4) << 4) as u8);
    s.push(flags);
    s.extend_from_slice(&[0x10, 0x00, 0, 0, 0, 0]);
    s.extend_from_slice(options);
    s.extend_from_slice(payload);
    s
}

/// UDP datagram with a correct length.
pub(crate) fn udp(ports: (u16, u16), payload: &[u8]) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(&ports.0.to_be_bytes());
    s.extend_from_slice(&ports.1.to_be_bytes());
    s.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    s.extend_from_slice(&[0, 0]);
    s.extend_from_slice(payload);
    s
}

/// GRE header (no checksum, key or sequence flags unless `opts` words are
/// given with the matching `flags`) before `payload`.
pub(crate) fn gre(ptype: u16, opts: &[(u16, u32)], payload: &[u8]) -> Vec<u8> {
    let flags: u16 = opts.iter().map(|o| o.0).fold(0, |a, f| a | f);
    let mut s = flags.to_be_bytes().to_vec();
    s.extend_from_slice(&ptype.to_be_bytes());
    for &(_, word) in opts {
        s.extend_from_slice(&word.to_be_bytes());
    }
    s.extend_from_slice(payload);
    s
}

/// VXLAN header with `vni` before `inner` (an Ethernet frame), in UDP to
/// port 4789.
pub(crate) fn vxlan(vni: u32, inner: &[u8]) -> Vec<u8> {
    let mut v = vec![0x08, 0, 0, 0];
    v.extend_from_slice(&(vni << 8).to_be_bytes());
    v.extend_from_slice(inner);
    udp((49152, 4789), &v)
}
