//! TCM appropriate techniques (中医适宜技术) delivered in care homes (DOMAIN.md section 6).
//!
//! Chinese names and standard numbers follow the national standards (GB/T 21709
//! 《针灸技术操作规范》 parts) where one exists; English names are the conventional ones of
//! DOMAIN.md section 6.

use core::fmt;

/// A TCM technique.
///
/// **Wire contract, append-only**: the discriminant is the wire value. Values are never
/// reused or renumbered; a new technique takes the next free number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Technique {
    /// 针刺 / 毫针, acupuncture with filiform needles (GB/T 21709.20, GB/T 21709.21).
    Acupuncture = 0,
    /// 艾灸, moxibustion (GB/T 21709.1-2008).
    Moxibustion = 1,
    /// 拔罐, cupping therapy (GB/T 21709.5-2008).
    Cupping = 2,
    /// 推拿, tuina (Chinese therapeutic massage).
    Tuina = 3,
    /// 刮痧, scraping therapy (Gua Sha) (GB/T 21709.22-2013).
    GuaSha = 4,
    /// 耳穴压豆 / 耳穴压丸, auricular point pressing (ear-seed acupressure)
    /// (GB/T 21709.3-2021 耳针).
    AuricularPressing = 5,
    /// 穴位贴敷, acupoint application (GB/T 21709.9).
    AcupointApplication = 6,
    /// 中药足浴 / 中药泡洗, herbal foot bath (herbal soaking).
    HerbalFootBath = 7,
    /// 穴位按揉, acupoint massage (acupressure).
    AcupointMassage = 8,
    /// 八段锦, Baduanjin (Eight-Section Brocade) qigong.
    Baduanjin = 9,
    /// 太极拳, Tai Chi (Taijiquan).
    TaiChi = 10,
    /// 五禽戏, Wuqinxi (Five-Animal Exercises).
    Wuqinxi = 11,
    /// 六字诀, Liuzijue (Six Healing Sounds).
    Liuzijue = 12,
    /// 电针, electroacupuncture (GB/T 21709.11).
    Electroacupuncture = 13,
    /// 穴位注射, acupoint injection (GB/T 21709.6).
    AcupointInjection = 14,
    /// 皮内针, intradermal needle (GB/T 21709.8).
    IntradermalNeedle = 15,
}

/// Whether a treatment record of a technique names WHO body acupoints
/// ([`crate::codes::acupoint::Acupoint`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AcupointUse {
    /// The technique is applied at acupoints; a record must name at least one.
    Required,
    /// The technique may target acupoints or may work on a body area; points are optional.
    Optional,
    /// The technique does not use WHO body acupoints; a record must name none.
    NotApplicable,
}

/// Snake_case names of [`Technique`] in wire-value order.
const NAMES: [&str; 16] = [
    "acupuncture",
    "moxibustion",
    "cupping",
    "tuina",
    "gua_sha",
    "auricular_pressing",
    "acupoint_application",
    "herbal_foot_bath",
    "acupoint_massage",
    "baduanjin",
    "tai_chi",
    "wuqinxi",
    "liuzijue",
    "electroacupuncture",
    "acupoint_injection",
    "intradermal_needle",
];

impl Technique {
    /// All techniques in wire-value order.
    pub const ALL: [Technique; 16] = [
        Technique::Acupuncture,
        Technique::Moxibustion,
        Technique::Cupping,
        Technique::Tuina,
        Technique::GuaSha,
        Technique::AuricularPressing,
        Technique::AcupointApplication,
        Technique::HerbalFootBath,
        Technique::AcupointMassage,
        Technique::Baduanjin,
        Technique::TaiChi,
        Technique::Wuqinxi,
        Technique::Liuzijue,
        Technique::Electroacupuncture,
        Technique::AcupointInjection,
        Technique::IntradermalNeedle,
    ];

    /// The wire value.
    pub const fn to_u8(self) -> u8 {
        self as u8
    }

    /// The technique with wire value `value`; `None` for values not assigned (yet).
    pub const fn from_u8(value: u8) -> Option<Technique> {
        match value {
            0 => Some(Technique::Acupuncture),
            1 => Some(Technique::Moxibustion),
            2 => Some(Technique::Cupping),
            3 => Some(Technique::Tuina),
            4 => Some(Technique::GuaSha),
            5 => Some(Technique::AuricularPressing),
            6 => Some(Technique::AcupointApplication),
            7 => Some(Technique::HerbalFootBath),
            8 => Some(Technique::AcupointMassage),
            9 => Some(Technique::Baduanjin),
            10 => Some(Technique::TaiChi),
            11 => Some(Technique::Wuqinxi),
            12 => Some(Technique::Liuzijue),
            13 => Some(Technique::Electroacupuncture),
            14 => Some(Technique::AcupointInjection),
            15 => Some(Technique::IntradermalNeedle),
            _ => None,
        }
    }

    /// The stable snake_case name (`"moxibustion"`, `"gua_sha"`) used in JSON, Python and
    /// reports.
    pub const fn name(self) -> &'static str {
        NAMES[self as usize]
    }

    /// The technique named `name` (see [`Technique::name`]).
    pub fn from_name(name: &str) -> Option<Technique> {
        Technique::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Chinese name, `"艾灸"`.
    pub const fn name_zh(self) -> &'static str {
        match self {
            Technique::Acupuncture => "针刺",
            Technique::Moxibustion => "艾灸",
            Technique::Cupping => "拔罐",
            Technique::Tuina => "推拿",
            Technique::GuaSha => "刮痧",
            Technique::AuricularPressing => "耳穴压豆",
            Technique::AcupointApplication => "穴位贴敷",
            Technique::HerbalFootBath => "中药足浴",
            Technique::AcupointMassage => "穴位按揉",
            Technique::Baduanjin => "八段锦",
            Technique::TaiChi => "太极拳",
            Technique::Wuqinxi => "五禽戏",
            Technique::Liuzijue => "六字诀",
            Technique::Electroacupuncture => "电针",
            Technique::AcupointInjection => "穴位注射",
            Technique::IntradermalNeedle => "皮内针",
        }
    }

    /// English name, `"Moxibustion"`.
    pub const fn name_en(self) -> &'static str {
        match self {
            Technique::Acupuncture => "Acupuncture (filiform needle)",
            Technique::Moxibustion => "Moxibustion",
            Technique::Cupping => "Cupping therapy",
            Technique::Tuina => "Tuina (Chinese therapeutic massage)",
            Technique::GuaSha => "Scraping therapy (Gua Sha)",
            Technique::AuricularPressing => "Auricular point pressing (ear-seed acupressure)",
            Technique::AcupointApplication => "Acupoint application",
            Technique::HerbalFootBath => "Herbal foot bath (herbal soaking)",
            Technique::AcupointMassage => "Acupoint massage (acupressure)",
            Technique::Baduanjin => "Baduanjin (Eight-Section Brocade) qigong",
            Technique::TaiChi => "Tai Chi (Taijiquan)",
            Technique::Wuqinxi => "Wuqinxi (Five-Animal Exercises)",
            Technique::Liuzijue => "Liuzijue (Six Healing Sounds)",
            Technique::Electroacupuncture => "Electroacupuncture",
            Technique::AcupointInjection => "Acupoint injection",
            Technique::IntradermalNeedle => "Intradermal needle",
        }
    }

    /// The Chinese national operating standard for the technique, if there is one.
    pub const fn standard(self) -> Option<&'static str> {
        match self {
            Technique::Acupuncture => Some("GB/T 21709.20; GB/T 21709.21"),
            Technique::Moxibustion => Some("GB/T 21709.1-2008"),
            Technique::Cupping => Some("GB/T 21709.5-2008"),
            Technique::GuaSha => Some("GB/T 21709.22-2013"),
            Technique::AuricularPressing => Some("GB/T 21709.3-2021"),
            Technique::AcupointApplication => Some("GB/T 21709.9"),
            Technique::Electroacupuncture => Some("GB/T 21709.11"),
            Technique::AcupointInjection => Some("GB/T 21709.6"),
            Technique::IntradermalNeedle => Some("GB/T 21709.8"),
            Technique::Tuina
            | Technique::HerbalFootBath
            | Technique::AcupointMassage
            | Technique::Baduanjin
            | Technique::TaiChi
            | Technique::Wuqinxi
            | Technique::Liuzijue => None,
        }
    }

    /// Whether a treatment of this technique names WHO body acupoints.
    ///
    /// - **Required**: the needle techniques (acupuncture, electroacupuncture, intradermal
    ///   needle, acupoint injection), moxibustion, acupoint application and acupoint
    ///   massage are by definition applied at named points; a record without points would
    ///   not say what was done.
    /// - **Optional**: cupping, gua sha and tuina are often applied along a meridian or over
    ///   a body area (back, neck) rather than at named points; when a point is targeted it
    ///   can be recorded.
    /// - **NotApplicable**: auricular pressing works on ear points, which use the auricular
    ///   nomenclature (GB/T 13734 耳穴名称与定位), not the WHO body points; storing them as
    ///   body points would be wrong. The herbal foot bath and the exercises (Baduanjin,
    ///   Tai Chi, Wuqinxi, Liuzijue) are not point-based.
    pub const fn acupoints(self) -> AcupointUse {
        match self {
            Technique::Acupuncture
            | Technique::Moxibustion
            | Technique::AcupointApplication
            | Technique::AcupointMassage
            | Technique::Electroacupuncture
            | Technique::AcupointInjection
            | Technique::IntradermalNeedle => AcupointUse::Required,
            Technique::Cupping | Technique::GuaSha | Technique::Tuina => AcupointUse::Optional,
            Technique::AuricularPressing
            | Technique::HerbalFootBath
            | Technique::Baduanjin
            | Technique::TaiChi
            | Technique::Wuqinxi
            | Technique::Liuzijue => AcupointUse::NotApplicable,
        }
    }

    /// Whether the technique is a guided exercise (导引 / qigong: Baduanjin, Tai Chi,
    /// Wuqinxi, Liuzijue) done by the resident rather than applied by a practitioner.
    pub const fn is_exercise(self) -> bool {
        matches!(
            self,
            Technique::Baduanjin | Technique::TaiChi | Technique::Wuqinxi | Technique::Liuzijue
        )
    }
}

impl fmt::Display for Technique {
    /// The English name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name_en())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    #[test]
    fn names_are_pinned() {
        let expected: [(Technique, &str); 16] = [
            (Technique::Acupuncture, "acupuncture"),
            (Technique::Moxibustion, "moxibustion"),
            (Technique::Cupping, "cupping"),
            (Technique::Tuina, "tuina"),
            (Technique::GuaSha, "gua_sha"),
            (Technique::AuricularPressing, "auricular_pressing"),
            (Technique::AcupointApplication, "acupoint_application"),
            (Technique::HerbalFootBath, "herbal_foot_bath"),
            (Technique::AcupointMassage, "acupoint_massage"),
            (Technique::Baduanjin, "baduanjin"),
            (Technique::TaiChi, "tai_chi"),
            (Technique::Wuqinxi, "wuqinxi"),
            (Technique::Liuzijue, "liuzijue"),
            (Technique::Electroacupuncture, "electroacupuncture"),
            (Technique::AcupointInjection, "acupoint_injection"),
            (Technique::IntradermalNeedle, "intradermal_needle"),
        ];
        assert_eq!(Technique::ALL.len(), expected.len());
        for (t, name) in expected {
            assert_eq!(t.name(), name);
            assert_eq!(Technique::from_name(name), Some(t));
        }
        assert_eq!(Technique::from_name("moxa"), None);
    }

    #[test]
    fn wire_values_are_pinned() {
        // The append-only table of the wire contract, written out by hand.
        let expected: [(u8, Technique); 16] = [
            (0, Technique::Acupuncture),
            (1, Technique::Moxibustion),
            (2, Technique::Cupping),
            (3, Technique::Tuina),
            (4, Technique::GuaSha),
            (5, Technique::AuricularPressing),
            (6, Technique::AcupointApplication),
            (7, Technique::HerbalFootBath),
            (8, Technique::AcupointMassage),
            (9, Technique::Baduanjin),
            (10, Technique::TaiChi),
            (11, Technique::Wuqinxi),
            (12, Technique::Liuzijue),
            (13, Technique::Electroacupuncture),
            (14, Technique::AcupointInjection),
            (15, Technique::IntradermalNeedle),
        ];
        for (value, t) in expected {
            assert_eq!(t.to_u8(), value);
            assert_eq!(Technique::from_u8(value), Some(t));
            assert_eq!(Technique::ALL[value as usize], t);
        }
        for value in 16..=u8::MAX {
            assert_eq!(Technique::from_u8(value), None);
        }
    }

    #[test]
    fn names_and_standards_from_domain() {
        assert_eq!(Technique::Moxibustion.name_zh(), "艾灸");
        assert_eq!(Technique::Moxibustion.standard(), Some("GB/T 21709.1-2008"));
        assert_eq!(Technique::Cupping.name_zh(), "拔罐");
        assert_eq!(Technique::Cupping.standard(), Some("GB/T 21709.5-2008"));
        assert_eq!(Technique::GuaSha.standard(), Some("GB/T 21709.22-2013"));
        assert_eq!(Technique::AuricularPressing.name_zh(), "耳穴压豆");
        assert_eq!(
            Technique::AuricularPressing.standard(),
            Some("GB/T 21709.3-2021")
        );
        assert_eq!(Technique::AcupointApplication.name_zh(), "穴位贴敷");
        assert_eq!(
            Technique::Electroacupuncture.standard(),
            Some("GB/T 21709.11")
        );
        assert_eq!(
            Technique::AcupointInjection.standard(),
            Some("GB/T 21709.6")
        );
        assert_eq!(
            Technique::IntradermalNeedle.standard(),
            Some("GB/T 21709.8")
        );
        assert_eq!(Technique::Tuina.standard(), None);
        assert_eq!(Technique::Baduanjin.name_zh(), "八段锦");
        assert_eq!(Technique::TaiChi.name_en(), "Tai Chi (Taijiquan)");
        for t in Technique::ALL {
            assert!(!t.name_zh().is_empty());
            assert!(!t.name_en().is_empty());
        }
    }

    #[test]
    fn acupoint_use_and_exercise() {
        assert_eq!(Technique::Acupuncture.acupoints(), AcupointUse::Required);
        assert_eq!(Technique::Moxibustion.acupoints(), AcupointUse::Required);
        assert_eq!(
            Technique::AcupointMassage.acupoints(),
            AcupointUse::Required
        );
        assert_eq!(Technique::Cupping.acupoints(), AcupointUse::Optional);
        assert_eq!(Technique::Tuina.acupoints(), AcupointUse::Optional);
        assert_eq!(
            Technique::AuricularPressing.acupoints(),
            AcupointUse::NotApplicable
        );
        assert_eq!(
            Technique::HerbalFootBath.acupoints(),
            AcupointUse::NotApplicable
        );
        let exercises: std::vec::Vec<_> =
            Technique::ALL.iter().filter(|t| t.is_exercise()).collect();
        assert_eq!(exercises.len(), 4);
        for t in Technique::ALL {
            if t.is_exercise() {
                assert_eq!(t.acupoints(), AcupointUse::NotApplicable, "{t:?}");
                assert_eq!(t.standard(), None);
            }
        }
        assert!(!Technique::Tuina.is_exercise());
    }
}
