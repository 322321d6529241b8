//! Streaming quoted-printable decoder (`=XX`, soft line breaks `=\r\n`).
//!
//! `=XX` is everywhere in `key=value` text, so outside mail the decoder is
//! only *armed* by strong evidence: a soft line break, or two adjacent
//! escapes of high bytes (`=E5=BC`, UTF-8 or GBK text). Before that, bytes
//! pass unchanged. At most two bytes are held between calls.

use super::text::Out;

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Streaming decoder.
#[derive(Debug, Default)]
pub struct Qp {
    armed: bool,
    held: [u8; 2],
    nheld: u8,
    decoded: bool,
}

/// Whether `data` shows quoted-printable: `=\r\n`, `=\n` or `=XX=XX` with
/// high bytes.
pub fn looks_qp(data: &[u8]) -> bool {
    let mut pos = 0;
    let mut hits = 0;
    while let Some(i) = data.get(pos..).and_then(|d| memchr::memchr(b'=', d)) {
        let at = pos + i;
        let next = data
            .get(at + 1..(at + 6).min(data.len()))
            .unwrap_or_default();
        if next.starts_with(b"\r\n") || next.starts_with(b"\n") {
            return true;
        }
        if let [a, b, b'=', c, d] = next {
            let high = |x: &u8, y: &u8| hex(*x).is_some_and(|v| v >= 8) && hex(*y).is_some();
            if high(a, b) && high(c, d) {
                return true;
            }
        }
        hits += 1;
        if hits > 64 {
            return false;
        }
        pos = at + 1;
    }
    false
}

impl Qp {
    /// A decoder armed from the start (declared quoted-printable).
    pub fn armed() -> Qp {
        Qp {
            armed: true,
            ..Qp::default()
        }
    }

    /// Whether an escape to a byte that can be part of PI was decoded in
    /// this item (soft line breaks and `=3D` do not count).
    pub fn decoded(&self) -> bool {
        self.decoded
    }

    /// Whether bytes are held.
    pub fn busy(&self) -> bool {
        self.nheld > 0
    }

    /// Whether this chunk needs the decoder (armed and has `=`, or arms it).
    pub fn wants(&mut self, data: &[u8]) -> bool {
        if !self.armed && looks_qp(data) {
            self.armed = true;
        }
        self.busy() || (self.armed && memchr::memchr(b'=', data).is_some())
    }

    /// Decodes `data` into `out`.
    pub fn push(&mut self, data: &[u8], out: &mut Out<'_>) {
        if !self.armed {
            out(data);
            return;
        }
        if self.nheld > 0 {
            // An escape split across calls (rare): join and decode.
            let n = usize::from(self.nheld);
            self.nheld = 0;
            let mut joined = Vec::with_capacity(n + data.len());
            joined.extend_from_slice(&self.held[..n]);
            joined.extend_from_slice(data);
            return self.push(&joined, out);
        }
        let mut i = 0;
        let mut from = 0;
        while let Some(j) = data.get(i..).and_then(|d| memchr::memchr(b'=', d)) {
            let at = i + j;
            if at > from {
                out(data.get(from..at).unwrap_or_default());
            }
            let rest = data.get(at..).unwrap_or_default();
            if rest.len() < 3 && !rest.starts_with(b"=\n") {
                self.held[..rest.len()].copy_from_slice(rest);
                self.nheld = rest.len() as u8;
                return;
            }
            let used = self.escape(rest.get(..3).unwrap_or(rest), out);
            i = at + used;
            from = i;
        }
        if from < data.len() {
            out(data.get(from..).unwrap_or_default());
        }
    }

    /// Decodes the escape at the start of `s` (`=` + up to 2 bytes);
    /// returns bytes used.
    fn escape(&mut self, s: &[u8], out: &mut Out<'_>) -> usize {
        match s {
            [b'=', b'\r', b'\n', ..] => 3,
            [b'=', b'\n', ..] => 2,
            [b'=', a, b, ..] => match (hex(*a), hex(*b)) {
                (Some(h), Some(l)) => {
                    out(&[h << 4 | l]);
                    self.decoded |= super::pi_byte(h << 4 | l);
                    3
                }
                _ => {
                    out(b"=");
                    1
                }
            },
            _ => {
                out(s.get(..1).unwrap_or_default());
                1
            }
        }
    }

    /// Ends the item: held bytes go out as sent.
    pub fn flush(&mut self, out: &mut Out<'_>) {
        let n = usize::from(self.nheld);
        if n > 0 {
            out(&self.held[..n]);
        }
        self.nheld = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(data: &[u8], piece: usize) -> Vec<u8> {
        let mut q = Qp::armed();
        let mut v = Vec::new();
        for p in data.chunks(piece.max(1)) {
            q.push(p, &mut |d: &[u8]| v.extend_from_slice(d));
        }
        q.flush(&mut |d: &[u8]| v.extend_from_slice(d));
        v
    }

    #[test]
    fn decodes_and_arms() {
        let s = b"=E5=A7=93=E5=90=8D: =E5=BC=A0=E4=B8=89 id=3D1101=\r\n05 =ZZ end=";
        for piece in [1, 2, 3, 100] {
            assert_eq!(
                String::from_utf8_lossy(&run(s, piece)),
                "姓名: 张三 id=110105 =ZZ end="
            );
        }
        assert!(looks_qp(b"a=E5=BC=A0"));
        assert!(looks_qp(b"long line=\r\nnext"));
        assert!(!looks_qp(b"id=110105&name=abc&x=1F"));
        let mut q = Qp::default();
        assert!(!q.wants(b"a=12&b=34"));
    }

    proptest! {
        #[test]
        fn split_invariant(data in proptest::collection::vec(prop_oneof![Just(b'='), Just(b'\r'), Just(b'\n'), Just(b'E'), Just(b'5'), any::<u8>()], 0..200), piece in 1usize..8) {
            prop_assert_eq!(run(&data, piece), run(&data, data.len().max(1)));
        }
    }
}
