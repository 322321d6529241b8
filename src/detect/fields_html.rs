//! HTML labels for the field family: a field whose name is the text of one
//! element and whose value is the text of the next, as profile pages,
//! forms and printed records lay PI out (`<th>姓名</th><td>张伟</td>`,
//! `<dt>住址</dt><dd>…</dd>`, `<span>姓名：</span><span>王芳</span>`).
//!
//! Two forms:
//! - a label ending in a colon (`:` or `：`) is the field family's colon
//!   separator; when markup follows it, the value is the first text after
//!   that markup ([`skip_markup`], called by `fields::value_after`);
//! - a label without a colon, the text right after a `>`
//!   ([`label_after`]), counts only where the layout says it is a label,
//!   because a table's header row has the same shape
//!   (`<th>姓名</th><th>单位</th>`, and 单 is a surname): a `th`, `dt` or
//!   `label` element followed by an element of another kind (wrappers of
//!   the label, such as its grid column's `div`, may close in between,
//!   when no other label opens: then the value must not be a header word
//!   or field name either), or a `td`
//!   followed by a `td` that ends its row or is followed by another `td`
//!   (key/value rows of two, four or six columns:
//!   `<td>姓名</td><td>张伟</td><td>性别</td><td>男</td>`). A header row
//!   written with `td`s has that shape too; its "values" are header words
//!   or field names, which the field scan rejects, or free text, which
//!   counts only in a two-column row whose label opens the row
//!   ([`CellEnd`]).
//!
//! Between label and value only tags and white space may stand: closing
//! tags first, then opening ones. A label names the `<select>` after it
//! by the same layouts. A row, table or list end, or a form control or
//! line break, ends the pair. Everything is bounded (label
//! [`LABEL_MAX`], markup [`MARKUP_MAX`], value `VALUE_MAX`, cell end
//! [`CELL_END_MAX`]), so a decision needs at most [`LABEL_AHEAD`] bytes
//! after the `>`; with fewer bytes it waits (`NeedMore`), and at the end
//! of the stream a pair that is not complete is no pair, so the result
//! does not depend on where the stream was split.

use super::fields::{NeedMore, VALUE_MAX};

/// Longest label text (bytes, white space included): 8 Han characters.
pub const LABEL_MAX: usize = 24;
/// Longest markup between a label and its value or the `<select` it names
/// (`</td>\n  <td class="v">`; indented form layouts: `</label>\n    <div
/// class="col-sm-10">\n        <p class="form-control-static">`).
pub const MARKUP_MAX: usize = 128;
/// Longest markup after a value in a key/value row: its cell's end, then
/// the row's end or the next cell's start (`</td>\n        <td `).
pub const CELL_END_MAX: usize = 24;
/// Bytes before a label's `>` looked at for the row's start (`<tr>` and
/// the label's `<td …>`): the look-behind the stream keeps before every
/// undecided position, so the result does not depend on the split.
pub const ROW_START_MAX: usize = super::signature::MAX_WORD_LEN;
/// Bytes after the `>` a label-form decision may need.
pub const LABEL_AHEAD: usize = LABEL_MAX + 1 + MARKUP_MAX + VALUE_MAX + 1 + CELL_END_MAX;

/// A tag name, ASCII lowercase, one byte per byte of a `u64` from the
/// least significant (longer names cut at 8).
type TagName = u64;

/// The markup between a label and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Markup {
    /// Where the value's text starts, or the `<` of the `<select` tag
    /// that holds the value.
    pub value: usize,
    /// The markup ends at a `<select` tag: the value is its selected
    /// option (`<label>民族</label><select name="f12">`).
    pub select: bool,
    /// The last element closed (the label's cell).
    closed: Option<TagName>,
    /// The first element opened (the value's cell).
    opened: Option<TagName>,
    /// Some `th`, `dt` or `label` element was closed (the label's, with
    /// wrappers closed after it: `</label></div><div><select>`).
    closed_label: bool,
    /// Some `th`, `dt` or `label` element, or one whose class names it
    /// a label ([`class_says_label`]), was opened (the next label's).
    opened_label: bool,
}

impl Markup {
    /// After a label named by its class ([`classed_label`]): its element
    /// was closed (maybe wrappers too, never a table cell, whose own rules
    /// decide) and no other label was opened. A grid of such labels has
    /// the shape too, so the value may be a header word instead.
    fn classed_then_other(&self) -> bool {
        self.closed.is_some_and(|c| c != name("td")) && !self.opened_label
    }

    /// The label's element was closed, then only wrappers (`div`,
    /// `span`…, never a table cell) and no other label was opened: the
    /// text before is the label of what follows
    /// (`<div><label>民族</label></div><div class="col"><select>`).
    fn label_then_wrappers(&self) -> bool {
        self.closed_label && !self.opened_label && self.closed != Some(name("td"))
    }
}

/// A label-form pair: where the label and the value lie in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    /// The label text (trimmed).
    pub key: (usize, usize),
    /// The value text (raw: not trimmed).
    pub value: (usize, usize),
    /// The value was cut at `VALUE_MAX`.
    pub cut: bool,
    /// A `td` label and value (a key/value row) and what ends the value's
    /// cell: the value may be a header cell instead ([`header_word`]).
    pub cells: Option<CellEnd>,
    /// The value is the selected option of the select whose tag starts
    /// at `value.0` (`value` is empty).
    pub select: bool,
    /// Wrappers of the label closed before the value's element opened
    /// (`<div><label>姓名</label></div><div>张伟`): a grid of labels has
    /// that shape too, so the value may be a header word instead.
    pub wrapped: bool,
}

/// What follows the value cell of a `td` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellEnd {
    /// A two-column row: the label's cell opens it, the value's ends it.
    Row,
    /// Another cell (a row of four or six columns), or the row's end
    /// after a label that did not open the row. A header row written with
    /// `td`s has this shape at every cell, its last included, so only
    /// values that a strict check accepts count here, not free text.
    Cell,
}

/// Common table-header words that a loose value check (a name: 2-4 Han
/// characters starting with a surname) would take for a value, as the
/// second cell of a two-column header row (`<td>姓名</td><td>单位</td>`).
const HEADER_WORDS: &[&str] = &[
    "单位",
    "单位名称",
    "金额",
    "余额",
    "单价",
    "时间",
    "时长",
    "时段",
    "时间段",
    "成绩",
    "方式",
    "方法",
    "项目",
    "明细",
    "全称",
    "高度",
    "程度",
    "文化程度",
    "车牌",
    "车牌号",
    "车型",
    "车辆",
    "车次",
    "房号",
    "房间",
    "房型",
    "楼层",
    "楼号",
    "单元",
    "门牌号",
    "区域",
    "区县",
    "国家",
    "国籍",
    "关系",
    "应收",
    "应付",
    "支付方式",
    "文件",
    "平均分",
    "班级",
    "班次",
    "公司",
    "公司名称",
    "费用",
    "安全",
    "程序",
    "计划",
    "计费",
    "来源",
    "宿舍",
    "司机",
    "毕业院校",
    "毕业学校",
    "毕业时间",
    "管理员",
    "申请人",
    "修改时间",
    "任职",
    "任期",
    "万元",
    "包装",
    "颜色",
    "方向",
    "位置",
    "路线",
    "路径",
    "季度",
    "周期",
    "平台",
    "党员",
    "党派",
    "商品",
    "商品名称",
    "商户",
    "商家",
    "文本",
    "文档",
    "全部",
    "通知",
    "居住地",
    "强度",
    "印章",
];

/// Whether `v` (trimmed) is a common table-header word ([`HEADER_WORDS`]).
pub fn header_word(v: &[u8]) -> bool {
    HEADER_WORDS.iter().any(|w| w.as_bytes() == v)
}

/// `Err(NeedMore)` before the end of the stream, no pair at its end.
fn more<T>(eof: bool) -> Result<Option<T>, NeedMore> {
    if eof {
        Ok(None)
    } else {
        Err(NeedMore)
    }
}

/// A tag name as a [`TagName`] (at most 8 ASCII lowercase bytes).
const fn name(n: &str) -> TagName {
    let b = n.as_bytes();
    let mut t = 0u64;
    let mut i = 0;
    while i < b.len() && i < 8 {
        t |= (b[i] as u64) << (8 * i);
        i += 1;
    }
    t
}

/// Closing one of these ends the scope of a label.
const ENDS_PAIR: [TagName; 11] = [
    name("tr"),
    name("table"),
    name("tbody"),
    name("thead"),
    name("tfoot"),
    name("dl"),
    name("ul"),
    name("ol"),
    name("form"),
    name("body"),
    name("html"),
];

/// Opening one of these means the value is not text (a form control, an
/// image) or not the next cell (a new row or table).
const NOT_A_VALUE: [TagName; 19] = [
    name("input"),
    name("select"),
    name("textarea"),
    name("button"),
    name("option"),
    name("img"),
    name("br"),
    name("hr"),
    name("script"),
    name("style"),
    name("iframe"),
    name("table"),
    name("tr"),
    name("tbody"),
    name("thead"),
    name("ul"),
    name("ol"),
    name("dl"),
    name("form"),
];

/// Elements that hold labels.
const LABELISH: [TagName; 3] = [name("th"), name("dt"), name("label")];

/// Whether a class attribute's value names its element a label: a token
/// ending in `label` (`el-descriptions-item__label`, `info-label`) or in
/// `colon` (Element's `has-colon` and Ant Design's
/// `ant-descriptions-item-colon` mark labels whose colon CSS draws).
fn class_says_label(value: &[u8]) -> bool {
    value.split(u8::is_ascii_whitespace).any(|t| {
        let end = |w: &[u8]| t.len() >= w.len() && t[t.len() - w.len()..].eq_ignore_ascii_case(w);
        end(b"label") || end(b"colon")
    })
}

/// Whether the tag ending at the `>` at `p` names its element a label by
/// its class, as Vue component libraries write description lists
/// (`<span class="el-descriptions-item__label">姓名</span><span
/// class="el-descriptions-item__content">张伟</span>`): its last
/// attribute is a quoted class whose visible part ([`class_says_label`];
/// within the [`ROW_START_MAX`] bytes of look-behind, so the value's start
/// may be cut) says so.
fn classed_label(h: &[u8], p: usize) -> bool {
    let w = h
        .get(p.saturating_sub(ROW_START_MAX)..p)
        .unwrap_or_default();
    // A bare `<span>` inside the classed element, as uni-app renders
    // `<uni-text class="label">`: the class of the tag before it.
    let w = match w.len().checked_sub(6).and_then(|i| w.split_at_checked(i)) {
        Some((outer, span)) if span.eq_ignore_ascii_case(b"><span") => outer,
        _ => w,
    };
    classed_tag_end(w)
}

/// [`classed_label`] of the tag whose `>` follows the window `w`.
fn classed_tag_end(w: &[u8]) -> bool {
    let Some((&q, inner)) = w.split_last() else {
        return false;
    };
    if q != b'"' && q != b'\'' {
        return false;
    }
    let value = match memchr::memrchr(q, inner) {
        Some(i) => {
            let attr = inner.get(..i).unwrap_or_default().trim_ascii_end();
            let Some(attr) = attr.strip_suffix(b"=") else {
                return false;
            };
            let attr = attr.trim_ascii_end();
            let named = attr.len() >= 6
                && attr[attr.len() - 6].is_ascii_whitespace()
                && attr[attr.len() - 5..].eq_ignore_ascii_case(b"class");
            if !named {
                return false;
            }
            inner.get(i + 1..).unwrap_or_default()
        }
        None => inner,
    };
    !value.iter().any(|&b| b == b'<' || b == b'>') && class_says_label(value)
}

/// Whether the opening tag `tag` (between `<` and `>`) has a class that
/// names it a label ([`class_says_label`]).
fn tag_class_says_label(tag: &[u8]) -> bool {
    let mut at = 0;
    while let Some(i) = memchr::memmem::find(tag.get(at..).unwrap_or_default(), b"class=") {
        let k = at + i;
        at = k + 6;
        if !tag
            .get(k.wrapping_sub(1))
            .is_some_and(u8::is_ascii_whitespace)
        {
            continue;
        }
        let rest = tag.get(at..).unwrap_or_default();
        let value = match rest.split_first() {
            Some((&q, r)) if q == b'"' || q == b'\'' => r
                .get(..memchr::memchr(q, r).unwrap_or(r.len()))
                .unwrap_or_default(),
            _ => rest
                .get(
                    ..rest
                        .iter()
                        .position(u8::is_ascii_whitespace)
                        .unwrap_or(rest.len()),
                )
                .unwrap_or_default(),
        };
        return class_says_label(value);
    }
    false
}

/// The tag between `<` and `>` (`tag` excludes both): (closing, name).
/// Names may hold `-`, as custom elements do (uni-app pages are
/// `<uni-view>` and `<uni-text>`). `None` for comments, declarations and
/// things that are not tags (`<a@b.com>`).
fn tag_name(tag: &[u8]) -> Option<(bool, TagName)> {
    let (close, rest) = match tag.split_first() {
        Some((b'/', r)) => (true, r),
        _ => (false, tag),
    };
    if !rest.first().is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    let n = rest
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'-'))
        .unwrap_or(rest.len());
    if !matches!(
        rest.get(n),
        None | Some(b'/' | b' ' | b'\t' | b'\r' | b'\n')
    ) {
        return None;
    }
    let t = rest
        .iter()
        .take(n.min(8))
        .rev()
        .fold(0u64, |t, b| t << 8 | u64::from(b.to_ascii_lowercase()));
    Some((close, t))
}

/// Tags and white space from `s` up to the next text: closing tags, then
/// opening ones. `Ok(None)` when something else stands there (see the
/// module notes) or the markup is longer than [`MARKUP_MAX`].
pub fn skip_markup(h: &[u8], s: usize, eof: bool) -> Result<Option<Markup>, NeedMore> {
    let lim = s + MARKUP_MAX;
    let mut m = Markup {
        value: s,
        select: false,
        closed: None,
        opened: None,
        closed_label: false,
        opened_label: false,
    };
    let mut i = s;
    loop {
        while i < lim && h.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if i >= lim {
            return Ok(None);
        }
        let Some(&b) = h.get(i) else {
            return more(eof);
        };
        if b != b'<' {
            break;
        }
        if opens_select(h, i, eof)? {
            m.value = i;
            m.select = true;
            return Ok(Some(m));
        }
        let window = h.get(i..lim.min(h.len())).unwrap_or_default();
        let Some(gt) = memchr::memchr(b'>', window) else {
            return if h.len() < lim { more(eof) } else { Ok(None) };
        };
        let Some((close, t)) = tag_name(window.get(1..gt).unwrap_or_default()) else {
            return Ok(None);
        };
        if close {
            if m.opened.is_some() || ENDS_PAIR.contains(&t) {
                return Ok(None);
            }
            m.closed = Some(t);
            m.closed_label |= LABELISH.contains(&t);
        } else {
            if NOT_A_VALUE.contains(&t) {
                return Ok(None);
            }
            m.opened.get_or_insert(t);
            m.opened_label |= LABELISH.contains(&t)
                || tag_class_says_label(window.get(1..gt).unwrap_or_default());
        }
        i += gt + 1;
    }
    m.value = i;
    Ok(Some(m))
}

/// Whether a `<select` tag starts at the `<` at `i` (its name needs 8
/// bytes: the tag's `>` may lie beyond the markup bound).
fn opens_select(h: &[u8], i: usize, eof: bool) -> Result<bool, NeedMore> {
    let Some(t) = h.get(i + 1..i + 8) else {
        return if eof { Ok(false) } else { Err(NeedMore) };
    };
    Ok(t[..6].eq_ignore_ascii_case(b"select")
        && matches!(t[6], b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/'))
}

/// The text from `s` to the next `<`: (start, end, cut at `VALUE_MAX`).
/// Strict: a run the buffer does not close is decided only once it is
/// longer than the bound.
fn text_run(h: &[u8], s: usize, eof: bool) -> Result<Option<(usize, usize, bool)>, NeedMore> {
    let lim = (s + VALUE_MAX + 1).min(h.len());
    match h.get(s..lim).and_then(|t| memchr::memchr(b'<', t)) {
        Some(i) => Ok(Some((s, s + i, false))),
        None if h.len() > s + VALUE_MAX => Ok(Some((s, s + VALUE_MAX, true))),
        None => more(eof),
    }
}

/// What follows the value cell ending at `e` (at its `</td>`): the row's
/// end (`</td></tr>`, a two-column row: [`CellEnd::Row`]), another cell
/// (`</td><td>`, a row of four or six columns whose next cell is the next
/// label: [`CellEnd::Cell`]), or anything else (`None`).
fn cell_end(h: &[u8], e: usize, eof: bool) -> Result<Option<CellEnd>, NeedMore> {
    let lim = e + CELL_END_MAX;
    let mut i = e;
    if !literal(h, &mut i, lim, b"</td>", eof)? {
        return Ok(None);
    }
    let next = i;
    if literal(h, &mut i, lim, b"</tr>", eof)? {
        return Ok(Some(CellEnd::Row));
    }
    i = next;
    if !literal(h, &mut i, lim, b"<td", eof)? {
        return Ok(None);
    }
    match h.get(i) {
        _ if i >= lim => Ok(None),
        Some(b) if *b == b'>' || b.is_ascii_whitespace() => Ok(Some(CellEnd::Cell)),
        Some(_) => Ok(None),
        None if eof => Ok(None),
        None => Err(NeedMore),
    }
}

/// Whether the `>` at `p` ends a `<td …>` that opens its row: a `<tr …>`
/// and white space before it, all within [`ROW_START_MAX`] bytes.
fn starts_row(h: &[u8], p: usize) -> bool {
    let w = h
        .get(p.saturating_sub(ROW_START_MAX)..p)
        .unwrap_or_default();
    let opens = |tag: &[u8], want: TagName| tag_name(tag) == Some((false, want));
    let Some(td) = memchr::memrchr(b'<', w) else {
        return false;
    };
    let before = w.get(..td).unwrap_or_default().trim_ascii_end();
    let Some(tr_end) = before
        .len()
        .checked_sub(1)
        .filter(|&i| before.get(i) == Some(&b'>'))
    else {
        return false;
    };
    let Some(tr) = memchr::memrchr(b'<', before.get(..tr_end).unwrap_or_default()) else {
        return false;
    };
    opens(w.get(td + 1..).unwrap_or_default(), name("td"))
        && opens(before.get(tr + 1..tr_end).unwrap_or_default(), name("tr"))
}

/// Matches white space then `want` (ASCII case ignored) at `*i`, all
/// before `lim`, moving `*i` past it; `Err(NeedMore)` when the buffer ends
/// first.
fn literal(h: &[u8], i: &mut usize, lim: usize, want: &[u8], eof: bool) -> Result<bool, NeedMore> {
    while *i < lim && h.get(*i).is_some_and(u8::is_ascii_whitespace) {
        *i += 1;
    }
    for &c in want {
        match h.get(*i) {
            _ if *i >= lim => return Ok(false),
            Some(b) if b.eq_ignore_ascii_case(&c) => *i += 1,
            Some(_) => return Ok(false),
            None if eof => return Ok(false),
            None => return Err(NeedMore),
        }
    }
    Ok(true)
}

/// The first `<` in `w` (a label window, at most [`LABEL_MAX`] + 1
/// bytes): eight bytes a step without a call, since this runs for every
/// text after a `>` and `memchr`'s setup outweighs so short a search.
#[inline]
fn find_lt(w: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let mut at = 0;
    while let Some(c) = w.get(at..at + 8) {
        let x = u64::from_le_bytes(<[u8; 8]>::try_from(c).unwrap_or_default()) ^ (ONES * 0x3C);
        let z = x.wrapping_sub(ONES) & !x & (ONES * 0x80);
        if z != 0 {
            return Some(at + z.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    w.get(at..)?.iter().position(|&b| b == b'<').map(|i| at + i)
}

/// The label form at the `>` at `p` (see the module notes): the label
/// text after it, which `known` accepts (a field name), the markup, and a
/// value whose layout makes it one.
pub fn label_after(
    h: &[u8],
    p: usize,
    eof: bool,
    known: impl FnOnce(&[u8]) -> bool,
) -> Result<Option<Label>, NeedMore> {
    let s = p + 1;
    let window = h
        .get(s..(s + LABEL_MAX + 1).min(h.len()))
        .unwrap_or_default();
    let Some(q) = find_lt(window).map(|i| s + i) else {
        return if h.len() < s + LABEL_MAX + 1 {
            more(eof)
        } else {
            Ok(None)
        };
    };
    let raw = h.get(s..q).unwrap_or_default();
    let key = raw.trim_ascii();
    if key.is_empty() || key.ends_with(b":") || key.ends_with("：".as_bytes()) {
        // A colon label is the colon separator's (`fields::value_after`).
        return Ok(None);
    }
    if !known(key) {
        return Ok(None);
    }
    let ks = s + (key.as_ptr() as usize - raw.as_ptr() as usize);
    let Some(m) = skip_markup(h, q, eof)? else {
        return Ok(None);
    };
    // The look-behind is read only when the markup allows such a label.
    let classed = m.classed_then_other() && classed_label(h, p);
    if m.select {
        return Ok((select_label(m) || classed).then_some(Label {
            key: (ks, ks + key.len()),
            value: (m.value, m.value),
            cut: false,
            cells: None,
            select: true,
            wrapped: false,
        }));
    }
    let (cells, wrapped) = match (m.closed, m.opened) {
        (Some(c), Some(o)) if LABELISH.contains(&c) && !LABELISH.contains(&o) => (false, false),
        (Some(_), Some(o)) if m.label_then_wrappers() && !LABELISH.contains(&o) => (false, true),
        (Some(_), Some(o)) if classed && !LABELISH.contains(&o) => (false, true),
        (Some(c), Some(o)) if c == name("td") && o == name("td") => (true, false),
        _ => return Ok(None),
    };
    let Some((vs, ve, cut)) = text_run(h, m.value, eof)? else {
        return Ok(None);
    };
    let cells = if cells {
        match cell_end(h, ve, eof)? {
            Some(CellEnd::Row) if !cut && starts_row(h, p) => Some(CellEnd::Row),
            Some(_) if !cut => Some(CellEnd::Cell),
            _ => return Ok(None),
        }
    } else {
        None
    };
    Ok(Some(Label {
        key: (ks, ks + key.len()),
        value: (vs, ve),
        cut,
        cells,
        select: false,
        wrapped,
    }))
}

/// Whether markup ending at a `<select` tag makes the text before it its
/// label: a `th`, `dt` or `label` element closed, then the select (in an
/// element of another kind, or none; wrappers of the label may close
/// first), or a `td` cell then the next cell. A header row never holds a
/// select, so no row-shape test is needed.
fn select_label(m: Markup) -> bool {
    match (m.closed, m.opened) {
        (Some(c), o) if LABELISH.contains(&c) => o.is_none_or(|o| !LABELISH.contains(&o)),
        (Some(_), _) if m.label_then_wrappers() => true,
        (Some(c), Some(o)) => c == name("td") && o == name("td"),
        _ => false,
    }
}

/// Whether the `>` at `p` may start a label (a cheap test before
/// [`label_after`]): the text after it, up to the next `<`, ends in bytes
/// some field name ends in (`tail_ok` of its last four bytes, as
/// `FieldIndex::may_match_word` takes them). True when the buffer ends before it can tell.
#[inline]
pub fn may_start_label(h: &[u8], p: usize, eof: bool, tail_ok: impl Fn(u32) -> bool) -> bool {
    let s = p + 1;
    match h.get(s) {
        // Most `>` end a tag before another; a label starts with no digit.
        Some(b'<' | b'0'..=b'9') => return false,
        None => return !eof,
        Some(_) => {}
    }
    let window = h
        .get(s..(s + LABEL_MAX + 1).min(h.len()))
        .unwrap_or_default();
    match find_lt(window) {
        Some(q) => {
            // The label's last four bytes as one word, last byte least
            // significant (missing leading bytes zero), for the tail test.
            let t = window.get(..q).unwrap_or_default().trim_ascii_end();
            let tail = t.get(t.len().saturating_sub(4)..).unwrap_or_default();
            tail_ok(tail.iter().fold(0u32, |w, &b| w << 8 | u32::from(b)))
        }
        None => !eof && h.len() < s + LABEL_MAX + 1,
    }
}

/// Normalises a label for the field-name lookup: `&nbsp;` dropped, then
/// as a key (`fields::norm_key` drops ideographic and no-break spaces,
/// used to pad `姓　　名`).
pub fn norm_label(label: &[u8], out: &mut Vec<u8>) {
    const NBSP: &[u8] = b"&nbsp;";
    if memchr::memmem::find(label, NBSP).is_none() {
        super::fields::norm_key(label, out);
        return;
    }
    let mut plain = [0u8; LABEL_MAX];
    let mut n = 0;
    let mut i = 0;
    while let Some(&b) = label.get(i) {
        if label.get(i..).is_some_and(|t| t.starts_with(NBSP)) {
            i += NBSP.len();
            continue;
        }
        if let Some(d) = plain.get_mut(n) {
            *d = b;
            n += 1;
        }
        i += 1;
    }
    super::fields::norm_key(plain.get(..n).unwrap_or_default(), out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(doc: &str) -> Option<(String, String)> {
        let h = doc.as_bytes();
        let p = doc.find('>')?;
        let l = label_after(h, p, true, |_| true).ok()??;
        let s = |(a, b): (usize, usize)| String::from_utf8_lossy(&h[a..b]).trim().to_string();
        Some((s(l.key), s(l.value)))
    }

    fn pair(k: &str, v: &str) -> Option<(String, String)> {
        Some((k.to_string(), v.to_string()))
    }

    #[test]
    fn label_layouts() {
        assert_eq!(label("<th>姓名</th><td>张伟</td>"), pair("姓名", "张伟"));
        assert_eq!(
            label("<th>住址</th>\n   <td class=\"v\"><b>北京市</b></td>"),
            pair("住址", "北京市")
        );
        assert_eq!(label("<dt>姓名</dt><dd>李娜</dd>"), pair("姓名", "李娜"));
        assert_eq!(
            label("<label>姓名</label><span>王芳</span>"),
            pair("姓名", "王芳")
        );
        assert_eq!(
            label("<td>姓名</td><td>张伟</td></tr>"),
            pair("姓名", "张伟")
        );
        assert_eq!(
            label("<td> 姓名 </td>\n<td> 张伟 </td>\n</tr>"),
            pair("姓名", "张伟")
        );
        // Rows of four or six columns: label, value, label, value.
        assert_eq!(
            label("<td>姓名</td><td>张伟</td><td>性别</td><td>男</td></tr>"),
            pair("姓名", "张伟")
        );
        assert_eq!(
            label("<td>民族</td>\n  <td class=\"v\">汉族</td>\n        <td class=\"k\">籍贯</td>"),
            pair("民族", "汉族")
        );
        // The label's wrappers close before the value's open.
        assert_eq!(
            label("<label>姓名</label></div><div class=\"col\">张伟</div>"),
            pair("姓名", "张伟")
        );
        assert_eq!(
            label("<b>姓名</b></label></span> <span>李娜</span>"),
            pair("姓名", "李娜")
        );
    }

    #[test]
    fn wrapped_labels_are_marked() {
        let wrapped = |doc: &str| {
            let h = doc.as_bytes();
            label_after(h, doc.find('>').unwrap(), true, |_| true).map(|l| l.map(|l| l.wrapped))
        };
        assert_eq!(
            wrapped("<label>姓名</label></div><div>张伟<"),
            Ok(Some(true))
        );
        assert_eq!(wrapped("<label>姓名</label><div>张伟<"), Ok(Some(false)));
        // Another label opened: a grid of labels, not a pair.
        assert_eq!(
            wrapped("<label>姓名</label></div><div><label>单位"),
            Ok(None)
        );
        // A label in a cell: the cell rules (`<td>` then `<td>`) decide.
        assert_eq!(
            wrapped("<label>姓名</label></td><span>张伟</span>"),
            Ok(None)
        );
        // Text this far after the label is no value.
        let far = format!(
            "<label>姓名</label></div>{}<div>张伟<",
            " ".repeat(MARKUP_MAX)
        );
        assert_eq!(wrapped(&far), Ok(None));
    }

    #[test]
    fn td_values_end_a_row_or_start_a_cell() {
        // The label's `>`: the first `>` after the first `<td`.
        let cells = |doc: &str| {
            let p = doc
                .find("<td")
                .and_then(|t| doc[t..].find('>').map(|g| t + g))
                .unwrap();
            label_after(doc.as_bytes(), p, true, |_| true).map(|l| l.and_then(|l| l.cells))
        };
        let row = Ok(Some(CellEnd::Row));
        let cell = Ok(Some(CellEnd::Cell));
        // Two columns: the label opens the row, the value ends it.
        assert_eq!(cells("<tr><td>姓名</td><td>张伟</td> </tr>"), row);
        assert_eq!(
            cells("<TR class=\"a\">\n  <td>姓名</td><td>张伟</TD>\n</TR>"),
            row
        );
        // Four columns, and a header row's last pair: strict values only.
        assert_eq!(cells("<tr><td>姓名</td><td>张伟</td> <td>"), cell);
        assert_eq!(cells("<tr><td>a</td><td>姓名</td><td>单位</td></tr>"), cell);
        assert_eq!(cells("<td>姓名</td><td>张伟</td></tr>"), cell);
        let far = format!(
            "<tr>{}<td>姓名</td><td>张伟</td></tr>",
            " ".repeat(ROW_START_MAX)
        );
        assert_eq!(cells(&far), cell);
        // A header row has the shape too: the field scan rejects its
        // "value" (a header word or a field name) or, between cells, takes
        // only values a strict check accepts.
        assert_eq!(cells("<td>姓名</td><td>单位</td><td>金额</td></tr>"), cell);
        assert_eq!(cells("<th>姓名</th><td>张伟</td><td>"), Ok(None));
        assert_eq!(cells("<td>姓名</td><td>张伟</td><th>性别</th>"), Ok(None));
        assert_eq!(cells("<td>姓名</td><td>张伟</td><tdx>"), Ok(None));
        assert_eq!(cells("<td>姓名</td><td>张伟</td>, <td>"), Ok(None));
        assert_eq!(cells("<td>姓名</td><td>张伟<br></td><td>"), Ok(None));
        let far = format!("<td>姓名</td><td>张伟</td>{}<td>", " ".repeat(CELL_END_MAX));
        assert_eq!(cells(&far), Ok(None));
    }

    #[test]
    fn a_bare_span_in_a_classed_element_is_its_label() {
        let at = |doc: &str| classed_label(doc.as_bytes(), doc.len() - 1);
        assert!(at("<uni-text class=\"label\"><span>"));
        assert!(!at("<uni-text class=\"value\"><span>"));
        assert!(!at("<b class=\"label\"><span class=\"x\">"));
        assert!(!at("<b class=\"label\"><i><span>"));
    }

    #[test]
    fn custom_elements_are_tags() {
        assert_eq!(
            tag_name(b"uni-view class=\"label\""),
            Some((false, name("uni-view")))
        );
        assert_eq!(tag_name(b"/uni-text"), Some((true, name("uni-text"))));
        assert_eq!(tag_name(b"a-b@example.cn"), None);
    }

    #[test]
    fn classes_name_labels() {
        let at = |doc: &str| classed_label(doc.as_bytes(), doc.len() - 1);
        assert!(at("<span class=\"el-descriptions-item__label has-colon\">"));
        assert!(at("<div class='info-label'>"));
        assert!(at("<span id=\"k\" class=\"LABEL\">"));
        // The value's start beyond the look-behind: its visible tokens.
        assert!(at(
            "<span class=\"ant-descriptions-item-label ant-descriptions-item-colon\">"
        ));
        assert!(!at("<span class=\"labels\">"));
        assert!(!at("<span title=\"label\">"));
        assert!(!at("<span data-class=\"label\">"));
        assert!(!at("<span class=label>"));
        assert!(!at("<span>"));
        assert!(tag_class_says_label(b"span class=\"x a-label\" id=\"k\""));
        assert!(tag_class_says_label(b"div class=info-label"));
        assert!(!tag_class_says_label(b"div data-class=\"label\""));
        assert!(!tag_class_says_label(
            b"div class=\"value\" title=\"label\""
        ));
        // The label's wrappers may close; a cell's end is the cell rules'.
        let value = |doc: &str| {
            let h = doc.as_bytes();
            let l = label_after(h, doc.find('>').unwrap(), true, |_| true).ok()??;
            Some((
                std::str::from_utf8(&h[l.value.0..l.value.1])
                    .ok()?
                    .to_string(),
                l.wrapped,
            ))
        };
        assert_eq!(
            value("<div class=\"k-label\">姓名</div></div><div><span class=\"v\">张伟<"),
            Some(("张伟".into(), true))
        );
        assert_eq!(
            value("<td class=\"k-label\">姓名</td><span>张伟</span>"),
            None
        );
        assert_eq!(
            value("<span class=\"k-label\">姓名</span><b class=\"k-label\">张伟<"),
            None
        );
    }

    #[test]
    fn header_rows_and_other_shapes_are_not_labels() {
        // A header row: both cells are labels.
        assert_eq!(label("<th>姓名</th><th>单位</th>"), None);
        // Same kind, not a table cell pair.
        assert_eq!(label("<span>姓名</span><span>王芳</span>"), None);
        // The row ends first, a control or nothing follows.
        assert_eq!(label("<th>姓名</th></tr><tr><td>张伟</td>"), None);
        assert_eq!(label("<th>姓名</th><td><input name=\"n\"></td>"), None);
        assert_eq!(label("<th>姓名</th><td></td>"), None);
        // Text between label and value.
        assert_eq!(label("<th>姓名</th> 请填写 <td>张伟</td>"), None);
        // A colon label belongs to the colon separator.
        assert_eq!(label("<th>姓名：</th><td>张伟</td>"), None);
        // Too much markup.
        let long = format!(
            "<th>姓名</th><td class=\"{}\">张伟</td>",
            "x".repeat(MARKUP_MAX)
        );
        assert_eq!(label(&long), None);
    }

    #[test]
    fn labels_name_the_select_after_them() {
        // The select's `<` and the label, or nothing.
        let select = |doc: &str| {
            let h = doc.as_bytes();
            let l = label_after(h, doc.find('>').unwrap(), true, |_| true).ok()??;
            let key = String::from_utf8_lossy(&h[l.key.0..l.key.1]).to_string();
            l.select.then_some((key, l.value.0))
        };
        let at = |doc: &str| doc.find("<select").or(doc.find("<SELECT")).unwrap();
        for doc in [
            "<label>民族</label><select name=\"f12\">",
            "<label class=\"control-label\">民族</label>\n  <div class=\"col\"><select>",
            "<th>民族</th><td><select class=\"form-control input-sm select2\" id=\"s\">",
            "<td>民族</td><td><SELECT\nname=\"x\">",
            "<dt>民族</dt>\n<dd><select/>",
            // The label's wrappers close first.
            "<label>民族</label></div><div class=\"col-md-4\"><select name=\"f\">",
            "<label>民族</label></td><td><select>",
            // Indented: longer than a text value's markup may be.
            "<label class=\"col-sm-2 control-label\">民族</label>\n            </div>\n            <div class=\"col-sm-10\">\n                <select name=\"field_12\" class=\"form-control\">",
        ] {
            assert_eq!(select(doc), Some(("民族".to_string(), at(doc))), "{doc}");
        }
        for doc in [
            // Not a label layout: no element closed, or a label after it.
            "<p>民族 <select name=\"f\">",
            "<span>民族</span><select name=\"f\">",
            "<label>民族</label><th><select>",
            "<td>民族</td><th><select>",
            // Another control first; a tag that only starts like select.
            "<label>民族</label><input name=\"a\"><select>",
            "<label>民族</label><selection>",
            "<label>民族</label></tr><select>",
            // Wrappers, then another label before the select.
            "<label>民族</label></div><div><label>x</label><select>",
            "<label>民族</label></div><label><select>",
            // Wrappers closed, but no label element was.
            "<div><span>民族</span></div><div><select>",
        ] {
            assert_eq!(select(doc), None, "{doc}");
        }
        // A colon label: the colon separator's (`fields::value_after`).
        assert_eq!(select("<label>民族：</label><select>"), None);
        let m = skip_markup(b"</label><div><select name=", 0, false);
        assert_eq!(
            m.map(|m| m.map(|m| (m.select, m.value))),
            Ok(Some((true, 13)))
        );
        // Text must start within MARKUP_MAX bytes of markup.
        let at = |n: usize| format!("</b>{}x<", " ".repeat(n - 4));
        let value = |d: String| skip_markup(d.as_bytes(), 0, true).map(|m| m.map(|m| m.value));
        assert_eq!(value(at(MARKUP_MAX - 1)), Ok(Some(MARKUP_MAX - 1)));
        assert_eq!(value(at(MARKUP_MAX)), Ok(None));
        // A select's markup is bounded too.
        let far = format!("</label>{}<select>", " ".repeat(MARKUP_MAX));
        assert_eq!(skip_markup(far.as_bytes(), 0, true), Ok(None));
        let near = format!("</label>{}<select>", " ".repeat(MARKUP_MAX - 9));
        assert_eq!(
            skip_markup(near.as_bytes(), 0, true).map(|m| m.map(|m| m.select)),
            Ok(Some(true))
        );
        // `<select` needs its next byte; without it, more bytes or nothing.
        assert_eq!(skip_markup(b"</label><select", 0, false), Err(NeedMore));
        assert_eq!(skip_markup(b"</label><select", 0, true), Ok(None));
    }

    #[test]
    fn undecided_until_the_bytes_are_there() {
        for doc in [
            "<td>姓名</td><td>张伟</td></tr>",
            "<td>姓名</td><td>张伟</td>\n <td>",
            "<td>民族</td><td><select ",
            "<th>民族</th>\n<select>",
            "<lab>民族</label></div>\n      <div class=\"col-md-4 col-sm-8\">\n        <select ",
            "<lab>姓名</label></div><div>张伟<",
        ] {
            undecided_until_complete(doc.as_bytes());
        }
    }

    fn undecided_until_complete(doc: &[u8]) {
        let whole = label_after(doc, 3, true, |_| true);
        assert!(matches!(whole, Ok(Some(_))));
        for cut in 4..doc.len() {
            assert_eq!(
                label_after(&doc[..cut], 3, false, |_| true),
                Err(NeedMore),
                "at {cut}"
            );
            assert_eq!(
                label_after(&doc[..cut], 3, true, |_| true),
                Ok(None),
                "at {cut}"
            );
        }
        assert_eq!(label_after(doc, 3, false, |_| true), whole);
    }

    #[test]
    fn find_lt_equals_a_byte_search() {
        let mut w = Vec::new();
        for n in 0..=LABEL_MAX + 1 {
            for at in 0..=n {
                w.clear();
                w.extend((0..n).map(|i| if i == at { b'<' } else { b'a' + (i % 26) as u8 }));
                // `=` (0x3D) just before: no borrow may fake a match.
                if let Some(b) = at.checked_sub(1).and_then(|i| w.get_mut(i)) {
                    *b = 0x3D;
                }
                assert_eq!(find_lt(&w), w.iter().position(|&b| b == b'<'), "{w:?}");
            }
        }
    }

    #[test]
    fn markup_is_closing_then_opening_tags() {
        let h = b"</b></td>\n<td><i>v</i>";
        let m = skip_markup(h, 0, true).unwrap().unwrap();
        assert_eq!(m.value, h.len() - 5);
        assert_eq!((m.closed, m.opened), (Some(name("td")), Some(name("td"))));
        assert_eq!(skip_markup(b"<td></td>v", 0, true), Ok(None));
        assert_eq!(skip_markup(b"<a@b.com> x", 0, true), Ok(None));
        assert_eq!(skip_markup(b"<!-- c --> x", 0, true), Ok(None));
        assert_eq!(skip_markup(b"</td><td", 0, false), Err(NeedMore));
    }

    #[test]
    fn padded_labels_normalise() {
        let mut k = Vec::new();
        norm_label("姓　　名".as_bytes(), &mut k);
        assert_eq!(k, "姓名".as_bytes());
        norm_label("Real&nbsp;Name".as_bytes(), &mut k);
        assert_eq!(k, b"realname");
    }
}
