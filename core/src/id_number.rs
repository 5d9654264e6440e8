//! Resident identity number validation (GB 11643-1999 公民身份号码, DOMAIN.md section 8).
//!
//! An 18-character number is a 17-digit body and a check character:
//!
//! | Positions | Meaning |
//! |---|---|
//! | 1–6 | 地址码, county-level administrative code (GB/T 2260) |
//! | 7–14 | 出生日期码, birth date `YYYYMMDD` |
//! | 15–17 | 顺序码, sequence code: odd = male, even = female |
//! | 18 | 校验码, ISO 7064:1983 MOD 11-2 check character `0`–`9` or `X` |
//!
//! Legacy 15-digit numbers (GB 11643-1989: `YYMMDD`, no check character) are accepted and
//! upgraded: `19` is inserted before `YY` and the check character is computed.
//!
//! **Privacy.** The number is personal data. It is used on the terminal to identify a
//! resident at registration and never goes into a record: records carry the pseudonymous
//! [`crate::ids::ResidentRef`], and only the birth date and sex derived here may be stored.
//! [`IdNumberInfo`]'s `Debug` (and `defmt::Format`) output masks the birth date and the
//! first sequence digit, so it can be logged.
//!
//! **Input policy.** Surrounding ASCII whitespace (spaces, tabs, CR/LF added by card
//! readers and copy-paste) is trimmed; whitespace inside the number is rejected. A lowercase
//! `x` check character is accepted and normalised to `X`. Positions in errors are 1-based,
//! counted in characters of the trimmed input, as in the table above.

use core::fmt;

use crate::ids::Sex;
use crate::time::Date;

/// Length of a GB 11643-1999 number.
pub const ID_NUMBER_LEN: usize = 18;
/// Length of a legacy GB 11643-1989 number.
pub const LEGACY_ID_NUMBER_LEN: usize = 15;
/// Length of the body that the check character protects.
pub const BODY_LEN: usize = 17;

/// MOD 11-2 weights of body positions 1..=17 (`2^(k-1) mod 11`, `k` counted from the right
/// including the check character).
pub const CHECK_WEIGHTS: [u8; BODY_LEN] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// Check character for each remainder `S mod 11`.
pub const CHECK_CHARS: [u8; 11] = *b"10X98765432";

/// The accepted province-level prefixes (first two digits of the address code).
///
/// GB/T 2260 provinces 11–15, 21–23, 31–37, 41–46, 50–54, 61–65 and 71 (Taiwan), plus 81
/// (Hong Kong), 82 (Macao) and 83 (Taiwan), the prefixes of the residence permits for Hong
/// Kong, Macao and Taiwan residents (港澳台居民居住证), whose numbers follow GB 11643.
/// Historical numbers keep their original codes (Hainan numbers before 1988 start with 44,
/// Chongqing ones before 1997 with 51), all of which are in the list. Not accepted: the
/// foreign permanent residence ID card, which is a different scheme.
pub const PROVINCE_CODES: [u8; 35] = [
    11, 12, 13, 14, 15, // 北京 天津 河北 山西 内蒙古
    21, 22, 23, // 辽宁 吉林 黑龙江
    31, 32, 33, 34, 35, 36, 37, // 上海 江苏 浙江 安徽 福建 江西 山东
    41, 42, 43, 44, 45, 46, // 河南 湖北 湖南 广东 广西 海南
    50, 51, 52, 53, 54, // 重庆 四川 贵州 云南 西藏
    61, 62, 63, 64, 65, // 陕西 甘肃 青海 宁夏 新疆
    71, // 台湾
    81, 82, 83, // 香港 澳门 台湾 residence permits
];

/// Century inserted into a legacy 15-digit number's `YYMMDD`.
const LEGACY_CENTURY: [u8; 2] = *b"19";

/// Why an identity number was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum IdNumberError {
    /// The trimmed input has this many characters, not 18 (or 15 for a legacy number).
    WrongLength(usize),
    /// The character at 1-based `position` is not a digit (or, at position 18, not `X`).
    NonDigit {
        /// 1-based character position.
        position: usize,
    },
    /// The check character does not match the body.
    BadCheckChar {
        /// The check character the body calls for (ASCII `0`–`9` or `X`).
        expected: u8,
        /// The check character given, normalised to uppercase.
        found: u8,
    },
    /// Positions 7–14 are not a real date in 1900..=2099.
    InvalidBirthDate,
    /// The birth date is after the given "today".
    BirthDateInFuture,
    /// The first two digits are not in [`PROVINCE_CODES`].
    UnknownRegion,
}

impl fmt::Display for IdNumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdNumberError::WrongLength(n) => {
                write!(f, "identity number has {n} characters, expected 18 or 15")
            }
            IdNumberError::NonDigit { position } => {
                write!(f, "identity number character {position} is not a digit")
            }
            IdNumberError::BadCheckChar { expected, found } => write!(
                f,
                "identity number check character is {}, expected {}",
                char::from(*found),
                char::from(*expected)
            ),
            IdNumberError::InvalidBirthDate => {
                f.write_str("identity number birth date is not a valid date")
            }
            IdNumberError::BirthDateInFuture => {
                f.write_str("identity number birth date is in the future")
            }
            IdNumberError::UnknownRegion => {
                f.write_str("identity number address code has an unknown province")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for IdNumberError {}

/// What a valid identity number says. Built only by [`validate`].
///
/// `Debug` masks positions 7–14 (`110105********002X`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdNumberInfo {
    normalized: [u8; ID_NUMBER_LEN],
    birth_date: Date,
    sex: Sex,
    region_code: u32,
}

impl IdNumberInfo {
    /// The 18-character number in ASCII, check character uppercase (a legacy number
    /// upgraded).
    pub fn normalized(&self) -> &[u8; ID_NUMBER_LEN] {
        &self.normalized
    }

    /// The normalised number as a string.
    pub fn as_str(&self) -> &str {
        // Always ASCII digits and `X` by construction.
        core::str::from_utf8(&self.normalized).unwrap_or("")
    }

    /// The birth date (positions 7–14).
    pub fn birth_date(&self) -> Date {
        self.birth_date
    }

    /// Sex from the sequence code (position 17): odd male, even female.
    pub fn sex(&self) -> Sex {
        self.sex
    }

    /// The six-digit address code (positions 1–6), e.g. `310104`.
    pub fn region_code(&self) -> u32 {
        self.region_code
    }

    /// The number with positions 7–14 replaced by `*`: the first 6 and last 4 characters.
    fn masked_parts(&self) -> (&str, &str) {
        let s = self.as_str();
        (s.get(..6).unwrap_or(""), s.get(14..).unwrap_or(""))
    }
}

impl fmt::Debug for IdNumberInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (head, tail) = self.masked_parts();
        // Birth date and sex are left out: together with the shown parts they would
        // rebuild the number.
        f.debug_struct("IdNumberInfo")
            .field("number", &format_args!("{head}********{tail}"))
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for IdNumberInfo {
    fn format(&self, f: defmt::Formatter) {
        let (head, tail) = self.masked_parts();
        defmt::write!(
            f,
            "IdNumberInfo {{ number: {=str}********{=str}, .. }}",
            head,
            tail
        );
    }
}

/// Trims surrounding ASCII whitespace (the module's input policy).
fn trim(input: &str) -> &str {
    input.trim_matches(|c: char| c.is_ascii_whitespace())
}

/// Checks that every character of `s` is an ASCII digit, except that `allow_x_last` admits
/// `X`/`x` as the last one.
fn check_digits(s: &str, allow_x_last: bool) -> Result<(), IdNumberError> {
    let last = s.chars().count().saturating_sub(1);
    for (i, c) in s.chars().enumerate() {
        let ok = c.is_ascii_digit() || (allow_x_last && i == last && (c == 'X' || c == 'x'));
        if !ok {
            return Err(IdNumberError::NonDigit { position: i + 1 });
        }
    }
    Ok(())
}

/// The MOD 11-2 check character (ASCII `0`–`9` or `X`) of a 17-digit body.
///
/// `S = Σ a_i × W_i` over [`CHECK_WEIGHTS`], `R = S mod 11`, check = [`CHECK_CHARS`]`[R]`.
pub fn check_char(body: &[u8; BODY_LEN]) -> Result<u8, IdNumberError> {
    let mut sum: u32 = 0;
    for (i, (&b, &w)) in body.iter().zip(CHECK_WEIGHTS.iter()).enumerate() {
        if !b.is_ascii_digit() {
            return Err(IdNumberError::NonDigit { position: i + 1 });
        }
        sum += u32::from(b - b'0') * u32::from(w);
    }
    // sum <= 9 * (sum of weights) = 9 * 95, no overflow; the remainder is < 11, within
    // CHECK_CHARS.
    Ok(CHECK_CHARS[(sum % 11) as usize])
}

/// Upgrades a legacy 15-digit number to 18 characters: inserts `19` before the two-digit
/// year and appends the check character. Only the format is converted; [`validate`] checks
/// the birth date and region too.
pub fn upgrade_15(input: &str) -> Result<[u8; ID_NUMBER_LEN], IdNumberError> {
    let s = trim(input);
    let len = s.chars().count();
    if len != LEGACY_ID_NUMBER_LEN {
        return Err(IdNumberError::WrongLength(len));
    }
    check_digits(s, false)?;
    // All 15 characters are ASCII digits, so the string is 15 bytes.
    let old: [u8; LEGACY_ID_NUMBER_LEN] = s
        .as_bytes()
        .try_into()
        .map_err(|_| IdNumberError::WrongLength(len))?;
    let mut body = [0u8; BODY_LEN];
    body[..6].copy_from_slice(&old[..6]);
    body[6..8].copy_from_slice(&LEGACY_CENTURY);
    body[8..].copy_from_slice(&old[6..]);
    let mut out = [0u8; ID_NUMBER_LEN];
    out[..BODY_LEN].copy_from_slice(&body);
    out[BODY_LEN] = check_char(&body)?;
    Ok(out)
}

/// Parses `digits` (ASCII digits) as a decimal number.
fn decimal(digits: &[u8]) -> u32 {
    digits
        .iter()
        .fold(0u32, |acc, &b| acc * 10 + u32::from(b.wrapping_sub(b'0')))
}

/// Validates an 18-character (or legacy 15-digit) identity number.
///
/// Checks, in order: length, characters, the check character (18-character input only;
/// a single mistyped digit anywhere is always caught here), a real birth date in
/// 1900..=2099, a birth date not after `today` (the same day is accepted), and a known
/// province prefix ([`PROVINCE_CODES`]).
pub fn validate(input: &str, today: Date) -> Result<IdNumberInfo, IdNumberError> {
    let s = trim(input);
    let len = s.chars().count();
    let normalized = match len {
        ID_NUMBER_LEN => {
            check_digits(s, true)?;
            // All ASCII now, so 18 bytes.
            let mut n: [u8; ID_NUMBER_LEN] = s
                .as_bytes()
                .try_into()
                .map_err(|_| IdNumberError::WrongLength(len))?;
            let mut body = [0u8; BODY_LEN];
            body.copy_from_slice(&n[..BODY_LEN]);
            let expected = check_char(&body)?;
            let found = n[BODY_LEN].to_ascii_uppercase();
            if found != expected {
                return Err(IdNumberError::BadCheckChar { expected, found });
            }
            n[BODY_LEN] = found;
            n
        }
        LEGACY_ID_NUMBER_LEN => upgrade_15(s)?,
        _ => return Err(IdNumberError::WrongLength(len)),
    };

    let year =
        u16::try_from(decimal(&normalized[6..10])).map_err(|_| IdNumberError::InvalidBirthDate)?;
    let month =
        u8::try_from(decimal(&normalized[10..12])).map_err(|_| IdNumberError::InvalidBirthDate)?;
    let day =
        u8::try_from(decimal(&normalized[12..14])).map_err(|_| IdNumberError::InvalidBirthDate)?;
    let birth_date = Date::new(year, month, day).map_err(|_| IdNumberError::InvalidBirthDate)?;
    if birth_date > today {
        return Err(IdNumberError::BirthDateInFuture);
    }

    let province =
        u8::try_from(decimal(&normalized[..2])).map_err(|_| IdNumberError::UnknownRegion)?;
    if !PROVINCE_CODES.contains(&province) {
        return Err(IdNumberError::UnknownRegion);
    }

    let sex = if decimal(&normalized[16..17]) % 2 == 1 {
        Sex::Male
    } else {
        Sex::Female
    };

    Ok(IdNumberInfo {
        normalized,
        birth_date,
        sex,
        region_code: decimal(&normalized[..6]),
    })
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::format;
    use std::string::{String, ToString};

    fn today() -> Date {
        Date::new(2025, 6, 1).unwrap()
    }

    fn date(y: u16, m: u8, d: u8) -> Date {
        Date::new(y, m, d).unwrap()
    }

    #[test]
    fn domain_vectors_are_valid() {
        // Hand computation of S = Σ a_i W_i, R = S mod 11, check = "10X98765432"[R]:
        // 11010519491231002X: S = 167, R = 2 -> X. 1949-12-31, seq 002 even -> female.
        // 513101198201130014: S = 184, R = 8 -> 4. 1982-01-13, seq 001 odd -> male.
        // 34052419800101001X: S = 189, R = 2 -> X. 1980-01-01, seq 001 odd -> male.
        // 370101190102039973: S = 262, R = 9 -> 3. 1901-02-03, seq 997 odd -> male.
        let cases: [(&str, Date, Sex, u32); 4] = [
            (
                "11010519491231002X",
                date(1949, 12, 31),
                Sex::Female,
                110105,
            ),
            ("513101198201130014", date(1982, 1, 13), Sex::Male, 513101),
            ("34052419800101001X", date(1980, 1, 1), Sex::Male, 340524),
            ("370101190102039973", date(1901, 2, 3), Sex::Male, 370101),
        ];
        for (s, birth, sex, region) in cases {
            let info = validate(s, today()).unwrap();
            assert_eq!(info.as_str(), s);
            assert_eq!(info.normalized(), s.as_bytes());
            assert_eq!(info.birth_date(), birth, "{s}");
            assert_eq!(info.sex(), sex, "{s}");
            assert_eq!(info.region_code(), region);
            let mut body = [0u8; BODY_LEN];
            body.copy_from_slice(&s.as_bytes()[..BODY_LEN]);
            assert_eq!(check_char(&body), Ok(s.as_bytes()[BODY_LEN]));
        }
    }

    #[test]
    fn lowercase_x_is_normalised_and_whitespace_trimmed() {
        let info = validate("11010519491231002x", today()).unwrap();
        assert_eq!(info.as_str(), "11010519491231002X");
        let info = validate(" 34052419800101001x\r\n", today()).unwrap();
        assert_eq!(info.as_str(), "34052419800101001X");
        assert_eq!(
            validate("110105 19491231002X", today()),
            Err(IdNumberError::WrongLength(19))
        );
        assert_eq!(
            validate("110105 9491231002X", today()),
            Err(IdNumberError::NonDigit { position: 7 })
        );
    }

    #[test]
    fn every_single_digit_change_is_caught_by_the_check_char() {
        for s in [
            "11010519491231002X",
            "513101198201130014",
            "34052419800101001X",
            "370101190102039973",
        ] {
            let original_check = s.as_bytes()[BODY_LEN];
            for pos in 0..BODY_LEN {
                for d in b'0'..=b'9' {
                    let mut bytes = s.as_bytes().to_vec();
                    if bytes[pos] == d {
                        continue;
                    }
                    bytes[pos] = d;
                    let changed = String::from_utf8(bytes).unwrap();
                    match validate(&changed, today()) {
                        Err(IdNumberError::BadCheckChar { found, expected }) => {
                            assert_eq!(found, original_check);
                            assert_ne!(expected, original_check);
                        }
                        other => panic!("{changed}: {other:?}"),
                    }
                }
            }
            // Changing the check character itself.
            for c in b"0123456789X" {
                if *c == original_check {
                    continue;
                }
                let mut bytes = s.as_bytes().to_vec();
                bytes[BODY_LEN] = *c;
                let changed = String::from_utf8(bytes).unwrap();
                assert_eq!(
                    validate(&changed, today()),
                    Err(IdNumberError::BadCheckChar {
                        expected: original_check,
                        found: *c
                    })
                );
            }
        }
    }

    #[test]
    fn legacy_15_digit_upgrade() {
        // 110105 491231 002 -> 110105 19 491231 002 + check X (S = 167 as above).
        assert_eq!(upgrade_15("110105491231002"), Ok(*b"11010519491231002X"));
        // 513101 820113 001 -> 513101198201130014.
        assert_eq!(upgrade_15("513101820113001"), Ok(*b"513101198201130014"));
        let info = validate("110105491231002", today()).unwrap();
        assert_eq!(info.as_str(), "11010519491231002X");
        assert_eq!(info.birth_date(), date(1949, 12, 31));
        assert_eq!(info.sex(), Sex::Female);
        assert_eq!(
            upgrade_15("11010549123100"),
            Err(IdNumberError::WrongLength(14))
        );
        assert_eq!(
            upgrade_15("11010549123100X"),
            Err(IdNumberError::NonDigit { position: 15 })
        );
        assert_eq!(
            validate("11010549123100X", today()),
            Err(IdNumberError::NonDigit { position: 15 })
        );
        // Legacy 490231 -> 1949-02-31.
        assert_eq!(
            validate("110105490231002", today()),
            Err(IdNumberError::InvalidBirthDate)
        );
    }

    #[test]
    fn birth_date_checks() {
        // 1949-02-31: vector 1 with position 11 changed 1 -> 0 (weight 7): S = 160, R = 6 -> 6.
        assert_eq!(
            validate("110105194902310026", today()),
            Err(IdNumberError::InvalidBirthDate)
        );
        // 1899-12-31, outside Date's 1900..=2099: positions 8, 9 changed (weights 1, 6):
        // S = 167 - 1 + 30 = 196, R = 9 -> 3.
        assert_eq!(
            validate("110105189912310023", today()),
            Err(IdNumberError::InvalidBirthDate)
        );
        // 2030-01-01: S = 79, R = 2 -> X.
        assert_eq!(
            validate("11010520300101001X", today()),
            Err(IdNumberError::BirthDateInFuture)
        );
        // Born today is accepted; the day before the birth date is not.
        assert!(validate("11010520300101001X", date(2030, 1, 1)).is_ok());
        assert_eq!(
            validate("11010520300101001X", date(2029, 12, 31)),
            Err(IdNumberError::BirthDateInFuture)
        );
    }

    #[test]
    fn region_checks() {
        // Prefix 99: positions 1, 2 changed 1 -> 9 (weights 7, 9): S = 167 + 56 + 72 = 295,
        // R = 9 -> 3.
        assert_eq!(
            validate("990105194912310023", today()),
            Err(IdNumberError::UnknownRegion)
        );
        // Prefix 00: positions 1, 2 changed 1 -> 0 (weights 7, 9): S = 151, R = 8 -> 4.
        assert_eq!(
            validate("000105194912310024", today()),
            Err(IdNumberError::UnknownRegion)
        );
        assert_eq!(PROVINCE_CODES.len(), 35);
        assert!(PROVINCE_CODES.contains(&31)); // Shanghai
        assert!(!PROVINCE_CODES.contains(&16));
        assert!(!PROVINCE_CODES.contains(&91));
    }

    #[test]
    fn debug_masks_the_number() {
        let info = validate("11010519491231002X", today()).unwrap();
        let debug = format!("{info:?}");
        assert!(debug.contains("110105********002X"), "{debug}");
        assert!(!debug.contains("11010519491231002X"));
        assert!(!debug.contains("19491231"));
        assert!(!debug.contains("1949"));
    }

    #[test]
    fn errors_display() {
        let e = IdNumberError::BadCheckChar {
            expected: b'X',
            found: b'3',
        };
        assert_eq!(
            e.to_string(),
            "identity number check character is 3, expected X"
        );
        assert!(!IdNumberError::WrongLength(3).to_string().is_empty());
    }

    #[test]
    fn every_length_and_odd_input_never_panics() {
        for len in 0..=40 {
            for fill in ["1", "X", "x", "9", "中", " ", "\u{FF11}"] {
                let s = fill.repeat(len);
                let r = validate(&s, today());
                if len != 15 && len != 18 && !s.trim().is_empty() && fill != " " {
                    assert_eq!(r, Err(IdNumberError::WrongLength(len)), "{s:?}");
                }
                let _ = upgrade_15(&s);
            }
        }
        // Full-width digits are rejected by position, not misread.
        let full_width: String = "１１０１０５１９４９１２３１００２Ｘ".to_string();
        assert_eq!(
            validate(&full_width, today()),
            Err(IdNumberError::NonDigit { position: 1 })
        );
        assert_eq!(validate("", today()), Err(IdNumberError::WrongLength(0)));
        let mut bad_body = *b"1101051949123100X";
        assert_eq!(
            check_char(&bad_body),
            Err(IdNumberError::NonDigit { position: 17 })
        );
        bad_body[16] = b'2';
        assert_eq!(check_char(&bad_body), Ok(b'X'));
    }
}
