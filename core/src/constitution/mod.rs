//! The 33-item constitution identification (中医体质辨识) of the national Basic Public
//! Health Service (老年人中医药健康管理服务, 3rd edition, 2017; DOMAIN.md section 1).
//!
//! A resident answers 33 questions on a 1..=5 scale ([`ANSWER_MIN`]..=[`ANSWER_MAX`]);
//! [`assess`] turns the answers into the nine constitution scores and verdicts of the
//! determination table (体质判定标准表, 附件2). Scores and verdicts are always computed
//! here, never taken from input.
//!
//! ```
//! use tcmcare_core::constitution::{assess, Constitution, Verdict};
//!
//! // "No" (1) to every question: 平和质 = 1 + 4 × (6 − 1) = 21, every biased type = 4.
//! let a = assess(&[1; 33]).unwrap();
//! assert_eq!(a.score(Constitution::Pinghe), 21);
//! assert_eq!(a.verdict(Constitution::Pinghe), Verdict::Yes);
//! assert_eq!(a.verdict(Constitution::Qixu), Verdict::No);
//! ```
//!
//! Items 9 (BMI) and 28 (waist) can be derived from kiosk measurements
//! ([`measured_bmi_centi`], [`item9_from_bmi_centi`], [`item28_from_waist_mm`],
//! [`apply_measurements`]), after the same plausibility checks as a vital-signs record
//! ([`MeasurementError`]); items 14 and 17 from counts ([`item14_from_colds_per_year`],
//! [`item17_from_allergies_per_year`]). The guidance catalogue ([`guidance`]) gives short
//! bilingual advice per constitution in the five guidance areas of the service.
//!
//! Everything here is allocation-free and panic-free.

use core::fmt;
use core::iter::FusedIterator;

mod guidance;
mod measurements;

pub use guidance::{
    guidance, ConstitutionGuidance, GuidanceAdvice, GuidanceCategory, GuidanceSet, GuidanceSetIter,
    ADVICE_CATEGORIES,
};
pub use measurements::{
    apply_measurements, bmi_centi, item14_from_colds_per_year, item17_from_allergies_per_year,
    item28_from_waist_mm, item9_from_bmi_centi, ITEM14_ALMOST_MONTHLY_MIN, ITEM14_GAP_COLDS,
    ITEM14_SCORE2_MIN, ITEM14_SCORE3_MIN, ITEM14_SCORE4_MIN, ITEM14_SEVEN_COLDS_SCORE,
    ITEM17_SCORE2_MIN, ITEM17_SCORE3_MIN, ITEM17_SCORE4_MIN, ITEM17_SEVEN_PLUS_SCORE,
    ITEM17_TOP_COUNT_BAND_MAX, ITEM28_SCORE1_BELOW_MM, ITEM28_SCORE2_MAX_MM, ITEM28_SCORE3_MAX_MM,
    ITEM28_SCORE4_MAX_MM, ITEM9_SCORE2_MIN_CENTI, ITEM9_SCORE3_MIN_CENTI, ITEM9_SCORE4_MIN_CENTI,
    ITEM9_SCORE5_MIN_CENTI, ITEM_ALLERGIES, ITEM_BMI, ITEM_COLDS, ITEM_WAIST,
};
pub use measurements::{measured_bmi_centi, MeasurementError, BMI_RANGE_CENTI};

/// Number of questions on the form that are scored (记录表"前 33 项", DOMAIN.md 1.1).
pub const ITEM_COUNT: usize = 33;

/// Lowest answer on the scale: 1 = 没有 (根本不/从来没有) (DOMAIN.md 1.2).
pub const ANSWER_MIN: u8 = 1;

/// Highest answer on the scale: 5 = 总是 (非常/每天) (DOMAIN.md 1.2).
pub const ANSWER_MAX: u8 = 5;

/// Reverse scoring inside 平和质 maps an answer `s` to `PINGHE_REVERSE_BASE − s`
/// (1→5, 2→4, 3→3, 4→2, 5→1; DOMAIN.md 1.4).
pub const PINGHE_REVERSE_BASE: u8 = ANSWER_MIN + ANSWER_MAX;

/// The one item counted forward for 平和质 (您精力充沛吗; DOMAIN.md 1.4). It belongs to no
/// biased type.
pub const PINGHE_FORWARD_ITEM: u8 = 1;

/// The items counted reversed for 平和质 (2r, 4r, 5r, 13r; DOMAIN.md 1.4). They count
/// forward for 气虚 (2, 4), 气郁 (5) and 阳虚 (13).
pub const PINGHE_REVERSED_ITEMS: [u8; 4] = [2, 4, 5, 13];

/// A biased type's four-item sum at or above this is 是 (DOMAIN.md 1.5: "≥ 11 → 是").
pub const BIASED_YES_MIN: u8 = 11;

/// A biased type's sum at or above this (and below [`BIASED_YES_MIN`]) is 倾向是
/// (DOMAIN.md 1.5: "9–10 → 倾向是"; "≤ 8 → 否").
pub const BIASED_TENDENCY_MIN: u8 = 9;

/// 平和质 needs a five-item sum (with reverse scoring) of at least this for 是 or 基本是
/// (DOMAIN.md 1.5: "≥ 17").
pub const PINGHE_MIN: u8 = 17;

/// 平和质 is 是 when every other type's score is within this limit (DOMAIN.md 1.5:
/// "every other 8 types' score ≤ 8"), compared with [`PINGHE_OTHERS_COMPARISON`].
pub const PINGHE_YES_OTHERS_MAX: u8 = 8;

/// 平和质 is 基本是 when every other type's score is within this limit (DOMAIN.md 1.5:
/// "every other 8 types' score ≤ 10"), compared with [`PINGHE_OTHERS_COMPARISON`].
pub const PINGHE_BASICALLY_OTHERS_MAX: u8 = 10;

/// How the other eight scores are compared with [`PINGHE_YES_OTHERS_MAX`] and
/// [`PINGHE_BASICALLY_OTHERS_MAX`].
///
/// Published copies of 附件2 disagree (DOMAIN.md "Confidence / disagreements"):
/// the form annex as transcribed by public-health systems and a production system's
/// scoring code read **≤ 8 / ≤ 10**; one web copy, a script replicating an Excel sheet and
/// an Android app read **< 8 / < 10**. We use [`OthersComparison::AtMost`] (≤): it is the
/// annex wording, and the only reading consistent with the biased bands (≤ 8 = 否,
/// 9–10 = 倾向是) and with ZYYXH/T 157-2009, where 平和 是 means "all others 否" and 基本是
/// means "others at most 倾向是". Switch this constant if an official text shows otherwise.
pub const PINGHE_OTHERS_COMPARISON: OthersComparison = OthersComparison::AtMost;

/// Pairs of constitutions that the form says to re-check when both are 是 (DOMAIN.md 1.5:
/// "contradictory results (e.g. 阴虚 and 阳虚 both 是) → re-check answers").
///
/// Only the pair the form names is listed: other co-occurrences (for example 阴虚 with
/// 痰湿, or 阳虚 with 湿热) are recognised mixed constitutions (兼夹体质) and are not
/// errors. A pair is reported only when **both** are 是; 倾向是 on either side is a
/// plausible mixed picture, and the form's wording is "both 是". Append only.
pub const CONTRADICTORY_PAIRS: [(Constitution, Constitution); 1] =
    [(Constitution::Yinxu, Constitution::Yangxu)];

/// When no type is determinable, the form says to investigate or re-collect the answers
/// after two weeks (DOMAIN.md 1.5).
pub const RECOLLECT_AFTER_DAYS: u16 = 14;

/// The nine constitution types (体质). The discriminant is the index used everywhere in
/// this library, in the wire format and in the C ABI: [`Constitution::ALL`] order.
///
/// The paper form lists the types in another order, [`Constitution::FORM_ORDER`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Constitution {
    /// 平和质, balanced.
    Pinghe = 0,
    /// 气虚质, qi deficiency.
    Qixu = 1,
    /// 阳虚质, yang deficiency.
    Yangxu = 2,
    /// 阴虚质, yin deficiency.
    Yinxu = 3,
    /// 痰湿质, phlegm-dampness.
    Tanshi = 4,
    /// 湿热质, damp-heat.
    Shire = 5,
    /// 血瘀质, blood stasis.
    Xueyu = 6,
    /// 气郁质, qi stagnation.
    Qiyu = 7,
    /// 特禀质, special (inherited) diathesis.
    Tebing = 8,
}

/// Number of constitution types.
pub const CONSTITUTION_COUNT: usize = 9;

impl Constitution {
    /// All nine types in index order (`Pinghe` = 0 … `Tebing` = 8).
    pub const ALL: [Constitution; CONSTITUTION_COUNT] = [
        Constitution::Pinghe,
        Constitution::Qixu,
        Constitution::Yangxu,
        Constitution::Yinxu,
        Constitution::Tanshi,
        Constitution::Shire,
        Constitution::Xueyu,
        Constitution::Qiyu,
        Constitution::Tebing,
    ];

    /// The eight biased types (偏颇体质) in index order.
    pub const BIASED: [Constitution; 8] = [
        Constitution::Qixu,
        Constitution::Yangxu,
        Constitution::Yinxu,
        Constitution::Tanshi,
        Constitution::Shire,
        Constitution::Xueyu,
        Constitution::Qiyu,
        Constitution::Tebing,
    ];

    /// The order of the 体质辨识 row on the paper form (DOMAIN.md 1.6): 气虚, 阳虚, 阴虚,
    /// 痰湿, 湿热, 血瘀, 气郁, 特禀, 平和.
    pub const FORM_ORDER: [Constitution; CONSTITUTION_COUNT] = [
        Constitution::Qixu,
        Constitution::Yangxu,
        Constitution::Yinxu,
        Constitution::Tanshi,
        Constitution::Shire,
        Constitution::Xueyu,
        Constitution::Qiyu,
        Constitution::Tebing,
        Constitution::Pinghe,
    ];

    /// The index (0..9), equal to the `#[repr(u8)]` discriminant.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The type with this index, or `None` for 9 and above.
    pub const fn from_index(index: u8) -> Option<Constitution> {
        match index {
            0 => Some(Constitution::Pinghe),
            1 => Some(Constitution::Qixu),
            2 => Some(Constitution::Yangxu),
            3 => Some(Constitution::Yinxu),
            4 => Some(Constitution::Tanshi),
            5 => Some(Constitution::Shire),
            6 => Some(Constitution::Xueyu),
            7 => Some(Constitution::Qiyu),
            8 => Some(Constitution::Tebing),
            _ => None,
        }
    }

    /// The pinyin id common in code (DOMAIN.md 1.4): `"pinghe"`, `"qixu"`, `"yangxu"`,
    /// `"yinxu"`, `"tanshi"`, `"shire"`, `"xueyu"`, `"qiyu"`, `"tebing"`.
    pub const fn pinyin(self) -> &'static str {
        match self {
            Constitution::Pinghe => "pinghe",
            Constitution::Qixu => "qixu",
            Constitution::Yangxu => "yangxu",
            Constitution::Yinxu => "yinxu",
            Constitution::Tanshi => "tanshi",
            Constitution::Shire => "shire",
            Constitution::Xueyu => "xueyu",
            Constitution::Qiyu => "qiyu",
            Constitution::Tebing => "tebing",
        }
    }

    /// The type whose [`pinyin`](Constitution::pinyin) id is exactly `id`.
    pub fn from_pinyin(id: &str) -> Option<Constitution> {
        Constitution::ALL.into_iter().find(|c| c.pinyin() == id)
    }

    /// The Chinese name as on the form, e.g. `"平和质"`.
    pub const fn name_zh(self) -> &'static str {
        match self {
            Constitution::Pinghe => "平和质",
            Constitution::Qixu => "气虚质",
            Constitution::Yangxu => "阳虚质",
            Constitution::Yinxu => "阴虚质",
            Constitution::Tanshi => "痰湿质",
            Constitution::Shire => "湿热质",
            Constitution::Xueyu => "血瘀质",
            Constitution::Qiyu => "气郁质",
            Constitution::Tebing => "特禀质",
        }
    }

    /// The English name, e.g. `"Qi deficiency"`.
    pub const fn name_en(self) -> &'static str {
        match self {
            Constitution::Pinghe => "Balanced",
            Constitution::Qixu => "Qi deficiency",
            Constitution::Yangxu => "Yang deficiency",
            Constitution::Yinxu => "Yin deficiency",
            Constitution::Tanshi => "Phlegm-dampness",
            Constitution::Shire => "Damp-heat",
            Constitution::Xueyu => "Blood stasis",
            Constitution::Qiyu => "Qi stagnation",
            Constitution::Tebing => "Special diathesis (inherited special)",
        }
    }

    /// The 1-based item numbers scored for this type (DOMAIN.md 1.4). 平和质 gives
    /// `[1, 2, 4, 5, 13]`, of which [`PINGHE_REVERSED_ITEMS`] are reverse-scored; every
    /// biased type has four items, all counted forward.
    pub const fn items(self) -> &'static [u8] {
        match self {
            Constitution::Pinghe => &PINGHE_ITEMS,
            Constitution::Qixu => &QIXU_ITEMS,
            Constitution::Yangxu => &YANGXU_ITEMS,
            Constitution::Yinxu => &YINXU_ITEMS,
            Constitution::Tanshi => &TANSHI_ITEMS,
            Constitution::Shire => &SHIRE_ITEMS,
            Constitution::Xueyu => &XUEYU_ITEMS,
            Constitution::Qiyu => &QIYU_ITEMS,
            Constitution::Tebing => &TEBING_ITEMS,
        }
    }

    /// `true` for the eight biased types (偏颇体质), `false` for 平和质.
    pub const fn is_biased(self) -> bool {
        !matches!(self, Constitution::Pinghe)
    }

    /// Lowest possible score: 4 for a biased type, 5 for 平和质 (DOMAIN.md 1.4).
    pub const fn min_score(self) -> u8 {
        // Each item contributes at least ANSWER_MIN, reversed or not (6 − 5 = 1).
        self.items().len() as u8 * ANSWER_MIN
    }

    /// Highest possible score: 20 for a biased type, 25 for 平和质 (DOMAIN.md 1.4).
    pub const fn max_score(self) -> u8 {
        self.items().len() as u8 * ANSWER_MAX
    }
}

const PINGHE_ITEMS: [u8; 5] = [
    PINGHE_FORWARD_ITEM,
    PINGHE_REVERSED_ITEMS[0],
    PINGHE_REVERSED_ITEMS[1],
    PINGHE_REVERSED_ITEMS[2],
    PINGHE_REVERSED_ITEMS[3],
];
const QIXU_ITEMS: [u8; 4] = [2, 3, 4, 14];
const YANGXU_ITEMS: [u8; 4] = [11, 12, 13, 29];
const YINXU_ITEMS: [u8; 4] = [10, 21, 26, 31];
const TANSHI_ITEMS: [u8; 4] = [9, 16, 28, 32];
const SHIRE_ITEMS: [u8; 4] = [23, 25, 27, 30];
const XUEYU_ITEMS: [u8; 4] = [19, 22, 24, 33];
const QIYU_ITEMS: [u8; 4] = [5, 6, 7, 8];
const TEBING_ITEMS: [u8; 4] = [15, 17, 18, 20];

/// Compile-time check of the mapping (DOMAIN.md 1.4): items 2..=33 each belong to exactly
/// one biased type, item 1 to none, and every item number is in 1..=33. The build fails
/// otherwise.
const _: () = check_item_mapping();

const fn check_item_mapping() {
    let mut owners = [0u8; ITEM_COUNT];
    let mut c = 0;
    while c < Constitution::BIASED.len() {
        let items = Constitution::BIASED[c].items();
        let mut i = 0;
        while i < items.len() {
            let item = items[i] as usize;
            assert!(item >= 1 && item <= ITEM_COUNT, "item number out of range");
            owners[item - 1] += 1;
            i += 1;
        }
        c += 1;
    }
    let mut i = 0;
    while i < ITEM_COUNT {
        let expected = if i + 1 == PINGHE_FORWARD_ITEM as usize {
            0
        } else {
            1
        };
        assert!(
            owners[i] == expected,
            "item not owned by exactly one biased type"
        );
        i += 1;
    }
}

/// Answer slots (0-based) of each biased type's four items, in [`Constitution::BIASED`]
/// order; derived at compile time from [`Constitution::items`].
const BIASED_SLOTS: [[usize; 4]; 8] = biased_slots();

const fn biased_slots() -> [[usize; 4]; 8] {
    let mut slots = [[0; 4]; 8];
    let mut c = 0;
    while c < Constitution::BIASED.len() {
        let items = Constitution::BIASED[c].items();
        assert!(items.len() == 4, "a biased type has four items");
        let mut i = 0;
        while i < 4 {
            slots[c][i] = items[i] as usize - 1;
            i += 1;
        }
        c += 1;
    }
    slots
}

/// Answer slot of [`PINGHE_FORWARD_ITEM`].
const PINGHE_FORWARD_SLOT: usize = PINGHE_FORWARD_ITEM as usize - 1;

/// Answer slots of [`PINGHE_REVERSED_ITEMS`].
const PINGHE_REVERSED_SLOTS: [usize; 4] = [
    PINGHE_REVERSED_ITEMS[0] as usize - 1,
    PINGHE_REVERSED_ITEMS[1] as usize - 1,
    PINGHE_REVERSED_ITEMS[2] as usize - 1,
    PINGHE_REVERSED_ITEMS[3] as usize - 1,
];

/// The verdict for one constitution type (判定结果).
///
/// Biased types take [`No`](Verdict::No), [`Tendency`](Verdict::Tendency) or
/// [`Yes`](Verdict::Yes); 平和质 takes [`No`](Verdict::No), [`Yes`](Verdict::Yes) or
/// [`BasicallyYes`](Verdict::BasicallyYes) (DOMAIN.md 1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Verdict {
    /// 否.
    No = 0,
    /// 倾向是 (biased types only).
    Tendency = 1,
    /// 是.
    Yes = 2,
    /// 基本是 (平和质 only).
    BasicallyYes = 3,
}

impl Verdict {
    /// All verdicts in discriminant order.
    pub const ALL: [Verdict; 4] = [
        Verdict::No,
        Verdict::Tendency,
        Verdict::Yes,
        Verdict::BasicallyYes,
    ];

    /// The machine id: `"no"`, `"tendency"`, `"yes"`, `"basically_yes"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Verdict::No => "no",
            Verdict::Tendency => "tendency",
            Verdict::Yes => "yes",
            Verdict::BasicallyYes => "basically_yes",
        }
    }

    /// The label on the form: 否, 倾向是, 是, 基本是.
    pub const fn label_zh(self) -> &'static str {
        match self {
            Verdict::No => "否",
            Verdict::Tendency => "倾向是",
            Verdict::Yes => "是",
            Verdict::BasicallyYes => "基本是",
        }
    }

    /// The verdict with this discriminant, or `None` for 4 and above.
    pub const fn from_u8(value: u8) -> Option<Verdict> {
        match value {
            0 => Some(Verdict::No),
            1 => Some(Verdict::Tendency),
            2 => Some(Verdict::Yes),
            3 => Some(Verdict::BasicallyYes),
            _ => None,
        }
    }

    /// `true` for every verdict except [`No`](Verdict::No): the form records 是/倾向是 for
    /// biased types and 是/基本是 for 平和质.
    pub const fn is_positive(self) -> bool {
        !matches!(self, Verdict::No)
    }
}

/// How 平和质's rule compares the other eight scores with its limits; see
/// [`PINGHE_OTHERS_COMPARISON`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OthersComparison {
    /// `score ≤ limit` (the reading this library uses).
    AtMost,
    /// `score < limit` (the minority reading).
    LessThan,
}

impl OthersComparison {
    /// Whether `score` is within `limit` under this reading.
    pub const fn admits(self, score: u8, limit: u8) -> bool {
        match self {
            OthersComparison::AtMost => score <= limit,
            OthersComparison::LessThan => score < limit,
        }
    }
}

/// Why a set of answers cannot be assessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConstitutionError {
    /// An answer outside [`ANSWER_MIN`]..=[`ANSWER_MAX`]; the first such item is reported.
    /// (The form allows no blank items, so 0 is out of range too.)
    AnswerOutOfRange {
        /// The 1-based item number.
        item: u8,
        /// The rejected answer.
        value: u8,
    },
}

impl fmt::Display for ConstitutionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConstitutionError::AnswerOutOfRange { item, value } => write!(
                f,
                "answer {value} to item {item} is outside {ANSWER_MIN}..={ANSWER_MAX}"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ConstitutionError {}

/// A set of constitution types, one bit per [`Constitution::index`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConstitutionSet(u16);

impl ConstitutionSet {
    /// Bits that name a type (bits 0..9).
    pub const VALID_BITS: u16 = (1 << CONSTITUTION_COUNT) - 1;

    /// The empty set.
    pub const fn empty() -> ConstitutionSet {
        ConstitutionSet(0)
    }

    /// The set with these bits, or `None` if any bit at position 9 or above is set.
    pub const fn from_bits(bits: u16) -> Option<ConstitutionSet> {
        if bits & !Self::VALID_BITS == 0 {
            Some(ConstitutionSet(bits))
        } else {
            None
        }
    }

    /// The bits (bit `i` = [`Constitution::ALL`]`[i]`).
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Adds a type.
    pub fn insert(&mut self, c: Constitution) {
        self.0 |= 1 << c.index();
    }

    /// Removes a type.
    pub fn remove(&mut self, c: Constitution) {
        self.0 &= !(1 << c.index());
    }

    /// Whether the set holds `c`.
    pub const fn contains(self, c: Constitution) -> bool {
        self.0 & (1 << c.index()) != 0
    }

    /// Number of types in the set.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members in index order.
    pub const fn iter(self) -> ConstitutionSetIter {
        ConstitutionSetIter(self.0)
    }
}

impl FromIterator<Constitution> for ConstitutionSet {
    fn from_iter<I: IntoIterator<Item = Constitution>>(iter: I) -> Self {
        let mut set = ConstitutionSet::empty();
        for c in iter {
            set.insert(c);
        }
        set
    }
}

impl IntoIterator for ConstitutionSet {
    type Item = Constitution;
    type IntoIter = ConstitutionSetIter;
    fn into_iter(self) -> ConstitutionSetIter {
        self.iter()
    }
}

/// Iterator over a [`ConstitutionSet`] in index order.
#[derive(Debug, Clone)]
pub struct ConstitutionSetIter(u16);

impl Iterator for ConstitutionSetIter {
    type Item = Constitution;

    fn next(&mut self) -> Option<Constitution> {
        // Every bit is below 9 (ConstitutionSet rejects others), so from_index succeeds
        // for each set bit; an impossible bit would simply end the iteration.
        if self.0 == 0 {
            return None;
        }
        let index = self.0.trailing_zeros();
        self.0 &= self.0 - 1;
        Constitution::from_index(index as u8)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.0.count_ones() as usize;
        (n, Some(n))
    }
}

impl ExactSizeIterator for ConstitutionSetIter {}
impl FusedIterator for ConstitutionSetIter {}

/// The outcome of one constitution identification: the answers, the nine scores and the
/// nine verdicts, all consistent by construction (only [`assess`] makes one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Assessment {
    answers: [u8; ITEM_COUNT],
    scores: [u8; CONSTITUTION_COUNT],
    verdicts: [Verdict; CONSTITUTION_COUNT],
}

/// Scores the 33 answers (`answers[0]` is item 1) per DOMAIN.md 1.4 and 1.5.
///
/// Biased types: the sum of their four items; ≥ [`BIASED_YES_MIN`] 是,
/// ≥ [`BIASED_TENDENCY_MIN`] 倾向是, otherwise 否. 平和质: item 1 plus `6 − s` for items 2, 4,
/// 5 and 13; ≥ [`PINGHE_MIN`] with all others within [`PINGHE_YES_OTHERS_MAX`] is 是,
/// within [`PINGHE_BASICALLY_OTHERS_MAX`] is 基本是, otherwise 否.
///
/// Fails with [`ConstitutionError::AnswerOutOfRange`] for the first answer outside 1..=5.
pub fn assess(answers: &[u8; ITEM_COUNT]) -> Result<Assessment, ConstitutionError> {
    // A branch-free pass first (vectorises); the slow search runs only on bad input.
    let any_bad = answers
        .iter()
        .fold(false, |bad, a| bad | !(ANSWER_MIN..=ANSWER_MAX).contains(a));
    if any_bad {
        return Err(first_out_of_range(answers));
    }

    // Every answer is 1..=5 from here on: a biased sum is 4..=20, 平和质's 5..=25, and
    // 6 − s is 1..=5, so none of the arithmetic below can overflow. All indices come from
    // compile-time tables below ITEM_COUNT.
    let mut scores = [0u8; CONSTITUTION_COUNT];
    let mut verdicts = [Verdict::No; CONSTITUTION_COUNT];
    let mut max_other = 0;
    for (c, slots) in Constitution::BIASED.into_iter().zip(BIASED_SLOTS) {
        let score = answers[slots[0]] + answers[slots[1]] + answers[slots[2]] + answers[slots[3]];
        scores[c.index()] = score;
        verdicts[c.index()] = biased_verdict(score);
        max_other = max_other.max(score);
    }
    let reversed: u8 = PINGHE_REVERSED_SLOTS
        .iter()
        .map(|&slot| PINGHE_REVERSE_BASE - answers[slot])
        .sum();
    let pinghe = answers[PINGHE_FORWARD_SLOT] + reversed;
    scores[Constitution::Pinghe.index()] = pinghe;
    verdicts[Constitution::Pinghe.index()] =
        pinghe_verdict(pinghe, max_other, PINGHE_OTHERS_COMPARISON);

    Ok(Assessment {
        answers: *answers,
        scores,
        verdicts,
    })
}

/// The error for the first answer outside 1..=5 (called only when there is one).
#[cold]
fn first_out_of_range(answers: &[u8; ITEM_COUNT]) -> ConstitutionError {
    let (index, value) = answers
        .iter()
        .copied()
        .enumerate()
        .find(|(_, a)| !(ANSWER_MIN..=ANSWER_MAX).contains(a))
        .unwrap_or((0, 0));
    ConstitutionError::AnswerOutOfRange {
        // index < 33, so the item number fits in u8.
        item: index as u8 + 1,
        value,
    }
}

/// The biased-type band for a four-item sum (DOMAIN.md 1.5).
const fn biased_verdict(score: u8) -> Verdict {
    if score >= BIASED_YES_MIN {
        Verdict::Yes
    } else if score >= BIASED_TENDENCY_MIN {
        Verdict::Tendency
    } else {
        Verdict::No
    }
}

/// 平和质's rule for its score and the highest of the other eight (DOMAIN.md 1.5).
const fn pinghe_verdict(score: u8, max_other: u8, comparison: OthersComparison) -> Verdict {
    if score < PINGHE_MIN {
        Verdict::No
    } else if comparison.admits(max_other, PINGHE_YES_OTHERS_MAX) {
        Verdict::Yes
    } else if comparison.admits(max_other, PINGHE_BASICALLY_OTHERS_MAX) {
        Verdict::BasicallyYes
    } else {
        Verdict::No
    }
}

impl Assessment {
    /// The 33 answers as given (`answers()[0]` is item 1).
    pub const fn answers(&self) -> &[u8; ITEM_COUNT] {
        &self.answers
    }

    /// The score of one type (4..=20 for biased types, 5..=25 for 平和质).
    pub const fn score(&self, c: Constitution) -> u8 {
        self.scores[c.index()]
    }

    /// The verdict of one type.
    pub const fn verdict(&self, c: Constitution) -> Verdict {
        self.verdicts[c.index()]
    }

    /// All nine scores in [`Constitution::ALL`] order.
    pub const fn scores(&self) -> [u8; CONSTITUTION_COUNT] {
        self.scores
    }

    /// All nine verdicts in [`Constitution::ALL`] order.
    pub const fn verdicts(&self) -> [Verdict; CONSTITUTION_COUNT] {
        self.verdicts
    }

    /// The types the form records: every type whose verdict is not 否 (biased 是/倾向是,
    /// 平和 是/基本是). Two or more biased types form a mixed constitution (兼夹体质), which
    /// is normal.
    pub fn identified(&self) -> ConstitutionSet {
        Constitution::ALL
            .into_iter()
            .filter(|c| self.verdict(*c).is_positive())
            .collect()
    }

    /// The type(s) that guidance is primarily based on (DOMAIN.md 1.5: "guide primarily by
    /// the highest score; equal scores → TCM physician decides").
    ///
    /// Among the biased types that are 是 or 倾向是, those with the highest score; several
    /// when tied, and then a TCM physician chooses. If no biased type is identified and
    /// 平和质 is 是 or 基本是, `{Pinghe}`. Otherwise empty (see
    /// [`needs_recollection`](Assessment::needs_recollection)). When 平和质 is 基本是 next
    /// to a biased 倾向是, the biased type is primary: its guidance addresses the tendency,
    /// and the two scores are on different scales.
    pub fn primary(&self) -> ConstitutionSet {
        let mut best = 0;
        let mut set = ConstitutionSet::empty();
        for c in Constitution::BIASED {
            if !self.verdict(c).is_positive() {
                continue;
            }
            let score = self.score(c);
            if score > best {
                best = score;
                set = ConstitutionSet::empty();
            }
            if score == best {
                set.insert(c);
            }
        }
        if set.is_empty() && self.verdict(Constitution::Pinghe).is_positive() {
            set.insert(Constitution::Pinghe);
        }
        set
    }

    /// The pairs of [`CONTRADICTORY_PAIRS`] that are both 是 in this assessment; the form
    /// says to re-check the answers when there is any.
    pub fn contradictions(&self) -> impl Iterator<Item = (Constitution, Constitution)> + '_ {
        CONTRADICTORY_PAIRS.into_iter().filter(move |(a, b)| {
            self.verdict(*a) == Verdict::Yes && self.verdict(*b) == Verdict::Yes
        })
    }

    /// Whether any [`contradictions`](Assessment::contradictions) exist.
    pub fn has_contradiction(&self) -> bool {
        self.contradictions().next().is_some()
    }

    /// `true` when no type is determinable: 平和质 is 否 and no biased type is 是 or 倾向是.
    /// The form says to investigate, or re-collect after [`RECOLLECT_AFTER_DAYS`] days.
    pub fn needs_recollection(&self) -> bool {
        self.identified().is_empty()
    }
}

#[cfg(test)]
mod tests;
