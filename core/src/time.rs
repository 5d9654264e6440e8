//! Time: UTC seconds, calendar dates, and the explicit "time unknown" state.
//!
//! A kiosk without a valid clock must not invent one. Its records carry
//! [`Timestamp::Unknown`] with the boot counter and the seconds since boot; the receiver,
//! which knows when that boot's hello arrived, can place them. No record ever carries a
//! 1970 date: times before [`MIN_VALID_UTC`] are rejected.

use core::fmt;

/// Seconds of a day.
pub const SECONDS_PER_DAY: u64 = 86_400;

/// 2024-01-01T00:00:00Z as Unix seconds: the earliest time a tcmcare record may carry.
/// The project did not exist before; a device clock showing an earlier time is unset.
pub const MIN_VALID_UTC: u64 = 1_704_067_200;

/// 2100-01-01T00:00:00Z as Unix seconds: later times are rejected as implausible.
pub const MAX_VALID_UTC: u64 = 4_102_444_800;

/// Shanghai local time offset (UTC+8, no daylight saving), used for reporting years and
/// for dates written on forms.
pub const CHINA_STANDARD_TIME_OFFSET_S: i64 = 8 * 3600;

/// Errors of time and date values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TimeError {
    /// A UTC time before [`MIN_VALID_UTC`] (an unset clock) or after [`MAX_VALID_UTC`].
    UtcOutOfRange,
    /// Year, month or day does not name a real calendar date in 1900..=2099.
    InvalidDate,
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeError::UtcOutOfRange => {
                f.write_str("UTC time outside 2024-01-01..2100-01-01 (clock not set?)")
            }
            TimeError::InvalidDate => f.write_str("not a valid calendar date in 1900..=2099"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TimeError {}

/// A valid UTC instant in whole seconds since the Unix epoch, within
/// [`MIN_VALID_UTC`]..[`MAX_VALID_UTC`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct UtcSeconds(u64);

impl UtcSeconds {
    /// Checks the range and wraps the value.
    pub fn new(unix_seconds: u64) -> Result<UtcSeconds, TimeError> {
        if (MIN_VALID_UTC..MAX_VALID_UTC).contains(&unix_seconds) {
            Ok(UtcSeconds(unix_seconds))
        } else {
            Err(TimeError::UtcOutOfRange)
        }
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    pub fn unix(self) -> u64 {
        self.0
    }

    /// The UTC calendar date of this instant.
    pub fn utc_date(self) -> Date {
        Date::from_days_since_unix_epoch((self.0 / SECONDS_PER_DAY) as i64).unwrap_or(Date::MIN)
    }

    /// The calendar date in China Standard Time (UTC+8), as written on forms.
    pub fn china_date(self) -> Date {
        let local = self.0 as i64 + CHINA_STANDARD_TIME_OFFSET_S;
        Date::from_days_since_unix_epoch(local.div_euclid(SECONDS_PER_DAY as i64))
            .unwrap_or(Date::MIN)
    }
}

/// When a record was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Timestamp {
    /// A known UTC time.
    Utc(UtcSeconds),
    /// The device had no valid clock. `boot` is its persistent boot counter and
    /// `uptime_s` the seconds since that boot; the receiver places the record from the
    /// hello of the same boot.
    Unknown {
        /// Persistent boot counter of the originating device.
        boot: u32,
        /// Seconds since that boot.
        uptime_s: u32,
    },
}

impl Timestamp {
    /// The UTC time if known.
    pub fn utc(&self) -> Option<UtcSeconds> {
        match self {
            Timestamp::Utc(t) => Some(*t),
            Timestamp::Unknown { .. } => None,
        }
    }
}

/// A calendar date (proleptic Gregorian), years 1900..=2099.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

/// Whether `year` is a Gregorian leap year.
pub fn is_leap_year(year: u16) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` (1..=12) of `year`; 0 for an invalid month.
pub fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// 1900-01-01, the earliest representable date.
    pub const MIN: Date = Date {
        year: 1900,
        month: 1,
        day: 1,
    };
    /// 2099-12-31, the latest representable date.
    pub const MAX: Date = Date {
        year: 2099,
        month: 12,
        day: 31,
    };

    /// Builds a date, rejecting impossible ones (2023-02-29, month 13, year 1899...).
    pub fn new(year: u16, month: u8, day: u8) -> Result<Date, TimeError> {
        if !(1900..=2099).contains(&year) || day == 0 || day > days_in_month(year, month) {
            return Err(TimeError::InvalidDate);
        }
        Ok(Date { year, month, day })
    }

    /// Year (1900..=2099).
    pub fn year(self) -> u16 {
        self.year
    }
    /// Month (1..=12).
    pub fn month(self) -> u8 {
        self.month
    }
    /// Day of month (1..=31).
    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_unix_epoch(self) -> i64 {
        // Civil-from-days arithmetic on a year starting in March (no leap-day special case).
        let y = self.year as i64 - if self.month <= 2 { 1 } else { 0 };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = self.month as i64;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + self.day as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01; `None` outside 1900..=2099.
    pub fn from_days_since_unix_epoch(days: i64) -> Option<Date> {
        // Keep the arithmetic far from overflow before range-checking the result.
        if !(-25_567..=47_481).contains(&days) {
            return None;
        }
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + if month <= 2 { 1 } else { 0 }) as u16;
        Date::new(year, month, day).ok()
    }

    /// Whole years from `self` (a birth date) to `on`: the age on that date. A person born
    /// on 29 February becomes a year older on 1 March in common years. Returns 0 if `on` is
    /// before `self`.
    pub fn age_on(self, on: Date) -> u16 {
        if on < self {
            return 0;
        }
        let mut age = on.year - self.year;
        if (on.month, on.day) < (self.month, self.day) {
            age -= 1;
        }
        age
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_epoch_days() {
        assert_eq!(Date::new(1970, 1, 1).unwrap().days_since_unix_epoch(), 0);
        // 2024-01-01 = 19723 days after 1970-01-01 (1_704_067_200 / 86_400).
        let d = Date::new(2024, 1, 1).unwrap();
        assert_eq!(d.days_since_unix_epoch(), 19_723);
        assert_eq!(
            d.days_since_unix_epoch() as u64 * SECONDS_PER_DAY,
            MIN_VALID_UTC
        );
        assert_eq!(Date::from_days_since_unix_epoch(19_723), Some(d));
    }

    #[test]
    fn every_day_round_trips() {
        for days in -25_567..=47_481 {
            let d = Date::from_days_since_unix_epoch(days).unwrap();
            assert_eq!(d.days_since_unix_epoch(), days);
        }
        assert_eq!(Date::from_days_since_unix_epoch(-25_568), None);
        assert_eq!(Date::from_days_since_unix_epoch(47_482), None);
        assert_eq!(Date::from_days_since_unix_epoch(i64::MAX), None);
    }

    #[test]
    fn invalid_dates() {
        assert!(Date::new(2023, 2, 29).is_err());
        assert!(Date::new(2024, 2, 29).is_ok());
        assert!(Date::new(1900, 2, 29).is_err());
        assert!(Date::new(2000, 2, 29).is_ok());
        assert!(Date::new(2024, 13, 1).is_err());
        assert!(Date::new(2024, 4, 31).is_err());
        assert!(Date::new(1899, 12, 31).is_err());
    }

    #[test]
    fn ages() {
        let birth = Date::new(1960, 6, 15).unwrap();
        assert_eq!(birth.age_on(Date::new(2025, 6, 14).unwrap()), 64);
        assert_eq!(birth.age_on(Date::new(2025, 6, 15).unwrap()), 65);
        let leap = Date::new(1960, 2, 29).unwrap();
        assert_eq!(leap.age_on(Date::new(2025, 2, 28).unwrap()), 64);
        assert_eq!(leap.age_on(Date::new(2025, 3, 1).unwrap()), 65);
    }

    #[test]
    fn utc_range_and_china_date() {
        assert_eq!(UtcSeconds::new(0), Err(TimeError::UtcOutOfRange));
        assert!(UtcSeconds::new(MIN_VALID_UTC).is_ok());
        assert!(UtcSeconds::new(MAX_VALID_UTC).is_err());
        // 2025-12-31T16:00:00Z is 2026-01-01 00:00 in Shanghai.
        let t = UtcSeconds::new(1_767_196_800).unwrap();
        assert_eq!(t.utc_date(), Date::new(2025, 12, 31).unwrap());
        assert_eq!(t.china_date(), Date::new(2026, 1, 1).unwrap());
    }
}
