//! The field family (`kind = "field"`): PI recognised by the structure it
//! sits in rather than by its shape. A detector names the field names that
//! mark it and a value check; the scanner finds `key: value` pairs in JSON
//! (`"key": "value"`), forms (`key=value&`), header-style lines
//! (`key: value`, `key：value`) and XML/HTML (`<key>value</key>`), and HTTP
//! auth schemes (`Basic user:pass`, `Bearer token`). HTML labels
//! (`<th>姓名</th><td>张伟</td>`, `姓名：</span><span>王芳`) are in
//! `fields_html.rs`.
//!
//! Field names match case-insensitively with `_`, `-`, `.` and spaces
//! removed (`real_name` = `realName`), exactly or, for names of four bytes
//! or more, as a suffix (`contactAddress` ends with `address`).
//!
//! Decisions depend on at most [`KEY_BACK`] bytes before the separator and
//! [`FIELD_AHEAD`] after it, which bounds the stream carry.

use std::collections::HashMap;

/// Bytes looked at before a separator for the key (quote and spaces included).
pub const KEY_BACK: usize = 30;
/// Longest value taken.
pub const VALUE_MAX: usize = 96;
/// Most spaces between a separator and its value (aligned `key:   value`
/// lines); behind more there is no value, so a decision never waits past
/// [`FIELD_AHEAD`] and does not depend on where the stream was split.
pub const SPACE_MAX: usize = 16;
/// Bytes after a separator a decision may need (the HTML label form's,
/// the longest).
pub const FIELD_AHEAD: usize = super::fields_html::LABEL_AHEAD + 8;
// A colon label (`姓名：   </td><td>张伟`) has no label text in its
// look-ahead: that budget covers its separator (at most 3 bytes), the
// spaces and a quote.
const _: () = assert!(SPACE_MAX + 4 <= super::fields_html::LABEL_MAX + 9);

/// How a field's value is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueCheck {
    /// 2-4 Han characters starting with a known surname.
    CnName,
    /// Han text with administrative-division and street/number markers.
    CnAddress,
    /// A password or token (not empty, not a placeholder).
    Credential,
    /// One of the 56 ethnic groups.
    Ethnicity,
    /// A religion.
    Religion,
    /// A political status.
    Political,
    /// A diagnosis or health note (Han text or an ICD-10 code).
    Health,
}

impl ValueCheck {
    /// Whether the check accepts nearly any text (a password, a health
    /// note), so that only the field's name makes the value PI.
    pub fn takes_free_text(self) -> bool {
        matches!(self, ValueCheck::Credential | ValueCheck::Health)
    }

    /// Known names.
    pub const NAMES: &'static [&'static str] = &[
        "cn_name",
        "cn_address",
        "credential",
        "ethnicity",
        "religion",
        "political",
        "health",
    ];

    /// By name.
    pub fn from_name(s: &str) -> Option<ValueCheck> {
        Some(match s {
            "cn_name" => ValueCheck::CnName,
            "cn_address" => ValueCheck::CnAddress,
            "credential" => ValueCheck::Credential,
            "ethnicity" => ValueCheck::Ethnicity,
            "religion" => ValueCheck::Religion,
            "political" => ValueCheck::Political,
            "health" => ValueCheck::Health,
            _ => return None,
        })
    }

    /// Whether `v` (trimmed, UTF-8) passes.
    pub fn check(self, v: &[u8]) -> bool {
        let Ok(s) = std::str::from_utf8(v) else {
            return false;
        };
        match self {
            ValueCheck::CnName => cn_name(s),
            ValueCheck::CnAddress => cn_address(s),
            ValueCheck::Credential => credential(s),
            ValueCheck::Ethnicity => {
                let base = s.strip_suffix('族').unwrap_or(s);
                ETHNIC.contains(&base)
                    && (s.ends_with('族') || base.chars().count() >= 2 || base == "汉")
            }
            ValueCheck::Religion => RELIGIONS.contains(&s),
            ValueCheck::Political => POLITICAL.contains(&s),
            ValueCheck::Health => health(s),
        }
    }

    /// Whether a value of this check may be cut at [`VALUE_MAX`].
    fn may_truncate(self) -> bool {
        matches!(self, ValueCheck::Credential)
    }
}

fn is_han(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

/// Compound surnames (复姓).
const COMPOUND: &[&str] = &[
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "令狐", "慕容", "宇文", "长孙",
    "司徒", "夏侯", "轩辕", "端木", "闻人", "万俟", "西门", "南宫", "独孤", "呼延", "申屠", "太史",
    "澹台", "公冶", "宗政", "濮阳", "淳于", "单于", "赫连", "钟离", "仲孙", "东郭", "拓跋", "百里",
    "第五", "司空", "司寇", "子车", "颛孙", "巫马", "公西", "漆雕", "乐正", "壤驷", "公良", "谷梁",
];

/// Single-character surnames (百家姓 and the most common modern ones).
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵩苍双闻莘党翟谭贡劳逄姬申扶堵冉宰郦雍却璩桑桂濮牛寿通边扈燕冀郏浦尚农温别庄晏柴瞿阎充慕连茹习宦艾鱼容向古易慎戈廖庾终暨居衡步都耿满弘匡国文寇广禄阙东欧殳沃利蔚越夔隆师巩厍聂晁勾敖融冷訾辛阚那简饶空曾毋沙乜养鞠须丰巢关蒯相查后荆红游竺权逯盖益桓公";

fn is_surname(c: char) -> bool {
    SURNAMES.contains(c)
}

fn cn_name(s: &str) -> bool {
    let s = s.trim();
    let n = s.chars().count();
    if !(2..=4).contains(&n) || !s.chars().all(is_han) {
        return false;
    }
    if COMPOUND.iter().any(|c| s.starts_with(c)) && n >= 3 {
        return true;
    }
    s.chars().next().is_some_and(is_surname)
}

/// Province-level names (short forms match the full ones too).
const PROVINCES: &[&str] = &[
    "北京",
    "天津",
    "上海",
    "重庆",
    "河北",
    "山西",
    "辽宁",
    "吉林",
    "黑龙江",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "海南",
    "四川",
    "贵州",
    "云南",
    "陕西",
    "甘肃",
    "青海",
    "台湾",
    "内蒙古",
    "广西",
    "西藏",
    "宁夏",
    "新疆",
    "香港",
    "澳门",
];
const DIVISIONS: &[char] = &['省', '市', '区', '县', '镇', '乡', '州', '旗', '盟'];
const STREETS: &[&str] = &[
    "路", "街", "道", "巷", "弄", "号", "栋", "幢", "单元", "室", "楼", "村", "组", "大厦", "小区",
    "胡同", "苑", "园", "里",
];

fn cn_address(s: &str) -> bool {
    let s = s.trim();
    let n = s.chars().count();
    let han = s.chars().filter(|c| is_han(*c)).count();
    if !(4..=40).contains(&n) || han * 2 < n {
        return false;
    }
    if !s
        .chars()
        .all(|c| is_han(c) || c.is_ascii_alphanumeric() || "-#()（）· ".contains(c))
    {
        return false;
    }
    let province = PROVINCES.iter().any(|p| s.starts_with(p));
    // A division suffix after at least one Han character.
    let divisions = s
        .char_indices()
        .filter(|(i, c)| *i > 0 && DIVISIONS.contains(c))
        .count();
    let street = STREETS.iter().filter(|m| s.contains(**m)).count();
    (province || divisions >= 1) && (street >= 1 || divisions >= 2)
}

fn credential(s: &str) -> bool {
    let t = s.trim();
    let placeholder = [
        "null",
        "undefined",
        "none",
        "true",
        "false",
        "nil",
        "password",
        "******",
    ];
    (1..=VALUE_MAX).contains(&t.len())
        && t.len() >= 3
        && !placeholder.iter().any(|p| t.eq_ignore_ascii_case(p))
        && !t
            .chars()
            .all(|c| c == '*' || c == '•' || c == 'x' || c == 'X')
        && !t.starts_with("{{")
        && !t.starts_with("${")
        && t.chars().all(|c| !c.is_control())
}

/// The 56 ethnic groups (without the 族 suffix).
const ETHNIC: &[&str] = &[
    "汉",
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
];
const RELIGIONS: &[&str] = &[
    "佛教",
    "道教",
    "伊斯兰教",
    "基督教",
    "天主教",
    "东正教",
    "犹太教",
    "藏传佛教",
    "基督新教",
    "无宗教信仰",
    "无宗教",
    "Buddhism",
    "Taoism",
    "Islam",
    "Christianity",
    "Catholicism",
];
const POLITICAL: &[&str] = &[
    "中共党员",
    "中国共产党党员",
    "中共预备党员",
    "共青团员",
    "群众",
    "民革党员",
    "民盟盟员",
    "民建会员",
    "民进会员",
    "农工党党员",
    "致公党党员",
    "九三学社社员",
    "台盟盟员",
    "无党派人士",
    "无党派民主人士",
    "团员",
    "党员",
];

fn health(s: &str) -> bool {
    let s = s.trim();
    let n = s.chars().count();
    let icd = {
        let b = s.as_bytes();
        b.len() >= 3
            && b.len() <= 7
            && b.first().is_some_and(u8::is_ascii_uppercase)
            && b.get(1..3)
                .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
            && b.get(3..).is_some_and(|r| {
                r.is_empty()
                    || (r.first() == Some(&b'.') && r.iter().skip(1).all(u8::is_ascii_digit))
            })
    };
    icd || ((2..=40).contains(&n) && s.chars().filter(|c| is_han(*c)).count() * 2 >= n)
}

/// Normalises a field name: ASCII lowercase, `_ - . space` and
/// ideographic and no-break spaces removed.
pub fn norm_key(k: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend(
        k.iter()
            .filter(|&&b| !dropped_key_byte(b))
            .map(u8::to_ascii_lowercase),
    );
    // Ideographic and no-break spaces pad labels (`姓　　名`): rare, so
    // looked for only when their lead bytes are there.
    if memchr::memchr2(0xE3, 0xC2, out).is_some() {
        for pad in ["\u{3000}".as_bytes(), "\u{a0}".as_bytes()] {
            while let Some(i) = memchr::memmem::find(out, pad) {
                out.drain(i..i + pad.len());
            }
        }
    }
}

/// Field names of all field detectors, for lookup.
#[derive(Debug, Clone)]
pub struct FieldIndex {
    /// ahash: looked up once per suffix length for every candidate key.
    exact: HashMap<Vec<u8>, Vec<(u16, ValueCheck)>, ahash::RandomState>,
    /// Bit per (last two bytes of a normalised name): a cheap first test,
    /// so most keys (`ts`, `price`, `status` ...) cost a few instructions.
    tails: Vec<u64>,
    /// Bit per hashed last three bytes of a normalised name (see
    /// [`tail_hash_bit`]): keys ending like a name in two bytes but not
    /// three (`qty`) skip the key walk and the hash lookups too.
    tails3: Vec<u64>,
    /// The same for the last four bytes: `order` ends like `cardholder`
    /// in three bytes, not in four.
    tails4: Vec<u64>,
    /// Shortest name length (capped at 255) per last two bytes, indexed
    /// like `tails`: a key shorter than every name ending like it matches
    /// none, and skips the hash lookups.
    tail_min: Vec<u8>,
    /// Distinct lengths of names usable as suffixes.
    suffix_lens: Vec<usize>,
    /// Auth schemes (`Basic`, `Bearer`) by detector.
    pub schemes: Vec<(Vec<u8>, u16)>,
    /// One searcher for the full-width colon (pattern 0) and each scheme
    /// (pattern 1 + i), built once.
    pub rare: Option<aho_corasick::AhoCorasick>,
    /// The same patterns in order, and their distinct first bytes: with
    /// at most three, a `memchr` search beats the automaton (whose
    /// rare-byte prefilter fires on every `c` or `B` of JSON keys).
    pub rare_pats: Vec<Vec<u8>>,
    /// Distinct first bytes of `rare_pats`.
    pub rare_firsts: Vec<u8>,
    /// `id` is itself a field name (a custom detector may make it one):
    /// only then is the key before an `id=` looked up.
    pub id_is_key: bool,
}

impl Default for FieldIndex {
    fn default() -> Self {
        // A key whose last two bytes hold one that normalisation drops
        // (`real_name_`, `id-`) passes the two-byte test whatever its
        // names: those bits are set once here, so the separator loop
        // needs no test of its own for them.
        let mut tails = vec![0; 1024];
        for d in [b'_', b'-', b'.', b' '] {
            for b in 0..=u8::MAX {
                set_bit(&mut tails, usize::from(d) << 8 | usize::from(b));
                set_bit(&mut tails, usize::from(b) << 8 | usize::from(d));
            }
        }
        FieldIndex {
            exact: HashMap::default(),
            tails,
            tails3: vec![0; TAIL_HASH_BITS / 64],
            tails4: vec![0; TAIL_HASH_BITS / 64],
            tail_min: vec![u8::MAX; 1 << 16],
            suffix_lens: Vec::new(),
            schemes: Vec::new(),
            rare: None,
            rare_pats: Vec::new(),
            rare_firsts: Vec::new(),
            id_is_key: false,
        }
    }
}

/// Index of the last two bytes of a key in the tail bitset.
fn tail_bit(k: &[u8]) -> usize {
    let n = k.len();
    let a = k.get(n.wrapping_sub(2)).copied().unwrap_or(0);
    let b = k.get(n.wrapping_sub(1)).copied().unwrap_or(0);
    usize::from(a.to_ascii_lowercase()) << 8 | usize::from(b.to_ascii_lowercase())
}

/// Bytes of a raw key's end that [`FieldIndex::may_match`] looks at.
pub const RAW_TAIL: usize = 4;

/// Bits of each of the three- and four-byte tail filters.
const TAIL_HASH_BITS: usize = 1 << 15;

/// Hashed index of the last `N` bytes of a key, lowercased, when all `N`
/// are letters, digits or non-ASCII bytes (then they are the last `N` of
/// the normalised key too); `None` otherwise (no test).
#[inline]
fn tail_hash_bit<const N: usize>(k: &[u8]) -> Option<usize> {
    let t = k.get(k.len().checked_sub(N)?..)?;
    let mut x = 0u32;
    for &b in t {
        if !plain_key_byte(b) {
            return None;
        }
        x = x << 8 | u32::from(b.to_ascii_lowercase());
    }
    Some(tail_hash(x))
}

/// Bit 7 of each byte of `w` set where that byte is ASCII in `lo..=hi`.
#[inline]
fn ascii_in_range(w: u32, lo: u8, hi: u8) -> u32 {
    const ONES: u32 = 0x0101_0101;
    const HIGH: u32 = 0x8080_8080;
    let low7 = w & !HIGH;
    // No carry crosses a byte: each byte of `low7` is at most 0x7F.
    let ge_lo = low7 + ONES * u32::from(0x80 - lo);
    let gt_hi = low7 + ONES * u32::from(0x7F - hi);
    ge_lo & !gt_hi & !w & HIGH
}

/// A key byte that normalisation drops ([`norm_key`]).
#[inline]
pub fn dropped_key_byte(b: u8) -> bool {
    matches!(b, b'_' | b'-' | b'.' | b' ')
}

/// A key byte normalisation keeps as it is (lowercased).
#[inline]
fn plain_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// Index in a tail filter of up to four lowercased tail bytes, first byte
/// most significant: Fibonacci hashing, the top 15 bits of the product.
#[inline]
fn tail_hash(x: u32) -> usize {
    (x.wrapping_mul(0x9E37_79B1) >> 17) as usize
}

/// Whether bit `bit` of `set` is set.
#[inline]
fn bit_set(set: &[u64], bit: usize) -> bool {
    set.get(bit / 64)
        .is_some_and(|w| w & (1u64 << (bit % 64)) != 0)
}

/// Sets bit `bit` of `set`.
fn set_bit(set: &mut [u64], bit: usize) {
    if let Some(w) = set.get_mut(bit / 64) {
        *w |= 1u64 << (bit % 64);
    }
}

impl FieldIndex {
    /// Whether a raw key (before normalisation) may be a field name, given
    /// its last [`RAW_TAIL`] bytes (fewer at the start of a buffer): its
    /// last two, lowercased, end some name, and so do its last three and
    /// its last four when they are plain key bytes. A name of two bytes
    /// matches only a key of two and a name of three only a key of three
    /// (names shorter than four bytes are never suffixes), and a key whose
    /// last `n` are plain has at least `n` bytes.
    #[inline]
    pub fn may_match(&self, raw_tail: &[u8]) -> bool {
        // Missing leading bytes (a buffer start) as zeros: neither plain
        // nor dropped, so they skip the longer tests, as a shorter key does.
        let mut t = [0u8; RAW_TAIL];
        let tail = raw_tail
            .get(raw_tail.len().saturating_sub(RAW_TAIL)..)
            .unwrap_or_default();
        if let Some(dst) = t.get_mut(RAW_TAIL - tail.len()..) {
            dst.copy_from_slice(tail);
        }
        self.may_match_word(u32::from_be_bytes(t))
    }

    /// [`FieldIndex::may_match`] of a tail of [`RAW_TAIL`] bytes held in
    /// one word, first byte most significant (`u32::from_be_bytes`; zeros
    /// for bytes before a buffer start), tested without slicing (SWAR):
    /// the separator loop asks it of every `:` and `=`.
    #[inline]
    pub fn may_match_word(&self, raw: u32) -> bool {
        const HIGH: u32 = 0x8080_8080;
        // The two-byte set holds every ASCII case of each tail, so the
        // test needs no lowercasing: most keys stop here. A dropped byte in
        // the last two passes (bits set in `default`) and then below, as a
        // byte that is not plain.
        if !bit_set(&self.tails, (raw & 0xFFFF) as usize) {
            return false;
        }
        let upper = ascii_in_range(raw, b'A', b'Z');
        let x = raw | upper >> 2;
        let plain = ascii_in_range(x, b'a', b'z') | ascii_in_range(raw, b'0', b'9') | raw & HIGH;
        if plain & 0x0080_8080 != 0x0080_8080 {
            return true;
        }
        bit_set(&self.tails3, tail_hash(x & 0xFF_FFFF))
            && (plain & 0x8000_0000 == 0 || bit_set(&self.tails4, tail_hash(x)))
    }

    /// Adds detector `d`'s names with their value check.
    pub fn add(&mut self, d: u16, names: &[String], check: ValueCheck) {
        let mut k = Vec::new();
        for n in names {
            norm_key(n.as_bytes(), &mut k);
            self.pass_tail(&k);
            if let Some(m) = self.tail_min.get_mut(tail_bit(&k)) {
                *m = (*m).min(u8::try_from(k.len()).unwrap_or(u8::MAX));
            }
            if k.len() >= 4 && !self.suffix_lens.contains(&k.len()) {
                self.suffix_lens.push(k.len());
            }
            self.exact.entry(k.clone()).or_default().push((d, check));
        }
    }

    /// Lets keys ending like `key` (normalised) through the tail filter
    /// without making `key` a field name: the attribute names that start
    /// a form control's pair (`name=`, `value=`, `fields_attr.rs`).
    pub fn pass_trigger(&mut self, key: &str) {
        self.pass_tail(key.as_bytes());
    }

    /// Sets the two-byte filter's bits of the (lowercase) last bytes `a`,
    /// `b` in every ASCII case, as a raw key may write them.
    fn pass_two(&mut self, a: usize, b: usize) {
        let cases = |c: usize| {
            let c = c as u8;
            [usize::from(c), usize::from(c.to_ascii_uppercase())]
        };
        for a in cases(a) {
            for b in cases(b) {
                set_bit(&mut self.tails, a << 8 | b);
            }
        }
    }

    /// Sets the tail-filter bits of a normalised key.
    fn pass_tail(&mut self, k: &[u8]) {
        let t = tail_bit(k);
        self.pass_two(t >> 8, t & 0xFF);
        // In brackets (`user[name]=`): the raw tail ends in `]`, which the
        // three- and four-byte filters do not test.
        self.pass_two(t & 0xFF, usize::from(b']'));
        if let Some(b) = tail_hash_bit::<3>(k) {
            set_bit(&mut self.tails3, b);
        }
        if let Some(b) = tail_hash_bit::<4>(k) {
            set_bit(&mut self.tails4, b);
        }
        // A label padded before its last character (`姓　　名`, `姓&#160;名`
        // decoded): the raw four-byte tail holds the pad's last byte.
        if let Some(&[a, b, c]) = k.get(k.len().wrapping_sub(3)..) {
            if (0xE0..0xF0).contains(&a) {
                let last = u32::from_be_bytes([0, a, b, c]);
                for pad in [0x80u32, 0xA0] {
                    set_bit(&mut self.tails4, tail_hash(pad << 24 | last));
                }
            }
        }
    }

    /// Whether no field detector is loaded.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.schemes.is_empty()
    }

    /// Whether a raw key (before normalisation) is shorter than every
    /// name ending like it, so that [`FieldIndex::lookup`] would find
    /// nothing: `status` ends like `healthstatus` and passes the tail
    /// filter, but is too short to be it. Decided only for keys ending in
    /// two ASCII letters or digits (normalisation keeps those and only
    /// shortens a key).
    pub fn too_short(&self, raw: &[u8]) -> bool {
        let n = raw.len();
        if n < 2
            || !raw
                .get(n - 2..)
                .is_some_and(|t| t.iter().all(u8::is_ascii_alphanumeric))
        {
            return false;
        }
        let shortest = self.tail_min.get(tail_bit(raw)).copied().unwrap_or(0);
        n < usize::from(shortest)
    }

    /// Detectors for a normalised key.
    pub fn lookup(&self, key: &[u8]) -> &[(u16, ValueCheck)] {
        let shortest = self.tail_min.get(tail_bit(key)).copied().unwrap_or(0);
        if key.len() < usize::from(shortest) {
            return &[];
        }
        if let Some(v) = self.exact.get(key) {
            return v;
        }
        for &l in &self.suffix_lens {
            if key.len() > l {
                if let Some(v) = key.get(key.len() - l..).and_then(|s| self.exact.get(s)) {
                    if v.iter()
                        .all(|(_, c)| *c != ValueCheck::CnName || key.ends_with(b"name"))
                    {
                        return v;
                    }
                }
            }
        }
        &[]
    }
}

/// Is `b` part of a key?
fn key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.') || b >= 0x80
}

/// The key ending before separator `p` in `h`: (start, end). `sep` is the
/// separator byte; `>` needs a `<key` before it.
pub fn key_before(h: &[u8], p: usize, sep: u8) -> Option<(usize, usize)> {
    let lo = p.saturating_sub(KEY_BACK);
    let mut e = p;
    while e > lo && h.get(e - 1) == Some(&b' ') {
        e -= 1;
    }
    let quoted = e > lo && matches!(h.get(e - 1), Some(b'"' | b'\''));
    if quoted {
        e -= 1;
    }
    // `user[name]=` (PHP and Rails form arrays): the key is in brackets.
    let bracketed = sep != b'>' && e > lo && h.get(e - 1) == Some(&b']');
    let mut s = e;
    while s > lo
        && h.get(s - 1)
            .copied()
            .is_some_and(|b| key_byte(b) || (bracketed && matches!(b, b'[' | b']')))
    {
        s -= 1;
    }
    if s == e || (s == lo && lo > 0) {
        return None;
    }
    let (ks, ke) = if bracketed {
        let k = bracket_key(h.get(s..e).unwrap_or_default())?;
        let ks = k.as_ptr() as usize - h.as_ptr() as usize;
        (ks, ks + k.len())
    } else {
        (s, e)
    };
    // A key must not start in the middle of a multibyte character.
    if h.get(s).is_some_and(|b| (0x80..0xC0).contains(b)) {
        return None;
    }
    let before = s.checked_sub(1).and_then(|i| h.get(i)).copied();
    let ok = match sep {
        b'>' => before == Some(b'<'),
        _ if quoted => matches!(before, Some(b'"' | b'\'')),
        _ => before.is_none_or(|b| !key_byte(b) && b != b'"' && b != b'<' && b != b'/'),
    };
    ok.then_some((ks, ke))
}

/// The field name of a bracketed form key: the last named group
/// (`user[name]`, `data[0][name]`: `name`), or the name before the
/// brackets when every group is empty or a number (`phones[]`,
/// `phones[0]`). `None` when the brackets do not pair up.
pub fn bracket_key(k: &[u8]) -> Option<&[u8]> {
    let mut end = k.len();
    let mut named = None;
    while end > 0 && k.get(end - 1) == Some(&b']') {
        let open = k.get(..end - 1)?.iter().rposition(|&b| b == b'[')?;
        let inner = k.get(open + 1..end - 1)?;
        if inner.contains(&b']') {
            return None;
        }
        if named.is_none() && !inner.is_empty() && !inner.iter().all(u8::is_ascii_digit) {
            named = Some(inner);
        }
        end = open;
    }
    let base = k.get(..end)?;
    if base.is_empty() || base.iter().any(|&b| matches!(b, b'[' | b']')) {
        return None;
    }
    Some(named.unwrap_or(base))
}

/// More bytes are needed to decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeedMore;

/// A field's value after its separator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// The text at `start..end`, cut at [`VALUE_MAX`] when the flag is set.
    Text(usize, usize, bool),
    /// The selected option of the `<select>` after an HTML colon label
    /// (`<label>民族：</label><select name="f12">`).
    Select,
}

/// Where the value after separator `p` lies: `Ok(Some(value))`,
/// `Ok(None)` no value, `Err(NeedMore)` more bytes needed.
pub fn value_after(
    h: &[u8],
    p: usize,
    sep_len: usize,
    sep: u8,
    eof: bool,
) -> Result<Option<Value>, NeedMore> {
    let mut s = p + sep_len;
    while h.get(s) == Some(&b' ') {
        s += 1;
        if s - (p + sep_len) > SPACE_MAX {
            return Ok(None);
        }
    }
    let Some(&first) = h.get(s) else {
        return if eof { Ok(None) } else { Err(NeedMore) };
    };
    let quote = matches!(first, b'"' | b'\'').then_some(first);
    if quote.is_some() {
        s += 1;
    }
    // `姓名：</td><td>张伟`: an HTML label's value is the text after the
    // markup.
    let markup = first == b'<' && sep == b':';
    if markup {
        match super::fields_html::skip_markup(h, s, eof)? {
            Some(m) if m.select => return Ok(Some(Value::Select)),
            Some(m) => s = m.value,
            None => return Ok(None),
        }
    }
    let stop = |b: u8| match (quote, sep) {
        (Some(q), _) => b == q || b == b'\n',
        (None, b'>') => b == b'<' || b == b'\n',
        (None, _) if markup => b == b'<' || b == b'\n',
        (None, b'=') => matches!(
            b,
            b'&' | b'\r' | b'\n' | b';' | b',' | b'"' | b'<' | b' ' | b'}'
        ),
        (None, _) => matches!(
            b,
            b'&' | b'\r' | b'\n' | b';' | b',' | b'"' | b'<' | b'}' | b'\t'
        ),
    };
    let lim = (s + VALUE_MAX + 1).min(h.len());
    let e = h.get(s..lim).and_then(|t| t.iter().position(|&b| stop(b)));
    match e {
        Some(i) => Ok(Some(Value::Text(s, s + i, false))),
        None if h.len() > s + VALUE_MAX => Ok(Some(Value::Text(s, s + VALUE_MAX, true))),
        None if eof => Ok(Some(Value::Text(s, h.len(), false))),
        None => Err(NeedMore),
    }
}

/// `v` up to its first space, tab or ideographic space (U+3000).
pub fn first_word(v: &[u8]) -> &[u8] {
    let end = v
        .iter()
        .enumerate()
        .find(|&(i, &b)| b == b' ' || b == b'\t' || v.get(i..i + 3) == Some("\u{3000}".as_bytes()))
        .map_or(v.len(), |(i, _)| i);
    v.get(..end).unwrap_or(v)
}

/// Trims ASCII spaces and a trailing CR.
pub fn trim(v: &[u8]) -> &[u8] {
    v.trim_ascii()
}

/// Whether a value cut at [`VALUE_MAX`] is acceptable for `c`.
pub fn truncation_ok(c: ValueCheck, cut: bool) -> bool {
    !cut || c.may_truncate()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_labels_pass_the_tail_filter_and_match() {
        let mut ix = FieldIndex::default();
        ix.add(0, &["姓名".to_string()], ValueCheck::CnName);
        let mut k = Vec::new();
        for key in ["姓名", "姓　名", "姓　　名", "姓\u{a0}名"] {
            assert!(ix.may_match(key.as_bytes()), "{key}");
            norm_key(key.as_bytes(), &mut k);
            assert_eq!(ix.lookup(&k).len(), 1, "{key}");
        }
        assert!(!ix.may_match("姓　x".as_bytes()));
    }

    #[test]
    fn keys_shorter_than_every_name_ending_like_them() {
        let mut ix = FieldIndex::default();
        let names = ["healthstatus", "politicalstatus", "xm", "密码"].map(String::from);
        ix.add(0, &names, ValueCheck::Health);
        let mut k = Vec::new();
        for (raw, short) in [
            ("status", true),
            ("STATUS", true),
            ("healthstatus", false),
            ("my_healthstatus", false),
            ("xm", false),
            ("health_status_", false),
            ("密码", false),
        ] {
            assert_eq!(ix.too_short(raw.as_bytes()), short, "{raw}");
            // Never where the lookup would find the key.
            norm_key(raw.as_bytes(), &mut k);
            assert!(!short || ix.lookup(&k).is_empty(), "{raw}");
        }
    }

    #[test]
    fn bracketed_keys() {
        let k =
            |s: &str| bracket_key(s.as_bytes()).map(|k| String::from_utf8_lossy(k).into_owned());
        assert_eq!(k("user[name]").as_deref(), Some("name"));
        assert_eq!(k("data[0][realname]").as_deref(), Some("realname"));
        assert_eq!(k("info[address][0]").as_deref(), Some("address"));
        assert_eq!(k("phones[]").as_deref(), Some("phones"));
        assert_eq!(k("plain").as_deref(), Some("plain"));
        for bad in ["[name]", "a]b[c]", "a[b[c]]", "a[b"] {
            assert_eq!(k(bad), None, "{bad}");
        }
        // The tail filter lets a bracketed name through.
        let mut ix = FieldIndex::default();
        ix.add(
            0,
            &["name".to_string(), "姓名".to_string()],
            ValueCheck::CnName,
        );
        assert!(ix.may_match(b"ame]"));
        assert!(ix.may_match("名]".as_bytes()));
        assert!(!ix.may_match(b"abc]"));
        // In a form: the key is found from the separator.
        let h = b"x=1&user[name]=v";
        let p = h.len() - 2;
        assert_eq!(key_before(h, p, b'='), Some((9, 13)));
        // `arr[0].name=` keeps its old reading (the text after the bracket).
        let h = b"arr[0].name=v";
        assert_eq!(key_before(h, 11, b'='), Some((6, 11)));
    }

    #[test]
    fn first_word_stops_at_any_space() {
        assert_eq!(first_word("赵娜 电话：1".as_bytes()), "赵娜".as_bytes());
        assert_eq!(first_word("赵娜\u{3000}先生".as_bytes()), "赵娜".as_bytes());
        assert_eq!(first_word("赵娜\t1".as_bytes()), "赵娜".as_bytes());
        assert_eq!(first_word("赵娜".as_bytes()), "赵娜".as_bytes());
    }

    #[test]
    fn value_checks() {
        assert!(ValueCheck::CnName.check("张三".as_bytes()));
        assert!(ValueCheck::CnName.check("欧阳娜娜".as_bytes()));
        assert!(!ValueCheck::CnName.check("测试".as_bytes()));
        assert!(!ValueCheck::CnName.check("admin".as_bytes()));
        assert!(!ValueCheck::CnName.check("张三丰先生好".as_bytes()));
        assert!(ValueCheck::CnAddress.check("北京市朝阳区建国路88号".as_bytes()));
        assert!(ValueCheck::CnAddress.check("广东省深圳市南山区科技园10栋".as_bytes()));
        assert!(!ValueCheck::CnAddress.check("北京".as_bytes()));
        assert!(!ValueCheck::CnAddress.check("市场部".as_bytes()));
        assert!(ValueCheck::Ethnicity.check("汉族".as_bytes()));
        assert!(ValueCheck::Ethnicity.check("维吾尔族".as_bytes()));
        assert!(!ValueCheck::Ethnicity.check("火星族".as_bytes()));
        assert!(ValueCheck::Political.check("中共党员".as_bytes()));
        assert!(ValueCheck::Health.check("J18.9".as_bytes()));
        assert!(ValueCheck::Health.check("2型糖尿病".as_bytes()));
        assert!(ValueCheck::Credential.check(b"S3cret!pass"));
        assert!(!ValueCheck::Credential.check(b"null"));
        assert!(!ValueCheck::Credential.check(b"******"));
    }

    #[test]
    fn keys_and_values() {
        let h = br#"{"realName": "x", a=1&pwd=abc, <xm>y</xm>"#;
        let p = h.iter().position(|&b| b == b':').unwrap_or(0);
        assert_eq!(key_before(h, p, b':'), Some((2, 10)));
        assert_eq!(
            value_after(h, p, 1, b':', true),
            Ok(Some(Value::Text(14, 15, false)))
        );
        let p = 25;
        assert_eq!(h[p], b'=');
        assert_eq!(key_before(h, p, b'='), Some((22, 25)));
        let p = h.iter().rposition(|&b| b == b'>').unwrap_or(0);
        assert_eq!(key_before(h, p, b'>'), None, "closing tag");
        assert_eq!(value_after(b"k: v", 1, 1, b':', false), Err(NeedMore));
        // A colon label before a select: the select's selected option.
        let h = "民族：</label>\n<div><select name=\"f12\">".as_bytes();
        assert_eq!(value_after(h, 6, 3, b':', false), Ok(Some(Value::Select)));
        let h = "民族：<select>".as_bytes();
        assert_eq!(value_after(h, 6, 3, b':', false), Ok(Some(Value::Select)));
        assert_eq!(value_after(&h[..14], 6, 3, b':', false), Err(NeedMore));
    }

    #[test]
    fn spaces_before_a_value_are_bounded() {
        let at = |n: usize| format!("k:{}v;", " ".repeat(n)).into_bytes();
        let v = 2 + SPACE_MAX;
        assert_eq!(
            value_after(&at(SPACE_MAX), 1, 1, b':', false),
            Ok(Some(Value::Text(v, v + 1, false)))
        );
        assert_eq!(value_after(&at(SPACE_MAX + 1), 1, 1, b':', false), Ok(None));
        // Decided without waiting once the bound is passed, and waiting
        // before it.
        let h = at(SPACE_MAX + 1);
        assert_eq!(value_after(&h[..v + 1], 1, 1, b':', false), Ok(None));
        assert_eq!(value_after(&h[..v], 1, 1, b':', false), Err(NeedMore));
    }

    #[test]
    fn tail_filter_passes_every_name_form() {
        let mut ix = FieldIndex::default();
        let names = ["password", "pwd", "mz", "idCard", "密码"].map(String::from);
        ix.add(0, &names, ValueCheck::Credential);
        // A raw key passes when its normalised form is a name or ends in
        // one (names of four bytes or more), whatever the case or the
        // separators in it.
        for key in [
            "password",
            "PassWord",
            "user_password",
            "pwd",
            "mz",
            "id_card",
            "IDCARD",
            "pass_word",
            "pass-wo.rd",
            "p_wd",
            "密码",
            "登录密码",
        ] {
            let k = key.as_bytes();
            for n in 2..=RAW_TAIL {
                let tail = &k[k.len().saturating_sub(n)..];
                assert!(ix.may_match(tail), "{key}: last {n} bytes");
            }
        }
        // Ending like a name in two bytes but not in three.
        for key in ["xwd", "bird", "lmz", "user_xwd"] {
            let k = key.as_bytes();
            assert!(ix.may_match(&k[k.len() - 2..]), "{key}: passes two bytes");
            assert!(!ix.may_match(&k[k.len().saturating_sub(3)..]), "{key}");
        }
        assert!(!ix.may_match(b"ts"));
        // Ending like a name in three bytes but not in four.
        let mut ix = FieldIndex::default();
        ix.add(0, &["cardholder".to_string()], ValueCheck::CnName);
        assert!(ix.may_match(b"der"));
        assert!(!ix.may_match(b"rder"), "order");
        assert!(ix.may_match(b"lder"));
    }

    /// The tail filter written on slices, byte by byte: the reference
    /// for the word path.
    fn may_match_sliced(ix: &FieldIndex, raw_tail: &[u8]) -> bool {
        let n = raw_tail.len();
        if raw_tail
            .get(n.saturating_sub(2)..)
            .is_some_and(|t| t.iter().any(|&b| dropped_key_byte(b)))
        {
            return true;
        }
        bit_set(&ix.tails, tail_bit(raw_tail))
            && tail_hash_bit::<3>(raw_tail).is_none_or(|b| bit_set(&ix.tails3, b))
            && tail_hash_bit::<4>(raw_tail).is_none_or(|b| bit_set(&ix.tails4, b))
    }

    proptest::proptest! {
        /// The word path of the tail filter agrees with the sliced one.
        #[test]
        fn may_match_word_equals_may_match(
            tail in proptest::array::uniform4(proptest::prop_oneof![
                proptest::num::u8::ANY, b'A'..=b'Z', b'a'..=b'z', b'0'..=b'9',
                proptest::sample::select(vec![b'@', b'[', b'`', b'{', b'/', b':', b'_', 0x7F, 0x80, 0xE5]),
            ]),
            names in proptest::collection::vec("[a-zA-Z0-9@`{_]{2,6}", 1..8),
        ) {
            let mut ix = FieldIndex::default();
            ix.add(0, &names, ValueCheck::Credential);
            proptest::prop_assert_eq!(ix.may_match_word(u32::from_be_bytes(tail)), may_match_sliced(&ix, &tail));
            // Shorter tails (a buffer start) too.
            for k in 0..4 {
                proptest::prop_assert_eq!(ix.may_match(&tail[k..]), may_match_sliced(&ix, &tail[k..]));
            }
            // And for a tail that is a name's own end.
            let k = names[0].as_bytes();
            if let Some(t) = k.get(k.len().saturating_sub(4)..).and_then(|t| <[u8; 4]>::try_from(t).ok()) {
                proptest::prop_assert!(ix.may_match_word(u32::from_be_bytes(t)));
            }
        }

        /// The tail filter never rejects a key the lookup would accept.
        #[test]
        fn tail_filter_never_hides_a_match(
            name in proptest::sample::select(vec![
                "password", "pwd", "mz", "idCard", "密码", "cardholder", "real_name", "xm",
            ]),
            prefix in "[a-zA-Z_.-]{0,6}",
            upper in proptest::collection::vec(proptest::bool::ANY, 12),
            sep_at in 0usize..12,
            sep in proptest::sample::select(vec!["", "_", "-", ".", "__"]),
            other in "[a-zA-Z0-9_]{1,12}",
        ) {
            let mut ix = FieldIndex::default();
            let names = ["password", "pwd", "mz", "idCard", "密码", "cardholder", "real_name", "xm"]
                .map(String::from);
            ix.add(0, &names, ValueCheck::Credential);
            let cased: String = name
                .chars()
                .zip(upper.iter().chain(std::iter::repeat(&false)))
                .map(|(c, &u)| if u { c.to_ascii_uppercase() } else { c })
                .collect();
            let cut = cased.char_indices().map(|(i, _)| i).chain([cased.len()]).nth(sep_at).unwrap_or(cased.len());
            let cased = format!("{}{sep}{}", &cased[..cut], &cased[cut..]);
            let mut norm = Vec::new();
            for key in [format!("{prefix}{cased}"), other] {
                let k = key.as_bytes();
                norm_key(k, &mut norm);
                if !ix.lookup(&norm).is_empty() {
                    proptest::prop_assert!(ix.may_match(&k[k.len().saturating_sub(RAW_TAIL)..]), "{}", key);
                }
            }
        }
    }
}
