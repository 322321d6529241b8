//! Pure, allocation-free DNS message parsing (RFC 1035): header, names
//! with compression (bounded jumps, bounded length), questions and
//! resource records (A, AAAA, CNAME and TXT data; others skipped).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest name kept (RFC 1035: 255 octets on the wire, 253 in text).
pub const MAX_NAME: usize = 255;
/// Compression pointers followed per name: more is a loop or an attack.
pub const MAX_JUMPS: usize = 16;
/// Questions read per message.
pub const MAX_QUESTIONS: usize = 4;
/// Resource records read per message (answers, authority, additional).
pub const MAX_RECORDS: usize = 64;
/// DNS header length.
pub const HEADER_LEN: usize = 12;

/// Record types handled.
pub mod rrtype {
    /// IPv4 address.
    pub const A: u16 = 1;
    /// Canonical name.
    pub const CNAME: u16 = 5;
    /// Text strings.
    pub const TXT: u16 = 16;
    /// IPv6 address.
    pub const AAAA: u16 = 28;
}

/// The fixed header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Transaction id.
    pub id: u16,
    /// Flags word (QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode).
    pub flags: u16,
    /// Question count.
    pub qdcount: u16,
    /// Answer count.
    pub ancount: u16,
    /// Authority count.
    pub nscount: u16,
    /// Additional count.
    pub arcount: u16,
}

impl Header {
    /// Reads the header; `None` if shorter than 12 bytes.
    pub fn parse(msg: &[u8]) -> Option<Header> {
        let w = |i: usize| -> Option<u16> {
            Some(u16::from_be_bytes([*msg.get(i)?, *msg.get(i + 1)?]))
        };
        Some(Header {
            id: w(0)?,
            flags: w(2)?,
            qdcount: w(4)?,
            ancount: w(6)?,
            nscount: w(8)?,
            arcount: w(10)?,
        })
    }
    /// A response (QR set).
    pub fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    /// Opcode (0 query, 1 iquery, 2 status, 4 notify, 5 update).
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }
    /// Response code (low 4 bits).
    pub fn rcode(&self) -> u8 {
        (self.flags & 0xf) as u8
    }
}

/// A decoded name in dotted text form (labels as sent, no trailing dot),
/// kept in a fixed buffer so parsing allocates nothing.
#[derive(Clone)]
pub struct Name {
    buf: [u8; MAX_NAME],
    len: usize,
    labels: u8,
}

impl Default for Name {
    fn default() -> Self {
        Name {
            buf: [0; MAX_NAME],
            len: 0,
            labels: 0,
        }
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Name({:?})", String::from_utf8_lossy(self.as_bytes()))
    }
}

impl Name {
    /// The dotted name (`""` for the root).
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
    /// Number of labels.
    pub fn labels(&self) -> u8 {
        self.labels
    }
    /// Case-insensitive equality (DNS names compare without case).
    pub fn eq_ignore_case(&self, other: &Name) -> bool {
        self.as_bytes().eq_ignore_ascii_case(other.as_bytes())
    }
    fn push_label(&mut self, label: &[u8]) -> Option<()> {
        let sep = usize::from(self.len > 0);
        let end = self.len + sep + label.len();
        if end > MAX_NAME {
            return None;
        }
        if sep == 1 {
            *self.buf.get_mut(self.len)? = b'.';
        }
        self.buf
            .get_mut(self.len + sep..end)?
            .copy_from_slice(label);
        self.len = end;
        self.labels = self.labels.saturating_add(1);
        Some(())
    }
}

/// Reads the name at `pos` into `out` (cleared first). Returns the offset
/// just past the name where it was written (past its first pointer, if
/// compressed). `None` on truncation, a name too long, a reserved label
/// type or more than [`MAX_JUMPS`] pointers (loops end here).
pub fn read_name(msg: &[u8], mut pos: usize, out: &mut Name) -> Option<usize> {
    out.len = 0;
    out.labels = 0;
    let mut after: Option<usize> = None;
    let mut jumps = 0;
    loop {
        let len = *msg.get(pos)?;
        match len & 0xc0 {
            0x00 if len == 0 => return Some(after.unwrap_or(pos + 1)),
            0x00 => {
                let label = msg.get(pos + 1..pos + 1 + usize::from(len))?;
                out.push_label(label)?;
                pos += 1 + usize::from(len);
            }
            0xc0 => {
                let ptr = usize::from(u16::from_be_bytes([len & 0x3f, *msg.get(pos + 1)?]));
                after.get_or_insert(pos + 2);
                jumps += 1;
                if jumps > MAX_JUMPS {
                    return None;
                }
                pos = ptr;
            }
            _ => return None,
        }
    }
}

/// Data of a record, as far as it is understood.
// The CNAME name is inline on purpose: records live on the stack for one
// call, and boxing would allocate per record.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum RData<'a> {
    /// An address (A or AAAA).
    Addr(IpAddr),
    /// A CNAME target.
    Cname(Name),
    /// TXT data: length-prefixed character strings, raw.
    Txt(&'a [u8]),
    /// Anything else (or malformed data of a known type).
    Other,
}

/// One resource record.
#[derive(Debug)]
pub struct Record<'a> {
    /// Owner name.
    pub name: Name,
    /// Type.
    pub rtype: u16,
    /// Section: 0 answer, 1 authority, 2 additional.
    pub section: u8,
    /// Data.
    pub data: RData<'a>,
}

/// Receives what [`walk`] reads.
pub trait Visitor {
    /// A question (`name`, `qtype`).
    fn question(&mut self, name: &Name, qtype: u16);
    /// A resource record.
    fn record(&mut self, rec: &Record<'_>);
}

/// Walks a message: questions (up to [`MAX_QUESTIONS`]) then records (up
/// to [`MAX_RECORDS`]). Returns the header, or `None` if the header or the
/// first question is malformed; a malformed later record just ends the
/// walk. Allocates nothing.
pub fn walk(msg: &[u8], v: &mut dyn Visitor) -> Option<Header> {
    let h = Header::parse(msg)?;
    let mut pos = HEADER_LEN;
    let mut name = Name::default();
    for i in 0..usize::from(h.qdcount).min(MAX_QUESTIONS) {
        let Some(next) = read_name(msg, pos, &mut name) else {
            return (i > 0).then_some(h);
        };
        let qtype = u16::from_be_bytes([*msg.get(next)?, *msg.get(next + 1)?]);
        msg.get(next + 2..next + 4)?;
        v.question(&name, qtype);
        pos = next + 4;
    }
    if usize::from(h.qdcount) > MAX_QUESTIONS {
        return Some(h); // records follow questions we did not read
    }
    let sections = [(0u8, h.ancount), (1, h.nscount), (2, h.arcount)];
    let mut seen = 0;
    for (section, count) in sections {
        for _ in 0..count {
            seen += 1;
            if seen > MAX_RECORDS {
                return Some(h);
            }
            match record(msg, pos, section) {
                Some((rec, next)) => {
                    v.record(&rec);
                    pos = next;
                }
                None => return Some(h),
            }
        }
    }
    Some(h)
}

/// One record at `pos`: the record and the offset after it.
fn record(msg: &[u8], pos: usize, section: u8) -> Option<(Record<'_>, usize)> {
    let mut name = Name::default();
    let p = read_name(msg, pos, &mut name)?;
    let fixed = msg.get(p..p + 10)?;
    let rtype = u16::from_be_bytes([*fixed.first()?, *fixed.get(1)?]);
    let rdlen = usize::from(u16::from_be_bytes([*fixed.get(8)?, *fixed.get(9)?]));
    let start = p + 10;
    let rdata = msg.get(start..start + rdlen)?;
    let data = match rtype {
        rrtype::A => <[u8; 4]>::try_from(rdata)
            .map(|b| RData::Addr(IpAddr::V4(Ipv4Addr::from(b))))
            .unwrap_or(RData::Other),
        rrtype::AAAA => <[u8; 16]>::try_from(rdata)
            .map(|b| RData::Addr(IpAddr::V6(Ipv6Addr::from(b))))
            .unwrap_or(RData::Other),
        rrtype::CNAME => {
            let mut target = Name::default();
            match read_name(msg, start, &mut target) {
                Some(_) => RData::Cname(target),
                None => RData::Other,
            }
        }
        rrtype::TXT => RData::Txt(rdata),
        _ => RData::Other,
    };
    let rec = Record {
        name,
        rtype,
        section,
        data,
    };
    Some((rec, start + rdlen))
}

/// Calls `f` with each character-string of TXT data (bounded by the data).
pub fn txt_strings(data: &[u8], mut f: impl FnMut(&[u8])) {
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        let n = usize::from(n).min(tail.len());
        let (s, t) = tail.split_at(n);
        f(s);
        rest = t;
    }
}

/// Name of a record type for events.
pub fn rrtype_name(t: u16) -> String {
    match t {
        1 => "A".into(),
        2 => "NS".into(),
        5 => "CNAME".into(),
        6 => "SOA".into(),
        12 => "PTR".into(),
        15 => "MX".into(),
        16 => "TXT".into(),
        28 => "AAAA".into(),
        33 => "SRV".into(),
        41 => "OPT".into(),
        64 => "SVCB".into(),
        65 => "HTTPS".into(),
        255 => "ANY".into(),
        n => format!("TYPE{n}"),
    }
}

/// Name of a response code for events.
pub fn rcode_name(r: u8) -> &'static str {
    match r {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        _ => "OTHER",
    }
}
