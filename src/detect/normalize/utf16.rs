//! Finds UTF-16 text (LE or BE) in a byte stream and decodes it to UTF-8
//! as derived items: what Windows protocols (SMB, MS-SQL TDS, RPC) and
//! exported files carry. A run starts at an ASCII code unit (`31 00` LE,
//! `00 31` BE, which also fixes the byte order) and goes on over printable
//! ASCII, CJK, full-width and CJK punctuation units; runs shorter than the
//! minimum are dropped. Both byte alignments are tracked; while one holds a
//! run the other does not start one, so ASCII text is not reported twice.
//! Chunks without a zero byte are skipped when no run is open.

use super::base64::Event;

/// Whether a code unit is text worth keeping.
fn printable(u: u16) -> bool {
    matches!(u, 0x20..=0x7E | 0x09 | 0x0A | 0x0D | 0x3000..=0x303F | 0x4E00..=0x9FFF | 0xFF01..=0xFF5E)
}

fn ascii_printable(b: u8) -> bool {
    (0x20..=0x7E).contains(&b)
}

#[derive(Debug, Default, Clone)]
struct Lane {
    /// Byte order of the open run (`None`: no run).
    le: Option<bool>,
    units: usize,
    pend: Vec<u8>,
    active: bool,
}

/// Streaming UTF-16 run extractor.
#[derive(Debug)]
pub struct Utf16Runs {
    min_units: usize,
    lanes: [Lane; 2],
    prev: Option<u8>,
    /// Parity of the next byte's position.
    parity: usize,
    /// Runs reported (for stats).
    pub runs: u64,
    /// Byte order of the last run that reached the minimum.
    pub last_le: bool,
}

impl Utf16Runs {
    /// An extractor for runs of at least `min_units` code units (at least 4).
    pub fn new(min_units: usize) -> Utf16Runs {
        Utf16Runs {
            min_units: min_units.max(4),
            lanes: [Lane::default(), Lane::default()],
            prev: None,
            parity: 0,
            runs: 0,
            last_le: true,
        }
    }

    /// Whether a run is open.
    pub fn busy(&self) -> bool {
        self.lanes.iter().any(|l| l.le.is_some())
    }

    /// Scans the next bytes of the item.
    pub fn push(&mut self, data: &[u8], ev: &mut dyn FnMut(Event<'_>)) {
        if !self.busy() && self.prev != Some(0) && memchr::memchr(0, data).is_none() {
            self.prev = data.last().copied().or(self.prev);
            self.parity = (self.parity + data.len()) & 1;
            return;
        }
        for &b in data {
            if let Some(p) = self.prev {
                let lane = self.parity ^ 1;
                self.unit(lane, p, b, ev);
            }
            self.prev = Some(b);
            self.parity ^= 1;
        }
    }

    fn unit(&mut self, lane: usize, x: u8, y: u8, ev: &mut dyn FnMut(Event<'_>)) {
        let other_busy = self.lanes.get(lane ^ 1).is_some_and(|l| l.le.is_some());
        let min = self.min_units;
        let Some(l) = self.lanes.get_mut(lane) else {
            return;
        };
        let Some(le) = l.le else {
            if other_busy {
                return;
            }
            let start = if y == 0 && ascii_printable(x) {
                Some(true)
            } else if x == 0 && ascii_printable(y) {
                Some(false)
            } else {
                None
            };
            if let Some(le) = start {
                l.le = Some(le);
                l.units = 0;
                l.pend.clear();
                l.active = false;
                Self::take(l, if le { x } else { y }.into(), min, ev, &mut self.runs);
            }
            return;
        };
        let u = if le {
            u16::from(x) | u16::from(y) << 8
        } else {
            u16::from(x) << 8 | u16::from(y)
        };
        if printable(u) {
            if Self::take(l, u, min, ev, &mut self.runs) {
                self.last_le = le;
            }
        } else {
            if l.active {
                ev(Event::End);
            }
            l.le = None;
            l.active = false;
            l.pend.clear();
        }
    }

    /// Adds a unit to the lane's run; true when the run just became active.
    fn take(
        l: &mut Lane,
        u: u16,
        min: usize,
        ev: &mut dyn FnMut(Event<'_>),
        runs: &mut u64,
    ) -> bool {
        let c = char::from_u32(u32::from(u)).unwrap_or('\u{FFFD}');
        let mut b = [0u8; 4];
        let s = c.encode_utf8(&mut b).as_bytes();
        l.units += 1;
        if l.active {
            ev(Event::Data(s));
            return false;
        }
        l.pend.extend_from_slice(s);
        if l.units >= min {
            l.active = true;
            *runs += 1;
            ev(Event::Data(&l.pend));
            l.pend.clear();
            return true;
        }
        false
    }

    /// Ends the item: open runs end.
    pub fn flush(&mut self, ev: &mut dyn FnMut(Event<'_>)) {
        for l in &mut self.lanes {
            if l.active {
                ev(Event::End);
            }
        }
        self.reset();
    }

    /// Ready for a new item.
    pub fn reset(&mut self) {
        for l in &mut self.lanes {
            *l = Lane::default();
        }
        self.prev = None;
        self.parity = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(data: &[u8], piece: usize) -> Vec<String> {
        let mut r = Utf16Runs::new(8);
        let mut out: Vec<String> = Vec::new();
        let mut cur = Vec::new();
        let mut ev = |e: Event<'_>| match e {
            Event::Data(d) => cur.extend_from_slice(d),
            Event::End => out.push(String::from_utf8_lossy(&std::mem::take(&mut cur)).into_owned()),
        };
        for p in data.chunks(piece.max(1)) {
            r.push(p, &mut ev);
        }
        r.flush(&mut ev);
        out
    }

    fn le(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn be(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_be_bytes).collect()
    }

    #[test]
    fn le_and_be_runs() {
        let mut d = vec![0xFFu8, 0x01, 0x02];
        d.extend(le("姓名 张三 id=11010519491231002X"));
        d.extend([0xFF, 0xFF, 0x01]);
        d.extend(be("tel 13800138000 手机"));
        d.extend([0x01, 0x02, 0x03]);
        d.extend(le("short"));
        d.extend([0x01, 0x02, 0x03]);
        for piece in [1, 2, 3, 1000] {
            let got = run(&d, piece);
            assert_eq!(
                got,
                vec![" 张三 id=11010519491231002X", "tel 13800138000 手机"],
                "piece {piece}"
            );
        }
    }

    proptest! {
        #[test]
        fn split_invariant(data in proptest::collection::vec(prop_oneof![Just(0u8), Just(b'1'), Just(0x4e), any::<u8>()], 0..300), piece in 1usize..16) {
            prop_assert_eq!(run(&data, piece), run(&data, data.len().max(1)));
        }
    }
}
