//! Builders of pcap and pcapng byte images for tests.

/// Appends integers in one byte order.
pub(crate) struct W {
    pub(crate) be: bool,
    pub(crate) buf: Vec<u8>,
}

impl W {
    pub(crate) fn new(be: bool) -> W {
        W {
            be,
            buf: Vec::new(),
        }
    }
    pub(crate) fn u16(&mut self, v: u16) -> &mut W {
        let b = if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.buf.extend_from_slice(&b);
        self
    }
    pub(crate) fn u32(&mut self, v: u32) -> &mut W {
        let b = if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.buf.extend_from_slice(&b);
        self
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut W {
        self.buf.extend_from_slice(b);
        self
    }
    /// Pads to a multiple of 4 bytes.
    pub(crate) fn pad4(&mut self) -> &mut W {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
        self
    }
}

/// Classic pcap file header.
pub(crate) fn pcap_header(be: bool, nanos: bool, linktype: u32) -> Vec<u8> {
    let magic = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let mut w = W::new(be);
    w.u32(magic)
        .u16(2)
        .u16(4)
        .u32(0)
        .u32(0)
        .u32(65535)
        .u32(linktype);
    w.buf
}

/// Classic pcap record; `frac` is micro- or nanoseconds per the header.
pub(crate) fn pcap_record(be: bool, sec: u32, frac: u32, data: &[u8]) -> Vec<u8> {
    let mut w = W::new(be);
    let len = data.len() as u32;
    w.u32(sec).u32(frac).u32(len).u32(len).bytes(data);
    w.buf
}

/// Wraps a pcapng block body with its type and both lengths.
fn ng_block(be: bool, kind: u32, body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
    let len = 12 + body.len() as u32;
    let mut w = W::new(be);
    w.u32(kind).u32(len).bytes(&body).u32(len);
    w.buf
}

/// Section Header Block with no options.
pub(crate) fn ng_shb(be: bool) -> Vec<u8> {
    let mut w = W::new(be);
    w.u32(0x1A2B_3C4D)
        .u16(1)
        .u16(0)
        .u32(0xFFFF_FFFF)
        .u32(0xFFFF_FFFF);
    ng_block(be, 0x0A0D_0D0A, &w.buf)
}

/// Interface Description Block with optional `if_tsresol` and `if_tsoffset`.
pub(crate) fn ng_idb(
    be: bool,
    linktype: u16,
    tsresol: Option<u8>,
    tsoffset: Option<i64>,
) -> Vec<u8> {
    let mut w = W::new(be);
    w.u16(linktype).u16(0).u32(0);
    if let Some(r) = tsresol {
        w.u16(9).u16(1).bytes(&[r]).pad4();
    }
    if let Some(o) = tsoffset {
        let b = if be { o.to_be_bytes() } else { o.to_le_bytes() };
        w.u16(14).u16(8).bytes(&b);
    }
    if tsresol.is_some() || tsoffset.is_some() {
        w.u16(0).u16(0);
    }
    ng_block(be, 1, &w.buf)
}

/// Enhanced Packet Block; `ts` in the interface's units.
pub(crate) fn ng_epb(be: bool, if_id: u32, ts: u64, data: &[u8]) -> Vec<u8> {
    let mut w = W::new(be);
    let len = data.len() as u32;
    w.u32(if_id)
        .u32((ts >> 32) as u32)
        .u32(ts as u32)
        .u32(len)
        .u32(len)
        .bytes(data)
        .pad4();
    ng_block(be, 6, &w.buf)
}

/// Simple Packet Block.
pub(crate) fn ng_spb(be: bool, data: &[u8]) -> Vec<u8> {
    let mut w = W::new(be);
    w.u32(data.len() as u32).bytes(data).pad4();
    ng_block(be, 3, &w.buf)
}

/// A block of a type nobody knows.
pub(crate) fn ng_unknown(be: bool) -> Vec<u8> {
    ng_block(be, 0x0BAD_0001, b"whatever")
}
