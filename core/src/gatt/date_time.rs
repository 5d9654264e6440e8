//! Date Time (org.bluetooth.characteristic.date_time), the time stamp inside the
//! measurements.

use core::fmt;

use super::GattError;
use crate::time::{days_in_month, Date, TimeError, UtcSeconds, SECONDS_PER_DAY};

/// Length of a Date Time (year u16, month, day, hours, minutes, seconds).
pub const DATE_TIME_LEN: usize = 7;

/// A Bluetooth Date Time (org.bluetooth.characteristic.date_time) in the device's local
/// time, with every part known and valid: year 1582..=9999, a real calendar day,
/// 00:00:00..=23:59:59.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GattDateTime {
    year: u16,
    month: u8,
    day: u8,
    hours: u8,
    minutes: u8,
    seconds: u8,
}

impl GattDateTime {
    /// Earliest year the Date Time characteristic allows.
    pub const YEAR_MIN: u16 = 1582;
    /// Latest year the Date Time characteristic allows.
    pub const YEAR_MAX: u16 = 9999;

    /// Builds a validated date and time; any invalid or unknown (0) part is
    /// [`GattError::InvalidTimestamp`].
    pub fn new(
        year: u16,
        month: u8,
        day: u8,
        hours: u8,
        minutes: u8,
        seconds: u8,
    ) -> Result<GattDateTime, GattError> {
        let date_ok = (Self::YEAR_MIN..=Self::YEAR_MAX).contains(&year)
            && day >= 1
            && day <= days_in_month(year, month);
        if !date_ok || hours > 23 || minutes > 59 || seconds > 59 {
            return Err(GattError::InvalidTimestamp);
        }
        Ok(GattDateTime {
            year,
            month,
            day,
            hours,
            minutes,
            seconds,
        })
    }

    /// Decodes the 7 wire bytes (year little-endian). `Ok(None)` when the year, month or
    /// day is 0 ("not known"); [`GattError::InvalidTimestamp`] for impossible values,
    /// including an impossible time of day next to an unknown date.
    pub fn from_bytes(bytes: [u8; DATE_TIME_LEN]) -> Result<Option<GattDateTime>, GattError> {
        let [y0, y1, month, day, hours, minutes, seconds] = bytes;
        let year = u16::from_le_bytes([y0, y1]);
        if hours > 23 || minutes > 59 || seconds > 59 {
            return Err(GattError::InvalidTimestamp);
        }
        if year == 0 || month == 0 || day == 0 {
            return Ok(None);
        }
        GattDateTime::new(year, month, day, hours, minutes, seconds).map(Some)
    }

    /// Year (1582..=9999).
    pub fn year(&self) -> u16 {
        self.year
    }
    /// Month (1..=12).
    pub fn month(&self) -> u8 {
        self.month
    }
    /// Day of month (1..=31).
    pub fn day(&self) -> u8 {
        self.day
    }
    /// Hours (0..=23).
    pub fn hours(&self) -> u8 {
        self.hours
    }
    /// Minutes (0..=59).
    pub fn minutes(&self) -> u8 {
        self.minutes
    }
    /// Seconds (0..=59).
    pub fn seconds(&self) -> u8 {
        self.seconds
    }

    /// The UTC instant of this local time, given the device's offset from UTC in minutes
    /// (+480 for China Standard Time): UTC = local − offset.
    ///
    /// Errors: [`TimeError::InvalidDate`] for a year outside 1900..=2099,
    /// [`TimeError::UtcOutOfRange`] for an instant outside the valid record range (an
    /// unset device clock showing 2000-01-01, say).
    pub fn to_utc_seconds(&self, utc_offset_minutes: i32) -> Result<UtcSeconds, TimeError> {
        let date = Date::new(self.year, self.month, self.day)?;
        let local = date.days_since_unix_epoch() * SECONDS_PER_DAY as i64
            + i64::from(self.hours) * 3600
            + i64::from(self.minutes) * 60
            + i64::from(self.seconds);
        let utc = local - i64::from(utc_offset_minutes) * 60;
        let utc = u64::try_from(utc).map_err(|_| TimeError::UtcOutOfRange)?;
        UtcSeconds::new(utc)
    }
}

impl fmt::Display for GattDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hours, self.minutes, self.seconds
        )
    }
}
