//! 中医药保健指导: the guidance areas of the service and a short bilingual catalogue of
//! conventional advice per constitution (DOMAIN.md 1.1, 1.6).
//!
//! The record form's guidance row is a multi-select per type, `1.情志调摄 2.饮食调养
//! 3.起居调摄 4.运动保健 5.穴位保健 6.其他`; [`GuidanceSet`] stores the ticks (bit `i` =
//! form option `i + 1`). The catalogue text is a starting point for the staff member giving
//! the advice, not a prescription.

use core::iter::FusedIterator;

use super::Constitution;

/// A guidance area on the form (中医药保健指导, DOMAIN.md 1.6). The discriminant is the
/// bit index in [`GuidanceSet`]; the form numbers them one higher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum GuidanceCategory {
    /// 情志调摄, emotional regulation.
    Emotion = 0,
    /// 饮食调养, dietary care.
    Diet = 1,
    /// 起居调摄, daily-life regimen.
    DailyLife = 2,
    /// 运动保健, exercise.
    Exercise = 3,
    /// 穴位保健, acupoint self-care.
    Acupoint = 4,
    /// 其他, other (free text on the form).
    Other = 5,
}

/// The five areas the catalogue gives advice for, in order: every category except
/// [`GuidanceCategory::Other`], whose content is free text per record.
pub const ADVICE_CATEGORIES: [GuidanceCategory; 5] = [
    GuidanceCategory::Emotion,
    GuidanceCategory::Diet,
    GuidanceCategory::DailyLife,
    GuidanceCategory::Exercise,
    GuidanceCategory::Acupoint,
];

impl GuidanceCategory {
    /// All six areas in discriminant (and form) order.
    pub const ALL: [GuidanceCategory; 6] = [
        GuidanceCategory::Emotion,
        GuidanceCategory::Diet,
        GuidanceCategory::DailyLife,
        GuidanceCategory::Exercise,
        GuidanceCategory::Acupoint,
        GuidanceCategory::Other,
    ];

    /// The bit index (0..6), equal to the discriminant.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The area with this index, or `None` for 6 and above.
    pub const fn from_index(index: u8) -> Option<GuidanceCategory> {
        match index {
            0 => Some(GuidanceCategory::Emotion),
            1 => Some(GuidanceCategory::Diet),
            2 => Some(GuidanceCategory::DailyLife),
            3 => Some(GuidanceCategory::Exercise),
            4 => Some(GuidanceCategory::Acupoint),
            5 => Some(GuidanceCategory::Other),
            _ => None,
        }
    }

    /// The option number printed on the form (1..=6).
    pub const fn form_number(self) -> u8 {
        self as u8 + 1
    }

    /// The Chinese name as on the form, e.g. `"情志调摄"`.
    pub const fn name_zh(self) -> &'static str {
        match self {
            GuidanceCategory::Emotion => "情志调摄",
            GuidanceCategory::Diet => "饮食调养",
            GuidanceCategory::DailyLife => "起居调摄",
            GuidanceCategory::Exercise => "运动保健",
            GuidanceCategory::Acupoint => "穴位保健",
            GuidanceCategory::Other => "其他",
        }
    }

    /// The English name, e.g. `"Emotional regulation"`.
    pub const fn name_en(self) -> &'static str {
        match self {
            GuidanceCategory::Emotion => "Emotional regulation",
            GuidanceCategory::Diet => "Dietary care",
            GuidanceCategory::DailyLife => "Daily-life regimen",
            GuidanceCategory::Exercise => "Exercise",
            GuidanceCategory::Acupoint => "Acupoint self-care",
            GuidanceCategory::Other => "Other",
        }
    }
}

/// The guidance areas ticked for one constitution (bit `i` = [`GuidanceCategory`] with
/// index `i`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GuidanceSet(u8);

impl GuidanceSet {
    /// Bits that name an area (bits 0..6).
    pub const VALID_BITS: u8 = (1 << GuidanceCategory::ALL.len()) - 1;

    /// The empty set.
    pub const fn empty() -> GuidanceSet {
        GuidanceSet(0)
    }

    /// The set with these bits, or `None` if bit 6 or 7 is set.
    pub const fn from_bits(bits: u8) -> Option<GuidanceSet> {
        if bits & !Self::VALID_BITS == 0 {
            Some(GuidanceSet(bits))
        } else {
            None
        }
    }

    /// The bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Adds an area.
    pub fn insert(&mut self, category: GuidanceCategory) {
        self.0 |= 1 << category.index();
    }

    /// Removes an area.
    pub fn remove(&mut self, category: GuidanceCategory) {
        self.0 &= !(1 << category.index());
    }

    /// Whether the set holds `category`.
    pub const fn contains(self, category: GuidanceCategory) -> bool {
        self.0 & (1 << category.index()) != 0
    }

    /// Number of areas in the set.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members in index order.
    pub const fn iter(self) -> GuidanceSetIter {
        GuidanceSetIter(self.0)
    }
}

impl FromIterator<GuidanceCategory> for GuidanceSet {
    fn from_iter<I: IntoIterator<Item = GuidanceCategory>>(iter: I) -> Self {
        let mut set = GuidanceSet::empty();
        for category in iter {
            set.insert(category);
        }
        set
    }
}

impl IntoIterator for GuidanceSet {
    type Item = GuidanceCategory;
    type IntoIter = GuidanceSetIter;
    fn into_iter(self) -> GuidanceSetIter {
        self.iter()
    }
}

/// Iterator over a [`GuidanceSet`] in index order.
#[derive(Debug, Clone)]
pub struct GuidanceSetIter(u8);

impl Iterator for GuidanceSetIter {
    type Item = GuidanceCategory;

    fn next(&mut self) -> Option<GuidanceCategory> {
        if self.0 == 0 {
            return None;
        }
        let index = self.0.trailing_zeros();
        self.0 &= self.0 - 1;
        GuidanceCategory::from_index(index as u8)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.0.count_ones() as usize;
        (n, Some(n))
    }
}

impl ExactSizeIterator for GuidanceSetIter {}
impl FusedIterator for GuidanceSetIter {}

/// One piece of advice in one area, in Chinese and English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GuidanceAdvice {
    /// The area.
    pub category: GuidanceCategory,
    /// The advice in Chinese.
    pub zh: &'static str,
    /// The advice in English.
    pub en: &'static str,
}

/// The catalogue entry for one constitution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConstitutionGuidance {
    /// The constitution this entry is for.
    pub constitution: Constitution,
    /// One piece of advice per area of [`ADVICE_CATEGORIES`], in that order.
    pub advice: [GuidanceAdvice; 5],
    /// The acupoints named in the 穴位保健 advice, as WHO standard codes (DOMAIN.md 5).
    pub acupoints: &'static [&'static str],
}

impl ConstitutionGuidance {
    /// The advice for one area; `None` for [`GuidanceCategory::Other`] (free text).
    pub fn advice_for(&self, category: GuidanceCategory) -> Option<&GuidanceAdvice> {
        self.advice.iter().find(|a| a.category == category)
    }
}

/// The catalogue entry for `c`.
pub fn guidance(c: Constitution) -> &'static ConstitutionGuidance {
    match c {
        Constitution::Pinghe => &PINGHE,
        Constitution::Qixu => &QIXU,
        Constitution::Yangxu => &YANGXU,
        Constitution::Yinxu => &YINXU,
        Constitution::Tanshi => &TANSHI,
        Constitution::Shire => &SHIRE,
        Constitution::Xueyu => &XUEYU,
        Constitution::Qiyu => &QIYU,
        Constitution::Tebing => &TEBING,
    }
}

/// Builds the five advice entries in [`ADVICE_CATEGORIES`] order from (zh, en) pairs.
const fn advice(
    emotion: (&'static str, &'static str),
    diet: (&'static str, &'static str),
    daily_life: (&'static str, &'static str),
    exercise: (&'static str, &'static str),
    acupoint: (&'static str, &'static str),
) -> [GuidanceAdvice; 5] {
    const fn one(category: GuidanceCategory, text: (&'static str, &'static str)) -> GuidanceAdvice {
        GuidanceAdvice {
            category,
            zh: text.0,
            en: text.1,
        }
    }
    [
        one(GuidanceCategory::Emotion, emotion),
        one(GuidanceCategory::Diet, diet),
        one(GuidanceCategory::DailyLife, daily_life),
        one(GuidanceCategory::Exercise, exercise),
        one(GuidanceCategory::Acupoint, acupoint),
    ]
}

static PINGHE: ConstitutionGuidance = ConstitutionGuidance {
    constitution: Constitution::Pinghe,
    advice: advice(
        (
            "保持乐观开朗，情绪平稳，多与家人朋友交流。",
            "Stay cheerful and even-tempered; keep in touch with family and friends.",
        ),
        (
            "饮食有节，粗细搭配，荤素均衡，不偏嗜寒凉或辛热。",
            "Regular, moderate meals mixing whole grains, vegetables and protein; avoid extremes of cold or spicy-hot food.",
        ),
        (
            "起居有常，劳逸结合，随四季变化增减衣被。",
            "Keep a regular daily routine, balance activity and rest, and dress for the season.",
        ),
        (
            "坚持适度运动，如散步、太极拳、八段锦。",
            "Keep up moderate exercise such as walking, tai chi or Baduanjin.",
        ),
        (
            "按揉涌泉、足三里，每穴2～3分钟，每日1～2次。",
            "Press and knead Yongquan (KI1) and Zusanli (ST36), 2-3 minutes each, once or twice a day.",
        ),
    ),
    acupoints: &["KI1", "ST36"],
};

static QIXU: ConstitutionGuidance = ConstitutionGuidance {
    constitution: Constitution::Qixu,
    advice: advice(
        (
            "避免过度思虑和紧张，保持心情舒畅。",
            "Avoid excessive worry and strain; keep a calm, contented mood.",
        ),
        (
            "宜食益气健脾之品，如黄芪、山药、大枣、小米；少食生冷油腻。",
            "Qi-tonifying, spleen-strengthening foods such as astragalus, Chinese yam, jujube and millet; little raw, cold or greasy food.",
        ),
        (
            "作息规律，避免过度劳累，注意保暖，预防感冒。",
            "Keep regular hours, avoid overwork, stay warm and guard against colds.",
        ),
        (
            "宜柔缓运动，如八段锦、太极拳、散步；量力而行，避免大汗和过度劳累。",
            "Gentle exercise such as Baduanjin, tai chi or walking, within your strength; avoid heavy sweating and overexertion.",
        ),
        (
            "按揉气海、关元、足三里，每穴2～3分钟，每日1～2次。",
            "Press and knead Qihai (CV6), Guanyuan (CV4) and Zusanli (ST36), 2-3 minutes each, once or twice a day.",
        ),
    ),
    acupoints: &["CV6", "CV4", "ST36"],
};

static YANGXU: ConstitutionGuidance = ConstitutionGuidance {
    constitution: Constitution::Yangxu,
    advice: advice(
        (
            "多与人交往，保持积极乐观，避免长时间悲伤忧虑。",
            "Seek company and stay positive; do not dwell on sadness or worry.",
        ),
        (
            "宜食温阳之品，如羊肉、韭菜、生姜、核桃；少食生冷寒凉，少喝冷饮。",
            "Warming foods such as mutton, Chinese chives, ginger and walnuts; avoid raw or cold food and iced drinks.",
        ),
        (
            "注意保暖，尤其腰背、腹部和双足；避免久居寒湿之处，夏季不宜直吹空调。",
            "Keep warm, especially the back, abdomen and feet; avoid cold, damp places and direct air-conditioning in summer.",
        ),
        (
            "宜在阳光充足、气温较暖时做舒缓运动，如散步、太极拳；避免在风寒中锻炼。",
            "Gentle exercise in warm, sunny hours, such as walking or tai chi; avoid exercising in cold wind.",
        ),
        (
            "按揉关元、命门，或在专业人员指导下艾灸，每日1次。",
            "Press and knead Guanyuan (CV4) and Mingmen (GV4), or apply moxibustion under professional guidance, once a day.",
        ),
    ),
    acupoints: &["CV4", "GV4"],
};

static YINXU: ConstitutionGuidance = ConstitutionGuidance {
    constitution: Constitution::Yinxu,
    advice: advice(
        (
            "遇事冷静，安神定志，避免急躁易怒。",
            "Meet events calmly; avoid irritability and quick temper.",
        ),
        (
            "宜食滋阴之品，如百合、银耳、梨、黑芝麻、鸭肉；少食辛辣、煎炸、温燥之品。",
            "Yin-nourishing foods such as lily bulb, white fungus, pear, black sesame and duck; little spicy, fried or warming food.",
        ),
        (
            "起居有常，保证睡眠，避免熬夜，避免在高温环境中久留。",
            "Keep regular hours and enough sleep; avoid late nights and long stays in hot surroundings.",
        ),
        (
            "宜中小强度运动，如太极拳、八段锦；避免大汗，运动后及时补充水分。",
            "Light to moderate exercise such as tai chi or Baduanjin; avoid heavy sweating and drink water afterwards.",
        ),
        (
            "按揉太溪、三阴交，每穴2～3分钟，每日1～2次。",
            "Press and knead Taixi (KI3) and Sanyinjiao (SP6), 2-3 minutes each, once or twice a day.",
        ),
    ),
    acupoints: &["KI3", "SP6"],
};

static TANSHI: ConstitutionGuidance = ConstitutionGuidance {
    constitution: Constitution::Tanshi,
    advice: advice(
        (
            "保持心境平和，多参加社交和文娱活动。",
            "Keep an even mood and take part in social and leisure activities.",
        ),
        (
            "饮食清淡，少食肥甘厚味和甜食，控制食量；宜食冬瓜、薏苡仁、赤小豆、白萝卜等健脾化湿之品。",
            "Light meals in moderate portions, little fatty or sweet food; damp-resolving foods such as wax gourd, coix seed, adzuki beans and white radish.",
        ),
        (
            "居室宜干燥通风，避免潮湿；衣着宽松透气。",
            "Live in dry, well-aired rooms and avoid damp; wear loose, breathable clothes.",
        ),
        (
            "坚持较长时间的有氧运动，如快走、八段锦，循序渐进，控制体重。",
            "Regular, longer aerobic activity such as brisk walking or Baduanjin, built up gradually; manage body weight.",
        ),
        (
            "按揉丰隆、足三里，每穴2～3分钟，每日1～2次。",
            "Press and knead Fenglong (ST40) and Zusanli (ST36), 2-3 minutes each, once or twice a day.",
        ),
    ),
    acupoints: &["ST40", "ST36"],
};

static SHIRE: ConstitutionGuidance = ConstitutionGuidance {
    constitution: Constitution::Shire,
    advice: advice(
        (
            "克制急躁情绪，保持心情舒畅。",
            "Restrain impatience and keep a relaxed mood.",
        ),
        (
            "饮食清淡，宜食绿豆、冬瓜、苦瓜、芹菜等清热利湿之品；少食辛辣油腻，戒烟限酒。",
            "Light food, with heat-clearing, damp-draining choices such as mung beans, wax gourd, bitter melon and celery; little spicy or greasy food; no smoking, little alcohol.",
        ),
        (
            "居室通风干燥，避免湿热环境；保持大小便通畅。",
            "Keep rooms dry and aired and avoid hot, humid settings; keep bowel movements and urination regular.",
        ),
        (
            "宜中等强度运动，如快走、太极拳；避开暑热时段。",
            "Moderate exercise such as brisk walking or tai chi, avoiding the hottest hours.",
        ),
        (
            "按揉支沟、阴陵泉，每穴2～3分钟，每日1～2次。",
            "Press and knead Zhigou (TE6) and Yinlingquan (SP9), 2-3 minutes each, once or twice a day.",
        ),
    ),
    acupoints: &["TE6", "SP9"],
};

static XUEYU: ConstitutionGuidance = ConstitutionGuidance {
    constitution: Constitution::Xueyu,
    advice: advice(
        (
            "保持心情愉快，避免抑郁和恼怒。",
            "Stay cheerful; avoid low mood and anger.",
        ),
        (
            "宜食山楂、黑木耳、洋葱、玫瑰花茶等活血之品；少食寒凉油腻。",
            "Blood-moving foods such as hawthorn, black fungus, onion and rose tea; little cold or greasy food.",
        ),
        (
            "注意保暖，避免久坐久卧，经常活动肢体。",
            "Keep warm, avoid sitting or lying still for long, and move the limbs often.",
        ),
        (
            "坚持舒缓运动，如散步、太极拳、八段锦；如出现胸闷、胸痛应停止运动并就医。",
            "Regular gentle exercise such as walking, tai chi or Baduanjin; stop and seek care if chest tightness or pain occurs.",
        ),
        (
            "按揉期门、血海，每穴2～3分钟，每日1～2次。",
            "Press and knead Qimen (LR14) and Xuehai (SP10), 2-3 minutes each, once or twice a day.",
        ),
    ),
    acupoints: &["LR14", "SP10"],
};

static QIYU: ConstitutionGuidance = ConstitutionGuidance {
    constitution: Constitution::Qiyu,
    advice: advice(
        (
            "多参加集体活动，主动倾诉交流，培养兴趣爱好。",
            "Join group activities, talk about worries, and cultivate hobbies.",
        ),
        (
            "宜食佛手、玫瑰花、陈皮、萝卜等理气解郁之品。",
            "Qi-moving foods such as finger citron, rose tea, tangerine peel and radish.",
        ),
        (
            "作息规律，多到户外，多晒太阳。",
            "Keep a regular routine and spend time outdoors in the sun.",
        ),
        (
            "多参加户外和集体运动，如太极拳、八段锦、健身舞。",
            "Outdoor and group exercise such as tai chi, Baduanjin or group dancing.",
        ),
        (
            "按揉合谷、太冲，每穴2～3分钟，每日1～2次。",
            "Press and knead Hegu (LI4) and Taichong (LR3), 2-3 minutes each, once or twice a day.",
        ),
    ),
    acupoints: &["LI4", "LR3"],
};

static TEBING: ConstitutionGuidance = ConstitutionGuidance {
    constitution: Constitution::Tebing,
    advice: advice(
        (
            "保持心情平和，减轻精神压力。",
            "Stay calm and reduce stress.",
        ),
        (
            "饮食清淡均衡，避免已知致敏食物，少食海鲜、辛辣等易致敏之品。",
            "Light, balanced meals; avoid known food allergens and go easy on seafood, spicy and other commonly provoking foods.",
        ),
        (
            "远离已知过敏原，花粉季节减少外出，居室保持清洁通风。",
            "Stay away from known allergens, go out less in pollen season, and keep rooms clean and aired.",
        ),
        (
            "适度运动增强体质，避开花粉等过敏原较多的时间和场所。",
            "Moderate exercise to build resilience, avoiding times and places with many allergens such as pollen.",
        ),
        (
            "按揉曲池、足三里，每穴2～3分钟；可在专业人员指导下温灸神阙。",
            "Press and knead Quchi (LI11) and Zusanli (ST36), 2-3 minutes each; warm moxibustion at Shenque (CV8) under professional guidance.",
        ),
    ),
    acupoints: &["LI11", "ST36", "CV8"],
};
