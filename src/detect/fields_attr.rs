//! HTML form controls for the field family: a field whose name is a
//! control's `name` attribute and whose value is its `value` attribute or,
//! for a `<textarea>`, its text, as edit pages pre-fill them
//! (`<input name="realName" value="张伟">`,
//! `<input type="text" value="张伟" name="user[name]">` as Rails writes it,
//! `<textarea name="address">北京市…</textarea>`).
//!
//! The field family's `=` separator triggers it: an `=` right after a
//! `name` or `value` attribute name (after white space, so `a.value=` in
//! script or `&name=` in a URL is no trigger). From there the rest of the
//! tag is read forwards, attribute by attribute, for the other half of
//! the pair: after `name=` a `value=` (or, at the tag's end, a text closed
//! by `</textarea`), after `value=` a `name=`. Each pair is found from its
//! first attribute only, so it is reported once whatever the order.
//!
//! A `<select>`'s value is its selected `<option>`, which may lie
//! kilobytes after the select's `name=`, beyond any look-ahead. So the
//! stream remembers which select is open ([`SelectLog`]): a `name=` whose
//! tag is followed by `<option` or `<optgroup` opens one, a `</select>`
//! closes it, and an `<option … selected>` (found from its first `value=`
//! or `selected=` attribute, with the `<option` in the look-behind the
//! stream keeps) gives the open select's field its text, or its `value`
//! when the text is empty.
//!
//! A radio button or checkbox offers a choice: only a `checked` one's
//! value counts, or, when that value is a code, its text after the tag.
//!
//! In a tag without a `name`, an `id` names the value instead (read-only
//! detail pages: `<span id="realName">张伟</span>`, `<input id="xm"
//! value="王芳" readonly>`): a control's value, a textarea's or element's
//! text, a select. The tag's start must lie in the look-behind, so that a
//! `name` before the id is seen and the pair is never reported twice.
//!
//! Bounded like the label form: a decision reads at most [`ATTR_AHEAD`]
//! bytes after the `=`, the control's name at most [`NAME_MAX`]; with
//! fewer bytes it waits (`NeedMore`), and a pair not complete within the
//! bound, or at the end of the stream, is no pair, so the result does not
//! depend on where the stream was split.

use super::fields::{NeedMore, ValueCheck, VALUE_MAX};
use super::DetectorId;

/// Longest control name taken (`user_profile[home_address]`).
pub const NAME_MAX: usize = 40;
/// Bytes after the `=` a decision may need: the first attribute's value,
/// the other attributes of the tag and the value, within one bound (the
/// label form's, so the carry bound is unchanged).
pub const ATTR_AHEAD: usize = super::fields_html::LABEL_AHEAD;

/// Bytes before a trigger looked at for its `<option` (the look-behind
/// the stream keeps before every undecided position, so the result does
/// not depend on the split): `<option selected value=` fits.
pub const OPTION_BEHIND: usize = super::signature::MAX_WORD_LEN;

/// The attribute names that start a pair: the tail filter lets keys
/// ending like them through (`FieldIndex::pass_trigger`). `id` is tested
/// in the separator loop instead (`fields_scan::id_eq`).
pub const TRIGGERS: [&str; 3] = ["name", "value", "selected"];

/// Which attribute the `=` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// `name=`: the value follows.
    Name,
    /// `value=`: the name follows (or, in an `<option`, the text).
    Value,
    /// `selected=` in an `<option`.
    Selected,
    /// `id=`: in a tag without a `name`, the id names the value (a
    /// control's `value`, a textarea's or element's text, a select's
    /// selected option).
    Id,
}

/// What an `=` after `name` or `value` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// No tag could be read there (text such as `name="张伟" age=30` in a
    /// log line, or a tag longer than the bound).
    None,
    /// An attribute of a tag without a pair (`<meta name=…>`, an empty or
    /// value-less control): `name`'s value is a control name, not a
    /// person's.
    Tag,
    /// A control's pair.
    Pair(Pair),
    /// A `<select>` named by the attribute's value (raw: brackets not
    /// resolved): its options follow.
    Select((usize, usize)),
    /// A selected `<option>`'s value (raw: not trimmed) and whether it
    /// was cut at `VALUE_MAX`.
    Selected((usize, usize, bool)),
}

/// A control's pair: where its name and value lie in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    /// The `name` attribute's value (raw: brackets not resolved).
    pub key: (usize, usize),
    /// The value (raw: not trimmed).
    pub value: (usize, usize),
    /// The value was cut at `VALUE_MAX`.
    pub cut: bool,
    /// A checked radio button's or checkbox's text after its tag (up to
    /// the next `<`): the value when the `value` attribute is only a code
    /// (`<input type="radio" name="zzmm" value="13" checked>群众`). Set by
    /// [`choice_at`].
    pub text: Option<(usize, usize, bool)>,
    /// Where to read whether the tag is a radio button or checkbox
    /// ([`choice_at`]): only done for a pair whose name is a field, as
    /// most pairs' names are not.
    pub choice: Option<ChoiceAt>,
}

/// A pair's trigger, for [`choice_at`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChoiceAt {
    /// The trigger's `=`.
    eq: usize,
    /// Where its attribute name starts.
    name: usize,
    /// Where the attribute after the pair's first one may start.
    after: usize,
}

/// Whether the `=` at `p` ends a `name`, `value`, `selected` or `id`
/// attribute name (ASCII case ignored) that follows white space. Needs 9
/// bytes before `p`.
#[inline]
pub fn trigger(h: &[u8], p: usize) -> Option<Trigger> {
    let ends = |word: &[u8]| {
        p.checked_sub(word.len() + 1)
            .and_then(|s| h.get(s..p))
            .and_then(|w| w.split_first())
            .is_some_and(|(b, w)| b.is_ascii_whitespace() && w.eq_ignore_ascii_case(word))
    };
    if ends(b"name") {
        Some(Trigger::Name)
    } else if ends(b"value") {
        Some(Trigger::Value)
    } else if ends(b"selected") {
        Some(Trigger::Selected)
    } else if ends(b"id") {
        Some(Trigger::Id)
    } else {
        None
    }
}

/// The `id` attribute's value after the `=` at `p` when all of it is in
/// `h` (a cheap look before the tag is read: most ids name no field).
pub fn id_value(h: &[u8], p: usize) -> Option<(usize, usize)> {
    let tag = Tag {
        h,
        end: p + ATTR_AHEAD,
        eof: false,
    };
    tag.value(p + 1, NAME_MAX, false)
        .ok()
        .map(|(s, e, _, _)| (s, e))
}

/// Elements without text of their own: what follows one is its parent's.
const VOID: [&[u8]; 12] = [
    b"area", b"base", b"br", b"col", b"embed", b"hr", b"img", b"link", b"meta", b"source",
    b"track", b"wbr",
];
/// Elements whose text is no value.
const NO_TEXT: [&[u8]; 7] = [
    b"script",
    b"style",
    b"option",
    b"template",
    b"title",
    b"head",
    b"html",
];

impl Trigger {
    /// The attribute name's length.
    fn name_len(self) -> usize {
        match self {
            Trigger::Name => 4,
            Trigger::Value => 5,
            Trigger::Selected => 8,
            Trigger::Id => 2,
        }
    }
}

/// Whether the `>` at `p` ends a `</select` (ASCII case ignored). Needs
/// 8 bytes before `p`.
#[inline]
pub fn closes_select(h: &[u8], p: usize) -> bool {
    p.checked_sub(8)
        .and_then(|s| h.get(s..p))
        .is_some_and(|w| w.eq_ignore_ascii_case(b"</select"))
}

/// Most [`SelectLog`] entries. Entries from the next call's field
/// frontier on are made again, and the frontier lies in the carry (at most
/// 336 bytes), where events are at least 5 bytes apart; one more gives
/// the state before it.
pub const SELECT_LOG_MAX: usize = 72;

/// Most detectors a select's name resolves to that are kept.
const SELECT_DETS: usize = 3;

/// The field of an open `<select>`: the detectors its name resolves to
/// (none when it is no field name).
#[derive(Clone, Copy, Debug)]
pub struct SelectField {
    dets: [(DetectorId, ValueCheck); SELECT_DETS],
    n: u8,
}

impl SelectField {
    const NONE: SelectField = SelectField {
        dets: [(0, ValueCheck::Credential); SELECT_DETS],
        n: 0,
    };

    /// The field's detectors.
    pub fn dets(&self) -> &[(DetectorId, ValueCheck)] {
        self.dets.get(..usize::from(self.n)).unwrap_or_default()
    }
}

/// A `<select>` opened (with its field) or closed at a stream offset.
#[derive(Clone, Copy, Debug)]
struct SelectEvent {
    at: u64,
    field: SelectField,
    open: bool,
}

/// The `<select>` elements of a stream, in stream order: which one is
/// open where. Decisions are made in stream order, and again from the
/// field frontier when a call defers them, so the log is cut back to the
/// frontier at each call ([`SelectLog::rewind`]).
#[derive(Debug, Default)]
pub struct SelectLog {
    events: Vec<SelectEvent>,
}

impl SelectLog {
    /// Most heap bytes held (the log never grows past its bound).
    pub const MAX_HEAP: usize = SELECT_LOG_MAX * std::mem::size_of::<SelectEvent>();

    /// Drops the events at or after stream offset `at` (they are decided
    /// again) and all but the last before it.
    pub fn rewind(&mut self, at: u64) {
        let keep = self.events.partition_point(|e| e.at < at);
        self.events.truncate(keep);
        self.events.drain(..keep.saturating_sub(1));
    }

    /// A select whose field has the detectors `dets` opens at stream
    /// offset `at`.
    pub fn open(&mut self, at: u64, dets: &[(DetectorId, ValueCheck)]) {
        let mut field = SelectField::NONE;
        for (slot, d) in field.dets.iter_mut().zip(dets) {
            *slot = *d;
            field.n += 1;
        }
        self.push(SelectEvent {
            at,
            field,
            open: true,
        });
    }

    /// The open select closes at stream offset `at`.
    pub fn close(&mut self, at: u64) {
        if self.is_open() {
            self.push(SelectEvent {
                at,
                field: SelectField::NONE,
                open: false,
            });
        }
    }

    fn push(&mut self, e: SelectEvent) {
        if self.events.len() >= SELECT_LOG_MAX {
            self.events.remove(0);
        } else if self.events.len() == self.events.capacity() {
            // Doubling, but never past the bound.
            let want = (self.events.capacity() * 2).clamp(4, SELECT_LOG_MAX);
            self.events.reserve_exact(want - self.events.len());
        }
        self.events.push(e);
    }

    /// Whether a select is open after the last event.
    pub fn is_open(&self) -> bool {
        self.events.last().is_some_and(|e| e.open)
    }

    /// The open select's field (no detectors when none is open).
    pub fn open_field(&self) -> SelectField {
        match self.events.last() {
            Some(e) if e.open => e.field,
            _ => SelectField::NONE,
        }
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.events.capacity() * std::mem::size_of::<SelectEvent>()
    }
}

/// Reads the bytes of one decision: up to `end`, waiting for more before
/// the end of the stream.
struct Tag<'a> {
    h: &'a [u8],
    end: usize,
    eof: bool,
}

/// One attribute of a tag.
struct Attr {
    /// Its name.
    name: (usize, usize),
    /// Its value (empty for an attribute without one) and whether it was
    /// cut at `VALUE_MAX`.
    value: (usize, usize, bool),
    /// It has a value (`=`).
    eq: bool,
    /// Where the next attribute may start.
    after: usize,
}

/// Whether an `<input>` is a radio button or checkbox, and checked: the
/// value of an unchecked one is only a choice offered, not the field's.
#[derive(Default)]
struct Choice {
    /// `type="radio"` or `type="checkbox"`.
    choice: bool,
    /// A `checked` attribute.
    checked: bool,
}

impl Choice {
    fn note(&mut self, h: &[u8], a: &Attr) {
        let name = h.get(a.name.0..a.name.1).unwrap_or_default();
        if name.eq_ignore_ascii_case(b"checked") {
            self.checked = true;
        } else if name.eq_ignore_ascii_case(b"type") {
            let v = h.get(a.value.0..a.value.1).unwrap_or_default();
            self.choice = v.eq_ignore_ascii_case(b"radio") || v.eq_ignore_ascii_case(b"checkbox");
        }
    }
}

/// A radio button or checkbox ([`Tag::choice`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceText {
    /// Not checked: no value.
    Unchecked,
    /// Checked, with its text after the tag, if any.
    Checked(Option<(usize, usize, bool)>),
}

/// What the look-behind shows of the tag holding an `id=`.
struct TagBefore<'a> {
    /// The tag's name.
    tag: &'a [u8],
    /// A `name` attribute lies before the id.
    named: bool,
    /// The `value` attribute before the id.
    value: Option<(usize, usize, bool)>,
    /// Radio button or checkbox attributes before the id.
    choice: Choice,
}

/// What the attributes of an `<option>` other than the trigger say.
#[derive(Default)]
struct OptionAttrs {
    /// A `selected` attribute.
    selected: bool,
    /// A `value=` or `selected=`: an earlier one is the option's trigger.
    trigger: bool,
    /// The `value` attribute's value.
    value: Option<(usize, usize, bool)>,
}

impl OptionAttrs {
    fn note(&mut self, h: &[u8], a: &Attr) {
        let (s, e) = a.name;
        let name = h.get(s..e).unwrap_or_default();
        if name.eq_ignore_ascii_case(b"selected") {
            self.selected = true;
            self.trigger |= a.eq;
        } else if name.eq_ignore_ascii_case(b"value") {
            self.trigger |= a.eq;
            self.value = Some(a.value);
        }
    }
}

/// Why a read stopped.
enum Stop {
    /// Past the bound or the stream's end: no pair.
    NoPair,
    /// More bytes are needed.
    More,
}

impl Tag<'_> {
    /// The byte at `i`.
    fn at(&self, i: usize) -> Result<u8, Stop> {
        if i >= self.end {
            return Err(Stop::NoPair);
        }
        match self.h.get(i) {
            Some(&b) => Ok(b),
            None if self.eof => Err(Stop::NoPair),
            None => Err(Stop::More),
        }
    }

    /// The first position from `i` that is not white space.
    fn skip_ws(&self, mut i: usize) -> Result<usize, Stop> {
        while self.at(i)?.is_ascii_whitespace() {
            i += 1;
        }
        Ok(i)
    }

    /// An attribute value at `i` (quoted or bare): (start, end, cut, the
    /// position after it). A value longer than `max` is cut there when
    /// `cut_ok`, otherwise no pair.
    fn value(
        &self,
        i: usize,
        max: usize,
        cut_ok: bool,
    ) -> Result<(usize, usize, bool, usize), Stop> {
        let i = self.skip_ws(i)?;
        let q = self.at(i)?;
        let quote = matches!(q, b'"' | b'\'');
        let s = if quote { i + 1 } else { i };
        let mut e = s;
        loop {
            let b = self.at(e)?;
            let ends = if quote {
                b == q
            } else {
                b.is_ascii_whitespace() || b == b'>'
            };
            if ends {
                break;
            }
            e += 1;
        }
        let after = if quote { e + 1 } else { e };
        match e - s {
            n if n <= max => Ok((s, e, false, after)),
            _ if cut_ok => Ok((s, s + max, true, after)),
            _ => Err(Stop::NoPair),
        }
    }

    /// The next attribute from `i`, or `Ok(None)` at the tag's end.
    fn attr(&self, i: usize) -> Result<Option<Attr>, Stop> {
        let i = self.skip_ws(i)?;
        let b = self.at(i)?;
        if b == b'>' || (b == b'/' && self.at(i + 1)? == b'>') {
            return Ok(None);
        }
        let mut e = i;
        while matches!(self.at(e)?, b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b':') {
            e += 1;
        }
        if e == i {
            return Err(Stop::NoPair);
        }
        let j = self.skip_ws(e)?;
        if self.at(j)? != b'=' {
            return Ok(Some(Attr {
                name: (i, e),
                value: (j, j, false),
                eq: false,
                after: j,
            }));
        }
        let (vs, ve, cut, after) = self.value(j + 1, VALUE_MAX, true)?;
        Ok(Some(Attr {
            name: (i, e),
            value: (vs, ve, cut),
            eq: true,
            after,
        }))
    }

    /// The position of the `>` ending the tag, reading from `i`.
    fn tag_end(&self, mut i: usize) -> Result<usize, Stop> {
        loop {
            match self.attr(i)? {
                Some(a) => i = a.after,
                None => {
                    let i = self.skip_ws(i)?;
                    return Ok(if self.at(i)? == b'/' { i + 1 } else { i });
                }
            }
        }
    }

    /// The attribute named `want` from `i` on; `Ok(None)` when the tag
    /// ends without it.
    fn find(&self, mut i: usize, want: &[u8]) -> Result<Option<(usize, usize, bool)>, Stop> {
        loop {
            let Some(a) = self.attr(i)? else {
                return Ok(None);
            };
            let (s, e) = a.name;
            if self
                .h
                .get(s..e)
                .is_some_and(|n| n.eq_ignore_ascii_case(want))
            {
                return Ok(Some(a.value));
            }
            i = a.after;
        }
    }

    /// A `<textarea>`'s text after the tag's `>` at `gt`: the text up to
    /// a `</textarea`.
    fn textarea(&self, gt: usize) -> Result<(usize, usize, bool), Stop> {
        let (text, lt) = self.text(gt)?;
        for (k, &c) in b"</textarea".iter().enumerate() {
            if !self.at(lt + k)?.eq_ignore_ascii_case(&c) {
                return Err(Stop::NoPair);
            }
        }
        Ok(text)
    }

    /// The text after the tag end at `gt`, up to the next `<`: (start,
    /// end, cut at `VALUE_MAX`), and where that `<` is.
    fn text(&self, gt: usize) -> Result<((usize, usize, bool), usize), Stop> {
        let s = gt + 1;
        let mut e = s;
        while self.at(e)? != b'<' {
            e += 1;
        }
        let text = if e - s > VALUE_MAX {
            (s, s + VALUE_MAX, true)
        } else {
            (s, e, false)
        };
        Ok((text, e))
    }

    /// Whether the range `(s, e, _)` is empty or white space.
    fn blank(&self, (s, e, _): (usize, usize, bool)) -> bool {
        self.h
            .get(s..e)
            .is_none_or(|v| v.iter().all(u8::is_ascii_whitespace))
    }

    /// Whether white space then `<opt` (an `<option` or `<optgroup`)
    /// follows the tag end at `gt`.
    /// `Ok(false)` at the bound or the stream's end.
    fn options_follow(&self, gt: usize) -> Result<bool, Stop> {
        let follow = || -> Result<bool, Stop> {
            let i = self.skip_ws(gt + 1)?;
            for (k, &c) in b"<opt".iter().enumerate() {
                if !self.at(i + k)?.eq_ignore_ascii_case(&c) {
                    return Ok(false);
                }
            }
            Ok(true)
        };
        match follow() {
            Err(Stop::NoPair) => Ok(false),
            r => r,
        }
    }

    /// The tag holding the attribute whose name starts at `name`, read in
    /// the look-behind: each attribute before `name` goes to `each`; the
    /// tag's name, or `None` when its `<` lies beyond [`OPTION_BEHIND`].
    fn attrs_before(&self, name: usize, mut each: impl FnMut(&Attr)) -> Option<&[u8]> {
        let w = self.h.get(name.saturating_sub(OPTION_BEHIND)..name)?;
        let lt = memchr::memrchr(b'<', w)?;
        let tag = w.get(lt + 1..)?;
        let len = tag.iter().position(|b| !b.is_ascii_alphanumeric())?;
        if len == 0 || !tag.get(len)?.is_ascii_whitespace() {
            return None;
        }
        self.each_attr_before(name - (tag.len() - len), name, &mut each);
        tag.get(..len)
    }

    /// Gives `each` the attributes from `i` up to the one whose name
    /// starts at `name` (excluded).
    fn each_attr_before(&self, mut i: usize, name: usize, each: &mut impl FnMut(&Attr)) {
        // One byte of the trigger's name in bounds, so that an attribute
        // right before it ends (`<option selected value=`).
        let before = Tag {
            h: self.h,
            end: name + 1,
            eof: true,
        };
        while let Ok(Some(a)) = before.attr(i) {
            if a.name.0 >= name {
                break;
            }
            each(&a);
            i = a.after;
        }
    }

    /// When the tag's `<` lies beyond the look-behind (a long `class`
    /// first: `<input class="form-check-input" type="radio" name=`): the
    /// attributes after the first quoted value that ends in it, so a
    /// `type` or `checked` between that and `name` is seen. Nothing when a
    /// `<` or `>` stands in the look-behind (another tag's bytes).
    fn quoted_attrs_before(&self, name: usize, mut each: impl FnMut(&Attr)) {
        let from = name.saturating_sub(OPTION_BEHIND);
        let Some(w) = self.h.get(from..name) else {
            return;
        };
        if memchr::memchr2(b'<', b'>', w).is_some() {
            return;
        }
        let Some(j) = w
            .windows(2)
            .position(|p| matches!(p[0], b'"' | b'\'') && p[1].is_ascii_whitespace())
        else {
            return;
        };
        self.each_attr_before(from + j + 1, name, &mut each);
    }

    /// The attributes of the `<option` whose attribute `name` starts at
    /// `name`: those before it, read in the look-behind; `None` when no
    /// `<option` starts there.
    fn option_before(&self, name: usize) -> Option<OptionAttrs> {
        let mut attrs = OptionAttrs::default();
        let tag = self.attrs_before(name, |a| attrs.note(self.h, a))?;
        tag.eq_ignore_ascii_case(b"option").then_some(attrs)
    }

    /// What the look-behind shows of the tag holding the attribute whose
    /// name starts at `name` ([`Tag::attrs_before`]).
    fn tag_before(&self, name: usize) -> Option<TagBefore<'_>> {
        let (mut named, mut value, mut choice) = (false, None, Choice::default());
        let tag = self.attrs_before(name, |a| {
            let n = self.h.get(a.name.0..a.name.1).unwrap_or_default();
            named |= n.eq_ignore_ascii_case(b"name");
            if n.eq_ignore_ascii_case(b"value") {
                value = Some(a.value);
            }
            choice.note(self.h, a);
        })?;
        Some(TagBefore {
            tag,
            named,
            value,
            choice,
        })
    }

    /// Whether the tag holding the trigger whose name starts at `name` is
    /// a radio button or checkbox, and checked: its attributes before the
    /// trigger (when its start is in the look-behind; otherwise only a
    /// `type` after the trigger tells) and from `after` to the tag's end
    /// (within the bound: an attribute beyond it is not seen). `None`: no
    /// radio button or checkbox; `Some(text)`: checked or not, with the
    /// text after a checked one's tag (see [`Pair::text`]).
    fn choice(&self, name: usize, mut after: usize) -> Result<Option<ChoiceText>, Stop> {
        let mut c = Choice::default();
        match self.attrs_before(name, |a| c.note(self.h, a)) {
            Some(tag) if !tag.eq_ignore_ascii_case(b"input") => return Ok(None),
            Some(_) => {}
            None => self.quoted_attrs_before(name, |a| c.note(self.h, a)),
        }
        let end = loop {
            match self.attr(after) {
                Ok(Some(a)) => {
                    c.note(self.h, &a);
                    after = a.after;
                }
                Ok(None) => break Some(self.tag_end(after)?),
                Err(Stop::NoPair) => break None,
                Err(Stop::More) => return Err(Stop::More),
            }
        };
        if !c.choice {
            return Ok(None);
        }
        if !c.checked {
            return Ok(Some(ChoiceText::Unchecked));
        }
        let text = match end.map(|gt| self.text(gt)) {
            Some(Ok((t, _))) if !self.blank(t) => Some(t),
            Some(Err(Stop::More)) => return Err(Stop::More),
            _ => None,
        };
        Ok(Some(ChoiceText::Checked(text)))
    }

    /// What an `id=` (the `=` at `p`) starts: in a tag without a `name`,
    /// a pair of the id and the tag's value.
    fn id_control(&self, p: usize) -> Result<Control, Stop> {
        let Some(TagBefore {
            tag,
            named,
            value,
            mut choice,
        }) = self.tag_before(p - Trigger::Id.name_len())
        else {
            return Ok(Control::Tag);
        };
        let is = |t: &[u8]| tag.eq_ignore_ascii_case(t);
        if named || VOID.iter().chain(&NO_TEXT).any(|t| is(t)) {
            return Ok(Control::Tag);
        }
        let (ks, ke, _, mut i) = self.value(p + 1, NAME_MAX, false)?;
        let mut value = value;
        while let Some(a) = self.attr(i)? {
            let n = self.h.get(a.name.0..a.name.1).unwrap_or_default();
            if n.eq_ignore_ascii_case(b"name") {
                return Ok(Control::Tag);
            }
            if n.eq_ignore_ascii_case(b"value") {
                value = Some(a.value);
            }
            choice.note(self.h, &a);
            i = a.after;
        }
        let gt = self.skip_ws(i)?;
        let (vs, ve, cut) = if is(b"input") {
            match value {
                Some(_) if choice.choice && !choice.checked => return Ok(Control::Tag),
                Some(v) => v,
                None => return Ok(Control::Tag),
            }
        } else if is(b"select") {
            return Ok(if self.options_follow(gt)? {
                Control::Select((ks, ke))
            } else {
                Control::Tag
            });
        } else if is(b"textarea") {
            match self.textarea(gt) {
                Err(Stop::NoPair) => return Ok(Control::Tag),
                r => r?,
            }
        } else if self.at(gt)? == b'>' {
            match self.text(gt)? {
                (v, _) if !self.blank(v) => v,
                _ => return Ok(Control::Tag),
            }
        } else {
            return Ok(Control::Tag);
        };
        Ok(if vs < ve {
            Control::Pair(Pair {
                key: (ks, ke),
                value: (vs, ve),
                cut,
                text: None,
                choice: None,
            })
        } else {
            Control::Tag
        })
    }

    /// A selected option's value, from its first `value=` or `selected=`
    /// (the `=` at `p`, the option's earlier attributes in `before`).
    fn option(&self, p: usize, t: Trigger, mut attrs: OptionAttrs) -> Result<Control, Stop> {
        if attrs.trigger {
            return Ok(Control::Tag);
        }
        let (vs, ve, cut, mut i) = self.value(p + 1, VALUE_MAX, true)?;
        if t == Trigger::Value {
            attrs.value = Some((vs, ve, cut));
        } else {
            attrs.selected = true;
        }
        while let Some(a) = self.attr(i)? {
            attrs.note(self.h, &a);
            i = a.after;
        }
        let gt = self.skip_ws(i)?;
        if !attrs.selected || self.at(gt)? != b'>' {
            return Ok(Control::Tag);
        }
        self.selected_text(gt, attrs.value)
    }

    /// A selected option's value: its text after the tag's `>` at `gt`
    /// (up to the next `<`), or its `value` attribute when the text is
    /// blank.
    fn selected_text(
        &self,
        gt: usize,
        value: Option<(usize, usize, bool)>,
    ) -> Result<Control, Stop> {
        let (text, _) = self.text(gt)?;
        Ok(match value {
            Some(v) if self.blank(text) && !self.blank(v) => Control::Selected(v),
            _ if self.blank(text) => Control::Tag,
            _ => Control::Selected(text),
        })
    }

    /// What the attribute ending at the `=` at `p` starts.
    fn control(&self, p: usize, t: Trigger) -> Result<Control, Stop> {
        if t != Trigger::Name {
            if let Some(attrs) = self.option_before(p - t.name_len()) {
                return self.option(p, t, attrs);
            }
        }
        let choice_at = |after| ChoiceAt {
            eq: p,
            name: p - t.name_len(),
            after,
        };
        let (key, value) = match t {
            Trigger::Name => {
                let (ks, ke, _, after) = self.value(p + 1, NAME_MAX, false)?;
                let value = match self.find(after, b"value")? {
                    Some(v) => (v, Some(choice_at(after))),
                    None => {
                        let gt = self.tag_end(after)?;
                        match self.textarea(gt) {
                            Err(Stop::NoPair) if self.options_follow(gt)? => {
                                return Ok(Control::Select((ks, ke)))
                            }
                            Err(Stop::NoPair) => return Ok(Control::Tag),
                            r => (r?, None),
                        }
                    }
                };
                ((ks, ke), value)
            }
            Trigger::Selected => return Ok(Control::None),
            Trigger::Id => return self.id_control(p),
            Trigger::Value => {
                let (vs, ve, cut, after) = self.value(p + 1, VALUE_MAX, true)?;
                let key = match self.find(after, b"name")? {
                    Some((ks, ke, false)) if ke - ks <= NAME_MAX => (ks, ke),
                    _ => return Ok(Control::Tag),
                };
                (key, ((vs, ve, cut), Some(choice_at(after))))
            }
        };
        let ((vs, ve, cut), choice) = value;
        Ok(if vs < ve || choice.is_some() {
            Control::Pair(Pair {
                key,
                value: (vs, ve),
                cut,
                text: None,
                choice,
            })
        } else {
            Control::Tag
        })
    }
}

/// Whether the `>` at `p` may end an `<option …selected>` tag (a bare
/// `selected` right before it). Needs 9 bytes before `p`.
#[inline]
pub fn may_end_selected(h: &[u8], p: usize) -> bool {
    p.checked_sub(9)
        .and_then(|s| h.get(s..p))
        .and_then(|w| w.split_first())
        .is_some_and(|(b, w)| b.is_ascii_whitespace() && w.eq_ignore_ascii_case(b"selected"))
}

/// What the `>` at `p` ends: a selected option that has no `value=` or
/// `selected=` to start it (`<option selected>回族`), read within
/// [`ATTR_AHEAD`]; `Control::Tag` for any other tag (an option with such
/// an attribute is decided from it).
pub fn selected_at_gt(h: &[u8], p: usize, eof: bool) -> Result<Control, NeedMore> {
    let tag = Tag {
        h,
        end: p + ATTR_AHEAD,
        eof,
    };
    let Some(attrs) = tag.option_before(p) else {
        return Ok(Control::Tag);
    };
    if attrs.trigger || !attrs.selected {
        return Ok(Control::Tag);
    }
    match tag.selected_text(p, None) {
        Ok(c) => Ok(c),
        Err(Stop::NoPair) => Ok(Control::None),
        Err(Stop::More) => Err(NeedMore),
    }
}

/// What the attribute whose `=` is at `p` (a [`trigger`]) starts, read
/// within [`ATTR_AHEAD`]; `Err(NeedMore)` when the bytes are not all
/// there yet.
pub fn control_at(h: &[u8], p: usize, eof: bool, t: Trigger) -> Result<Control, NeedMore> {
    let tag = Tag {
        h,
        end: p + ATTR_AHEAD,
        eof,
    };
    match tag.control(p, t) {
        Ok(c) => Ok(c),
        Err(Stop::NoPair) => Ok(Control::None),
        Err(Stop::More) => Err(NeedMore),
    }
}

/// Whether the tag of the pair whose trigger is `at` is a radio button or
/// checkbox, and checked (see [`Tag::choice`]); read within the pair's
/// bound, so the result does not depend on the split.
///
/// # Errors
/// `NeedMore` when the tag's end is not in `h` yet.
pub fn choice_at(h: &[u8], at: ChoiceAt, eof: bool) -> Result<Option<ChoiceText>, NeedMore> {
    let tag = Tag {
        h,
        end: at.eq + ATTR_AHEAD,
        eof,
    };
    match tag.choice(at.name, at.after) {
        Ok(c) => Ok(c),
        Err(Stop::NoPair) => Ok(None),
        Err(Stop::More) => Err(NeedMore),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    /// The (name, value) strings of the pair at the first `=` after `at`.
    fn pair(h: &str, at: &str, eof: bool) -> Result<Option<(String, String)>, NeedMore> {
        let b = h.as_bytes();
        let s = |(x, y): (usize, usize)| String::from_utf8_lossy(&b[x..y]).into_owned();
        Ok(resolved(h, at, eof)?.map(|q| (s(q.key), s(q.value))))
    }

    /// The pair at the first `=` after `at`, its radio button or checkbox
    /// decided as the scanner does for a field's name ([`choice_at`]).
    fn resolved(h: &str, at: &str, eof: bool) -> Result<Option<Pair>, NeedMore> {
        let b = h.as_bytes();
        let p = h.find(at).expect("trigger") + at.len() - 1;
        let t = trigger(b, p).expect("a trigger");
        let Control::Pair(mut q) = control_at(b, p, eof, t)? else {
            return Ok(None);
        };
        match q
            .choice
            .map(|c| choice_at(b, c, eof))
            .transpose()?
            .flatten()
        {
            Some(ChoiceText::Unchecked) => return Ok(None),
            Some(ChoiceText::Checked(text)) => q.text = text,
            None => {}
        }
        Ok((q.value.0 < q.value.1).then_some(q))
    }

    fn some(k: &str, v: &str) -> Option<(String, String)> {
        Some((k.to_string(), v.to_string()))
    }

    #[test]
    fn controls_in_either_order() {
        let h = r#"<input type="text" name="realName" class="form-control" value="张伟" required>"#;
        assert_eq!(pair(h, " name=", true), Ok(some("realName", "张伟")));
        assert_eq!(pair(h, " value=", true), Ok(None));
        let h = r#"<input type="text" value="张伟" name="user[name]" id="user_name" />"#;
        assert_eq!(pair(h, " value=", true), Ok(some("user[name]", "张伟")));
        assert_eq!(pair(h, " name=", true), Ok(None));
        let h = "<INPUT NAME=xm VALUE=张伟>";
        assert_eq!(pair(h, " NAME=", true), Ok(some("xm", "张伟")));
        let h = "<textarea name=\"address\" rows=\"3\">北京市海淀区中关村大街27号</textarea>";
        assert_eq!(
            pair(h, " name=", true),
            Ok(some("address", "北京市海淀区中关村大街27号"))
        );
    }

    #[test]
    fn radio_buttons_and_checkboxes_count_only_checked() {
        for h in [
            r#"<input type="radio" name="zzmm" value="群众" checked>"#,
            r#"<input type="checkbox" name="zzmm" value="群众" checked="checked" />"#,
            r#"<input name="zzmm" type="RADIO" class="r" value="群众" checked>"#,
            r#"<input name="zzmm" value="群众" type="text">"#,
            r#"<span type="radio" name="zzmm" value="群众">"#,
        ] {
            assert_eq!(pair(h, " name=", true), Ok(some("zzmm", "群众")), "{h}");
        }
        let h = r#"<input type="radio" value="群众" name="zzmm" checked>"#;
        assert_eq!(pair(h, " value=", true), Ok(some("zzmm", "群众")));
        for (h, at) in [
            (r#"<input type="radio" name="zzmm" value="群众">"#, " name="),
            (
                r#"<input type="checkbox" name="zzmm" value="群众" />"#,
                " name=",
            ),
            (r#"<input name="zzmm" value="群众" type="radio">"#, " name="),
            (
                r#"<input type="radio" value="群众" name="zzmm">"#,
                " value=",
            ),
            (
                r#"<input value="群众" name="zzmm" type="checkbox">"#,
                " value=",
            ),
        ] {
            assert_eq!(pair(h, at, true), Ok(None), "{h}");
        }
        // A checked one's text after its tag: the value when the `value`
        // attribute is a code.
        let text = |h: &str, at: &str| {
            let q = resolved(h, at, true).unwrap()?;
            q.text.map(|(s, e, _)| h[s..e].trim().to_string())
        };
        let h = r#"<input type="radio" name="zzmm" value="13" checked> 群众 <input "#;
        assert_eq!(text(h, " name="), Some("群众".to_string()));
        let h = r#"<label><input value="13" type="radio" name="zzmm" checked/>群众</label>"#;
        assert_eq!(text(h, " value="), Some("群众".to_string()));
        let h = r#"<input type="radio" name="zzmm" value="13" checked><label>群众</label>"#;
        assert_eq!(text(h, " name="), None, "blank text");
        let h = r#"<input type="text" name="zzmm" value="13">群众<br>"#;
        assert_eq!(text(h, " name="), None, "no choice");
        // Named by an id: the same rule.
        let h = r#"<input type="checkbox" id="religion" value="佛教">"#;
        assert_eq!(pair(h, " id=", true), Ok(None));
        let h = r#"<input type="checkbox" id="religion" value="佛教" checked>"#;
        assert_eq!(pair(h, " id=", true), Ok(some("religion", "佛教")));
        // A tag whose start is beyond the look-behind: its `type` after
        // the trigger tells.
        let far = format!(
            r#"<input class="{}" name="zzmm" value="群众" type="radio">"#,
            "c".repeat(40)
        );
        assert_eq!(pair(&far, " name=", true), Ok(None));
        // Beyond the look-behind, a long class first (Bootstrap's
        // `form-check-input`): the attributes after its quoted value tell.
        let h =
            r#"<input class="form-check-input" type="radio" name="zzmm" id="r1" value="中共党员">"#;
        assert_eq!(pair(h, " name=", true), Ok(None));
        let h = r#"<input class="form-check-input" type="radio" name="zzmm" id="r3" value="群众" checked>"#;
        assert_eq!(pair(h, " name=", true), Ok(some("zzmm", "群众")));
        let h = r#"<input class="form-check-input" checked type="checkbox" name="religion" value="佛教">"#;
        assert_eq!(pair(h, " name=", true), Ok(some("religion", "佛教")));
        let h =
            r#"<input class="form-control form-control-lg" type="text" name="xm" value="张伟">"#;
        assert_eq!(pair(h, " name=", true), Ok(some("xm", "张伟")));
        // No quoted value ends in the look-behind: nothing is guessed.
        let far = format!(
            r#"<input class={} type=radio name="zzmm" value="群众">"#,
            "c".repeat(40)
        );
        assert_eq!(pair(&far, " name=", true), Ok(some("zzmm", "群众")));
        // The tag's end decides: not all there, more bytes are needed.
        let h = r#"<input type="radio" name="zzmm" value="群众" "#;
        assert_eq!(pair(h, " name=", false), Err(NeedMore));
        assert_eq!(pair(h, " name=", true), Ok(None));
    }

    #[test]
    fn no_pair_where_no_control() {
        // A meta tag, an empty textarea, a select, a URL, script.
        for (h, at) in [
            (
                r#"<meta name="author" content="张伟"><title>x</title>"#,
                " name=",
            ),
            (r#"<textarea name="dz"></textarea>"#, " name="),
            (
                r#"<select name="mz"><option value="1">汉族</option></select>"#,
                " name=",
            ),
            (r#"<option value="张伟" selected>张伟</option>"#, " value="),
            (r#"<input name="xm" value="">"#, " name="),
        ] {
            assert_eq!(pair(h, at, true), Ok(None), "{h}");
        }
        assert_eq!(trigger(b"a?name=xm", 7), None);
        // A tag's `name` holds a control name; in a log line it does not.
        let at = |h: &str, eof| {
            let p = h.find(" name=").expect("name") + 5;
            control_at(h.as_bytes(), p, eof, Trigger::Name)
        };
        assert_eq!(
            at(r#"<input type="text" name="宗教信仰">"#, true),
            Ok(Control::Tag)
        );
        assert_eq!(
            at(r#"<meta name="author" content="x"/>"#, true),
            Ok(Control::Tag)
        );
        assert_eq!(
            at(r#"login name="张伟" age=30 ok"#, true),
            Ok(Control::None)
        );
        assert_eq!(trigger(b"el.value=1", 8), None);
    }

    #[test]
    fn waits_for_its_bytes_then_decides_within_the_bound() {
        let h = r#"<input name="xm" class="a" value="张"#;
        assert_eq!(pair(h, " name=", false), Err(NeedMore));
        assert_eq!(pair(h, " name=", true), Ok(None));
        // A tag longer than the bound is no pair, however many bytes follow.
        let long = format!(
            r#"<input name="xm" class="{}" value="张伟">"#,
            "a".repeat(ATTR_AHEAD)
        );
        assert_eq!(pair(&long, " name=", false), Ok(None));
        // A name longer than the bound is no key.
        let long = format!(
            r#"<input name="{}" value="张伟">"#,
            "a".repeat(NAME_MAX + 1)
        );
        assert_eq!(pair(&long, " name=", true), Ok(None));
    }

    proptest::proptest! {
        /// A decision made on a prefix of the bytes is the decision on all
        /// of them, or a wait: the result does not depend on the split.
        #[test]
        fn prefix_decisions_agree_with_the_whole(
            parts in proptest::collection::vec(proptest::prop_oneof![
                proptest::sample::select(vec![
                    "<input ", " name=", " value=", "\"xm\"", "'张伟'", "\"", ">", "/>",
                    "</textarea>", " ", "a", "=", "<option", " selected", " selected=",
                    "<select", "<opt", "</select>", " id=", "<span",
                    " type=radio", " type=\"checkbox\"", " checked",
                ]).prop_map(str::to_string),
                "[a-z\\[\\] ]{0,6}",
            ], 0..40),
        ) {
            let h = parts.concat();
            let b = h.as_bytes();
            for p in 0..b.len() {
                let Some(t) = trigger(b, p) else { continue };
                let whole = control_at(b, p, true, t);
                proptest::prop_assert!(whole.is_ok());
                for k in p + 1..=b.len() {
                    match control_at(&b[..k], p, false, t) {
                        Err(NeedMore) => {}
                        got => proptest::prop_assert_eq!(got, whole, "{:?} cut at {}", h, k),
                    }
                }
                // A pair's radio button or checkbox, likewise.
                let Ok(Control::Pair(Pair { choice: Some(at), .. })) = whole else { continue };
                let whole = choice_at(b, at, true);
                proptest::prop_assert!(whole.is_ok());
                for k in p + 1..=b.len() {
                    match choice_at(&b[..k], at, false) {
                        Err(NeedMore) => {}
                        got => proptest::prop_assert_eq!(got, whole, "{:?} cut at {}", h, k),
                    }
                }
            }
        }
    }

    /// What the trigger at the first `at` in `h` decides, with the
    /// decided ranges as strings.
    fn decide(h: &str, at: &str, eof: bool) -> Result<String, NeedMore> {
        let b = h.as_bytes();
        let p = h.find(at).expect("trigger") + at.len() - 1;
        let t = trigger(b, p).expect("a trigger");
        let s = |x: usize, y: usize| String::from_utf8_lossy(&b[x..y]).into_owned();
        Ok(match control_at(b, p, eof, t)? {
            Control::Select((x, y)) => format!("select {}", s(x, y)),
            Control::Selected((x, y, _)) => format!("selected {}", s(x, y)),
            Control::Pair(q) => format!("pair {}", s(q.key.0, q.key.1)),
            Control::Tag => "tag".into(),
            Control::None => "none".into(),
        })
    }

    #[test]
    fn selects_open_and_options_give_their_text() {
        let sel =
            "<select name=\"mz\" class=\"form-control\">\n  <option value=\"\">请选择</option>";
        assert_eq!(decide(sel, " name=", true).as_deref(), Ok("select mz"));
        let grouped = "<SELECT NAME='info[zzmm]'><optgroup label=\"党派\">";
        assert_eq!(
            decide(grouped, " NAME=", true).as_deref(),
            Ok("select info[zzmm]")
        );
        // Every way a template marks the selected option, from its first
        // trigger only.
        for (h, at, want) in [
            (
                r#"<option value="02" selected>回族</option>"#,
                " value=",
                "selected 回族",
            ),
            (
                r#"<option value="02" selected="selected">回族</option>"#,
                " value=",
                "selected 回族",
            ),
            (
                r#"<option value="02" selected="selected">回族</option>"#,
                " selected=",
                "tag",
            ),
            (
                r#"<option selected="selected" value="02">回族</option>"#,
                " selected=",
                "selected 回族",
            ),
            (
                r#"<option selected="selected" value="02">回族</option>"#,
                " value=",
                "tag",
            ),
            (
                r#"<option selected value="02">回族</option>"#,
                " value=",
                "selected 回族",
            ),
            (
                r#"<OPTION VALUE=02 SELECTED>回族</OPTION>"#,
                " VALUE=",
                "selected 回族",
            ),
            (
                r#"<option value="回族" selected></option>"#,
                " value=",
                "selected 回族",
            ),
            (r#"<option value="02">回族</option>"#, " value=", "tag"),
            (r#"<option value="" selected> </option>"#, " value=", "tag"),
        ] {
            assert_eq!(decide(h, at, true).as_deref(), Ok(want), "{h} at {at}");
        }
        // Not a select: an input, a select without options, a datalist's
        // input; an option whose tag starts beyond the look-behind.
        for (h, at, want) in [
            (
                r#"<input name="mz"><option value="1">"#,
                " name=",
                "select mz",
            ),
            (r#"<input name="mz"> <b>"#, " name=", "tag"),
            (r#"<select name="mz"></select>"#, " name=", "tag"),
            (
                r#"<option data-pinyin="huizu-hui-zu" value="02" selected>回族</option>"#,
                " value=",
                "tag",
            ),
        ] {
            assert_eq!(decide(h, at, true).as_deref(), Ok(want), "{h}");
        }
        // An option's text is read within the bound, waiting for it.
        let h = r#"<option value="02" selected>回"#;
        assert_eq!(decide(h, " value=", false), Err(NeedMore));
        assert_eq!(decide(h, " value=", true).as_deref(), Ok("none"));
        // `<option selected>` has no trigger: decided at its `>`.
        let gt = |h: &str, eof| {
            let b = h.as_bytes();
            let p = h.find('>').expect("gt");
            assert!(may_end_selected(b, p), "{h}");
            let s = |x: usize, y: usize| String::from_utf8_lossy(&b[x..y]).into_owned();
            selected_at_gt(b, p, eof).map(|c| match c {
                Control::Selected((x, y, _)) => s(x, y),
                c => format!("{c:?}"),
            })
        };
        assert_eq!(
            gt("<option selected>回族</option>", true).as_deref(),
            Ok("回族")
        );
        assert_eq!(
            gt("<OPTION class=\"x\" SELECTED>\n回族\n</option>", true).as_deref(),
            Ok("\n回族\n")
        );
        assert_eq!(
            gt("<option value=\"2\" selected>回族</option>", true).as_deref(),
            Ok("Tag")
        );
        assert_eq!(gt("<input selected>回族<", true).as_deref(), Ok("Tag"));
        assert_eq!(gt("<option selected>回族", false), Err(NeedMore));
        assert!(!may_end_selected(b"<option preselected>", 19));
        assert!(closes_select(b"</option></SELECT>", 17));
        assert!(!closes_select(b"<select>", 7));
    }

    #[test]
    fn ids_name_values_in_tags_without_a_name() {
        let pair = |h: &str| decide(h, if h.contains(" ID=") { " ID=" } else { " id=" }, true);
        for (h, want) in [
            (
                r#"<input type="text" id="realName" value="张伟" readonly>"#,
                "pair realName",
            ),
            (r#"<input value="张伟" id="realName">"#, "pair realName"),
            (r#"<span class="v" id="xm">张伟</span>"#, "pair xm"),
            (r#"<TD ID=sfzh>110105194912310021</TD>"#, "pair sfzh"),
            (
                r#"<textarea id="address" rows="3">北京市海淀区</textarea>"#,
                "pair address",
            ),
            (
                r#"<select id="nation"><option value="1">汉族</option>"#,
                "select nation",
            ),
            // A name decides (its own trigger reports the pair), before
            // or after the id.
            (r#"<input name="xm" id="xm" value="张伟">"#, "tag"),
            (r#"<input id="xm" value="张伟" name="user[xm]">"#, "tag"),
            // No value of its own.
            (r#"<img id="idcard" src="a.png">110105194912310021"#, "tag"),
            (r#"<script id="name">var a;</script>"#, "tag"),
            (r#"<div id="address"><p>北京市</p></div>"#, "tag"),
            (r#"<input id="xm" type="text">"#, "tag"),
            (r#"<span id="xm"></span>"#, "tag"),
            // The tag's start beyond the look-behind: not known to have
            // no name.
            (
                r#"<input class="form-control input-lg" type="text" id="xm" value="张伟">"#,
                "tag",
            ),
        ] {
            assert_eq!(pair(h).as_deref(), Ok(want), "{h}");
        }
        // `data-id=` is no trigger.
        let h = b"<span data-id=\"xm\">";
        assert_eq!(trigger(h, 13), None);
        let pair_value = |h: &str| {
            let b = h.as_bytes();
            let p = h.find(" id=").unwrap() + 3;
            match control_at(b, p, true, Trigger::Id) {
                Ok(Control::Pair(q)) => {
                    String::from_utf8_lossy(&b[q.value.0..q.value.1]).into_owned()
                }
                c => format!("{c:?}"),
            }
        };
        assert_eq!(pair_value(r#"<input value="张伟" id="realName">"#), "张伟");
        assert_eq!(pair_value(r#"<em id="xm">张伟</em>"#), "张伟");
    }

    #[test]
    fn the_select_log_rewinds_to_the_frontier() {
        let dets = [(3u16, ValueCheck::Ethnicity)];
        let mut log = SelectLog::default();
        log.open(10, &dets);
        log.close(50);
        log.close(60);
        log.open(70, &[]);
        assert!(log.is_open());
        assert!(log.open_field().dets().is_empty(), "no field name");
        // Decided again from 50 on: open since 10.
        log.rewind(50);
        assert_eq!(log.open_field().dets(), &dets[..]);
        log.close(50);
        log.rewind(55);
        assert!(!log.is_open(), "closed at 50");
        for k in 0..2 * SELECT_LOG_MAX as u64 {
            log.open(100 + k, &dets);
        }
        assert_eq!(log.events.len(), SELECT_LOG_MAX);
        assert!(log.heap_bytes() <= SelectLog::MAX_HEAP);
        log.rewind(0);
        assert!(!log.is_open());
    }

    #[test]
    fn long_values_are_cut() {
        let v = "路".repeat(40);
        let h = format!(r#"<input name="address" value="{v}">"#);
        let b = h.as_bytes();
        let p = h.find(" name=").unwrap() + 5;
        let q = match control_at(b, p, true, Trigger::Name).unwrap() {
            Control::Pair(q) => q,
            c => panic!("{c:?}"),
        };
        assert!(q.cut);
        assert_eq!(q.value.1 - q.value.0, VALUE_MAX);
    }
}
