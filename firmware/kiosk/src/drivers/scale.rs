//! Body-weight scale: a load-cell ADC with tare and two-point calibration.
//!
//! `weight = (reading − offset) × span_mass / span_counts`, in exact integer arithmetic
//! rounded half away from zero. The offset comes from [`Scale::tare`] (platform empty),
//! the span from [`Scale::calibrate`] (a reference mass on the platform). A weighing
//! averages several conversions and is refused while the person is still moving (the
//! readings spread more than [`STABLE_SPREAD_G`]).

use super::hx711::{Hx711, Hx711Error};
use embedded_hal::delay::DelayNs;
use embedded_hal::digital::{InputPin, OutputPin};

/// Conversions averaged per tare, calibration or weighing.
pub const SAMPLES_PER_READING: usize = 8;
/// Largest spread (max − min) of the averaged conversions of a stable reading, g.
pub const STABLE_SPREAD_G: i64 = 200;
/// Below this the platform counts as empty, g.
pub const MIN_LOAD_G: i64 = 2_000;
/// A calibration whose span is smaller than this many counts is refused (the reference
/// mass was not on the platform, or the cell is disconnected).
pub const MIN_SPAN_COUNTS: i32 = 1_000;
/// Wait for one conversion, µs: the HX711 converts at 10 SPS with RATE low (100 ms),
/// plus margin.
pub const CONVERSION_TIMEOUT_US: u32 = 150_000;

/// A source of raw load-cell conversions.
pub trait LoadCellAdc {
    /// The ADC's error.
    type Error;
    /// One conversion (signed counts).
    fn read(&mut self) -> Result<i32, Self::Error>;
}

impl<DOUT: InputPin, SCK: OutputPin, D: DelayNs> LoadCellAdc for Hx711<DOUT, SCK, D> {
    type Error = Hx711Error<DOUT::Error, SCK::Error>;
    fn read(&mut self) -> Result<i32, Self::Error> {
        self.read_raw(CONVERSION_TIMEOUT_US)
    }
}

/// Tare and span of a scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Calibration {
    /// Reading of the empty platform, counts.
    pub offset: i32,
    /// Reading of the reference mass minus the offset, counts (≥ [`MIN_SPAN_COUNTS`]).
    pub span_counts: i32,
    /// The reference mass, g.
    pub span_mass_g: u32,
}

/// Errors of [`Scale`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ScaleError<E> {
    /// The ADC failed.
    Adc(E),
    /// Weighing before [`Scale::calibrate`] (or [`Scale::with_calibration`]).
    NotCalibrated,
    /// The conversions spread too much: the person is still moving.
    Unstable {
        /// Spread of the conversions, g.
        spread_g: i64,
    },
    /// Nobody on the platform.
    NoLoad,
    /// The calibration span is below [`MIN_SPAN_COUNTS`] (or negative).
    BadSpan(i32),
}

/// A scale over a load-cell ADC.
#[derive(Debug)]
pub struct Scale<A> {
    adc: A,
    offset: i32,
    cal: Option<Calibration>,
}

fn div_round(n: i64, d: i64) -> i64 {
    // d > 0 here; round half away from zero.
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d {
        q + n.signum()
    } else {
        q
    }
}

impl<A: LoadCellAdc> Scale<A> {
    /// An uncalibrated scale.
    pub fn new(adc: A) -> Self {
        Scale {
            adc,
            offset: 0,
            cal: None,
        }
    }

    /// A scale with a stored calibration.
    pub fn with_calibration(adc: A, cal: Calibration) -> Self {
        Scale {
            adc,
            offset: cal.offset,
            cal: Some(cal),
        }
    }

    /// The calibration, if any.
    pub fn calibration(&self) -> Option<Calibration> {
        self.cal
    }

    /// Averages [`SAMPLES_PER_READING`] conversions; returns (mean, max − min).
    fn average(&mut self) -> Result<(i32, i64), ScaleError<A::Error>> {
        let (mut sum, mut min, mut max) = (0i64, i64::MAX, i64::MIN);
        for _ in 0..SAMPLES_PER_READING {
            let v = i64::from(self.adc.read().map_err(ScaleError::Adc)?);
            sum += v;
            min = min.min(v);
            max = max.max(v);
        }
        // The mean of i32 values fits an i32.
        let mean = div_round(sum, SAMPLES_PER_READING as i64) as i32;
        Ok((mean, max - min))
    }

    /// Records the empty-platform reading as the zero (keeps the span).
    pub fn tare(&mut self) -> Result<i32, ScaleError<A::Error>> {
        let (mean, _) = self.average()?;
        self.offset = mean;
        if let Some(c) = self.cal.as_mut() {
            c.offset = mean;
        }
        Ok(mean)
    }

    /// With `mass_g` on the tared platform, records the span.
    pub fn calibrate(&mut self, mass_g: u32) -> Result<Calibration, ScaleError<A::Error>> {
        let (mean, _) = self.average()?;
        let span = mean.saturating_sub(self.offset);
        if span < MIN_SPAN_COUNTS {
            return Err(ScaleError::BadSpan(span));
        }
        let cal = Calibration {
            offset: self.offset,
            span_counts: span,
            span_mass_g: mass_g,
        };
        self.cal = Some(cal);
        Ok(cal)
    }

    /// Converts counts above the offset to grams.
    fn grams(cal: &Calibration, counts: i64) -> i64 {
        div_round(
            counts * i64::from(cal.span_mass_g),
            i64::from(cal.span_counts),
        )
    }

    /// Weighs the person on the platform, g.
    pub fn weigh_g(&mut self) -> Result<u32, ScaleError<A::Error>> {
        let cal = self.cal.ok_or(ScaleError::NotCalibrated)?;
        let (mean, spread) = self.average()?;
        let spread_g = Self::grams(&cal, spread);
        if spread_g > STABLE_SPREAD_G {
            return Err(ScaleError::Unstable { spread_g });
        }
        let g = Self::grams(&cal, i64::from(mean) - i64::from(cal.offset));
        if g < MIN_LOAD_G {
            return Err(ScaleError::NoLoad);
        }
        u32::try_from(g).map_err(|_| ScaleError::NoLoad)
    }

    /// Gives the ADC back.
    pub fn destroy(self) -> A {
        self.adc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake(Vec<i32>);
    impl LoadCellAdc for Fake {
        type Error = ();
        fn read(&mut self) -> Result<i32, ()> {
            if self.0.is_empty() {
                Err(())
            } else {
                Ok(self.0.remove(0))
            }
        }
    }

    fn n(v: i32) -> Vec<i32> {
        vec![v; SAMPLES_PER_READING]
    }

    #[test]
    fn tare_calibrate_weigh() {
        // Empty platform 8000 counts; 20 kg reference reads 8000 + 400000 (20 counts/g).
        // A person reading 8000 + 1_230_010 counts weighs 1_230_010 / 20 = 61_500.5 g,
        // rounded half away from zero: 61_501 g.
        let mut seq = n(8_000);
        seq.extend(n(408_000));
        seq.extend(n(1_238_010));
        let mut s = Scale::new(Fake(seq));
        assert_eq!(s.tare(), Ok(8_000));
        let cal = s.calibrate(20_000).unwrap();
        assert_eq!(cal.span_counts, 400_000);
        assert_eq!(s.weigh_g(), Ok(61_501));
    }

    #[test]
    fn moving_person_is_unstable() {
        // Spread 5_000 counts = 250 g at 20 counts/g > 200 g.
        let cal = Calibration {
            offset: 0,
            span_counts: 400_000,
            span_mass_g: 20_000,
        };
        let mut seq = n(1_200_000);
        seq[3] += 5_000;
        let mut s = Scale::with_calibration(Fake(seq), cal);
        assert_eq!(s.weigh_g(), Err(ScaleError::Unstable { spread_g: 250 }));
    }

    #[test]
    fn empty_platform_and_missing_calibration() {
        let cal = Calibration {
            offset: 100,
            span_counts: 400_000,
            span_mass_g: 20_000,
        };
        // 100 + 39_980 counts = 1_999 g < 2 kg.
        let mut s = Scale::with_calibration(Fake(n(40_080)), cal);
        assert_eq!(s.weigh_g(), Err(ScaleError::NoLoad));
        let mut s = Scale::new(Fake(n(1)));
        assert_eq!(s.weigh_g(), Err(ScaleError::NotCalibrated));
    }

    #[test]
    fn calibration_without_mass_is_refused() {
        let mut seq = n(8_000);
        seq.extend(n(8_500));
        let mut s = Scale::new(Fake(seq));
        s.tare().unwrap();
        assert_eq!(s.calibrate(20_000), Err(ScaleError::BadSpan(500)));
    }

    #[test]
    fn adc_errors_pass_through() {
        let mut s = Scale::new(Fake(vec![1, 2]));
        assert_eq!(s.tare(), Err(ScaleError::Adc(())));
    }
}
