//! Streaming HTML/XML character-reference decoder: `&#20013;`, `&#x4e2d;`
//! and the few named entities that matter for matching (`&amp;`, `&lt;`,
//! `&gt;`, `&quot;`, `&apos;`, `&nbsp;`, `&ensp;`, `&emsp;`). Anything else
//! passes through as sent. At most [`MAX_REF`] bytes are held between calls.

use super::text::Out;

/// Longest reference held while undecided (`&#x10FFFF;` is 10 bytes).
pub const MAX_REF: usize = 10;

const NAMED: &[(&[u8], &str)] = &[
    (b"amp", "&"),
    (b"lt", "<"),
    (b"gt", ">"),
    (b"quot", "\""),
    (b"apos", "'"),
    (b"nbsp", " "),
    (b"ensp", " "),
    (b"emsp", " "),
];

/// What a held reference prefix can still become.
enum Verdict {
    /// Not a reference: emit as is.
    No,
    /// Could still become one.
    More,
    /// A complete reference of `len` bytes decoding to this character.
    Yes(usize, char),
}

/// Judges `s`, which starts with `&`.
fn judge(s: &[u8]) -> Verdict {
    let body = s.get(1..).unwrap_or_default();
    let end = body.iter().position(|&b| b == b';');
    if let Some(b'#') = body.first() {
        let (digits, radix) = match body.get(1) {
            Some(b'x' | b'X') => (body.get(2..).unwrap_or_default(), 16),
            _ => (body.get(1..).unwrap_or_default(), 10),
        };
        let n = digits
            .iter()
            .take_while(|b| (**b as char).is_digit(radix))
            .count();
        return match digits.get(n) {
            None if s.len() < MAX_REF => Verdict::More,
            Some(b';') if n > 0 && n <= 7 => {
                let txt = std::str::from_utf8(digits.get(..n).unwrap_or_default()).unwrap_or("");
                let c = u32::from_str_radix(txt, radix)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                Verdict::Yes(s.len() - digits.len() + n + 1, c)
            }
            _ => Verdict::No,
        };
    }
    let n = body.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    match end {
        Some(e) if e == n => NAMED
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(body.get(..n).unwrap_or_default()))
            .map_or(Verdict::No, |(_, c)| {
                Verdict::Yes(n + 2, c.chars().next().unwrap_or(' '))
            }),
        None if n == body.len() && s.len() < MAX_REF => Verdict::More,
        _ => Verdict::No,
    }
}

/// Streaming entity decoder.
#[derive(Debug, Default)]
pub struct Entity {
    held: Vec<u8>,
    decoded: bool,
}

impl Entity {
    /// Whether a reference to a character that can be part of PI was
    /// decoded in this item (`&amp;`, `&nbsp;` do not count).
    pub fn decoded(&self) -> bool {
        self.decoded
    }

    /// Whether bytes are held.
    pub fn busy(&self) -> bool {
        !self.held.is_empty()
    }

    /// Decodes `data` into `out`.
    pub fn push(&mut self, mut data: &[u8], out: &mut Out<'_>) {
        while !data.is_empty() {
            if self.held.is_empty() {
                let Some(i) = memchr::memchr(b'&', data) else {
                    out(data);
                    return;
                };
                let (run, rest) = data.split_at(i);
                if !run.is_empty() {
                    out(run);
                }
                self.held.push(b'&');
                data = rest.get(1..).unwrap_or_default();
                continue;
            }
            // Take bytes one reference at most at a time.
            let room = MAX_REF.saturating_sub(self.held.len()).min(data.len());
            let take = data
                .get(..room)
                .and_then(|d| d.iter().position(|&b| b == b';' || b == b'&'))
                .map_or(room, |i| i + 1);
            self.held
                .extend_from_slice(data.get(..take).unwrap_or_default());
            data = data.get(take..).unwrap_or_default();
            match judge(&self.held) {
                Verdict::More if self.held.last() != Some(&b'&') || self.held.len() == 1 => {}
                Verdict::Yes(len, c) => {
                    let mut b = [0u8; 4];
                    out(c.encode_utf8(&mut b).as_bytes());
                    self.decoded |= super::pi_char(c);
                    let rest = self.held.split_off(len.min(self.held.len()));
                    self.held.clear();
                    self.push(&rest, out);
                }
                _ => self.reject(out),
            }
        }
    }

    /// Held bytes are no reference: the `&` goes out, the rest is re-read.
    fn reject(&mut self, out: &mut Out<'_>) {
        let rest = self.held.split_off(1);
        self.held.clear();
        out(b"&");
        self.push(&rest, out);
    }

    /// Ends the item: held bytes go out as sent.
    pub fn flush(&mut self, out: &mut Out<'_>) {
        if !self.held.is_empty() {
            out(&self.held);
        }
        self.held.clear();
    }

    /// Ready for a new item.
    pub fn reset(&mut self) {
        self.held.clear();
        self.decoded = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(data: &[u8], piece: usize) -> Vec<u8> {
        let mut e = Entity::default();
        let mut v = Vec::new();
        for p in data.chunks(piece.max(1)) {
            e.push(p, &mut |d: &[u8]| v.extend_from_slice(d));
        }
        e.flush(&mut |d: &[u8]| v.extend_from_slice(d));
        v
    }

    #[test]
    fn decodes_references() {
        let s = b"&#24352;&#x4E09; a&amp;b &lt;x&gt; &#49;&#51;8 &bogus; & &&#65; &#xZZ; &#";
        for piece in [1, 2, 3, 100] {
            assert_eq!(
                String::from_utf8_lossy(&run(s, piece)),
                "张三 a&b <x> 138 &bogus; & &A &#xZZ; &#",
                "piece {piece}"
            );
        }
    }

    proptest! {
        #[test]
        fn split_invariant(data in proptest::collection::vec(prop_oneof![Just(b'&'), Just(b'#'), Just(b';'), Just(b'x'), Just(b'3'), any::<u8>()], 0..200), piece in 1usize..16) {
            prop_assert_eq!(run(&data, piece), run(&data, data.len().max(1)));
        }
    }
}
