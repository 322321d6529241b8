//! Streaming full-width folding (the NFKC mapping of the forms Chinese
//! input methods produce): U+FF01..U+FF5E (`０`-`９`, `Ａ`-`Ｚ`, `ａ`-`ｚ`,
//! `：`, `－`, `＠`, ...) to ASCII 0x21..0x7E, and the ideographic space
//! U+3000 to a space. Works on UTF-8; holds at most two bytes of a split
//! character between calls.

use super::pi_byte;
use super::text::Out;

/// Streaming folder.
#[derive(Debug, Default)]
pub struct FullWidth {
    held: [u8; 2],
    nheld: u8,
    decoded: bool,
}

/// The ASCII byte a 3-byte UTF-8 sequence folds to.
fn fold(a: u8, b: u8, c: u8) -> Option<u8> {
    match (a, b, c) {
        (0xEF, 0xBC, 0x81..=0xBF) => Some(c - 0x81 + 0x21),
        (0xEF, 0xBD, 0x80..=0x9E) => Some(c - 0x80 + 0x60),
        (0xE3, 0x80, 0x80) => Some(b' '),
        _ => None,
    }
}

/// Whether `data` may hold a foldable character (or its start).
pub fn may_fold(data: &[u8]) -> bool {
    memchr::memchr2(0xEF, 0xE3, data).is_some()
}

impl FullWidth {
    /// Whether a character that can be part of PI was folded in this
    /// item.
    pub fn decoded(&self) -> bool {
        self.decoded
    }

    /// Whether bytes are held.
    pub fn busy(&self) -> bool {
        self.nheld > 0
    }

    /// Folds `data` into `out`.
    pub fn push(&mut self, data: &[u8], out: &mut Out<'_>) {
        if self.nheld > 0 {
            let mut tmp = [0u8; 5];
            let n = usize::from(self.nheld);
            tmp[..n].copy_from_slice(&self.held[..n]);
            let take = (3 - n).min(data.len());
            tmp[n..n + take].copy_from_slice(data.get(..take).unwrap_or_default());
            self.nheld = 0;
            if n + take < 3 {
                // Still incomplete: hold again (bounded to two bytes).
                self.hold_or_emit(&tmp[..n + take], out);
                return;
            }
            match fold(tmp[0], tmp[1], tmp[2]) {
                Some(a) => {
                    self.decoded |= pi_byte(a);
                    out(&[a]);
                    return self.push(data.get(take..).unwrap_or_default(), out);
                }
                None => {
                    // Not foldable: emit the first held byte, re-read the rest.
                    out(&tmp[..1]);
                    let mut rest = [0u8; 2];
                    let r = n - 1;
                    rest[..r].copy_from_slice(&tmp[1..n]);
                    self.push_slice(&rest[..r], out);
                    return self.push(data, out);
                }
            }
        }
        self.push_slice(data, out);
    }

    fn push_slice(&mut self, data: &[u8], out: &mut Out<'_>) {
        let mut from = 0;
        let mut pos = 0;
        while let Some(i) = data.get(pos..).and_then(|d| memchr::memchr2(0xEF, 0xE3, d)) {
            let at = pos + i;
            match (data.get(at + 1), data.get(at + 2)) {
                (Some(&b), Some(&c)) => {
                    if let Some(a) = fold(data.get(at).copied().unwrap_or(0), b, c) {
                        if at > from {
                            out(data.get(from..at).unwrap_or_default());
                        }
                        out(&[a]);
                        self.decoded |= pi_byte(a);
                        from = at + 3;
                        pos = at + 3;
                    } else {
                        pos = at + 1;
                    }
                }
                _ => {
                    if at > from {
                        out(data.get(from..at).unwrap_or_default());
                    }
                    let tail = data.get(at..).unwrap_or_default();
                    self.hold_or_emit(tail, out);
                    return;
                }
            }
        }
        if from < data.len() {
            out(data.get(from..).unwrap_or_default());
        }
    }

    /// Holds a 1-2 byte tail that may start a foldable character.
    fn hold_or_emit(&mut self, tail: &[u8], out: &mut Out<'_>) {
        let prefix = matches!(tail, [0xEF] | [0xE3] | [0xEF, 0xBC | 0xBD] | [0xE3, 0x80]);
        if prefix {
            self.held[..tail.len()].copy_from_slice(tail);
            self.nheld = tail.len() as u8;
        } else if let Some((first, rest)) = tail.split_first() {
            out(&[*first]);
            self.push_slice(rest, out);
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

    /// Ready for a new item.
    pub fn reset(&mut self) {
        *self = FullWidth::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(data: &[u8], piece: usize) -> Vec<u8> {
        let mut f = FullWidth::default();
        let mut v = Vec::new();
        for p in data.chunks(piece.max(1)) {
            f.push(p, &mut |d: &[u8]| v.extend_from_slice(d));
        }
        f.flush(&mut |d: &[u8]| v.extend_from_slice(d));
        v
    }

    #[test]
    fn folds_digits_letters_separators() {
        let s =
            "身份证：１１０１０５１９４９１２３１００２Ｘ　ｍａｉｌ＠ｅｘ．ｃｎ －张".as_bytes();
        for piece in [1, 2, 3, 5, 200] {
            assert_eq!(
                String::from_utf8_lossy(&run(s, piece)),
                "身份证:11010519491231002X mail@ex.cn -张"
            );
        }
    }

    #[test]
    fn only_pi_characters_name_the_step() {
        for (text, named) in [
            ("姓名：张伟，住址（北京）！", false),
            ("姓　　名", false),
            ("电话１３８", true),
            ("ｍａｉｌ", true),
            ("a＠b", true),
        ] {
            let mut f = FullWidth::default();
            f.push(text.as_bytes(), &mut |_: &[u8]| {});
            assert_eq!(f.decoded(), named, "{text}");
        }
    }

    proptest! {
        #[test]
        fn split_invariant(data in proptest::collection::vec(prop_oneof![Just(0xEFu8), Just(0xBC), Just(0xBD), Just(0x91), Just(0xE3), Just(0x80), any::<u8>()], 0..200), piece in 1usize..8) {
            prop_assert_eq!(run(&data, piece), run(&data, data.len().max(1)));
        }
    }
}
