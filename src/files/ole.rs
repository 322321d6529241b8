//! Text of legacy Office documents (OLE2 / Compound File Binary): Word
//! `.doc` (the piece table of the `WordDocument` stream), Excel `.xls`
//! (BIFF8 `Workbook`: shared strings and numeric cells, in cell order) and
//! PowerPoint `.ppt` (text atoms). The container is read with the `cfb`
//! crate; the record formats by hand, each read bounded by the output
//! budget and never trusting a length field.
//!
//! Formats: \[MS-DOC\] 2.4.1 (retrieving text), \[MS-XLS\] 2.4.265 (SST),
//! 2.5.293 (XLUnicodeRichExtendedString), \[MS-PPT\] 2.4 (record headers).

use super::magic::FileType;

/// The flavour of a compound file by its stream names.
pub fn flavour<'a>(mut names: impl Iterator<Item = &'a str>) -> FileType {
    let mut kind = FileType::Ole;
    for n in names.by_ref() {
        kind = match n {
            "WordDocument" => return FileType::Doc,
            "Workbook" | "Book" => FileType::Xls,
            "PowerPoint Document" if kind == FileType::Ole => FileType::Ppt,
            _ => kind,
        };
    }
    kind
}

/// Streams that hold no user text (structures, pictures, OLE plumbing).
pub fn skipped(name: &str) -> bool {
    matches!(
        name,
        "0Table" | "1Table" | "Data" | "Pictures" | "Current User" | "\u{1}CompObj" | "\u{1}Ole"
    ) || name.starts_with("\u{1}")
        || name.starts_with("\u{3}")
}

/// Appends text to `out` up to `max` bytes; false once cut.
struct Text<'a> {
    out: &'a mut Vec<u8>,
    max: usize,
    cut: bool,
}

impl Text<'_> {
    fn push_char(&mut self, c: char) {
        // Control characters (paragraph, cell and field marks) become
        // separators; a run of them one.
        let c = match c {
            '\t' | '\n' => c,
            c if c.is_control() => '\n',
            c => c,
        };
        if c == '\n' && self.out.last() == Some(&b'\n') {
            return;
        }
        let mut b = [0u8; 4];
        self.push(c.encode_utf8(&mut b).as_bytes());
    }

    fn push(&mut self, s: &[u8]) {
        if self.out.len().saturating_add(s.len()) > self.max {
            self.cut = true;
            return;
        }
        self.out.extend_from_slice(s);
    }

    fn utf16(&mut self, b: &[u8]) {
        let units = b.chunks_exact(2).map(|u| {
            u16::from_le_bytes([
                u.first().copied().unwrap_or(0),
                u.get(1).copied().unwrap_or(0),
            ])
        });
        for c in char::decode_utf16(units) {
            self.push_char(c.unwrap_or(char::REPLACEMENT_CHARACTER));
        }
    }

    fn cp1252(&mut self, b: &[u8]) {
        let (s, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(b);
        for c in s.chars() {
            self.push_char(c);
        }
    }

    fn latin1(&mut self, b: &[u8]) {
        for &c in b {
            self.push_char(char::from(c));
        }
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at.checked_add(2)?)
        .and_then(|s| s.first_chunk::<2>())
        .map(|s| u16::from_le_bytes(*s))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at.checked_add(4)?)
        .and_then(|s| s.first_chunk::<4>())
        .map(|s| u32::from_le_bytes(*s))
}

fn usize_at(b: &[u8], at: usize) -> Option<usize> {
    u32_at(b, at).and_then(|v| usize::try_from(v).ok())
}

/// Most pieces of a Word piece table read.
const MAX_PIECES: usize = 100_000;

/// Which table stream a Word document uses (`fWhichTblStm`).
pub fn word_table_name(word: &[u8]) -> Option<&'static str> {
    if u16_at(word, 0)? != 0xA5EC {
        return None;
    }
    Some(if u16_at(word, 0x0A)? & 0x0200 != 0 {
        "1Table"
    } else {
        "0Table"
    })
}

/// The text of a Word document from its `WordDocument` stream and table
/// stream (piece table in the CLX); false when the structures do not
/// parse (nothing written).
pub fn word_text(word: &[u8], table: &[u8], out: &mut Vec<u8>, max: usize) -> bool {
    let Some(clx) = word_clx(word, table) else {
        return false;
    };
    let Some(plc) = pcd_table(clx) else {
        return false;
    };
    let n = (plc.len().saturating_sub(4) / 12).min(MAX_PIECES);
    let mut t = Text {
        out,
        max,
        cut: false,
    };
    for i in 0..n {
        let (Some(cp0), Some(cp1), Some(fc)) = (
            usize_at(plc, i * 4),
            usize_at(plc, i * 4 + 4),
            usize_at(plc, (n + 1) * 4 + i * 8 + 2),
        ) else {
            break;
        };
        let chars = cp1.saturating_sub(cp0);
        let raw_fc = fc & 0x3FFF_FFFF;
        let piece = if fc & 0x4000_0000 != 0 {
            let at = raw_fc / 2;
            word.get(at..at.saturating_add(chars).min(word.len()))
                .map(|b| t.cp1252(b))
        } else {
            let end = raw_fc.saturating_add(chars.saturating_mul(2));
            word.get(raw_fc..end.min(word.len())).map(|b| t.utf16(b))
        };
        if piece.is_none() || t.cut {
            break;
        }
    }
    true
}

/// The CLX of a Word document (`fcClx`/`lcbClx` of `FibRgFcLcb97`).
fn word_clx<'a>(word: &[u8], table: &'a [u8]) -> Option<&'a [u8]> {
    let csw = usize::from(u16_at(word, 32)?);
    let cslw_at = 34 + csw * 2;
    let cslw = usize::from(u16_at(word, cslw_at)?);
    let blob = cslw_at + 2 + cslw * 4 + 2;
    let fc = usize_at(word, blob + 33 * 8)?;
    let lcb = usize_at(word, blob + 33 * 8 + 4)?;
    table.get(fc..fc.checked_add(lcb)?)
}

/// The PlcPcd inside a CLX (after any `Prc` entries).
fn pcd_table(clx: &[u8]) -> Option<&[u8]> {
    let mut at = 0usize;
    loop {
        match clx.get(at)? {
            1 => {
                let cb = usize::from(u16_at(clx, at + 1)?);
                at = at.checked_add(3 + cb)?;
            }
            2 => {
                let lcb = usize_at(clx, at + 1)?;
                return clx.get(at + 5..at.checked_add(5)?.checked_add(lcb)?);
            }
            _ => return None,
        }
    }
}

/// BIFF record types read.
mod rec {
    pub const BOF: u16 = 0x0809;
    pub const SST: u16 = 0x00FC;
    pub const CONTINUE: u16 = 0x003C;
    pub const LABELSST: u16 = 0x00FD;
    pub const LABEL: u16 = 0x0204;
    pub const NUMBER: u16 = 0x0203;
    pub const RK: u16 = 0x027E;
    pub const MULRK: u16 = 0x00BD;
}

/// Iterates the BIFF records of a workbook stream: (type, data).
fn records(wb: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let typ = u16_at(wb, at)?;
        let len = usize::from(u16_at(wb, at + 2)?);
        let data = wb.get(at + 4..at + 4 + len)?;
        at += 4 + len;
        Some((typ, data))
    })
}

/// Reads across an SST record and its CONTINUE records.
struct Segments<'a> {
    parts: Vec<&'a [u8]>,
    part: usize,
    pos: usize,
}

impl<'a> Segments<'a> {
    fn cur(&self) -> Option<&'a [u8]> {
        self.parts.get(self.part).copied()
    }

    /// Moves to the next part when the current one is used up.
    fn settle(&mut self) -> Option<()> {
        while self.pos >= self.cur()?.len() {
            self.part += 1;
            self.pos = 0;
        }
        Some(())
    }

    fn bytes(&mut self, mut n: usize, mut f: impl FnMut(&'a [u8])) -> Option<()> {
        while n > 0 {
            self.settle()?;
            let cur = self.cur()?;
            let take = n.min(cur.len() - self.pos);
            f(cur.get(self.pos..self.pos + take)?);
            self.pos += take;
            n -= take;
        }
        Some(())
    }

    fn u8(&mut self) -> Option<u8> {
        let mut v = None;
        self.bytes(1, |b| v = b.first().copied())?;
        v
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.u8()?, self.u8()?]))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from(self.u16()?) | (u32::from(self.u16()?) << 16))
    }

    /// `cch` characters, 1 or 2 bytes each; a CONTINUE boundary inside
    /// them starts with a new flags byte.
    fn chars(&mut self, mut cch: usize, mut high: bool, out: &mut String) -> Option<()> {
        while cch > 0 {
            if self.pos >= self.cur()?.len() {
                self.part += 1;
                self.pos = 0;
                high = self.u8()? & 1 != 0;
            }
            let cur = self.cur()?;
            let width = if high { 2 } else { 1 };
            let n = cch.min((cur.len() - self.pos) / width).max(1);
            let b = cur.get(self.pos..self.pos + n * width)?;
            if high {
                let units = b.chunks_exact(2).map(|u| {
                    u16::from_le_bytes([
                        u.first().copied().unwrap_or(0),
                        u.get(1).copied().unwrap_or(0),
                    ])
                });
                out.extend(char::decode_utf16(units).map(|c| c.unwrap_or('\u{fffd}')));
            } else {
                out.extend(b.iter().map(|&c| char::from(c)));
            }
            self.pos += n * width;
            cch -= n;
        }
        Some(())
    }

    /// One XLUnicodeRichExtendedString.
    fn string(&mut self, out: &mut String) -> Option<()> {
        let cch = usize::from(self.u16()?);
        let flags = self.u8()?;
        let runs = if flags & 0x08 != 0 { self.u16()? } else { 0 };
        let ext = if flags & 0x04 != 0 { self.u32()? } else { 0 };
        self.chars(cch, flags & 1 != 0, out)?;
        self.bytes(usize::from(runs) * 4, |_| {})?;
        self.bytes(usize::try_from(ext).ok()?, |_| {})
    }
}

/// The shared strings of a workbook, at most `max` bytes in all.
fn shared_strings(wb: &[u8], max: usize) -> Vec<String> {
    let mut it = records(wb).skip_while(|(t, _)| *t != rec::SST);
    let Some((_, first)) = it.next() else {
        return Vec::new();
    };
    let mut parts = vec![first.get(8..).unwrap_or_default()];
    parts.extend(it.take_while(|(t, _)| *t == rec::CONTINUE).map(|(_, d)| d));
    let unique = usize_at(first, 4).unwrap_or(0);
    let mut seg = Segments {
        parts,
        part: 0,
        pos: 0,
    };
    let mut strings = Vec::new();
    let mut total = 0usize;
    while strings.len() < unique && total < max {
        let mut s = String::new();
        if seg.string(&mut s).is_none() {
            break;
        }
        total += s.len();
        strings.push(s);
    }
    strings
}

/// An RK number (\[MS-XLS\] 2.5.217).
fn rk(v: u32) -> f64 {
    let n = if v & 2 != 0 {
        f64::from((v as i32) >> 2)
    } else {
        f64::from_bits(u64::from(v & 0xFFFF_FFFC) << 32)
    };
    if v & 1 != 0 {
        n / 100.0
    } else {
        n
    }
}

fn number(t: &mut Text<'_>, n: f64) {
    // Whole numbers as integers: a phone or card number in a numeric cell.
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e17 {
        t.push((n as i64).to_string().as_bytes());
    } else {
        t.push(n.to_string().as_bytes());
    }
}

/// The cells of a BIFF8 workbook as text: tab between cells, a line per
/// row, strings from the SST; false when it has no BIFF structure.
pub fn xls_text(wb: &[u8], out: &mut Vec<u8>, max: usize) -> bool {
    if u16_at(wb, 0) != Some(rec::BOF) {
        return false;
    }
    let sst = shared_strings(wb, max);
    let mut t = Text {
        out,
        max,
        cut: false,
    };
    let mut row = None;
    for (typ, d) in records(wb) {
        if t.cut {
            break;
        }
        let r = u16_at(d, 0);
        if matches!(
            typ,
            rec::LABELSST | rec::LABEL | rec::NUMBER | rec::RK | rec::MULRK
        ) {
            t.push(if row == r { b"\t" } else { b"\n" });
            row = r;
        }
        match typ {
            rec::BOF => row = None,
            rec::LABELSST => {
                let s = usize_at(d, 6).and_then(|i| sst.get(i));
                t.push(s.map(String::as_bytes).unwrap_or_default());
            }
            rec::LABEL => {
                let mut s = Segments {
                    parts: vec![d.get(6..).unwrap_or_default()],
                    part: 0,
                    pos: 0,
                };
                let mut text = String::new();
                let cch = s.u16().map(usize::from).unwrap_or(0);
                let high = s.u8().is_some_and(|f| f & 1 != 0);
                let _ = s.chars(cch, high, &mut text);
                t.push(text.as_bytes());
            }
            rec::NUMBER => {
                if let Some(b) = d.get(6..14).and_then(|b| b.first_chunk::<8>()) {
                    number(&mut t, f64::from_le_bytes(*b));
                }
            }
            rec::RK => number(&mut t, rk(u32_at(d, 6).unwrap_or(0))),
            rec::MULRK => {
                let cells = d.len().saturating_sub(6) / 6;
                for i in 0..cells {
                    if i > 0 {
                        t.push(b"\t");
                    }
                    number(&mut t, rk(u32_at(d, 4 + i * 6 + 2).unwrap_or(0)));
                }
            }
            _ => {}
        }
    }
    true
}

/// PowerPoint text atoms: TextCharsAtom (UTF-16), TextBytesAtom (8-bit),
/// CString (UTF-16).
pub fn ppt_text(doc: &[u8], out: &mut Vec<u8>, max: usize) {
    let mut t = Text {
        out,
        max,
        cut: false,
    };
    let mut at = 0usize;
    while let (Some(ver), Some(typ), Some(len)) =
        (u16_at(doc, at), u16_at(doc, at + 2), usize_at(doc, at + 4))
    {
        if t.cut {
            return;
        }
        if ver & 0x0F == 0x0F {
            at += 8; // a container: its records follow
            continue;
        }
        let body = doc.get(at + 8..(at + 8).saturating_add(len).min(doc.len()));
        match (typ, body) {
            (0x0FA0 | 0x0FBA, Some(b)) => t.utf16(b),
            (0x0FA8, Some(b)) => t.latin1(b),
            _ => {}
        }
        if matches!(typ, 0x0FA0 | 0x0FBA | 0x0FA8) {
            t.push_char('\n');
        }
        at = at.saturating_add(8).saturating_add(len);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A BIFF record.
    pub fn biff(typ: u16, data: &[u8]) -> Vec<u8> {
        let mut v = typ.to_le_bytes().to_vec();
        v.extend_from_slice(&(data.len() as u16).to_le_bytes());
        v.extend_from_slice(data);
        v
    }

    fn cell(row: u16, col: u16) -> Vec<u8> {
        [row.to_le_bytes(), col.to_le_bytes(), 0u16.to_le_bytes()].concat()
    }

    /// A workbook stream: SST (split by a CONTINUE in a UTF-16 string),
    /// label cells and a numeric cell.
    pub fn make_workbook(strings: &[&str], number: f64) -> Vec<u8> {
        let mut sst = Vec::new();
        sst.extend_from_slice(&(strings.len() as u32).to_le_bytes());
        sst.extend_from_slice(&(strings.len() as u32).to_le_bytes());
        for s in strings {
            let units: Vec<u16> = s.encode_utf16().collect();
            sst.extend_from_slice(&(units.len() as u16).to_le_bytes());
            sst.push(1);
            for u in units {
                sst.extend_from_slice(&u.to_le_bytes());
            }
        }
        // Split inside the first string's characters (after 2 units).
        let cut = 8 + 3 + 4;
        let mut out = biff(rec::BOF, &[0; 16]);
        out.extend(biff(rec::SST, &sst[..cut]));
        let mut cont = vec![1u8];
        cont.extend_from_slice(&sst[cut..]);
        out.extend(biff(rec::CONTINUE, &cont));
        out.extend(biff(rec::BOF, &[0; 16]));
        for i in 0..strings.len() {
            let mut d = cell(0, i as u16);
            d.extend_from_slice(&(i as u32).to_le_bytes());
            out.extend(biff(rec::LABELSST, &d));
        }
        let mut d = cell(1, 0);
        d.extend_from_slice(&number.to_le_bytes());
        out.extend(biff(rec::NUMBER, &d));
        let mut d = cell(1, 1);
        d.extend_from_slice(&((1234u32 << 2) | 2).to_le_bytes());
        out.extend(biff(rec::RK, &d));
        out
    }

    #[test]
    fn xls_cells_in_order() {
        let wb = make_workbook(&["手机号码", "name"], 13800138000.0);
        let mut out = Vec::new();
        assert!(xls_text(&wb, &mut out, 1 << 20));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\n手机号码\tname\n13800138000\t1234"
        );
        let mut small = Vec::new();
        assert!(xls_text(&wb, &mut small, 10));
        assert!(small.len() <= 10);
    }

    /// A WordDocument stream and table stream with two pieces: 8-bit and
    /// UTF-16.
    pub fn make_word(ascii: &str, wide: &str) -> (Vec<u8>, Vec<u8>) {
        let mut word = vec![0u8; 1024];
        word[0..2].copy_from_slice(&0xA5ECu16.to_le_bytes());
        word[0x0A..0x0C].copy_from_slice(&0x0200u16.to_le_bytes());
        word[32..34].copy_from_slice(&14u16.to_le_bytes());
        word[62..64].copy_from_slice(&22u16.to_le_bytes());
        let text_at = word.len();
        word.extend_from_slice(ascii.as_bytes());
        let wide_at = word.len();
        let units: Vec<u16> = wide.encode_utf16().collect();
        for u in &units {
            word.extend_from_slice(&u.to_le_bytes());
        }
        let n_a = ascii.len() as u32;
        let n_w = units.len() as u32;
        let mut plc = Vec::new();
        for cp in [0, n_a, n_a + n_w] {
            plc.extend_from_slice(&cp.to_le_bytes());
        }
        for fc in [(text_at as u32 * 2) | 0x4000_0000, wide_at as u32] {
            plc.extend_from_slice(&[0, 0]);
            plc.extend_from_slice(&fc.to_le_bytes());
            plc.extend_from_slice(&[0, 0]);
        }
        let mut table = vec![0u8; 16];
        let fc_clx = table.len() as u32;
        table.extend_from_slice(&[1, 2, 0, 9, 9]); // a Prc
        table.push(2);
        table.extend_from_slice(&(plc.len() as u32).to_le_bytes());
        table.extend_from_slice(&plc);
        let lcb = table.len() as u32 - fc_clx;
        let blob = 154 + 33 * 8;
        word[blob..blob + 4].copy_from_slice(&fc_clx.to_le_bytes());
        word[blob + 4..blob + 8].copy_from_slice(&lcb.to_le_bytes());
        (word, table)
    }

    #[test]
    fn word_pieces_are_joined() {
        let (w, t) = make_word("ID 11010519491231002X\r", "联系电话 13800138000");
        assert_eq!(word_table_name(&w), Some("1Table"));
        let mut out = Vec::new();
        assert!(word_text(&w, &t, &mut out, 1 << 20));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "ID 11010519491231002X\n联系电话 13800138000"
        );
        assert!(!word_text(&w, b"", &mut Vec::new(), 100));
    }

    #[test]
    fn ppt_atoms() {
        let mut doc = vec![0x0F, 0, 0xE8, 0x03, 40, 0, 0, 0]; // container
        let units: Vec<u8> = "姓名".encode_utf16().flat_map(u16::to_le_bytes).collect();
        doc.extend_from_slice(&[0, 0, 0xA0, 0x0F]);
        doc.extend_from_slice(&(units.len() as u32).to_le_bytes());
        doc.extend_from_slice(&units);
        doc.extend_from_slice(&[0, 0, 0xA8, 0x0F, 3, 0, 0, 0]);
        doc.extend_from_slice(b"abc");
        let mut out = Vec::new();
        ppt_text(&doc, &mut out, 100);
        assert_eq!(String::from_utf8(out).unwrap(), "姓名\nabc\n");
    }

    #[test]
    fn flavours() {
        assert_eq!(flavour(["x", "WordDocument"].into_iter()), FileType::Doc);
        assert_eq!(flavour(["Workbook"].into_iter()), FileType::Xls);
        assert_eq!(flavour(["PowerPoint Document"].into_iter()), FileType::Ppt);
        assert_eq!(flavour(["other"].into_iter()), FileType::Ole);
        assert!(skipped("1Table") && !skipped("\u{5}SummaryInformation"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_streams_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000)) {
            let mut out = Vec::new();
            let _ = xls_text(&data, &mut out, 4096);
            let mut wb = biff(rec::BOF, &[]);
            wb.extend_from_slice(&data);
            let _ = xls_text(&wb, &mut out, 4096);
            let _ = word_text(&data, &data, &mut out, 4096);
            ppt_text(&data, &mut out, 4096);
            proptest::prop_assert!(out.len() <= 4 * 4096);
        }
    }
}
