//! IEEE 11073-20601 medical number formats: the 16-bit `SFLOAT` and the 32-bit `FLOAT`.
//!
//! Both are decimal floating point: `value = mantissa × 10^exponent`, each part a two's
//! complement integer (DOMAIN.md 4.4).
//!
//! | Type       | Exponent            | Mantissa                | Usable mantissas      |
//! |------------|---------------------|-------------------------|-----------------------|
//! | [`Sfloat`] | high 4 bits, −8..=7 | low 12 bits             | −2045..=2045          |
//! | [`Float`]  | high 8 bits, −128..=127 | low 24 bits         | −(2²³−3)..=2²³−3      |
//!
//! The five mantissas at the ends of the range are not numbers but [`Special`] values
//! (NaN, NRes, ±INFINITY, reserved). The standard defines them with exponent 0.
//! **Choice:** a special mantissa with any other exponent is treated as the same special
//! value, never as a number. The standard reserves the mantissa patterns themselves, so
//! no conforming device produces them as numbers; reading, say, `0x17FF` as
//! 2047 × 10¹ would turn a device's "no value" into a plausible-looking measurement.
//!
//! Values are kept as their raw bits, so every raw pattern round-trips exactly
//! ([`Sfloat::from_raw`] / [`Sfloat::to_raw`]). Equality is equality of representation:
//! `0x0000` (0 × 10⁰) and `0x1000` (0 × 10¹) are different `Sfloat`s with the same value.
//!
//! Conversion to the project's fixed-point units ([`Sfloat::to_fixed`]) uses exact integer
//! arithmetic, never `f64`, and rounds half away from zero.

use core::fmt;

/// The special (non-numeric) values of `SFLOAT` and `FLOAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Special {
    /// Not a Number: the device has no valid value.
    NaN,
    /// Not at this Resolution: the value cannot be represented with the available range.
    NRes,
    /// Positive infinity: above the device's measuring range.
    PositiveInfinity,
    /// Negative infinity: below the device's measuring range.
    NegativeInfinity,
    /// The mantissa pattern reserved for future use by the standard.
    Reserved,
}

impl fmt::Display for Special {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Special::NaN => "NaN (not a number)",
            Special::NRes => "NRes (not at this resolution)",
            Special::PositiveInfinity => "+INFINITY",
            Special::NegativeInfinity => "-INFINITY",
            Special::Reserved => "reserved special value",
        })
    }
}

/// Errors of building or converting `SFLOAT` / `FLOAT` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NumericError {
    /// The value is a special value, not a number.
    Special(Special),
    /// The value does not fit the target: the fixed-point result overflows `i64`, or an
    /// `f64` is too large for the format even at its largest exponent.
    Overflow,
    /// A mantissa outside the usable range (or one of the special patterns).
    MantissaOutOfRange,
    /// An exponent outside the format's range (or too many decimals requested).
    ExponentOutOfRange,
    /// An `f64` that is NaN or infinite.
    NotFinite,
}

impl fmt::Display for NumericError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumericError::Special(kind) => write!(f, "special value {kind}, not a number"),
            NumericError::Overflow => f.write_str("value out of range of the target type"),
            NumericError::MantissaOutOfRange => f.write_str("mantissa outside the usable range"),
            NumericError::ExponentOutOfRange => f.write_str("exponent outside the format's range"),
            NumericError::NotFinite => f.write_str("floating-point input is NaN or infinite"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for NumericError {}

// ---------------------------------------------------------------------------------------
// Shared exact arithmetic
// ---------------------------------------------------------------------------------------

/// 10^k as `i128`, `None` when it does not fit (k > 38).
pub(crate) fn pow10_i128(k: u32) -> Option<i128> {
    10i128.checked_pow(k)
}

/// `n / d` rounded half away from zero; `None` if `d <= 0`.
pub(crate) fn div_round_half_away(n: i128, d: i128) -> Option<i128> {
    if d <= 0 {
        return None;
    }
    let q = n / d;
    let r = n % d; // same sign as n, |r| < d
    let r_abs = r.checked_abs()?;
    // |r| >= d / 2, written without overflow as |r| >= d - |r|.
    if r_abs >= d - r_abs {
        if n < 0 {
            q.checked_sub(1)
        } else {
            q.checked_add(1)
        }
    } else {
        Some(q)
    }
}

/// Bound below which `|mantissa × num|` divided by any denominator too large for `i128`
/// (> 1.7 × 10³⁸) is certainly below one half, so the rounded result is exactly 0.
const NEGLIGIBLE_NUMERATOR: i128 = 10i128.pow(37);

/// Exactly `mantissa × 10^exp10 × num / den`, rounded half away from zero.
///
/// `None` when the result does not fit `i64` (or `den == 0`). Used by [`Sfloat::to_fixed`],
/// [`Float::to_fixed`] and the GATT unit conversions (`num / den` is the unit factor, e.g.
/// 750062 / 100000 for kPa → mmHg).
pub(crate) fn scale_decimal(mantissa: i128, exp10: i32, num: u32, den: u32) -> Option<i64> {
    if den == 0 {
        return None;
    }
    if mantissa == 0 || num == 0 {
        return Some(0);
    }
    let n0 = mantissa.checked_mul(i128::from(num))?;
    let d0 = i128::from(den);
    let q = if exp10 >= 0 {
        let n = n0.checked_mul(pow10_i128(exp10.unsigned_abs())?)?;
        div_round_half_away(n, d0)?
    } else {
        match pow10_i128(exp10.unsigned_abs()).and_then(|p| d0.checked_mul(p)) {
            Some(d) => div_round_half_away(n0, d)?,
            // The denominator exceeds i128::MAX: a small numerator rounds to exactly 0.
            None if n0.checked_abs()? < NEGLIGIBLE_NUMERATOR => 0,
            None => return None,
        }
    };
    i64::try_from(q).ok()
}

/// 10^k as `f64` (k ≤ 308 stays finite; exact for k ≤ 22).
fn pow10_f64(k: u32) -> f64 {
    let mut p = 1.0f64;
    for _ in 0..k {
        p *= 10.0;
    }
    p
}

/// `mantissa × 10^exponent` as `f64`. Dividing by an exact power of ten (instead of
/// multiplying by 0.1ⁿ) gives the nearest `f64` for the common exponents.
fn decimal_to_f64(mantissa: i32, exponent: i32) -> f64 {
    let m = f64::from(mantissa);
    if exponent >= 0 {
        m * pow10_f64(exponent.unsigned_abs())
    } else {
        m / pow10_f64(exponent.unsigned_abs())
    }
}

/// Largest `|x|` for which `x as i64` and `x - trunc(x)` are exact (2⁵³).
const F64_EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// Rounds a finite `x` with `|x| < 2⁵³` half away from zero (core has no `f64::round`).
fn round_half_away_f64(x: f64) -> i64 {
    let t = x as i64; // truncation toward zero, exact in this range
    let frac = x - t as f64; // exact: |frac| < 1
    if frac >= 0.5 {
        t + 1
    } else if frac <= -0.5 {
        t - 1
    } else {
        t
    }
}

/// Finds the smallest exponent ≥ `-decimals` at which `v` rounds to a mantissa within
/// `±max_mantissa`; returns `(mantissa, exponent)`.
fn f64_to_decimal(
    v: f64,
    decimals: u8,
    max_mantissa: i32,
    min_exponent: i32,
    max_exponent: i32,
) -> Result<(i32, i32), NumericError> {
    if v.is_nan() || v.is_infinite() {
        return Err(NumericError::NotFinite);
    }
    let start = -i32::from(decimals);
    if start < min_exponent {
        return Err(NumericError::ExponentOutOfRange);
    }
    for exponent in start..=max_exponent {
        // Recompute from `v` at each exponent: no double rounding.
        let x = if exponent < 0 {
            v * pow10_f64(exponent.unsigned_abs())
        } else {
            v / pow10_f64(exponent.unsigned_abs())
        };
        if !(x > -F64_EXACT_INT && x < F64_EXACT_INT) {
            continue;
        }
        let m = round_half_away_f64(x);
        if (-i64::from(max_mantissa)..=i64::from(max_mantissa)).contains(&m) {
            // In range of ±max_mantissa, so it fits i32.
            return i32::try_from(m)
                .map(|m| (m, exponent))
                .map_err(|_| NumericError::Overflow);
        }
    }
    Err(NumericError::Overflow)
}

// ---------------------------------------------------------------------------------------
// SFLOAT
// ---------------------------------------------------------------------------------------

/// An IEEE 11073-20601 `SFLOAT`: 4-bit exponent, 12-bit mantissa, kept as its raw bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Sfloat(u16);

impl Sfloat {
    /// NaN (not a number), `0x07FF`.
    pub const NAN: Sfloat = Sfloat(0x07FF);
    /// NRes (not at this resolution), `0x0800`.
    pub const NRES: Sfloat = Sfloat(0x0800);
    /// +INFINITY, `0x07FE`.
    pub const POSITIVE_INFINITY: Sfloat = Sfloat(0x07FE);
    /// −INFINITY, `0x0802`.
    pub const NEGATIVE_INFINITY: Sfloat = Sfloat(0x0802);
    /// The reserved special value, `0x0801`.
    pub const RESERVED: Sfloat = Sfloat(0x0801);

    /// Largest usable mantissa (2047, 2046 are NaN and +INF).
    pub const MANTISSA_MAX: i16 = 2045;
    /// Smallest usable mantissa (−2046..=−2048 are −INF, reserved and NRes).
    pub const MANTISSA_MIN: i16 = -2045;
    /// Smallest exponent.
    pub const EXPONENT_MIN: i8 = -8;
    /// Largest exponent.
    pub const EXPONENT_MAX: i8 = 7;

    const MANTISSA_MASK: u16 = 0x0FFF;

    /// Wraps raw bits (host order; GATT carries them little-endian). Never fails.
    pub const fn from_raw(raw: u16) -> Sfloat {
        Sfloat(raw)
    }

    /// The raw bits, exactly as given to [`Sfloat::from_raw`].
    pub const fn to_raw(&self) -> u16 {
        self.0
    }

    /// Builds a numeric value, rejecting mantissas outside
    /// [`MANTISSA_MIN`](Self::MANTISSA_MIN)..=[`MANTISSA_MAX`](Self::MANTISSA_MAX) (which
    /// includes the special patterns) and exponents outside −8..=7.
    pub fn new(mantissa: i16, exponent: i8) -> Result<Sfloat, NumericError> {
        if !(Self::MANTISSA_MIN..=Self::MANTISSA_MAX).contains(&mantissa) {
            return Err(NumericError::MantissaOutOfRange);
        }
        if !(Self::EXPONENT_MIN..=Self::EXPONENT_MAX).contains(&exponent) {
            return Err(NumericError::ExponentOutOfRange);
        }
        // Two's complement truncated to 4 and 12 bits.
        let e = (exponent as u16 & 0x000F) << 12;
        let m = mantissa as u16 & Self::MANTISSA_MASK;
        Ok(Sfloat(e | m))
    }

    /// Encodes `v` with `decimals` digits after the point (exponent `-decimals`), rounding
    /// half away from zero. If the mantissa is then too large, the exponent is raised
    /// (fewer decimals) until it fits: `from_f64(36.6, 2)` gives 366 × 10⁻¹.
    ///
    /// Errors: `NotFinite` for NaN/∞, `ExponentOutOfRange` for `decimals > 8`, `Overflow`
    /// when `|v|` exceeds 2045 × 10⁷.
    pub fn from_f64(v: f64, decimals: u8) -> Result<Sfloat, NumericError> {
        let (m, e) = f64_to_decimal(
            v,
            decimals,
            i32::from(Self::MANTISSA_MAX),
            i32::from(Self::EXPONENT_MIN),
            i32::from(Self::EXPONENT_MAX),
        )?;
        let m = i16::try_from(m).map_err(|_| NumericError::MantissaOutOfRange)?;
        let e = i8::try_from(e).map_err(|_| NumericError::ExponentOutOfRange)?;
        Sfloat::new(m, e)
    }

    /// The 12-bit two's complement mantissa (for a special value, its pattern, e.g. 2047
    /// for NaN).
    pub const fn mantissa(&self) -> i16 {
        ((self.0 << 4) as i16) >> 4
    }

    /// The 4-bit two's complement exponent, −8..=7.
    pub const fn exponent(&self) -> i8 {
        ((self.0 as i16) >> 12) as i8
    }

    /// The special kind, recognised by the mantissa pattern alone (any exponent; see the
    /// module documentation).
    pub const fn special(&self) -> Option<Special> {
        match self.0 & Self::MANTISSA_MASK {
            0x07FF => Some(Special::NaN),
            0x0800 => Some(Special::NRes),
            0x07FE => Some(Special::PositiveInfinity),
            0x0802 => Some(Special::NegativeInfinity),
            0x0801 => Some(Special::Reserved),
            _ => None,
        }
    }

    /// The value as `f64`, `None` for every special value. For display; records use
    /// [`Sfloat::to_fixed`].
    pub fn value(&self) -> Option<f64> {
        if self.special().is_some() {
            return None;
        }
        Some(decimal_to_f64(
            i32::from(self.mantissa()),
            i32::from(self.exponent()),
        ))
    }

    /// The value in units of 10^`scale_exp`, i.e. `value × 10^(−scale_exp)` rounded half
    /// away from zero, computed exactly as `mantissa × 10^(exponent − scale_exp)`.
    /// 36.6 (`0xF16E`) with `scale_exp = -2` gives 3660 (centi-degrees).
    pub fn to_fixed(&self, scale_exp: i8) -> Result<i64, NumericError> {
        self.to_fixed_ratio(i32::from(scale_exp), 1, 1)
    }

    /// `value × num / den × 10^(−scale_exp)`, rounded half away from zero, exactly: the
    /// form of every unit conversion (kPa → mmHg is 750062 / 100000).
    pub(crate) fn to_fixed_ratio(
        self,
        scale_exp: i32,
        num: u32,
        den: u32,
    ) -> Result<i64, NumericError> {
        if let Some(kind) = self.special() {
            return Err(NumericError::Special(kind));
        }
        let k = i32::from(self.exponent()) - scale_exp;
        scale_decimal(i128::from(self.mantissa()), k, num, den).ok_or(NumericError::Overflow)
    }
}

// ---------------------------------------------------------------------------------------
// FLOAT
// ---------------------------------------------------------------------------------------

/// An IEEE 11073-20601 `FLOAT`: 8-bit exponent, 24-bit mantissa, kept as its raw bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Float(u32);

impl Float {
    /// NaN (not a number), `0x007FFFFF`.
    pub const NAN: Float = Float(0x007F_FFFF);
    /// NRes (not at this resolution), `0x00800000`.
    pub const NRES: Float = Float(0x0080_0000);
    /// +INFINITY, `0x007FFFFE`.
    pub const POSITIVE_INFINITY: Float = Float(0x007F_FFFE);
    /// −INFINITY, `0x00800002`.
    pub const NEGATIVE_INFINITY: Float = Float(0x0080_0002);
    /// The reserved special value, `0x00800001`.
    pub const RESERVED: Float = Float(0x0080_0001);

    /// Largest usable mantissa, 2²³ − 3.
    pub const MANTISSA_MAX: i32 = 8_388_605;
    /// Smallest usable mantissa, −(2²³ − 3).
    pub const MANTISSA_MIN: i32 = -8_388_605;
    /// Smallest exponent.
    pub const EXPONENT_MIN: i8 = i8::MIN;
    /// Largest exponent.
    pub const EXPONENT_MAX: i8 = i8::MAX;

    const MANTISSA_MASK: u32 = 0x00FF_FFFF;

    /// Wraps raw bits (host order; GATT carries them little-endian). Never fails.
    pub const fn from_raw(raw: u32) -> Float {
        Float(raw)
    }

    /// The raw bits, exactly as given to [`Float::from_raw`].
    pub const fn to_raw(&self) -> u32 {
        self.0
    }

    /// Builds a numeric value, rejecting mantissas outside
    /// [`MANTISSA_MIN`](Self::MANTISSA_MIN)..=[`MANTISSA_MAX`](Self::MANTISSA_MAX) (which
    /// includes the special patterns). Every `i8` exponent is valid.
    pub fn new(mantissa: i32, exponent: i8) -> Result<Float, NumericError> {
        if !(Self::MANTISSA_MIN..=Self::MANTISSA_MAX).contains(&mantissa) {
            return Err(NumericError::MantissaOutOfRange);
        }
        let e = u32::from(exponent as u8) << 24;
        let m = mantissa as u32 & Self::MANTISSA_MASK;
        Ok(Float(e | m))
    }

    /// Encodes `v` with `decimals` digits after the point, as [`Sfloat::from_f64`] does
    /// (`decimals` up to 128).
    pub fn from_f64(v: f64, decimals: u8) -> Result<Float, NumericError> {
        let (m, e) = f64_to_decimal(
            v,
            decimals,
            Self::MANTISSA_MAX,
            i32::from(Self::EXPONENT_MIN),
            i32::from(Self::EXPONENT_MAX),
        )?;
        let e = i8::try_from(e).map_err(|_| NumericError::ExponentOutOfRange)?;
        Float::new(m, e)
    }

    /// The 24-bit two's complement mantissa (for a special value, its pattern).
    pub const fn mantissa(&self) -> i32 {
        ((self.0 << 8) as i32) >> 8
    }

    /// The 8-bit two's complement exponent.
    pub const fn exponent(&self) -> i8 {
        (self.0 >> 24) as u8 as i8
    }

    /// The special kind, recognised by the mantissa pattern alone (any exponent; see the
    /// module documentation).
    pub const fn special(&self) -> Option<Special> {
        match self.0 & Self::MANTISSA_MASK {
            0x007F_FFFF => Some(Special::NaN),
            0x0080_0000 => Some(Special::NRes),
            0x007F_FFFE => Some(Special::PositiveInfinity),
            0x0080_0002 => Some(Special::NegativeInfinity),
            0x0080_0001 => Some(Special::Reserved),
            _ => None,
        }
    }

    /// The value as `f64`, `None` for every special value.
    pub fn value(&self) -> Option<f64> {
        if self.special().is_some() {
            return None;
        }
        Some(decimal_to_f64(self.mantissa(), i32::from(self.exponent())))
    }

    /// The value in units of 10^`scale_exp`, rounded half away from zero, computed
    /// exactly; see [`Sfloat::to_fixed`]. 36.6 (`0xFF00016E`) with `scale_exp = -2` gives
    /// 3660.
    pub fn to_fixed(&self, scale_exp: i8) -> Result<i64, NumericError> {
        if let Some(kind) = self.special() {
            return Err(NumericError::Special(kind));
        }
        let k = i32::from(self.exponent()) - i32::from(scale_exp);
        scale_decimal(i128::from(self.mantissa()), k, 1, 1).ok_or(NumericError::Overflow)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The five SFLOAT specials (DOMAIN 4.4) and their kinds; also used by the GATT tests.
    pub(crate) const SFLOAT_SPECIALS: [(u16, Special); 5] = [
        (0x07FF, Special::NaN),
        (0x0800, Special::NRes),
        (0x07FE, Special::PositiveInfinity),
        (0x0802, Special::NegativeInfinity),
        (0x0801, Special::Reserved),
    ];

    /// The five FLOAT specials (DOMAIN 4.4); also used by the GATT tests.
    pub(crate) const FLOAT_SPECIALS: [(u32, Special); 5] = [
        (0x007F_FFFF, Special::NaN),
        (0x0080_0000, Special::NRes),
        (0x007F_FFFE, Special::PositiveInfinity),
        (0x0080_0002, Special::NegativeInfinity),
        (0x0080_0001, Special::Reserved),
    ];

    #[test]
    fn worked_example_120_mmhg() {
        // DOMAIN 4.4: 120 mmHg = SFLOAT 0x0078: exponent 0x0 = 0, mantissa 0x078 = 120.
        let s = Sfloat::from_raw(0x0078);
        assert_eq!(s.exponent(), 0);
        assert_eq!(s.mantissa(), 120);
        assert_eq!(s.value(), Some(120.0));
        assert_eq!(s.special(), None);
        assert_eq!(s.to_fixed(0), Ok(120));
        assert_eq!(Sfloat::new(120, 0), Ok(s));
        assert_eq!(Sfloat::from_f64(120.0, 0), Ok(s));
    }

    #[test]
    fn worked_example_36_6_celsius_sfloat() {
        // DOMAIN 4.4: 36.6 °C = SFLOAT 0xF16E: exponent 0xF = -1 (4-bit two's complement),
        // mantissa 0x16E = 256 + 96 + 14 = 366; 366 × 10^-1 = 36.6.
        let s = Sfloat::from_raw(0xF16E);
        assert_eq!(s.exponent(), -1);
        assert_eq!(s.mantissa(), 366);
        assert_eq!(s.value(), Some(36.6));
        assert_eq!(s.to_fixed(-2), Ok(3660)); // centi-degrees: 366 × 10^(-1+2)
        assert_eq!(s.to_fixed(-1), Ok(366));
        assert_eq!(s.to_fixed(0), Ok(37)); // 36.6 rounds to 37
        assert_eq!(s.to_fixed(1), Ok(4)); // 3.66 tens rounds to 4
        assert_eq!(Sfloat::new(366, -1), Ok(s));
        assert_eq!(Sfloat::from_f64(36.6, 1), Ok(s));
        // Two decimals would need mantissa 3660 > 2045: normalised to 366 × 10^-1.
        assert_eq!(Sfloat::from_f64(36.6, 2), Ok(s));
    }

    #[test]
    fn worked_example_36_6_celsius_float() {
        // DOMAIN 4.4: 36.6 °C = FLOAT 0xFF00016E: exponent 0xFF = -1, mantissa
        // 0x00016E = 366.
        let f = Float::from_raw(0xFF00_016E);
        assert_eq!(f.exponent(), -1);
        assert_eq!(f.mantissa(), 366);
        assert_eq!(f.value(), Some(36.6));
        assert_eq!(f.to_fixed(-2), Ok(3660));
        assert_eq!(Float::new(366, -1), Ok(f));
        assert_eq!(Float::from_f64(36.6, 1), Ok(f));
    }

    #[test]
    fn sfloat_negative_parts() {
        // 0xFFFF: exponent 0xF = -1, mantissa 0xFFF = 4095 - 4096 = -1 → -0.1.
        let s = Sfloat::from_raw(0xFFFF);
        assert_eq!((s.mantissa(), s.exponent()), (-1, -1));
        assert_eq!(s.value(), Some(-0.1));
        assert_eq!(s.to_fixed(-1), Ok(-1));
        assert_eq!(s.to_fixed(0), Ok(0)); // -0.1 rounds to 0
        assert_eq!(Sfloat::new(-1, -1), Ok(s));
        assert_eq!(Sfloat::from_f64(-0.1, 1), Ok(s));
        // 0xFF9C: exponent -1, mantissa 0xF9C = 3996 - 4096 = -100 → -10.0.
        let s = Sfloat::from_raw(0xFF9C);
        assert_eq!((s.mantissa(), s.exponent()), (-100, -1));
        assert_eq!(s.to_fixed(0), Ok(-10));
        // 0x8001: exponent 0x8 = -8, mantissa 1 → 1e-8; in units of 1e-9 that is 10.
        let s = Sfloat::from_raw(0x8001);
        assert_eq!((s.mantissa(), s.exponent()), (1, -8));
        assert_eq!(s.to_fixed(-9), Ok(10));
        assert_eq!(s.to_fixed(0), Ok(0));
        // 0x7001: exponent 7, mantissa 1 → 10_000_000.
        assert_eq!(Sfloat::from_raw(0x7001).to_fixed(0), Ok(10_000_000));
        // 0x8803: exponent -8, mantissa 0x803 = 2051 - 4096 = -2045 (most negative usable).
        let s = Sfloat::from_raw(0x8803);
        assert_eq!((s.mantissa(), s.exponent()), (-2045, -8));
        assert_eq!(s.special(), None);
        assert_eq!(Sfloat::new(-2045, -8), Ok(s));
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        // 0xF019: exponent -1, mantissa 0x019 = 25 → 2.5 → 3.
        assert_eq!(Sfloat::from_raw(0xF019).to_fixed(0), Ok(3));
        // 0xFFE7: exponent -1, mantissa 0xFE7 = 4071 - 4096 = -25 → -2.5 → -3.
        assert_eq!(Sfloat::from_raw(0xFFE7).to_fixed(0), Ok(-3));
        // 0xF00F: 15 × 10^-1 = 1.5 → 2;  0xFFF1: -15 × 10^-1 = -1.5 → -2.
        assert_eq!(Sfloat::from_raw(0xF00F).to_fixed(0), Ok(2));
        assert_eq!(Sfloat::from_raw(0xFFF1).to_fixed(0), Ok(-2));
        // 0xE0FB: exponent 0xE = -2, mantissa 0x0FB = 251 → 2.51 → 25.1 tenths → 25.
        assert_eq!(Sfloat::from_raw(0xE0FB).to_fixed(-1), Ok(25));
        // 0xE0F9: 249 × 10^-2 = 2.49 → 2 (not 3: no double rounding via 2.5).
        assert_eq!(Sfloat::from_raw(0xE0F9).to_fixed(0), Ok(2));
    }

    #[test]
    fn fixed_overflow() {
        // 0x77FD: exponent 7, mantissa 0x7FD = 2045 → 2.045e10.
        let s = Sfloat::from_raw(0x77FD);
        assert_eq!(s.to_fixed(-8), Ok(2_045_000_000_000_000_000)); // 2045 × 10^15 < i64::MAX
        assert_eq!(s.to_fixed(-9), Err(NumericError::Overflow)); // 2.045e19 > 9.22e18
                                                                 // FLOAT 0x7F000001 = 1 × 10^127: far beyond i64.
        assert_eq!(
            Float::from_raw(0x7F00_0001).to_fixed(0),
            Err(NumericError::Overflow)
        );
        // FLOAT 0x80000001 = 1 × 10^-128 → 0; 0x80FFFFFF = -1 × 10^-128 → 0.
        assert_eq!(Float::from_raw(0x8000_0001).to_fixed(0), Ok(0));
        assert_eq!(Float::from_raw(0x80FF_FFFF).to_fixed(127), Ok(0));
        // Zero mantissa with the largest exponent is still exactly 0.
        assert_eq!(Float::from_raw(0x7F00_0000).to_fixed(-128), Ok(0));
    }

    #[test]
    fn every_sfloat_special() {
        for (raw, kind) in SFLOAT_SPECIALS {
            let s = Sfloat::from_raw(raw);
            assert_eq!(s.value(), None, "{raw:#06x}");
            assert_eq!(s.special(), Some(kind), "{raw:#06x}");
            assert_eq!(s.to_fixed(0), Err(NumericError::Special(kind)));
            assert_eq!(s.to_fixed(-2), Err(NumericError::Special(kind)));
            // Choice (module docs): the mantissa pattern is special with any exponent.
            for exp_nibble in 0u16..16 {
                let with_exp = Sfloat::from_raw((exp_nibble << 12) | raw);
                assert_eq!(with_exp.special(), Some(kind));
                assert_eq!(with_exp.value(), None);
            }
        }
        // The named constants are those patterns.
        assert_eq!(Sfloat::NAN.to_raw(), 0x07FF);
        assert_eq!(Sfloat::NRES.to_raw(), 0x0800);
        assert_eq!(Sfloat::POSITIVE_INFINITY.to_raw(), 0x07FE);
        assert_eq!(Sfloat::NEGATIVE_INFINITY.to_raw(), 0x0802);
        assert_eq!(Sfloat::RESERVED.to_raw(), 0x0801);
        // Exactly 5 × 16 raw values are special.
        let count = (0..=u16::MAX)
            .filter(|&r| Sfloat::from_raw(r).special().is_some())
            .count();
        assert_eq!(count, 80);
    }

    #[test]
    fn every_float_special() {
        for (raw, kind) in FLOAT_SPECIALS {
            let f = Float::from_raw(raw);
            assert_eq!(f.value(), None, "{raw:#010x}");
            assert_eq!(f.special(), Some(kind), "{raw:#010x}");
            assert_eq!(f.to_fixed(-2), Err(NumericError::Special(kind)));
            for exp_byte in [0x01u32, 0x7F, 0x80, 0xFF] {
                let with_exp = Float::from_raw((exp_byte << 24) | raw);
                assert_eq!(with_exp.special(), Some(kind));
            }
        }
        // Largest usable mantissas are numbers: 0x007FFFFD = 8388605, 0x00800003 = -8388605.
        assert_eq!(Float::from_raw(0x007F_FFFD).mantissa(), 8_388_605);
        assert_eq!(Float::from_raw(0x0080_0003).mantissa(), -8_388_605);
        assert_eq!(Float::from_raw(0x0080_0003).special(), None);
    }

    #[test]
    fn all_sfloat_raws_round_trip() {
        for raw in 0..=u16::MAX {
            let s = Sfloat::from_raw(raw);
            assert_eq!(s.to_raw(), raw);
            // Numeric raws rebuild from their parts bit-exactly.
            if s.special().is_none() {
                assert_eq!(Sfloat::new(s.mantissa(), s.exponent()), Ok(s), "{raw:#06x}");
            } else {
                assert_eq!(
                    Sfloat::new(s.mantissa(), s.exponent()),
                    Err(NumericError::MantissaOutOfRange)
                );
            }
        }
    }

    #[test]
    fn sfloat_fixed_agrees_with_f64_value() {
        // Independent path: the exact integer result is within 0.5 of the f64 value.
        for raw in 0..=u16::MAX {
            let s = Sfloat::from_raw(raw);
            let Some(v) = s.value() else { continue };
            for scale in [-3i8, -2, 0, 2] {
                let scaled = v * 10f64.powi(-i32::from(scale));
                match s.to_fixed(scale) {
                    Ok(fixed) => {
                        let diff = (fixed as f64 - scaled).abs();
                        assert!(diff <= 0.5 + 1e-9 * scaled.abs(), "{raw:#06x} {scale}");
                    }
                    Err(e) => {
                        assert_eq!(e, NumericError::Overflow);
                        assert!(scaled.abs() > 9.0e18, "{raw:#06x} {scale}");
                    }
                }
            }
        }
    }

    #[test]
    fn float_round_trip_sampled() {
        let mut raw = 0u32;
        loop {
            let f = Float::from_raw(raw);
            assert_eq!(f.to_raw(), raw);
            if f.special().is_none() {
                assert_eq!(Float::new(f.mantissa(), f.exponent()), Ok(f));
            }
            match raw.checked_add(65_521) {
                Some(next) => raw = next,
                None => break,
            }
        }
        for raw in [
            0u32,
            u32::MAX,
            0x007F_FFFD,
            0x0080_0003,
            0x8000_0000,
            0x7FFF_FFFF,
        ] {
            assert_eq!(Float::from_raw(raw).to_raw(), raw);
        }
        // 0xFEFFFF9C: exponent 0xFE = -2, mantissa 0xFFFF9C = -100 → -1.00.
        let f = Float::from_raw(0xFEFF_FF9C);
        assert_eq!((f.mantissa(), f.exponent()), (-100, -2));
        assert_eq!(f.to_fixed(0), Ok(-1));
        assert_eq!(Float::new(-100, -2), Ok(f));
    }

    #[test]
    fn constructors_reject() {
        assert_eq!(Sfloat::new(2046, 0), Err(NumericError::MantissaOutOfRange));
        assert_eq!(Sfloat::new(-2046, 0), Err(NumericError::MantissaOutOfRange));
        assert_eq!(Sfloat::new(2047, 0), Err(NumericError::MantissaOutOfRange));
        assert_eq!(Sfloat::new(1, 8), Err(NumericError::ExponentOutOfRange));
        assert_eq!(Sfloat::new(1, -9), Err(NumericError::ExponentOutOfRange));
        assert_eq!(Sfloat::new(2045, 7).map(|s| s.to_raw()), Ok(0x77FD));
        assert_eq!(
            Float::new(8_388_606, 0),
            Err(NumericError::MantissaOutOfRange)
        );
        assert_eq!(
            Float::new(-8_388_606, 0),
            Err(NumericError::MantissaOutOfRange)
        );
        assert_eq!(Float::new(-1, -128).map(|f| f.to_raw()), Ok(0x80FF_FFFF));
    }

    #[test]
    fn from_f64_edges() {
        assert_eq!(Sfloat::from_f64(f64::NAN, 0), Err(NumericError::NotFinite));
        assert_eq!(
            Sfloat::from_f64(f64::INFINITY, 0),
            Err(NumericError::NotFinite)
        );
        assert_eq!(
            Sfloat::from_f64(1.0, 9),
            Err(NumericError::ExponentOutOfRange)
        );
        // 2.045e10 = 2045 × 10^7, the largest SFLOAT.
        assert_eq!(
            Sfloat::from_f64(2.045e10, 0).map(|s| s.to_raw()),
            Ok(0x77FD)
        );
        // 1e12 would need 100000 × 10^7: too large.
        assert_eq!(Sfloat::from_f64(1e12, 0), Err(NumericError::Overflow));
        // 2046 at exponent 0 is +INF's pattern: normalised to 205 × 10^1 = 0x10CD.
        assert_eq!(Sfloat::from_f64(2046.0, 0).map(|s| s.to_raw()), Ok(0x10CD));
        // 70.005 with 3 decimals: 70005 too large → 7001 too large → 700 × 10^-1 = 0xF2BC.
        assert_eq!(Sfloat::from_f64(70.005, 3).map(|s| s.to_raw()), Ok(0xF2BC));
        // -2.5 with 0 decimals rounds away from zero to -3: 0x0FFD (mantissa 4093 - 4096).
        assert_eq!(Sfloat::from_f64(-2.5, 0).map(|s| s.to_raw()), Ok(0x0FFD));
        assert_eq!(
            Float::from_f64(1.0, 129),
            Err(NumericError::ExponentOutOfRange)
        );
        assert_eq!(Float::from_f64(f64::MAX, 0), Err(NumericError::Overflow));
        // -40 → mantissa 0xFFFFD8 (-40), exponent 0.
        assert_eq!(
            Float::from_f64(-40.0, 0).map(|f| f.to_raw()),
            Ok(0x00FF_FFD8)
        );
    }

    #[test]
    fn display_is_specific() {
        assert_eq!(Special::NaN.to_string(), "NaN (not a number)");
        assert!(NumericError::Special(Special::NRes)
            .to_string()
            .contains("NRes"));
    }
}
