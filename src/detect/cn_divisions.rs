//! Start check of free-text postal addresses (validator `cn_address_prefix`).
//!
//! The regex `cn_address.text` cannot look behind, so a generic "two to four
//! characters + 市" prefix may start on the word before a city name (在石家庄市
//! ...). The engine retries a candidate whose validators fail one byte later,
//! so this check only has to say whether a candidate *starts* on a division
//! name: a known province-level name, a known city-level name
//! (`cn_divisions.txt`), or an unknown two-character 市 name followed by a
//! district (county-level cities are too many to list; without the district a
//! word such as 超市 would pass).

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, Anchored, Input, MatchKind, StartKind};

/// The division list (public GB/T 2260 names).
const LIST: &str = include_str!("cn_divisions.txt");

/// Words ending in 市 that are not places (nor end a place name).
const NOT_CITIES: &[&str] = &[
    "超市", "城市", "都市", "门市", "股市", "上市", "夜市", "集市", "街市", "楼市", "车市", "菜市",
    "花市", "早市", "黑市", "开市", "闭市", "罢市", "全市", "本市", "我市", "该市", "各市", "两市",
    "沪市", "深市", "省市", "县市", "鱼市", "灯市", "年市", "庙市", "互市", "休市", "收市", "牛市",
    "熊市", "人市",
];

/// District-level suffixes a generic city must be followed by.
const DISTRICT_ENDS: &[char] = &['区', '县', '旗'];

/// Characters that end a district search (a road or number came first).
const STREET_MARKS: &[char] = &['路', '街', '道', '巷', '弄', '号', '村', '镇', '乡'];

struct Divisions {
    /// Province-level names, full forms.
    province_full: Prefixes,
    /// Province-level short forms (北京, 广西, ...).
    province_short: Prefixes,
    /// City-level names (full forms, 自治州 short forms, 州 stems).
    city: Prefixes,
}

/// Anchored longest-prefix lookup over a set of names (one pass over at most
/// the longest name's bytes).
struct Prefixes(Option<AhoCorasick>);

impl Prefixes {
    fn new(names: &[&str]) -> Prefixes {
        Prefixes(
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .start_kind(StartKind::Anchored)
                .build(names)
                .ok(),
        )
    }

    /// Byte length of the longest name starting `s`.
    fn longest(&self, s: &str) -> Option<usize> {
        let ac = self.0.as_ref()?;
        ac.find(Input::new(s).anchored(Anchored::Yes))
            .map(|m| m.end())
    }
}

fn divisions() -> &'static Divisions {
    static D: OnceLock<Divisions> = OnceLock::new();
    D.get_or_init(|| {
        let (mut full, mut short, mut city) = (Vec::new(), Vec::new(), Vec::new());
        let mut in_city = false;
        for line in LIST.lines() {
            let line = line.split('#').next().unwrap_or_default().trim();
            match line {
                "" => continue,
                "[province]" => in_city = false,
                "[city]" => in_city = true,
                _ if in_city => {
                    for name in line.split_whitespace() {
                        city.push(name);
                        // 杭州市 is also written 杭州 (the regex lets X州 through).
                        if let Some(stem) = name.strip_suffix('市').filter(|s| s.ends_with('州'))
                        {
                            city.push(stem);
                        }
                    }
                }
                _ => {
                    let mut names = line.split_whitespace();
                    full.extend(names.next());
                    short.extend(names);
                }
            }
        }
        Divisions {
            province_full: Prefixes::new(&full),
            province_short: Prefixes::new(&short),
            city: Prefixes::new(&city),
        }
    })
}

/// A district-level unit (1-7 characters + 区/县/旗) starts `s`.
fn district_follows(s: &str) -> bool {
    let s = s.trim_start_matches(' ');
    for (i, c) in s.chars().take(8).enumerate() {
        if DISTRICT_ENDS.contains(&c) {
            return i > 0;
        }
        if STREET_MARKS.contains(&c) {
            return false;
        }
    }
    false
}

/// Byte length of an unlisted two-character 市 name starting `s` that is
/// not a common word (超市, 城市, ...).
fn two_char_city(s: &str) -> Option<usize> {
    let han = |c: char| ('\u{4e00}'..='\u{9fff}').contains(&c);
    let mut it = s.char_indices();
    let (Some((_, a)), Some((_, b)), Some((i, '市'))) = (it.next(), it.next(), it.next()) else {
        return None;
    };
    if !han(a) || !han(b) {
        return None;
    }
    let name = s.get(..i + '市'.len_utf8())?;
    (!NOT_CITIES.iter().any(|w| name.ends_with(w))).then_some(name.len())
}

/// An unlisted two-character 市 name, then a district.
fn generic_city(s: &str) -> bool {
    two_char_city(s).is_some_and(|n| district_follows(s.get(n..).unwrap_or_default()))
}

/// Does the candidate address `v` start on a division name (see the module
/// documentation)?
pub fn address_prefix(v: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(v) else {
        return false;
    };
    let d = divisions();
    if d.city.longest(s).is_some() || d.province_full.longest(s).is_some() {
        return true;
    }
    match d.province_short.longest(s) {
        Some(n) => {
            let rest = s.get(n..).unwrap_or_default();
            d.city.longest(rest).is_some()
                || district_follows(rest)
                || two_char_city(rest).is_some()
        }
        None => generic_city(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> bool {
        address_prefix(s.as_bytes())
    }

    #[test]
    fn list_parses() {
        let d = divisions();
        assert_eq!(d.province_full.longest("广西壮族自治区南宁市"), Some(21));
        assert_eq!(d.province_short.longest("广西南宁市"), Some(6));
        assert_eq!(d.city.longest("石家庄市长安区"), Some(12));
        assert_eq!(d.city.longest("杭州西湖区"), Some(6));
        assert_eq!(d.city.longest("吉林市船营区"), Some(9));
        assert_eq!(d.city.longest("在石家庄市"), None);
    }

    #[test]
    fn known_names_start_an_address() {
        for s in [
            "石家庄市长安区中山东路88号",
            "哈尔滨市南岗区西大直街92号",
            "新疆维吾尔自治区乌鲁木齐市天山区解放北路8号",
            "北京市海淀区中关村大街27号",
            "杭州西湖区文三路90号",
            "广东深圳市南山区科技园路1号",
            "北京朝阳区建国路88号",
            "延边州延吉市光明街5号",
        ] {
            assert!(ok(s), "{s}");
        }
    }

    #[test]
    fn generic_city_needs_a_district() {
        assert!(ok("昆山市开发区前进路10号"));
        assert!(ok("昆山市 开发区 前进路10号"));
        assert!(!ok("昆山市前进路10号"));
        assert!(!ok("超市东区中山路3号"));
        assert!(!ok("去超市东区中山路3号"));
        assert!(!ok("在石家庄市长安区中山东路88号"));
        assert!(!ok("在杭州市西湖区文三路90号"));
        assert!(!ok("广西超市中山路1号"));
        assert!(ok("浙江义乌市稠州北路88号"));
        assert!(!ok(""));
        assert!(!address_prefix(b"\xe4\xb8"));
    }

    proptest::proptest! {
        /// Arbitrary bytes and strings of division-like characters never
        /// panic, and a candidate that passes starts with a Han character.
        #[test]
        fn any_input_is_safe(
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            chars in proptest::collection::vec(
                proptest::sample::select(vec!['石', '家', '庄', '市', '区', '县', '省', '广', '西', '超', ' ', '路', '1', '号']),
                0..16,
            ),
        ) {
            let _ = address_prefix(&raw);
            let s: String = chars.into_iter().collect();
            if address_prefix(s.as_bytes()) {
                proptest::prop_assert!(s.chars().next().is_some_and(|c| !c.is_ascii()));
            }
        }
    }
}
