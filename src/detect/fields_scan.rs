//! The field family's part of a scan (see `fields.rs`): separators and
//! auth schemes in order, each decided once its key and value are present.

use super::super::digits::SepMap;
use super::super::fields::{self, FieldIndex, ValueCheck};
use super::super::fields_attr;
use super::super::fields_html;
use super::super::signature::{Detector, Family};
use super::{DetectorId, Scanner, Work};

/// Builds the field-name index of the field detectors.
pub(super) fn index(dets: &[Detector]) -> FieldIndex {
    let mut ix = FieldIndex::default();
    for (i, d) in dets.iter().enumerate() {
        if let Family::Field(fs) = &d.family {
            for (names, check) in &fs.groups {
                ix.add(i as u16, names, *check);
            }
            for s in &fs.schemes {
                ix.schemes.push((format!("{s} ").into_bytes(), i as u16));
            }
        }
    }
    if !ix.is_empty() {
        for t in fields_attr::TRIGGERS {
            ix.pass_trigger(t);
        }
        ix.id_is_key = !ix.lookup(b"id").is_empty();
    }
    set_rare(&mut ix);
    ix
}

/// The rare candidates' searchers: the full-width colon (pattern 0) and
/// each scheme (pattern `1 + i`), by first byte and as one automaton.
fn set_rare(ix: &mut FieldIndex) {
    let rare: Vec<&[u8]> = std::iter::once(FW_COLON)
        .chain(ix.schemes.iter().map(|(s, _)| s.as_slice()))
        .collect();
    ix.rare_pats = rare.iter().map(|p| p.to_vec()).collect();
    for p in &rare {
        if let Some(&c) = p.first() {
            if !ix.rare_firsts.contains(&c) {
                ix.rare_firsts.push(c);
            }
        }
    }
    // One pass for all of them, used when they start with more than three
    // distinct bytes. Building from a few short literals cannot fail; if
    // it did, fields would only lose the rare candidates.
    ix.rare = aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostFirst)
        .build(rare)
        .ok();
}

/// A candidate: position, separator length, separator byte (0: scheme of
/// detector `det`).
#[derive(Clone, Copy)]
struct Cand {
    p: usize,
    len: usize,
    sep: u8,
    det: DetectorId,
}

const FW_COLON: &[u8] = "：".as_bytes();

/// Next rare candidate (full-width colon, pattern 0, or a scheme, pattern
/// `1 + i` of [`FieldIndex::schemes`]): searched once, and again only when
/// the scan passes it.
struct Rare {
    next: Option<(usize, usize)>,
    from: usize,
}

impl Rare {
    fn new(h: &[u8], pos: usize, ix: &FieldIndex) -> Rare {
        Rare {
            next: Self::find(h, pos, ix),
            from: pos,
        }
    }

    fn find(h: &[u8], pos: usize, ix: &FieldIndex) -> Option<(usize, usize)> {
        if ix.rare_firsts.len() <= 3 {
            return Self::find_by_first_byte(h, pos, ix);
        }
        let ac = ix.rare.as_ref()?;
        let input = aho_corasick::Input::new(h).span(pos.min(h.len())..h.len());
        ac.find(input).map(|m| (m.start(), m.pattern().as_usize()))
    }

    /// Leftmost-first like the automaton: the earliest start, and at one
    /// start the first pattern listed.
    fn find_by_first_byte(h: &[u8], pos: usize, ix: &FieldIndex) -> Option<(usize, usize)> {
        let f = &ix.rare_firsts;
        let mut at = pos;
        loop {
            let rest = h.get(at..)?;
            let i = match *f.as_slice() {
                [a] => memchr::memchr(a, rest),
                [a, b] => memchr::memchr2(a, b, rest),
                [a, b, c] => memchr::memchr3(a, b, c, rest),
                _ => None,
            }?;
            let tail = rest.get(i..).unwrap_or_default();
            if let Some(k) = ix.rare_pats.iter().position(|p| tail.starts_with(p)) {
                return Some((at + i, k));
            }
            at += i + 1;
        }
    }

    /// Searches again if the scan passed the candidate.
    fn advance(&mut self, h: &[u8], pos: usize, ix: &FieldIndex) {
        if pos <= self.from {
            return;
        }
        self.from = pos;
        if self.next.is_some_and(|(p, _)| p < pos) {
            self.next = Self::find(h, pos, ix);
        }
    }

    /// The next rare candidate.
    fn first(&self, ix: &FieldIndex) -> Option<Cand> {
        let (p, k) = self.next?;
        if k == 0 {
            return Some(Cand {
                p,
                len: FW_COLON.len(),
                sep: b':',
                det: 0,
            });
        }
        let (s, d) = ix.schemes.get(k - 1)?;
        Some(Cand {
            p,
            len: s.len(),
            sep: 0,
            det: *d,
        })
    }
}

/// Cheap test for a separator at `p`: the key before it (past spaces and a
/// quote) ends in bytes some field name ends in ([`FieldIndex::may_match`]).
#[inline(always)]
fn quick_ok(h: &[u8], p: usize, ix: &FieldIndex) -> bool {
    sep_test(h, p, ix).key_ok
}

/// What [`sep_test`] finds at a separator.
struct SepTest {
    /// The key's tail is some field name's ([`quick_ok`]).
    key_ok: bool,
    /// The separator is a `>`.
    gt: bool,
    /// The separator is a `=`.
    eq: bool,
}

/// Whether the `=` at `p` ends an ` id` (the id trigger, tested here
/// rather than through the tail filter, where `id` would let every
/// `userId` key of JSON through the two-byte test).
#[inline(always)]
fn id_eq(h: &[u8], p: usize) -> bool {
    p.checked_sub(3)
        .and_then(|s| h.get(s..p))
        .is_some_and(|w| matches!(w, [b' ' | b'\t' | b'\n' | b'\r', b'i' | b'I', b'd' | b'D']))
}

/// [`quick_ok`] and whether the separator is a `>` or a `=`, from one load of the
/// separator and the 7 bytes before it. Forced inline: asked of every
/// `:`, `=` and `>`, and the call alone was ~1.5 % of worker
/// instructions.
#[inline(always)]
fn sep_test(h: &[u8], p: usize, ix: &FieldIndex) -> SepTest {
    // The 7 bytes before `p` hold at most 3 skipped quote or space bytes
    // and a whole tail; one load, shifts for the rest. Near a buffer start
    // the missing bytes are zeros, which end the skip and the tail.
    let w = match p.checked_sub(7).and_then(|s| h.get(s..=p)) {
        Some(w) => <[u8; 8]>::try_from(w).unwrap_or_default(),
        None => {
            let mut w = [0u8; 8];
            let have = h.get(..=p).unwrap_or_default();
            if let Some(dst) = w.get_mut(8 - have.len().min(8)..) {
                dst.copy_from_slice(have.get(have.len().saturating_sub(8)..).unwrap_or_default());
            }
            w
        }
    };
    // The separator least significant, then `h[p - 1]`.
    let mut w = u64::from_be_bytes(w);
    let gt = w as u8 == b'>';
    let eq = w as u8 == b'=';
    w >>= 8;
    for _ in 0..SKIP {
        if !matches!(w as u8, b' ' | b'"' | b'\'') {
            break;
        }
        w >>= 8;
    }
    SepTest {
        key_ok: ix.may_match_word(w as u32),
        gt,
        eq,
    }
}

/// Cheap test of the value of the ` id=` at `p`: its tail is some field
/// name's (most ids name no field: `row-17`, `app`), or it is not all
/// there yet (the full read decides, and waits). Not inlined: it runs
/// only at an ` id=`, and inlined it grew the separator loop.
#[inline(never)]
fn id_may_match(h: &[u8], p: usize, ix: &FieldIndex) -> bool {
    let rest = h.get(p + 1..).unwrap_or_default();
    let (quote, s) = match rest.first() {
        Some(&q @ (b'"' | b'\'')) => (Some(q), 1),
        _ => (None, 0),
    };
    let v = rest.get(s..).unwrap_or_default();
    let v = v
        .get(..v.len().min(fields_attr::NAME_MAX + 1))
        .unwrap_or_default();
    let end = v.iter().position(|&b| match quote {
        Some(q) => b == q,
        None => b.is_ascii_whitespace() || b == b'>',
    });
    let Some(e) = end else {
        return true;
    };
    // The last bytes normalisation keeps (`c0-1` ends like `01`: an id is
    // tested as a whole, where a key's dropped byte would let it pass).
    let mut tail = [0u8; fields::RAW_TAIL];
    let mut n = 0;
    for &b in v.get(..e).unwrap_or_default().iter().rev() {
        if n == tail.len() {
            break;
        }
        if !fields::dropped_key_byte(b) {
            n += 1;
            if let Some(t) = tail.get_mut(fields::RAW_TAIL - n) {
                *t = b;
            }
        }
    }
    ix.may_match_word(u32::from_be_bytes(tail))
}

/// Cheap test for an HTML label after the `>` at `p`
/// ([`fields_html::may_start_label`]).
#[inline(always)]
fn label_ok(h: &[u8], p: usize, eof: bool, ix: &FieldIndex) -> bool {
    fields_html::may_start_label(h, p, eof, |t| ix.may_match_word(t))
}

/// The detectors of a field name, with their value checks.
type FieldDets<'e> = &'e [(DetectorId, ValueCheck)];

/// The detectors of the control name at `raw` in `w` (brackets resolved,
/// normalised as a key; none when it is no field). `key` is scratch.
fn control_dets<'e>(w: &Work<'e>, (s, e): (usize, usize), key: &mut Vec<u8>) -> FieldDets<'e> {
    let raw = w.h.get(s..e).unwrap_or_default();
    match fields::bracket_key(raw) {
        Some(name) => {
            fields::norm_key(name, key);
            w.eng.fields.lookup(key)
        }
        None => &[],
    }
}

/// Quote and space bytes skipped between a key and its separator.
const SKIP: usize = 3;

impl Scanner {
    /// Field family from `from`; returns its frontier.
    pub(super) fn scan_fields(&mut self, w: &Work<'_>, from: usize) -> usize {
        let eng = w.eng;
        let h = w.h;
        if eng.fields.is_empty() {
            return h.len();
        }
        let mut pos = from;
        // Select events from here on are decided again.
        if let Some(x) = &mut self.extra {
            x.selects.rewind(w.base + from as u64);
        }
        let mut key = std::mem::take(&mut self.field_key);
        let mut rare = Rare::new(h, pos, &eng.fields);
        let mut seps = SepMap::new(h, w.blocks);
        let frontier = self.field_loop(w, &mut pos, &mut key, &mut rare, &mut seps);
        self.field_key = key;
        frontier
    }

    /// The candidates from `pos` on; returns the frontier.
    ///
    /// Not inlined: when the compiler inlined it into `scan_work` (after
    /// an unrelated change) the worker ran 0.7 % more instructions
    /// (valgrind, 50 MB bench pcap).
    #[inline(never)]
    fn field_loop(
        &mut self,
        w: &Work<'_>,
        pos: &mut usize,
        key: &mut Vec<u8>,
        rare: &mut Rare,
        seps: &mut SepMap<'_>,
    ) -> usize {
        let eng = w.eng;
        let h = w.h;
        loop {
            rare.advance(h, *pos, &eng.fields);
            let rare_c = rare.first(&eng.fields);
            let limit = rare_c.map_or(h.len(), |c| c.p).min(h.len());
            // An open select is closed by a `</select>`.
            let select = self.extra.as_ref().is_some_and(|x| x.selects.is_open());
            // Hot loop: most separators fail the tail test.
            let mut sep = None;
            let mut at = *pos;
            loop {
                let p = seps.next(at);
                if p >= limit {
                    break;
                }
                let SepTest { key_ok, gt, eq } = sep_test(h, p, &eng.fields);
                if key_ok
                    || (gt
                        && (label_ok(h, p, w.eof, &eng.fields)
                            || (select
                                && (fields_attr::closes_select(h, p)
                                    || fields_attr::may_end_selected(h, p)))))
                    || (eq && id_eq(h, p) && id_may_match(h, p, &eng.fields))
                {
                    sep = Some(p);
                    break;
                }
                at = p + 1;
            }
            let c = match (sep, rare_c) {
                (Some(p), _) => Cand {
                    p,
                    len: 1,
                    sep: h.get(p).copied().unwrap_or(b':'),
                    det: 0,
                },
                (None, Some(c)) => c,
                (None, None) => break,
            };
            let r = if c.sep == 0 {
                self.try_scheme(w, c)
            } else {
                self.try_field(w, c, key)
            };
            if r.is_err() {
                return c.p;
            }
            *pos = c.p + 1;
        }
        if w.eof {
            return h.len();
        }
        // A separator or scheme cut at the end is looked at again.
        let longest = eng
            .fields
            .schemes
            .iter()
            .map(|(s, _)| s.len())
            .fold(FW_COLON.len(), usize::max);
        (*pos).max(h.len().saturating_sub(longest - 1)).min(h.len())
    }

    /// `Basic user:pass` / `Bearer token`: the token is the value.
    fn try_scheme(&mut self, w: &Work<'_>, c: Cand) -> Result<(), fields::NeedMore> {
        let h = w.h;
        let before = c.p.checked_sub(1).and_then(|i| h.get(i)).copied();
        if before.is_some_and(|b| b.is_ascii_alphanumeric()) {
            return Ok(());
        }
        let s = c.p + c.len;
        let lim = (s + fields::VALUE_MAX + 1).min(h.len());
        let end = h.get(s..lim).and_then(|t| {
            t.iter()
                .position(|b| b.is_ascii_whitespace() || *b == b'"' || *b == b',')
        });
        let e = match end {
            Some(i) => s + i,
            None if lim == s + fields::VALUE_MAX + 1 => s + fields::VALUE_MAX,
            None if w.eof => h.len(),
            None => return Err(fields::NeedMore),
        };
        let v = h.get(s..e).unwrap_or_default();
        if ValueCheck::Credential.check(v) {
            self.push_field(w, c.det, s, v, c.p);
        }
        Ok(())
    }

    /// `key<sep>value`.
    fn try_field(
        &mut self,
        w: &Work<'_>,
        c: Cand,
        key: &mut Vec<u8>,
    ) -> Result<(), fields::NeedMore> {
        let h = w.h;
        let eng = w.eng;
        // After a `>`, an HTML label may start. Decided first: when it
        // needs more bytes nothing at this separator may be recorded yet.
        let label = if c.sep == b'>' && label_ok(h, c.p, w.eof, &eng.fields) {
            fields_html::label_after(h, c.p, w.eof, |k| {
                fields_html::norm_label(k, key);
                !eng.fields.lookup(key).is_empty()
            })?
        } else {
            None
        };
        // After `name=` or `value=` in a tag, a form control's pair.
        let trigger = (c.sep == b'=')
            .then(|| fields_attr::trigger(h, c.p))
            .flatten();
        let control = match trigger {
            // Most ids name no field: looked up before the tag is read.
            Some(fields_attr::Trigger::Id) if !self.id_names_field(w, c.p, key) => {
                fields_attr::Control::Tag
            }
            Some(t) => fields_attr::control_at(h, c.p, w.eof, t)?,
            // `<option selected>` without a trigger attribute, in an open
            // select.
            None if c.sep == b'>'
                && fields_attr::may_end_selected(h, c.p)
                && self.extra.as_ref().is_some_and(|x| x.selects.is_open()) =>
            {
                fields_attr::selected_at_gt(h, c.p, w.eof)?
            }
            None => fields_attr::Control::None,
        };
        // A pair's field, and its radio button or checkbox: decided (and
        // waited for) before anything at this separator is recorded.
        let (control, pair_dets) = match control {
            fields_attr::Control::Pair(pair) => self.checked_pair(w, pair, key)?,
            c => (c, &[][..]),
        };
        // A tag's `name="宗教信仰"` names a control, not a person; the key
        // `id` names nothing unless it is a field name.
        let attr_name = match trigger {
            Some(fields_attr::Trigger::Name) => control != fields_attr::Control::None,
            Some(fields_attr::Trigger::Id) => !eng.fields.id_is_key,
            _ => false,
        };
        // Cheap test first: most keys end in bytes no field name ends in.
        if !attr_name && quick_ok(h, c.p, &eng.fields) {
            let raw = fields::key_before(h, c.p, c.sep)
                .map(|(ks, ke)| h.get(ks..ke).unwrap_or_default())
                .filter(|raw| !eng.fields.too_short(raw));
            if let Some(raw) = raw {
                fields::norm_key(raw, key);
                let dets = eng.fields.lookup(key);
                if !dets.is_empty() {
                    match fields::value_after(h, c.p, c.len, c.sep, w.eof)? {
                        Some(fields::Value::Text(s, e, cut)) => {
                            self.push_value(w, dets, (s, e, cut), c.p, false);
                        }
                        Some(fields::Value::Select) => self.label_select(w, dets, c.p),
                        None => {}
                    }
                }
            }
        }
        match control {
            fields_attr::Control::Pair(pair) => self.push_control(w, pair, pair_dets, c.p),
            fields_attr::Control::Select(name) => self.open_select(w, name, c.p, key),
            fields_attr::Control::Selected(v) => {
                let field = self.extra.as_ref().map(|x| x.selects.open_field());
                if let Some(field) = field {
                    self.push_value(w, field.dets(), v, c.p, false);
                }
            }
            fields_attr::Control::None | fields_attr::Control::Tag => {}
        }
        if c.sep == b'>' && fields_attr::closes_select(h, c.p) {
            if let Some(x) = &mut self.extra {
                x.selects.close(w.base + c.p as u64);
            }
        }
        if let Some(l) = label.filter(|l| l.select) {
            fields_html::norm_label(h.get(l.key.0..l.key.1).unwrap_or_default(), key);
            self.label_select(w, eng.fields.lookup(key), c.p);
        } else if let Some(l) = label {
            let v = fields::trim(h.get(l.value.0..l.value.1).unwrap_or_default());
            // In a key/value row (or a grid of wrapped labels) the value
            // may be a header cell: a common header word or a field name.
            let header = (l.cells.is_some() || l.wrapped) && {
                fields_html::norm_label(v, key);
                fields_html::header_word(v) || !eng.fields.lookup(key).is_empty()
            };
            if !header {
                fields_html::norm_label(h.get(l.key.0..l.key.1).unwrap_or_default(), key);
                let dets = eng.fields.lookup(key);
                // Between cells, a header row of td cells has the same
                // shape: free text there is most likely the next header.
                let strict = l.cells == Some(fields_html::CellEnd::Cell);
                self.push_value(w, dets, (l.value.0, l.value.1, l.cut), c.p, strict);
            }
        }
        Ok(())
    }

    /// The value at `s..e` (`cut` at its bound) of a field of the
    /// detectors `dets`, whose separator is at `p`: the first detector
    /// whose check passes records it (with `strict`, only a check that
    /// does not take free text). Returns whether one did.
    fn push_value(
        &mut self,
        w: &Work<'_>,
        dets: &[(DetectorId, ValueCheck)],
        (s, e, cut): (usize, usize, bool),
        p: usize,
        strict: bool,
    ) -> bool {
        let raw = w.h.get(s..e).unwrap_or_default();
        let v = fields::trim(raw);
        let vs = s + (v.as_ptr() as usize - raw.as_ptr() as usize);
        for &(d, check) in dets {
            if strict && check.takes_free_text() {
                continue;
            }
            let (v, cut) = if check == ValueCheck::CnName {
                // A name is one word: `联系人：赵娜 电话：…` holds it
                // before the space.
                let word = fields::first_word(v);
                (word, cut && word.len() == v.len())
            } else {
                (v, cut)
            };
            if fields::truncation_ok(check, cut) && check.check(v) {
                self.push_field(w, d, vs, v, p);
                return true;
            }
        }
        false
    }

    /// A form control's value, for the detectors `dets` of its name (none
    /// when the name is no field).
    fn push_control(
        &mut self,
        w: &Work<'_>,
        pair: fields_attr::Pair,
        dets: FieldDets<'_>,
        p: usize,
    ) {
        if dets.is_empty() {
            return;
        }
        let value = (pair.value.0, pair.value.1, pair.cut);
        if !self.push_value(w, dets, value, p, false) {
            if let Some(text) = pair.text {
                self.push_value(w, dets, text, p, false);
            }
        }
    }

    /// A control's pair and the detectors of its name (none when it is no
    /// field). For a field, a radio button or checkbox decides the pair:
    /// none when not checked, and a checked one's text after the tag.
    /// Only read for fields: most pairs' names are none.
    fn checked_pair<'e>(
        &self,
        w: &Work<'e>,
        mut pair: fields_attr::Pair,
        key: &mut Vec<u8>,
    ) -> Result<(fields_attr::Control, FieldDets<'e>), fields::NeedMore> {
        let dets = control_dets(w, pair.key, key);
        if let (Some(at), false) = (pair.choice, dets.is_empty()) {
            match fields_attr::choice_at(w.h, at, w.eof)? {
                Some(fields_attr::ChoiceText::Unchecked) => {
                    return Ok((fields_attr::Control::Tag, &[]))
                }
                Some(fields_attr::ChoiceText::Checked(text)) => pair.text = text,
                None => {}
            }
        }
        Ok((fields_attr::Control::Pair(pair), dets))
    }

    /// Whether the `id` value after the `=` at `p` may name a field (also
    /// when it is not all there yet: the tag is read, and waits, then).
    fn id_names_field(&self, w: &Work<'_>, p: usize, key: &mut Vec<u8>) -> bool {
        let Some((s, e)) = fields_attr::id_value(w.h, p) else {
            return true;
        };
        // The separator loop tested the id's tail ([`id_may_match`]).
        !control_dets(w, (s, e), key).is_empty()
    }

    /// A `<select>` named `name` (raw) opens at `p`: its selected option
    /// is the value of the field of that name, if it is one. A name that
    /// is no field leaves the field a label gave the select (see
    /// [`Self::label_select`]).
    fn open_select(&mut self, w: &Work<'_>, name: (usize, usize), p: usize, key: &mut Vec<u8>) {
        let dets = control_dets(w, name, key);
        let selects = &mut self.extra.get_or_insert_with(Box::default).selects;
        if dets.is_empty() && !selects.open_field().dets().is_empty() {
            return;
        }
        selects.open(w.base + p as u64, dets);
    }

    /// The label at `p` names the `<select>` right after it: the select
    /// is opened there with the label's field, so its selected option is
    /// that field's value even when the select's own name is none
    /// (`<label>民族</label><select name="f12">`).
    fn label_select(&mut self, w: &Work<'_>, dets: FieldDets<'_>, p: usize) {
        if dets.is_empty() {
            return;
        }
        let at = w.base + p as u64;
        self.extra
            .get_or_insert_with(Box::default)
            .selects
            .open(at, dets);
    }

    fn push_field(&mut self, w: &Work<'_>, d: DetectorId, s: usize, v: &[u8], resume: usize) {
        self.value.clear();
        self.value.extend_from_slice(v);
        self.record(w, d, s, s + v.len(), false, resume);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ix() -> FieldIndex {
        let mut ix = FieldIndex::default();
        ix.schemes.push((b"Basic ".to_vec(), 1));
        ix.schemes.push((b"Bearer ".to_vec(), 1));
        set_rare(&mut ix);
        ix
    }

    /// [`quick_ok`] on slices, byte by byte: the reference for the word
    /// path.
    fn quick_ok_sliced(h: &[u8], p: usize, ix: &FieldIndex) -> bool {
        let mut e = p;
        while e > 0 && matches!(h.get(e - 1), Some(b' ' | b'"' | b'\'')) && p - e < SKIP {
            e -= 1;
        }
        ix.may_match(
            h.get(e.saturating_sub(fields::RAW_TAIL)..e)
                .unwrap_or_default(),
        )
    }

    proptest! {
        #[test]
        fn first_byte_search_equals_automaton(
            parts in proptest::collection::vec(prop_oneof![
                Just("：".as_bytes().to_vec()), Just(b"Basic ".to_vec()),
                Just(b"Bearer ".to_vec()), Just(b"Be".to_vec()), Just(vec![0xEF, 0xBC]),
                Just(b"B".to_vec()), proptest::collection::vec(any::<u8>(), 0..6),
            ], 0..30),
            pos in 0usize..80,
        ) {
            let h: Vec<u8> = parts.concat();
            let ix = ix();
            let ac = ix.rare.as_ref().unwrap();
            let input = aho_corasick::Input::new(&h).span(pos.min(h.len())..h.len());
            let want = ac.find(input).map(|m| (m.start(), m.pattern().as_usize()));
            prop_assert_eq!(Rare::find_by_first_byte(&h, pos, &ix), want);
        }

        /// The word path of the separator test agrees with the sliced one.
        #[test]
        fn quick_ok_word_path_equals_sliced(
            parts in proptest::collection::vec(prop_oneof![
                Just(b"\"".to_vec()), Just(b" ".to_vec()), Just(b"'".to_vec()),
                Just(b"password".to_vec()), Just(b"PWD".to_vec()), Just(b"order".to_vec()),
                Just("密码".as_bytes().to_vec()), Just(b"_".to_vec()), Just(b"mz".to_vec()),
                Just(b"Holder".to_vec()), Just(b"]".to_vec()), Just(b"[pwd]".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..4),
            ], 0..12),
            sep in prop_oneof![Just(b':'), Just(b'=')],
        ) {
            let mut ix = FieldIndex::default();
            let names = ["password", "pwd", "mz", "密码", "cardholder"].map(String::from);
            ix.add(0, &names, crate::detect::fields::ValueCheck::Credential);
            let mut h: Vec<u8> = parts.concat();
            h.push(sep);
            for p in 0..h.len() {
                prop_assert_eq!(quick_ok(&h, p, &ix), quick_ok_sliced(&h, p, &ix), "{:?} at {}", h, p);
            }
        }
    }
}
