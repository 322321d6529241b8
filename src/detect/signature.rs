//! Signature files (`signatures/detectors/*.toml`): format, loading and the
//! rich [`SignatureError`].
//!
//! One detector per file:
//!
//! ```toml
//! id = "cn_mobile"              # unique detector id
//! pi_type = "cn_mobile"         # DESIGN.md vocabulary
//! category = "contact"
//! kind = "digits"               # digits | email | regex | keywords
//! priority = 30                 # lower wins when two detectors claim the same digits
//! validators = ["mobile_segment"]
//! confidence = "medium"         # after validators, without context
//! context_confidence = "high"   # with a context word in the window
//!
//! [digits]                      # kind = "digits" only
//! lengths = [11]                # digits in the value
//! check_x = false               # last character may be X/x (normalised to X)
//! groupings = [[3, 4, 4]]       # accepted separated forms
//! separators = " -"
//! prefixes = ["+86", "0086", "86"]
//!
//! # trunk = "0"                 # digits put in front after a country prefix
//! # single_weak = true          # the unseparated form is weak (low)
//!
//! # [regex]                     # kind = "regex": pattern of at most 128 bytes
//! # pattern = 'TK-(?P<value>[0-9]{6})'
//! # [keywords]                  # kind = "keywords"
//! # words = ["绝密"]             # and/or file = "words.txt" (relative)
//! # gbk = true
//! # report = false              # suppress-only detector
//! # exclude_values = ["..."]    # never reported; exclude_hashes = ["<hex>"]
//!
//! [context]
//! window = 64                   # bytes before the value (up to 512)
//! # required = true             # no context word: not even claimed
//! words = ["mobile", "手机"]     # ASCII case-insensitive literals
//! exclude = ["imei"]            # words that suppress a match in the window
//!
//! [[match]]                     # positive examples, run by tests/signatures.rs
//! text = "mobile=13800138000"
//! value = "13800138000"         # optional expected normalised value
//! confidence = "high"           # optional expected confidence
//!
//! [[no_match]]
//! text = "order=13800138000123"
//! ```

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::exclude::{parse_hash, ExcludeList};
use super::keywords::{self, KeywordSpec};
use super::regex::{self, RegexSpec};
use super::validators::Validator;
use super::{Confidence, DetectorInfo};

/// Longest context word in bytes (bounds the per-stream carry).
pub const MAX_WORD_LEN: usize = 32;
/// Largest context window in bytes.
pub const MAX_WINDOW: u32 = 512;
/// Most digits a digits detector may ask for (prefix excluded).
pub const MAX_DIGITS: usize = 19;
/// Largest keyword file in bytes.
pub const MAX_WORD_FILE: u64 = 8 << 20;

/// A signature file that cannot be loaded: names file, line, detector, field.
#[derive(Debug)]
pub struct SignatureError {
    kind: ErrorKind,
}

#[derive(Debug)]
enum ErrorKind {
    Io {
        path: PathBuf,
        err: std::io::Error,
    },
    Syntax {
        file: String,
        line: Option<usize>,
        msg: String,
    },
    Field {
        file: String,
        line: Option<usize>,
        detector: String,
        field: &'static str,
        msg: String,
    },
    Duplicate {
        file: String,
        detector: String,
        first: String,
    },
    Empty {
        dir: PathBuf,
    },
    Backend {
        msg: String,
    },
    InFile {
        file: String,
        line: Option<usize>,
        msg: String,
    },
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Io { path, err } => write!(
                f,
                "cannot read signature path {}: {err}; check that it exists and is readable",
                path.display()
            ),
            ErrorKind::Syntax { file, line, msg } => {
                write!(f, "{file}")?;
                if let Some(l) = line {
                    write!(f, ":{l}")?;
                }
                write!(f, ": invalid TOML: {msg}; fix the syntax of this signature file")
            }
            ErrorKind::Field {
                file,
                line,
                detector,
                field,
                msg,
            } => {
                write!(f, "{file}")?;
                if let Some(l) = line {
                    write!(f, ":{l}")?;
                }
                write!(f, ": detector `{detector}`, field `{field}`: {msg}")
            }
            ErrorKind::Duplicate {
                file,
                detector,
                first,
            } => write!(
                f,
                "{file}: detector id `{detector}` is already defined in {first}; give it a unique id"
            ),
            ErrorKind::Empty { dir } => write!(
                f,
                "no signature files (*.toml) found in {}; point the config at the signatures directory",
                dir.display()
            ),
            ErrorKind::InFile { file, line, msg } => {
                write!(f, "{file}")?;
                if let Some(l) = line {
                    write!(f, ":{l}")?;
                }
                write!(f, ": {msg}")
            }
            ErrorKind::Backend { msg } => write!(
                f,
                "cannot compile the context-word database: {msg}; check the context words"
            ),
        }
    }
}

impl std::error::Error for SignatureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io { err, .. } => Some(err),
            _ => None,
        }
    }
}

impl SignatureError {
    pub(crate) fn io(path: &Path, err: std::io::Error) -> Self {
        SignatureError {
            kind: ErrorKind::Io {
                path: path.to_path_buf(),
                err,
            },
        }
    }
    pub(crate) fn empty(dir: &Path) -> Self {
        SignatureError {
            kind: ErrorKind::Empty {
                dir: dir.to_path_buf(),
            },
        }
    }
    pub(crate) fn backend(msg: String) -> Self {
        SignatureError {
            kind: ErrorKind::Backend { msg },
        }
    }
    pub(crate) fn syntax(file: &str, line: Option<usize>, msg: &str) -> Self {
        SignatureError {
            kind: ErrorKind::Syntax {
                file: file.to_string(),
                line,
                msg: msg.to_string(),
            },
        }
    }
    pub(crate) fn in_file(file: &str, line: Option<usize>, msg: &str) -> Self {
        SignatureError {
            kind: ErrorKind::InFile {
                file: file.to_string(),
                line,
                msg: msg.to_string(),
            },
        }
    }
    pub(crate) fn duplicate(file: &str, detector: &str, first: &str) -> Self {
        SignatureError {
            kind: ErrorKind::Duplicate {
                file: file.to_string(),
                detector: detector.to_string(),
                first: first.to_string(),
            },
        }
    }
}

/// The kind-specific part of a detector.
#[derive(Clone, Debug)]
pub enum Family {
    /// Digit runs, optionally grouped/prefixed.
    Digits(DigitSpec),
    /// E-mail addresses.
    Email(EmailSpec),
    /// A bounded-length regex (see `regex.rs`).
    Regex(RegexSpec),
    /// A keyword dictionary (see `keywords.rs`).
    Keywords(KeywordSpec),
    /// Values marked by a field name (`kind = "field"`, see `fields.rs`).
    Field(FieldSpec),
}

/// How a field detector looks: groups of field names, each with a value
/// check, and optional auth schemes (`Basic`, `Bearer`).
#[derive(Clone, Debug)]
pub struct FieldSpec {
    /// (field names, value check).
    pub groups: Vec<(Vec<String>, super::fields::ValueCheck)>,
    /// Auth schemes whose token is the value.
    pub schemes: Vec<String>,
}

/// How a digits detector looks.
#[derive(Clone, Debug)]
pub struct DigitSpec {
    /// Accepted value lengths in digits (with the `X` counted as one).
    pub lengths: Vec<usize>,
    /// Last character may be `X`/`x`.
    pub check_x: bool,
    /// Accepted group sizes for separated forms, longest total first.
    pub groupings: Vec<Vec<usize>>,
    /// Separator bytes allowed between groups.
    pub separators: Vec<u8>,
    /// Country prefixes as digits, and whether each requires a leading `+`.
    pub prefixes: Vec<(Vec<u8>, bool)>,
    /// Trunk digits put in front of the value when a country prefix was
    /// stripped (landlines: `+86 10 ...` normalises to `010...`).
    pub trunk: Vec<u8>,
    /// The lone run form (no separators, no prefix) is weak: `Low`
    /// without context, `confidence` with it.
    pub single_weak: bool,
}

/// How an e-mail detector looks.
#[derive(Clone, Debug)]
pub struct EmailSpec {
    /// Top-level "domains" that are really file extensions (`logo@2x.png`).
    pub exclude_tlds: Vec<String>,
}

/// One example from a signature file.
#[derive(Clone, Debug)]
pub struct Example {
    /// Text to scan.
    pub text: String,
    /// `true` for `[[match]]`, `false` for `[[no_match]]`.
    pub expect_match: bool,
    /// Expected normalised value.
    pub value: Option<String>,
    /// Expected confidence.
    pub confidence: Option<Confidence>,
    /// Line of the example in its file.
    pub line: usize,
}

/// A compiled detector.
#[derive(Clone, Debug)]
pub struct Detector {
    /// Public facts.
    pub info: DetectorInfo,
    /// Source file name (for messages).
    pub file: String,
    /// Kind-specific spec.
    pub family: Family,
    /// Validator chain.
    pub validators: Vec<Validator>,
    /// Confidence after validators, without context.
    pub base: Confidence,
    /// Confidence with a context word in the window.
    pub with_context: Confidence,
    /// Priority (lower first).
    pub priority: i64,
    /// Context window in bytes before the value.
    pub window: u32,
    /// Context words.
    pub words: Vec<String>,
    /// Exclusion words.
    pub exclude: Vec<String>,
    /// A match needs a context word in the window, else it is not even
    /// claimed (another detector may take the bytes).
    pub require_context: bool,
    /// `false` for a suppressing detector: it claims its matches (and
    /// everything starting inside them) but reports nothing.
    pub report: bool,
    /// Values (or hashes) never reported by this detector.
    pub allow: ExcludeList,
    /// Examples.
    pub examples: Vec<Example>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    id: Spanned<String>,
    pi_type: Spanned<String>,
    category: Spanned<String>,
    kind: Spanned<String>,
    #[serde(default)]
    priority: Option<Spanned<i64>>,
    #[serde(default)]
    validators: Vec<Spanned<String>>,
    confidence: Spanned<String>,
    #[serde(default)]
    context_confidence: Option<Spanned<String>>,
    #[serde(default)]
    digits: Option<Spanned<RawDigits>>,
    #[serde(default)]
    email: Option<RawEmail>,
    #[serde(default)]
    field: Option<Spanned<RawField>>,
    #[serde(default)]
    context: Option<RawContext>,
    #[serde(default)]
    regex: Option<RawRegex>,
    #[serde(default)]
    keywords: Option<RawKeywords>,
    #[serde(default)]
    report: Option<bool>,
    #[serde(default)]
    exclude_values: Vec<String>,
    #[serde(default)]
    exclude_hashes: Vec<Spanned<String>>,
    #[serde(default, rename = "match")]
    matches: Vec<Spanned<RawExample>>,
    #[serde(default)]
    no_match: Vec<Spanned<RawExample>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDigits {
    lengths: Spanned<Vec<usize>>,
    #[serde(default)]
    check_x: bool,
    #[serde(default)]
    groupings: Option<Spanned<Vec<Vec<usize>>>>,
    #[serde(default)]
    separators: Option<String>,
    #[serde(default)]
    prefixes: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    trunk: Option<Spanned<String>>,
    #[serde(default)]
    single_weak: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegex {
    pattern: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeywords {
    #[serde(default)]
    words: Vec<Spanned<String>>,
    #[serde(default)]
    file: Option<Spanned<String>>,
    #[serde(default = "yes")]
    gbk: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmail {
    #[serde(default)]
    exclude_tlds: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    #[serde(default)]
    groups: Vec<RawFieldGroup>,
    #[serde(default)]
    schemes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFieldGroup {
    names: Vec<String>,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContext {
    window: Spanned<u32>,
    #[serde(default)]
    words: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    required: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExample {
    text: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    confidence: Option<Spanned<String>>,
}

/// Parses one signature file. `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Detector, SignatureError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| SignatureError {
        kind: ErrorKind::Syntax {
            file: file.to_string(),
            line: e.span().map(|s| line_of(text, s.start)),
            msg: e.message().to_string(),
        },
    })?;
    Ctx {
        file,
        text,
        id: raw.id.get_ref().clone(),
    }
    .build(raw)
}

/// 1-based line of a byte offset.
fn line_of(text: &str, pos: usize) -> usize {
    let pos = pos.min(text.len());
    text.as_bytes()
        .get(..pos)
        .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
        + 1
}

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
    id: String,
}

impl Ctx<'_> {
    fn err(
        &self,
        span: Range<usize>,
        field: &'static str,
        msg: impl Into<String>,
    ) -> SignatureError {
        SignatureError {
            kind: ErrorKind::Field {
                file: self.file.to_string(),
                line: Some(line_of(self.text, span.start)),
                detector: self.id.clone(),
                field,
                msg: msg.into(),
            },
        }
    }

    fn confidence(
        &self,
        s: &Spanned<String>,
        field: &'static str,
    ) -> Result<Confidence, SignatureError> {
        match s.get_ref().as_str() {
            "low" => Ok(Confidence::Low),
            "medium" => Ok(Confidence::Medium),
            "high" => Ok(Confidence::High),
            other => Err(self.err(
                s.span(),
                field,
                format!("unknown confidence `{other}`; use one of low, medium, high"),
            )),
        }
    }

    fn nonempty(&self, s: &Spanned<String>, field: &'static str) -> Result<String, SignatureError> {
        let v = s.get_ref().trim();
        let ok = !v.is_empty()
            && v.len() <= 64
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
        if ok {
            Ok(v.to_string())
        } else {
            Err(self.err(
                s.span(),
                field,
                "must be 1-64 characters of ASCII letters, digits, `.`, `_`, `:` or `-`",
            ))
        }
    }

    fn build(&self, raw: RawFile) -> Result<Detector, SignatureError> {
        let id = self.nonempty(&raw.id, "id")?;
        let pi_type = self.nonempty(&raw.pi_type, "pi_type")?;
        let category = self.nonempty(&raw.category, "category")?;
        let validators = raw
            .validators
            .iter()
            .map(|v| {
                Validator::from_name(v.get_ref()).ok_or_else(|| {
                    self.err(
                        v.span(),
                        "validators",
                        format!(
                            "unknown validator `{}`; known validators: {}",
                            v.get_ref(),
                            Validator::NAMES.join(", ")
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let base = self.confidence(&raw.confidence, "confidence")?;
        let with_context = match &raw.context_confidence {
            Some(c) => self.confidence(c, "context_confidence")?,
            None => base,
        };
        if with_context < base {
            return Err(self.err(
                raw.confidence.span(),
                "context_confidence",
                "must not be lower than `confidence`",
            ));
        }
        let family = self.family(&raw)?;
        let (window, words, exclude) = self.context(raw.context.as_ref())?;
        let require_context = raw.context.as_ref().is_some_and(|c| c.required);
        if require_context && words.is_empty() {
            return Err(self.err(
                raw.kind.span(),
                "context.required",
                "a detector that requires context needs context words",
            ));
        }
        let allow = self.allow(&raw)?;
        let mut examples = Vec::new();
        for (list, expect) in [(&raw.matches, true), (&raw.no_match, false)] {
            for ex in list {
                examples.push(self.example(ex, expect)?);
            }
        }
        Ok(Detector {
            info: DetectorInfo {
                id,
                pi_type,
                category,
            },
            file: self.file.to_string(),
            family,
            validators,
            base,
            with_context,
            priority: raw.priority.map_or(100, |p| *p.get_ref()),
            window,
            words,
            exclude,
            require_context,
            report: raw.report.unwrap_or(true),
            allow,
            examples,
        })
    }

    fn allow(&self, raw: &RawFile) -> Result<ExcludeList, SignatureError> {
        let mut list = ExcludeList::default();
        list.values
            .extend(raw.exclude_values.iter().map(|v| v.as_bytes().to_vec()));
        for h in &raw.exclude_hashes {
            let v = parse_hash(h.get_ref()).map_err(|m| self.err(h.span(), "exclude_hashes", m))?;
            list.hashes.insert(v);
        }
        Ok(list)
    }

    fn regex(&self, raw: &RawFile) -> Result<Family, SignatureError> {
        let Some(r) = &raw.regex else {
            return Err(self.err(
                raw.kind.span(),
                "regex",
                "kind = \"regex\" needs a [regex] table with `pattern`",
            ));
        };
        let spec = regex::compile(r.pattern.get_ref())
            .map_err(|m| self.err(r.pattern.span(), "regex.pattern", m))?;
        Ok(Family::Regex(spec))
    }

    fn keywords(&self, raw: &RawFile) -> Result<Family, SignatureError> {
        let Some(k) = &raw.keywords else {
            return Err(self.err(
                raw.kind.span(),
                "keywords",
                "kind = \"keywords\" needs a [keywords] table with `words` or `file`",
            ));
        };
        let mut words = Vec::new();
        for w in &k.words {
            words.push(
                keywords::check_word(w.get_ref())
                    .map_err(|m| self.err(w.span(), "keywords.words", m))?,
            );
        }
        if let Some(f) = &k.file {
            self.word_file(f, &mut words)?;
        }
        words.sort_unstable();
        words.dedup();
        if words.is_empty() {
            return Err(self.err(
                raw.kind.span(),
                "keywords",
                "give at least one word in `words` or `file`",
            ));
        }
        Ok(Family::Keywords(KeywordSpec { words, gbk: k.gbk }))
    }

    /// Reads a word list (one word a line, `#` comments) relative to the
    /// signature file.
    fn word_file(
        &self,
        f: &Spanned<String>,
        words: &mut Vec<String>,
    ) -> Result<(), SignatureError> {
        let base = Path::new(self.file).parent().unwrap_or(Path::new(""));
        let path = base.join(f.get_ref());
        let meta = std::fs::metadata(&path).map_err(|e| SignatureError::io(&path, e))?;
        if meta.len() > MAX_WORD_FILE {
            return Err(self.err(
                f.span(),
                "keywords.file",
                format!("word list is larger than {MAX_WORD_FILE} bytes"),
            ));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| SignatureError::io(&path, e))?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let w = keywords::check_word(line).map_err(|m| {
                SignatureError::in_file(&path.display().to_string(), Some(i + 1), &m)
            })?;
            words.push(w);
        }
        Ok(())
    }

    fn family(&self, raw: &RawFile) -> Result<Family, SignatureError> {
        match raw.kind.get_ref().as_str() {
            "digits" => {
                let Some(d) = &raw.digits else {
                    return Err(self.err(
                        raw.kind.span(),
                        "digits",
                        "kind = \"digits\" needs a [digits] table",
                    ));
                };
                Ok(Family::Digits(self.digits(d)?))
            }
            "email" => Ok(Family::Email(EmailSpec {
                exclude_tlds: raw
                    .email
                    .as_ref()
                    .map(|e| {
                        e.exclude_tlds
                            .iter()
                            .map(|t| t.to_ascii_lowercase())
                            .collect()
                    })
                    .unwrap_or_default(),
            })),
            "regex" => self.regex(raw),
            "keywords" => self.keywords(raw),
            "field" => self.field(raw),
            other => Err(self.err(
                raw.kind.span(),
                "kind",
                format!(
                    "unknown kind `{other}`; use `digits`, `email`, `regex`, `keywords` or `field`"
                ),
            )),
        }
    }

    fn field(&self, raw: &RawFile) -> Result<Family, SignatureError> {
        use super::fields::{norm_key, ValueCheck, KEY_BACK};
        let Some(f) = &raw.field else {
            return Err(self.err(
                raw.kind.span(),
                "field",
                "kind = \"field\" needs a [field] table with groups",
            ));
        };
        let span = f.span();
        let f = f.get_ref();
        let mut groups = Vec::new();
        let mut k = Vec::new();
        for g in &f.groups {
            let check = ValueCheck::from_name(&g.value).ok_or_else(|| {
                self.err(
                    span.clone(),
                    "field.groups.value",
                    format!(
                        "unknown value check `{}`; known: {}",
                        g.value,
                        ValueCheck::NAMES.join(", ")
                    ),
                )
            })?;
            for n in &g.names {
                norm_key(n.as_bytes(), &mut k);
                if k.is_empty() || n.len() > KEY_BACK - 4 {
                    return Err(self.err(
                        span.clone(),
                        "field.groups.names",
                        format!("field name `{n}` must be 1-{} bytes", KEY_BACK - 4),
                    ));
                }
            }
            groups.push((g.names.clone(), check));
        }
        if groups.is_empty() && f.schemes.is_empty() {
            return Err(self.err(span, "field", "give at least one group or scheme"));
        }
        Ok(Family::Field(FieldSpec {
            groups,
            schemes: f.schemes.clone(),
        }))
    }

    fn digits(&self, d: &Spanned<RawDigits>) -> Result<DigitSpec, SignatureError> {
        let span = d.span();
        let d = d.get_ref();
        let lengths = d.lengths.get_ref().clone();
        if lengths.is_empty() || lengths.iter().any(|&l| !(6..=MAX_DIGITS).contains(&l)) {
            return Err(self.err(
                d.lengths.span(),
                "digits.lengths",
                format!("give one or more lengths between 6 and {MAX_DIGITS}"),
            ));
        }
        let mut groupings = d
            .groupings
            .as_ref()
            .map(|g| g.get_ref().clone())
            .unwrap_or_default();
        let gspan = d.groupings.as_ref().map_or(span.clone(), |g| g.span());
        for g in &groupings {
            let total: usize = g.iter().sum();
            if g.len() < 2 || g.len() > 6 || g.contains(&0) || !lengths.contains(&total) {
                return Err(self.err(
                    gspan.clone(),
                    "digits.groupings",
                    "each grouping needs 2-6 non-zero group sizes summing to one of `lengths`",
                ));
            }
        }
        groupings.sort_by_key(|g| std::cmp::Reverse((g.iter().sum::<usize>(), g.len())));
        let separators = d
            .separators
            .clone()
            .unwrap_or_else(|| " -".to_string())
            .into_bytes();
        if separators.iter().any(|b| !b" -./".contains(b)) {
            return Err(self.err(
                span,
                "digits.separators",
                "separators may only be space, `-`, `.` or `/`",
            ));
        }
        let mut prefixes = Vec::new();
        let pspan = d.prefixes.as_ref().map_or(span.clone(), |p| p.span());
        let no_prefixes = Vec::new();
        for p in d.prefixes.as_ref().map_or(&no_prefixes, |p| p.get_ref()) {
            let (plus, digits) = match p.strip_prefix('+') {
                Some(rest) => (true, rest),
                None => (false, p.as_str()),
            };
            if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(self.err(
                    pspan.clone(),
                    "digits.prefixes",
                    format!("prefix `{p}` must be 1-4 digits with an optional leading `+`"),
                ));
            }
            prefixes.push((digits.as_bytes().to_vec(), plus));
        }
        let trunk = match &d.trunk {
            Some(t)
                if t.get_ref().is_empty()
                    || t.get_ref().len() > 2
                    || !t.get_ref().bytes().all(|b| b.is_ascii_digit()) =>
            {
                return Err(self.err(t.span(), "digits.trunk", "trunk must be 1-2 digits"));
            }
            Some(t) => t.get_ref().as_bytes().to_vec(),
            None => Vec::new(),
        };
        Ok(DigitSpec {
            lengths,
            check_x: d.check_x,
            groupings,
            separators,
            prefixes,
            trunk,
            single_weak: d.single_weak,
        })
    }

    #[allow(clippy::type_complexity)]
    fn context(
        &self,
        c: Option<&RawContext>,
    ) -> Result<(u32, Vec<String>, Vec<String>), SignatureError> {
        let Some(c) = c else {
            return Ok((0, Vec::new(), Vec::new()));
        };
        let window = *c.window.get_ref();
        if window == 0 || window > MAX_WINDOW {
            return Err(self.err(
                c.window.span(),
                "context.window",
                format!("window must be 1-{MAX_WINDOW} bytes"),
            ));
        }
        let words = |list: &[Spanned<String>], field| {
            list.iter()
                .map(|w| {
                    let s = w.get_ref();
                    if s.is_empty() || s.len() > MAX_WORD_LEN {
                        Err(self.err(
                            w.span(),
                            field,
                            format!("context word must be 1-{MAX_WORD_LEN} bytes (UTF-8)"),
                        ))
                    } else {
                        Ok(s.clone())
                    }
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok((
            window,
            words(&c.words, "context.words")?,
            words(&c.exclude, "context.exclude")?,
        ))
    }

    fn example(&self, ex: &Spanned<RawExample>, expect: bool) -> Result<Example, SignatureError> {
        let line = line_of(self.text, ex.span().start);
        let e = ex.get_ref();
        let confidence = match &e.confidence {
            Some(c) => Some(self.confidence(c, "confidence")?),
            None => None,
        };
        if !expect && (e.value.is_some() || confidence.is_some()) {
            return Err(self.err(
                ex.span(),
                "no_match",
                "a no_match example takes only `text`",
            ));
        }
        Ok(Example {
            text: e.text.clone(),
            expect_match: expect,
            value: e.value.clone(),
            confidence,
            line,
        })
    }
}

/// Reads every `*.toml` under `dir` (or `dir/detectors` when it exists),
/// sorted by name, as `(file name, text)`.
pub fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, SignatureError> {
    let sub = dir.join("detectors");
    let dir = if sub.is_dir() { sub } else { dir.to_path_buf() };
    let rd = std::fs::read_dir(&dir).map_err(|e| SignatureError::io(&dir, e))?;
    let mut paths = Vec::new();
    for ent in rd {
        let p = ent.map_err(|e| SignatureError::io(&dir, e))?.path();
        let is_exclude = p
            .file_name()
            .is_some_and(|n| n == super::exclude::FILE_NAME);
        if p.extension().is_some_and(|x| x == "toml") && !is_exclude {
            paths.push(p);
        }
    }
    paths.sort();
    if paths.is_empty() {
        return Err(SignatureError::empty(&dir));
    }
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).map_err(|e| SignatureError::io(&p, e))?;
            Ok((p.display().to_string(), text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"
id = "t"
pi_type = "cn_mobile"
category = "contact"
kind = "digits"
validators = ["mobile_segment"]
confidence = "medium"
[digits]
lengths = [11]
"#;

    #[test]
    fn parses_minimal() {
        let d = parse("t.toml", OK).unwrap();
        assert_eq!(d.info.id, "t");
        assert_eq!(d.validators, vec![Validator::MobileSegment]);
        assert_eq!(d.with_context, Confidence::Medium);
    }

    #[test]
    fn unknown_validator_names_line_and_field() {
        let bad = OK.replace("mobile_segment", "nope");
        let e = parse("t.toml", &bad).unwrap_err().to_string();
        assert!(e.contains("t.toml:6"), "{e}");
        assert!(
            e.contains("`validators`") && e.contains("`t`") && e.contains("nope"),
            "{e}"
        );
    }

    #[test]
    fn syntax_error_has_line() {
        let e = parse("x.toml", "id = \"a\"\nkind = \n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.toml:2"), "{e}");
    }

    #[test]
    fn bad_length_and_grouping_rejected() {
        let e = parse("t.toml", &OK.replace("[11]", "[40]"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("digits.lengths"), "{e}");
        let g = format!("{OK}groupings = [[3, 4]]\n");
        let e = parse("t.toml", &g).unwrap_err().to_string();
        assert!(e.contains("digits.groupings"), "{e}");
    }
}
