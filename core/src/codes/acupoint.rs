//! WHO standard acupuncture point codes (DOMAIN.md section 5).
//!
//! Two kinds of points are known:
//! - the 361 points of the 14 meridians of the WHO 1991 nomenclature (WHO *Standard
//!   Acupuncture Point Locations in the Western Pacific Region*, 2008): a [`Meridian`] code
//!   plus a point number, `ST36`;
//! - the 48 WHO 2008 extra points (经外奇穴), grouped in five [`ExtraRegion`]s: `EX-HN1`.
//!
//! [`Acupoint::parse`] reads what people type (case-insensitive, an optional `-` or space
//! between code and number, the legacy meridian aliases seen in the wild) and
//! [`Acupoint`]'s `Display` writes the canonical WHO form. [`Acupoint::wire_code`] is the
//! compact `u16` used on the wire.
//!
//! ## 印堂 Yintang: EX-HN3, not GV29
//! The WHO nomenclature keeps 印堂 Yintang as the extra point EX-HN3 and the Governor Vessel
//! at 28 points. The Chinese standard GB/T 12346 places 印堂 in 督脉 as GV29 (362 meridian
//! points; DOMAIN.md marks this as not verified). tcmcare keeps the WHO model: Yintang is
//! always stored as EX-HN3 (wire code 2103), and the GV count stays 28. Because Chinese
//! terminals may type `GV29`, [`GV29_IS_YINTANG`] makes the parser read it as EX-HN3; it
//! never produces a GV29 point.

use core::fmt;

/// A meridian (经脉) of the WHO nomenclature, in DOMAIN.md table order.
///
/// The discriminant is the meridian index used by [`Acupoint::wire_code`]; it is part of the
/// wire contract and never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Meridian {
    /// LU, Lung meridian (手太阴肺经), 11 points.
    Lu = 0,
    /// LI, Large Intestine meridian (手阳明大肠经), 20 points.
    Li = 1,
    /// ST, Stomach meridian (足阳明胃经), 45 points.
    St = 2,
    /// SP, Spleen meridian (足太阴脾经), 21 points.
    Sp = 3,
    /// HT, Heart meridian (手少阴心经), 9 points.
    Ht = 4,
    /// SI, Small Intestine meridian (手太阳小肠经), 19 points.
    Si = 5,
    /// BL, Bladder meridian (足太阳膀胱经), 67 points.
    Bl = 6,
    /// KI, Kidney meridian (足少阴肾经), 27 points.
    Ki = 7,
    /// PC, Pericardium meridian (手厥阴心包经), 9 points.
    Pc = 8,
    /// TE, Triple Energizer meridian (手少阳三焦经), 23 points.
    Te = 9,
    /// GB, Gallbladder meridian (足少阳胆经), 44 points.
    Gb = 10,
    /// LR, Liver meridian (足厥阴肝经), 14 points.
    Lr = 11,
    /// GV, Governor Vessel (督脉), 28 points.
    Gv = 12,
    /// CV, Conception Vessel (任脉), 24 points.
    Cv = 13,
}

/// Number of points on all 14 meridians together (WHO 1991 / 2008).
pub const MERIDIAN_POINT_TOTAL: u16 = 361;

/// Number of WHO 2008 extra points over all five regions.
pub const EXTRA_POINT_TOTAL: u16 = 48;

/// Whether [`Acupoint::parse`] reads `GV29` (印堂 in the Chinese standard GB/T 12346) as the
/// WHO extra point EX-HN3. See the module documentation.
pub const GV29_IS_YINTANG: bool = true;

/// Legacy meridian codes seen in the wild and the WHO meridian each stands for
/// (DOMAIN.md section 5). Matched case-insensitively.
const MERIDIAN_ALIASES: [(&str, Meridian); 10] = [
    ("LV", Meridian::Lr),
    ("LIV", Meridian::Lr),
    ("P", Meridian::Pc),
    ("HC", Meridian::Pc),
    ("TW", Meridian::Te),
    ("SJ", Meridian::Te),
    ("TH", Meridian::Te),
    ("UB", Meridian::Bl),
    ("DU", Meridian::Gv),
    ("REN", Meridian::Cv),
];

impl Meridian {
    /// All meridians in index order.
    pub const ALL: [Meridian; 14] = [
        Meridian::Lu,
        Meridian::Li,
        Meridian::St,
        Meridian::Sp,
        Meridian::Ht,
        Meridian::Si,
        Meridian::Bl,
        Meridian::Ki,
        Meridian::Pc,
        Meridian::Te,
        Meridian::Gb,
        Meridian::Lr,
        Meridian::Gv,
        Meridian::Cv,
    ];

    /// The index 0..=13 (table order, LU = 0).
    pub const fn index(self) -> u8 {
        self as u8
    }

    /// The meridian with index `index` (0..=13).
    pub const fn from_index(index: u8) -> Option<Meridian> {
        match index {
            0 => Some(Meridian::Lu),
            1 => Some(Meridian::Li),
            2 => Some(Meridian::St),
            3 => Some(Meridian::Sp),
            4 => Some(Meridian::Ht),
            5 => Some(Meridian::Si),
            6 => Some(Meridian::Bl),
            7 => Some(Meridian::Ki),
            8 => Some(Meridian::Pc),
            9 => Some(Meridian::Te),
            10 => Some(Meridian::Gb),
            11 => Some(Meridian::Lr),
            12 => Some(Meridian::Gv),
            13 => Some(Meridian::Cv),
            _ => None,
        }
    }

    /// The WHO two-letter code, `"ST"`.
    pub const fn code(self) -> &'static str {
        match self {
            Meridian::Lu => "LU",
            Meridian::Li => "LI",
            Meridian::St => "ST",
            Meridian::Sp => "SP",
            Meridian::Ht => "HT",
            Meridian::Si => "SI",
            Meridian::Bl => "BL",
            Meridian::Ki => "KI",
            Meridian::Pc => "PC",
            Meridian::Te => "TE",
            Meridian::Gb => "GB",
            Meridian::Lr => "LR",
            Meridian::Gv => "GV",
            Meridian::Cv => "CV",
        }
    }

    /// English name, `"Stomach"`.
    pub const fn name_en(self) -> &'static str {
        match self {
            Meridian::Lu => "Lung",
            Meridian::Li => "Large Intestine",
            Meridian::St => "Stomach",
            Meridian::Sp => "Spleen",
            Meridian::Ht => "Heart",
            Meridian::Si => "Small Intestine",
            Meridian::Bl => "Bladder",
            Meridian::Ki => "Kidney",
            Meridian::Pc => "Pericardium",
            Meridian::Te => "Triple Energizer",
            Meridian::Gb => "Gallbladder",
            Meridian::Lr => "Liver",
            Meridian::Gv => "Governor Vessel",
            Meridian::Cv => "Conception Vessel",
        }
    }

    /// Chinese name, `"足阳明胃经"`.
    pub const fn name_zh(self) -> &'static str {
        match self {
            Meridian::Lu => "手太阴肺经",
            Meridian::Li => "手阳明大肠经",
            Meridian::St => "足阳明胃经",
            Meridian::Sp => "足太阴脾经",
            Meridian::Ht => "手少阴心经",
            Meridian::Si => "手太阳小肠经",
            Meridian::Bl => "足太阳膀胱经",
            Meridian::Ki => "足少阴肾经",
            Meridian::Pc => "手厥阴心包经",
            Meridian::Te => "手少阳三焦经",
            Meridian::Gb => "足少阳胆经",
            Meridian::Lr => "足厥阴肝经",
            Meridian::Gv => "督脉",
            Meridian::Cv => "任脉",
        }
    }

    /// Number of points on the meridian: the highest valid point number.
    pub const fn point_count(self) -> u8 {
        match self {
            Meridian::Lu => 11,
            Meridian::Li => 20,
            Meridian::St => 45,
            Meridian::Sp => 21,
            Meridian::Ht => 9,
            Meridian::Si => 19,
            Meridian::Bl => 67,
            Meridian::Ki => 27,
            Meridian::Pc => 9,
            Meridian::Te => 23,
            Meridian::Gb => 44,
            Meridian::Lr => 14,
            Meridian::Gv => 28,
            Meridian::Cv => 24,
        }
    }

    /// The meridian named by `code`: a WHO code or a legacy alias (LV/LIV, P/HC, TW/SJ/TH,
    /// UB, DU, REN), ASCII case-insensitive. `None` for anything else.
    pub fn from_code(code: &str) -> Option<Meridian> {
        let code = code.as_bytes();
        if let Some(m) = Meridian::ALL
            .iter()
            .find(|m| m.code().as_bytes().eq_ignore_ascii_case(code))
        {
            return Some(*m);
        }
        MERIDIAN_ALIASES
            .iter()
            .find(|(alias, _)| alias.as_bytes().eq_ignore_ascii_case(code))
            .map(|(_, m)| *m)
    }
}

impl fmt::Display for Meridian {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A body region of the WHO 2008 extra points (经外奇穴), written `EX-<code><number>`.
///
/// The discriminant is the region index used by [`Acupoint::wire_code`]; it is part of the
/// wire contract and never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum ExtraRegion {
    /// HN, head and neck (头颈部), EX-HN1..EX-HN15.
    Hn = 0,
    /// CA, chest and abdomen (胸腹部), EX-CA1.
    Ca = 1,
    /// B, back (背部), EX-B1..EX-B9.
    B = 2,
    /// UE, upper extremities (上肢), EX-UE1..EX-UE11.
    Ue = 3,
    /// LE, lower extremities (下肢), EX-LE1..EX-LE12.
    Le = 4,
}

impl ExtraRegion {
    /// All regions in index order.
    pub const ALL: [ExtraRegion; 5] = [
        ExtraRegion::Hn,
        ExtraRegion::Ca,
        ExtraRegion::B,
        ExtraRegion::Ue,
        ExtraRegion::Le,
    ];

    /// The index 0..=4 (HN = 0).
    pub const fn index(self) -> u8 {
        self as u8
    }

    /// The region with index `index` (0..=4).
    pub const fn from_index(index: u8) -> Option<ExtraRegion> {
        match index {
            0 => Some(ExtraRegion::Hn),
            1 => Some(ExtraRegion::Ca),
            2 => Some(ExtraRegion::B),
            3 => Some(ExtraRegion::Ue),
            4 => Some(ExtraRegion::Le),
            _ => None,
        }
    }

    /// The WHO region code, `"HN"`.
    pub const fn code(self) -> &'static str {
        match self {
            ExtraRegion::Hn => "HN",
            ExtraRegion::Ca => "CA",
            ExtraRegion::B => "B",
            ExtraRegion::Ue => "UE",
            ExtraRegion::Le => "LE",
        }
    }

    /// English name, `"Head and neck"`.
    pub const fn name_en(self) -> &'static str {
        match self {
            ExtraRegion::Hn => "Head and neck",
            ExtraRegion::Ca => "Chest and abdomen",
            ExtraRegion::B => "Back",
            ExtraRegion::Ue => "Upper extremities",
            ExtraRegion::Le => "Lower extremities",
        }
    }

    /// Chinese name, `"头颈部"`.
    pub const fn name_zh(self) -> &'static str {
        match self {
            ExtraRegion::Hn => "头颈部",
            ExtraRegion::Ca => "胸腹部",
            ExtraRegion::B => "背部",
            ExtraRegion::Ue => "上肢",
            ExtraRegion::Le => "下肢",
        }
    }

    /// Number of WHO 2008 extra points in the region: the highest valid point number.
    pub const fn point_count(self) -> u8 {
        match self {
            ExtraRegion::Hn => 15,
            ExtraRegion::Ca => 1,
            ExtraRegion::B => 9,
            ExtraRegion::Ue => 11,
            ExtraRegion::Le => 12,
        }
    }

    /// The region named by `code` (HN, CA, B, UE, LE), ASCII case-insensitive.
    pub fn from_code(code: &str) -> Option<ExtraRegion> {
        ExtraRegion::ALL
            .iter()
            .find(|r| r.code().as_bytes().eq_ignore_ascii_case(code.as_bytes()))
            .copied()
    }
}

impl fmt::Display for ExtraRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A WHO acupuncture point.
///
/// The fields are public, so a value built by hand may name a point that does not exist
/// (`ST99`); [`Acupoint::parse`], [`Acupoint::from_wire_code`], [`Acupoint::meridian_point`]
/// and [`Acupoint::extra_point`] only ever return real points, and [`Acupoint::validate`]
/// checks a hand-built one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Acupoint {
    /// A point of one of the 14 meridians, `ST36`.
    Meridian {
        /// The meridian.
        meridian: Meridian,
        /// Point number, 1..=[`Meridian::point_count`].
        number: u8,
    },
    /// A WHO 2008 extra point, `EX-HN1`.
    Extra {
        /// The body region.
        region: ExtraRegion,
        /// Point number, 1..=[`ExtraRegion::point_count`].
        number: u8,
    },
}

/// Why an acupoint code or wire code was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AcupointError {
    /// The input was empty (or only whitespace).
    Empty,
    /// The input is not of the form `<code>[-| ]<number>` with a 1-2 digit number without
    /// leading zero, or `EX-<region><number>`.
    Malformed,
    /// The letters are neither a WHO meridian code nor a known legacy alias.
    UnknownMeridian,
    /// The meridian has no point with this number.
    PointOutOfRange {
        /// The meridian that was named.
        meridian: Meridian,
        /// The number given.
        number: u8,
        /// The highest point number of the meridian.
        max: u8,
    },
    /// `EX-` followed by an unknown region, or a number beyond the region's count.
    UnknownExtraPoint,
    /// The `u16` is not the wire code of any point.
    UnknownWireCode(u16),
}

impl fmt::Display for AcupointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcupointError::Empty => f.write_str("empty acupoint code"),
            AcupointError::Malformed => {
                f.write_str("malformed acupoint code (expected e.g. ST36 or EX-HN1)")
            }
            AcupointError::UnknownMeridian => f.write_str("unknown meridian code"),
            AcupointError::PointOutOfRange {
                meridian,
                number,
                max,
            } => write!(
                f,
                "{meridian} has points 1..={max}, not {number}",
                meridian = meridian.code()
            ),
            AcupointError::UnknownExtraPoint => f.write_str("unknown WHO extra point"),
            AcupointError::UnknownWireCode(code) => write!(f, "unknown acupoint wire code {code}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for AcupointError {}

/// First wire code of the extra points: extra wire codes are
/// `EXTRA_WIRE_BASE + (region index + 1) * 100 + number`.
pub const EXTRA_WIRE_BASE: u16 = 2000;

/// The value [`Acupoint::wire_code`] returns for a hand-built point that does not exist. It
/// is never the code of a real point, so [`Acupoint::from_wire_code`] rejects it.
pub const INVALID_WIRE_CODE: u16 = 0;

/// Points per wire-code block: a meridian or region occupies one block of 100 codes.
const WIRE_BLOCK: u16 = 100;

/// The common elderly-care points of DOMAIN.md section 5: point, 中文, pinyin.
const COMMON_POINTS: [(Acupoint, &str, &str); 24] = [
    (mp(Meridian::St, 36), "足三里", "Zusanli"),
    (mp(Meridian::Sp, 6), "三阴交", "Sanyinjiao"),
    (mp(Meridian::Cv, 4), "关元", "Guanyuan"),
    (mp(Meridian::Cv, 6), "气海", "Qihai"),
    (mp(Meridian::Gv, 20), "百会", "Baihui"),
    (mp(Meridian::Pc, 6), "内关", "Neiguan"),
    (mp(Meridian::Li, 4), "合谷", "Hegu"),
    (mp(Meridian::Ki, 1), "涌泉", "Yongquan"),
    (mp(Meridian::Li, 11), "曲池", "Quchi"),
    (mp(Meridian::Lr, 3), "太冲", "Taichong"),
    (mp(Meridian::Gb, 20), "风池", "Fengchi"),
    (mp(Meridian::Cv, 12), "中脘", "Zhongwan"),
    (mp(Meridian::Cv, 17), "膻中", "Danzhong"),
    (mp(Meridian::Bl, 20), "脾俞", "Pishu"),
    (mp(Meridian::Bl, 23), "肾俞", "Shenshu"),
    (mp(Meridian::Gv, 14), "大椎", "Dazhui"),
    (mp(Meridian::Sp, 9), "阴陵泉", "Yinlingquan"),
    (mp(Meridian::Sp, 10), "血海", "Xuehai"),
    (mp(Meridian::St, 40), "丰隆", "Fenglong"),
    (mp(Meridian::Ht, 7), "神门", "Shenmen"),
    (mp(Meridian::Gb, 34), "阳陵泉", "Yanglingquan"),
    (mp(Meridian::Li, 20), "迎香", "Yingxiang"),
    (
        Acupoint::Extra {
            region: ExtraRegion::Hn,
            number: 1,
        },
        "四神聪",
        "Sishencong",
    ),
    (
        Acupoint::Extra {
            region: ExtraRegion::Hn,
            number: 3,
        },
        "印堂",
        "Yintang",
    ),
];

/// Shorthand for the table above.
const fn mp(meridian: Meridian, number: u8) -> Acupoint {
    Acupoint::Meridian { meridian, number }
}

/// Splits off the leading run of ASCII letters.
fn split_letters(bytes: &[u8]) -> (&[u8], &[u8]) {
    let n = bytes
        .iter()
        .position(|b| !b.is_ascii_alphabetic())
        .unwrap_or(bytes.len());
    bytes.split_at(n)
}

/// Skips one optional `-` or space.
fn skip_separator(bytes: &[u8]) -> &[u8] {
    match bytes.split_first() {
        Some((b'-' | b' ', rest)) => rest,
        _ => bytes,
    }
}

/// Reads the whole of `bytes` as a point number: one digit, or two digits without a
/// leading zero (`[1-9][0-9]?` plus a lone `0`, which the range check then rejects).
fn parse_number(bytes: &[u8]) -> Result<u8, AcupointError> {
    match *bytes {
        [d] if d.is_ascii_digit() => Ok(d - b'0'),
        [t, u] if (b'1'..=b'9').contains(&t) && u.is_ascii_digit() => {
            Ok((t - b'0') * 10 + (u - b'0'))
        }
        _ => Err(AcupointError::Malformed),
    }
}

impl Acupoint {
    /// 印堂 Yintang, EX-HN3 (see the module documentation about GV29).
    pub const YINTANG: Acupoint = Acupoint::Extra {
        region: ExtraRegion::Hn,
        number: 3,
    };

    /// The meridian point `meridian` `number`, checked against the meridian's point count.
    pub fn meridian_point(meridian: Meridian, number: u8) -> Result<Acupoint, AcupointError> {
        let max = meridian.point_count();
        if number == 0 || number > max {
            return Err(AcupointError::PointOutOfRange {
                meridian,
                number,
                max,
            });
        }
        Ok(Acupoint::Meridian { meridian, number })
    }

    /// The extra point `EX-<region><number>`, checked against the region's point count.
    pub fn extra_point(region: ExtraRegion, number: u8) -> Result<Acupoint, AcupointError> {
        if number == 0 || number > region.point_count() {
            return Err(AcupointError::UnknownExtraPoint);
        }
        Ok(Acupoint::Extra { region, number })
    }

    /// Checks that the point exists (number within its meridian's or region's count).
    pub fn validate(&self) -> Result<(), AcupointError> {
        match *self {
            Acupoint::Meridian { meridian, number } => {
                Acupoint::meridian_point(meridian, number).map(|_| ())
            }
            Acupoint::Extra { region, number } => Acupoint::extra_point(region, number).map(|_| ()),
        }
    }

    /// Parses a point code.
    ///
    /// Accepted, ASCII case-insensitive, with surrounding ASCII whitespace trimmed:
    /// - meridian points `ST36`, `st36`, `ST-36`, `ST 36`: a WHO code or legacy alias
    ///   (LV/LIV→LR, P/HC→PC, TW/SJ/TH→TE, UB→BL, DU→GV, REN→CV), at most one `-` or space,
    ///   then `[1-9][0-9]?` (no leading zero: `ST036` and `ST06` are rejected) within the
    ///   meridian's point count;
    /// - extra points `EX-HN1`, also `EXHN1`, `EX HN1`, `EX-HN-1`: `EX`, an optional
    ///   separator, a region code, an optional separator, the number;
    /// - `GV29` reads as EX-HN3 while [`GV29_IS_YINTANG`] holds.
    pub fn parse(input: &str) -> Result<Acupoint, AcupointError> {
        let s = input.trim_matches(|c: char| c.is_ascii_whitespace());
        if s.is_empty() {
            return Err(AcupointError::Empty);
        }
        let (letters, rest) = split_letters(s.as_bytes());
        if letters.is_empty() {
            return Err(AcupointError::Malformed);
        }
        match letters.split_at_checked(2) {
            Some((ex, region_letters)) if ex.eq_ignore_ascii_case(b"EX") => {
                Self::parse_extra(region_letters, rest)
            }
            _ => {
                // `letters` is an ASCII slice of a `str`, hence valid UTF-8.
                let code = core::str::from_utf8(letters).map_err(|_| AcupointError::Malformed)?;
                let meridian = Meridian::from_code(code).ok_or(AcupointError::UnknownMeridian)?;
                let number = parse_number(skip_separator(rest))?;
                if GV29_IS_YINTANG && meridian == Meridian::Gv && number == 29 {
                    return Ok(Acupoint::YINTANG);
                }
                Acupoint::meridian_point(meridian, number)
            }
        }
    }

    /// The part of [`Acupoint::parse`] after `EX`: `region_letters` are letters that
    /// followed `EX` directly (`EXHN1`), `rest` what followed the letter run.
    fn parse_extra(region_letters: &[u8], rest: &[u8]) -> Result<Acupoint, AcupointError> {
        let (region_letters, rest) = if region_letters.is_empty() {
            split_letters(skip_separator(rest))
        } else {
            (region_letters, rest)
        };
        if region_letters.is_empty() {
            return Err(AcupointError::Malformed);
        }
        let code = core::str::from_utf8(region_letters).map_err(|_| AcupointError::Malformed)?;
        let region = ExtraRegion::from_code(code).ok_or(AcupointError::UnknownExtraPoint)?;
        let number = parse_number(skip_separator(rest))?;
        Acupoint::extra_point(region, number)
    }

    /// The compact wire code.
    ///
    /// **Wire contract, append-only**: meridian points are `(meridian index + 1) * 100 +
    /// number` (LU1 = 101, ST36 = 336, CV24 = 1424); extra points are
    /// [`EXTRA_WIRE_BASE`]` + (region index + 1) * 100 + number` (EX-HN1 = 2101,
    /// EX-LE12 = 2512). Existing codes never change meaning; new meridians or regions may
    /// only take blocks not used yet. A hand-built point that does not exist (see
    /// [`Acupoint::validate`]) yields [`INVALID_WIRE_CODE`].
    pub fn wire_code(&self) -> u16 {
        if self.validate().is_err() {
            return INVALID_WIRE_CODE;
        }
        match *self {
            Acupoint::Meridian { meridian, number } => {
                (u16::from(meridian.index()) + 1) * WIRE_BLOCK + u16::from(number)
            }
            Acupoint::Extra { region, number } => {
                EXTRA_WIRE_BASE + (u16::from(region.index()) + 1) * WIRE_BLOCK + u16::from(number)
            }
        }
    }

    /// The point with wire code `code` (see [`Acupoint::wire_code`]).
    pub fn from_wire_code(code: u16) -> Result<Acupoint, AcupointError> {
        let unknown = AcupointError::UnknownWireCode(code);
        let (extra, local) = match code.checked_sub(EXTRA_WIRE_BASE) {
            Some(local) => (true, local),
            None => (false, code),
        };
        let block = local / WIRE_BLOCK;
        // `local % 100` always fits a u8; a block index beyond u8 cannot name a meridian or
        // region and is rejected like any other unknown index.
        let number = u8::try_from(local % WIRE_BLOCK).map_err(|_| unknown)?;
        let index = block
            .checked_sub(1)
            .and_then(|i| u8::try_from(i).ok())
            .ok_or(unknown)?;
        if extra {
            let region = ExtraRegion::from_index(index).ok_or(unknown)?;
            Acupoint::extra_point(region, number).map_err(|_| unknown)
        } else {
            let meridian = Meridian::from_index(index).ok_or(unknown)?;
            Acupoint::meridian_point(meridian, number).map_err(|_| unknown)
        }
    }

    /// The Chinese name and pinyin of the common elderly-care points of DOMAIN.md
    /// section 5 (`ST36` → `("足三里", "Zusanli")`); `None` for other points.
    pub fn common_name(&self) -> Option<(&'static str, &'static str)> {
        COMMON_POINTS
            .iter()
            .find(|(p, _, _)| p == self)
            .map(|(_, zh, pinyin)| (*zh, *pinyin))
    }
}

impl fmt::Display for Acupoint {
    /// The canonical WHO form: `ST36`, `EX-HN1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Acupoint::Meridian { meridian, number } => write!(f, "{}{}", meridian.code(), number),
            Acupoint::Extra { region, number } => write!(f, "EX-{}{}", region.code(), number),
        }
    }
}

impl core::str::FromStr for Acupoint {
    type Err = AcupointError;

    /// Same as [`Acupoint::parse`].
    fn from_str(s: &str) -> Result<Acupoint, AcupointError> {
        Acupoint::parse(s)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::string::ToString;

    fn m(meridian: Meridian, number: u8) -> Acupoint {
        Acupoint::Meridian { meridian, number }
    }

    fn ex(region: ExtraRegion, number: u8) -> Acupoint {
        Acupoint::Extra { region, number }
    }

    /// Every valid point, meridian points first.
    fn all_points() -> std::vec::Vec<Acupoint> {
        let mut v = std::vec::Vec::new();
        for mer in Meridian::ALL {
            for n in 1..=mer.point_count() {
                v.push(m(mer, n));
            }
        }
        for r in ExtraRegion::ALL {
            for n in 1..=r.point_count() {
                v.push(ex(r, n));
            }
        }
        v
    }

    #[test]
    fn domain_table_order_codes_and_counts() {
        // DOMAIN.md section 5 table, in order.
        let expected: [(&str, u8); 14] = [
            ("LU", 11),
            ("LI", 20),
            ("ST", 45),
            ("SP", 21),
            ("HT", 9),
            ("SI", 19),
            ("BL", 67),
            ("KI", 27),
            ("PC", 9),
            ("TE", 23),
            ("GB", 44),
            ("LR", 14),
            ("GV", 28),
            ("CV", 24),
        ];
        for (i, (code, count)) in expected.iter().enumerate() {
            let mer = Meridian::from_index(i as u8).unwrap();
            assert_eq!(mer.index() as usize, i);
            assert_eq!(mer.code(), *code);
            assert_eq!(mer.point_count(), *count);
            assert_eq!(Meridian::ALL[i], mer);
        }
        assert_eq!(Meridian::from_index(14), None);
        assert_eq!(Meridian::Te.name_en(), "Triple Energizer");
        assert_eq!(Meridian::Pc.name_zh(), "手厥阴心包经");
        assert_eq!(Meridian::Gv.name_zh(), "督脉");
    }

    #[test]
    fn totals_361_and_48() {
        let meridian: u16 = Meridian::ALL
            .iter()
            .map(|m| u16::from(m.point_count()))
            .sum();
        assert_eq!(meridian, 361);
        assert_eq!(MERIDIAN_POINT_TOTAL, 361);
        let extra: u16 = ExtraRegion::ALL
            .iter()
            .map(|r| u16::from(r.point_count()))
            .sum();
        // WHO 2008: HN 15 + CA 1 + B 9 + UE 11 + LE 12 = 48.
        assert_eq!(extra, 48);
        assert_eq!(EXTRA_POINT_TOTAL, 48);
        assert_eq!(all_points().len(), 361 + 48);
    }

    #[test]
    fn first_last_valid_last_plus_one_and_zero_invalid() {
        for mer in Meridian::ALL {
            let max = mer.point_count();
            let first = std::format!("{}1", mer.code());
            let last = std::format!("{}{}", mer.code(), max);
            let over = std::format!("{}{}", mer.code(), max + 1);
            let zero = std::format!("{}0", mer.code());
            assert_eq!(Acupoint::parse(&first), Ok(m(mer, 1)), "{first}");
            assert_eq!(Acupoint::parse(&last), Ok(m(mer, max)), "{last}");
            let over_result = Acupoint::parse(&over);
            if GV29_IS_YINTANG && mer == Meridian::Gv {
                assert_eq!(over_result, Ok(Acupoint::YINTANG));
            } else {
                assert_eq!(
                    over_result,
                    Err(AcupointError::PointOutOfRange {
                        meridian: mer,
                        number: max + 1,
                        max
                    }),
                    "{over}"
                );
            }
            assert_eq!(
                Acupoint::parse(&zero),
                Err(AcupointError::PointOutOfRange {
                    meridian: mer,
                    number: 0,
                    max
                })
            );
            assert!(Acupoint::meridian_point(mer, max + 1).is_err());
            assert!(Acupoint::meridian_point(mer, 0).is_err());
        }
        assert_eq!(
            Acupoint::parse("GV30"),
            Err(AcupointError::PointOutOfRange {
                meridian: Meridian::Gv,
                number: 30,
                max: 28
            })
        );
        assert!(Acupoint::parse("BL67").is_ok());
        assert!(Acupoint::parse("BL68").is_err());
    }

    #[test]
    fn case_and_separators() {
        let st36 = m(Meridian::St, 36);
        for s in [
            "ST36", "st36", "St36", "sT-36", "ST 36", " ST36\n", "\tst-36 ",
        ] {
            assert_eq!(Acupoint::parse(s), Ok(st36), "{s:?}");
        }
        assert_eq!("ST36".parse::<Acupoint>(), Ok(st36));
        for s in [
            "ST036", "ST06", "ST--36", "ST -36", "ST  36", "ST_36", "ST36a", "ST3 6",
        ] {
            assert_eq!(Acupoint::parse(s), Err(AcupointError::Malformed), "{s:?}");
        }
        // Three digits never match [1-9][0-9]?.
        assert_eq!(Acupoint::parse("ST100"), Err(AcupointError::Malformed));
        assert_eq!(Acupoint::parse("36"), Err(AcupointError::Malformed));
        assert_eq!(Acupoint::parse("ST"), Err(AcupointError::Malformed));
        assert_eq!(Acupoint::parse("足三里"), Err(AcupointError::Malformed));
        assert_eq!(Acupoint::parse(""), Err(AcupointError::Empty));
        assert_eq!(Acupoint::parse("  "), Err(AcupointError::Empty));
        assert_eq!(Acupoint::parse("XY3"), Err(AcupointError::UnknownMeridian));
        assert_eq!(Acupoint::parse("H7"), Err(AcupointError::UnknownMeridian));
        assert_eq!(
            Acupoint::parse("STO36"),
            Err(AcupointError::UnknownMeridian)
        );
    }

    #[test]
    fn legacy_aliases() {
        let cases: [(&str, Acupoint); 14] = [
            ("LV3", m(Meridian::Lr, 3)),
            ("LIV3", m(Meridian::Lr, 3)),
            ("liv-3", m(Meridian::Lr, 3)),
            ("P6", m(Meridian::Pc, 6)),
            ("HC6", m(Meridian::Pc, 6)),
            ("TW5", m(Meridian::Te, 5)),
            ("SJ5", m(Meridian::Te, 5)),
            ("TH5", m(Meridian::Te, 5)),
            ("UB23", m(Meridian::Bl, 23)),
            ("DU20", m(Meridian::Gv, 20)),
            ("Du 14", m(Meridian::Gv, 14)),
            ("REN4", m(Meridian::Cv, 4)),
            ("Ren-6", m(Meridian::Cv, 6)),
            ("p 6", m(Meridian::Pc, 6)),
        ];
        for (s, expected) in cases {
            assert_eq!(Acupoint::parse(s), Ok(expected), "{s}");
        }
        // Aliases carry the same range checks: LR has 14 points, PC 9.
        assert!(matches!(
            Acupoint::parse("LV15"),
            Err(AcupointError::PointOutOfRange {
                meridian: Meridian::Lr,
                max: 14,
                ..
            })
        ));
        assert!(Acupoint::parse("P10").is_err());
        // Display is always the WHO form.
        assert_eq!(Acupoint::parse("SJ5").unwrap().to_string(), "TE5");
        assert_eq!(Acupoint::parse("ub23").unwrap().to_string(), "BL23");
    }

    #[test]
    fn extra_points() {
        for s in ["EX-HN1", "ex-hn1", "EXHN1", "EX HN1", "EX-HN-1", "Ex-Hn 1"] {
            assert_eq!(Acupoint::parse(s), Ok(ex(ExtraRegion::Hn, 1)), "{s}");
        }
        assert_eq!(Acupoint::parse("EX-CA1"), Ok(ex(ExtraRegion::Ca, 1)));
        assert_eq!(Acupoint::parse("EX-B9"), Ok(ex(ExtraRegion::B, 9)));
        assert_eq!(Acupoint::parse("EXB2"), Ok(ex(ExtraRegion::B, 2)));
        assert_eq!(Acupoint::parse("EX-UE11"), Ok(ex(ExtraRegion::Ue, 11)));
        assert_eq!(Acupoint::parse("EX-LE12"), Ok(ex(ExtraRegion::Le, 12)));
        for s in [
            "EX-HN16", "EX-CA2", "EX-B10", "EX-UE12", "EX-LE13", "EX-HN0", "EX-XY1",
        ] {
            assert_eq!(
                Acupoint::parse(s),
                Err(AcupointError::UnknownExtraPoint),
                "{s}"
            );
        }
        for s in ["EX-1", "EX", "EX-", "EX-HN", "EX-HN01", "EX--HN1"] {
            assert_eq!(Acupoint::parse(s), Err(AcupointError::Malformed), "{s}");
        }
        assert_eq!(ex(ExtraRegion::Hn, 1).to_string(), "EX-HN1");
        assert_eq!(ex(ExtraRegion::Le, 12).to_string(), "EX-LE12");
    }

    #[test]
    fn yintang_is_ex_hn3() {
        assert_eq!(Acupoint::parse("EX-HN3"), Ok(Acupoint::YINTANG));
        const { assert!(GV29_IS_YINTANG) };
        assert_eq!(Acupoint::parse("GV29"), Ok(Acupoint::YINTANG));
        assert_eq!(Acupoint::parse("du29"), Ok(Acupoint::YINTANG));
        assert_eq!(Acupoint::parse("GV29").unwrap().to_string(), "EX-HN3");
        // A GV29 meridian point never exists.
        assert!(m(Meridian::Gv, 29).validate().is_err());
        assert_eq!(
            Acupoint::from_wire_code(1329),
            Err(AcupointError::UnknownWireCode(1329))
        );
        assert_eq!(Acupoint::YINTANG.common_name(), Some(("印堂", "Yintang")));
    }

    #[test]
    fn wire_codes_from_the_contract() {
        // (index + 1) * 100 + number: ST index 2 -> 336; LU index 0 -> 101; CV index 13 -> 1424.
        assert_eq!(m(Meridian::St, 36).wire_code(), 336);
        assert_eq!(m(Meridian::Lu, 1).wire_code(), 101);
        assert_eq!(m(Meridian::Cv, 24).wire_code(), 1424);
        assert_eq!(m(Meridian::Bl, 67).wire_code(), 767);
        // 2000 + (region index + 1) * 100 + number: HN -> 2101, LE12 -> 2512.
        assert_eq!(ex(ExtraRegion::Hn, 1).wire_code(), 2101);
        assert_eq!(ex(ExtraRegion::Ca, 1).wire_code(), 2201);
        assert_eq!(ex(ExtraRegion::B, 9).wire_code(), 2309);
        assert_eq!(ex(ExtraRegion::Le, 12).wire_code(), 2512);
        assert_eq!(Acupoint::from_wire_code(336), Ok(m(Meridian::St, 36)));
        assert_eq!(Acupoint::from_wire_code(2103), Ok(Acupoint::YINTANG));
        // Invalid hand-built points map to the reserved code.
        assert_eq!(m(Meridian::St, 99).wire_code(), INVALID_WIRE_CODE);
        assert_eq!(m(Meridian::St, 255).wire_code(), INVALID_WIRE_CODE);
        assert_eq!(ex(ExtraRegion::Ca, 2).wire_code(), INVALID_WIRE_CODE);
    }

    #[test]
    fn wire_code_round_trip_all_points() {
        let points = all_points();
        let mut seen = std::collections::BTreeSet::new();
        for p in &points {
            let code = p.wire_code();
            assert_ne!(code, INVALID_WIRE_CODE);
            assert!(seen.insert(code), "duplicate wire code {code}");
            assert_eq!(Acupoint::from_wire_code(code), Ok(*p));
            // Display / parse round trip too.
            assert_eq!(Acupoint::parse(&p.to_string()), Ok(*p));
            assert_eq!(p.validate(), Ok(()));
        }
        // Exactly these codes decode: walking the whole u16 space finds 409 points.
        let decoded = (0..=u16::MAX)
            .filter(|c| Acupoint::from_wire_code(*c).is_ok())
            .count();
        assert_eq!(decoded, 361 + 48);
        for bad in [
            0,
            100,
            112,
            1425,
            1500,
            2000,
            2100,
            2116,
            2202,
            2600,
            u16::MAX,
        ] {
            assert_eq!(
                Acupoint::from_wire_code(bad),
                Err(AcupointError::UnknownWireCode(bad))
            );
        }
    }

    #[test]
    fn common_names_from_domain() {
        assert_eq!(
            m(Meridian::St, 36).common_name(),
            Some(("足三里", "Zusanli"))
        );
        assert_eq!(
            m(Meridian::Sp, 6).common_name(),
            Some(("三阴交", "Sanyinjiao"))
        );
        assert_eq!(m(Meridian::Pc, 6).common_name(), Some(("内关", "Neiguan")));
        assert_eq!(
            m(Meridian::Cv, 17).common_name(),
            Some(("膻中", "Danzhong"))
        );
        assert_eq!(
            m(Meridian::Li, 20).common_name(),
            Some(("迎香", "Yingxiang"))
        );
        assert_eq!(
            ex(ExtraRegion::Hn, 1).common_name(),
            Some(("四神聪", "Sishencong"))
        );
        assert_eq!(m(Meridian::St, 35).common_name(), None);
        for (p, _, _) in COMMON_POINTS {
            assert_eq!(p.validate(), Ok(()), "{p}");
        }
        // DOMAIN lists 22 meridian points and 2 extra points, all distinct.
        let distinct: std::collections::BTreeSet<_> = COMMON_POINTS.iter().map(|c| c.0).collect();
        assert_eq!(distinct.len(), 24);
    }

    #[test]
    fn errors_display() {
        let e = AcupointError::PointOutOfRange {
            meridian: Meridian::St,
            number: 46,
            max: 45,
        };
        assert_eq!(e.to_string(), "ST has points 1..=45, not 46");
        assert!(!AcupointError::UnknownWireCode(7).to_string().is_empty());
    }

    #[test]
    fn arbitrary_input_never_panics() {
        let samples = [
            "EX",
            "EXX",
            "EX-",
            "-",
            "1",
            "ST-",
            "ST ",
            "🙂36",
            "ST3🙂",
            "EX-HN🙂",
            "ZZZZZZZZZZZZ99",
        ];
        for s in samples {
            let _ = Acupoint::parse(s);
        }
        for b0 in 0u8..128 {
            for b1 in [b'1', b'-', b' ', b'X', 0xFF] {
                let bytes = [b'S', b0, b1, b'3'];
                if let Ok(s) = core::str::from_utf8(&bytes) {
                    let _ = Acupoint::parse(s);
                }
            }
        }
    }
}
