//! SpO2 and pulse rate from a red/infrared photoplethysmogram (PPG), `no_std`.
//!
//! Method (ratio-of-ratios pulse oximetry):
//! 1. **Signal checks**: enough samples, no ADC saturation, an infrared DC level that
//!    shows a finger on the sensor.
//! 2. **Baseline**: a least-squares line is removed from each channel (breathing and
//!    finger-pressure drift), leaving the pulsatile AC part. Sums are exact integers, so
//!    the line has no float cancellation error.
//! 3. **Perfusion**: AC RMS / DC of the infrared channel must lie between
//!    [`MIN_PERFUSION`] (no pulse to measure) and [`MAX_PERFUSION`] (motion, not pulse).
//! 4. **Pulse rate**: the normalised autocorrelation of the infrared AC over the lags of
//!    [`MIN_PULSE_BPM`]..=[`MAX_PULSE_BPM`]. The period is the shortest lag whose peak is
//!    within [`HARMONIC_TOLERANCE`] of the best peak (so twice the period is never taken
//!    for it), refined by parabolic interpolation; a best peak below [`MIN_PERIODICITY`]
//!    means no regular pulse.
//! 5. **Channel agreement**: red and infrared AC must correlate by at least
//!    [`MIN_CHANNEL_CORRELATION`]; motion and ambient light break this first.
//! 6. **SpO2**: `R = (AC_red/DC_red) / (AC_ir/DC_ir)` and the linear empirical calibration
//!    `SpO2 = 110 − 25·R` ([`CALIBRATION_INTERCEPT`], [`CALIBRATION_SLOPE`]), valid for R
//!    in [`CALIBRATED_R`]; outside it the reading is refused, not extrapolated.
//!
//! A poor window yields a [`PpgRejection`] naming the reason instead of a number.

/// Samples per second the estimator is configured for (the oximeter's rate).
pub const SAMPLE_RATE_HZ: u32 = crate::drivers::oximeter::SAMPLE_RATE_HZ;
/// Samples per channel of one measurement window: 5 s, at least three beats at the
/// slowest rate accepted.
pub const WINDOW_SAMPLES: usize = 500;
/// Fewest samples accepted.
pub const MIN_SAMPLES: usize = WINDOW_SAMPLES;
/// Most samples accepted (bounds the integer sums).
pub const MAX_SAMPLES: usize = 4096;
/// Full scale of the 18-bit ADC; a sample at or above [`SATURATION_LEVEL`] is clipped.
pub const ADC_FULL_SCALE: u32 = (1 << 18) - 1;
/// Samples at or above this are treated as saturated (ambient light, LED too strong).
pub const SATURATION_LEVEL: u32 = ADC_FULL_SCALE - 1024;
/// Infrared DC below this means nothing reflects the light: no finger on the sensor
/// (counts of the 16384 nA range at 7.2 mA LED drive).
pub const MIN_FINGER_DC: u32 = 30_000;
/// Lowest AC RMS / DC of the infrared channel with a measurable pulse (0.05 %).
pub const MIN_PERFUSION: f32 = 0.000_5;
/// Highest AC RMS / DC of a resting finger (5 %); more is motion.
pub const MAX_PERFUSION: f32 = 0.05;
/// Slowest pulse the estimator looks for, /min.
pub const MIN_PULSE_BPM: u32 = 35;
/// Fastest pulse the estimator looks for, /min.
pub const MAX_PULSE_BPM: u32 = 220;
/// Lowest normalised autocorrelation at the pulse period of a regular pulse.
pub const MIN_PERIODICITY: f32 = 0.5;
/// A shorter-lag autocorrelation peak at least this fraction of the best one is the
/// period (the best one may be a multiple of it).
pub const HARMONIC_TOLERANCE: f32 = 0.85;
/// Lowest correlation between the red and infrared AC signals.
pub const MIN_CHANNEL_CORRELATION: f32 = 0.8;
/// SpO2 calibration: intercept, % (`SpO2 = 110 − 25·R`, the linear approximation of
/// the empirical ratio-of-ratios curve for red 660 nm / IR 880 nm LEDs).
pub const CALIBRATION_INTERCEPT: f32 = 110.0;
/// SpO2 calibration: slope, % per unit of R.
pub const CALIBRATION_SLOPE: f32 = 25.0;
/// Range of R over which the calibration holds: 100 % down to 70 %.
pub const CALIBRATED_R: (f32, f32) = (0.4, 1.6);

const LAG_MIN: usize = (60 * SAMPLE_RATE_HZ / MAX_PULSE_BPM) as usize; // 27
const LAG_MAX: usize = (60 * SAMPLE_RATE_HZ).div_ceil(MIN_PULSE_BPM) as usize; // 172

/// A result of the estimator.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PpgEstimate {
    /// Oxygen saturation, whole %.
    pub spo2_percent: u8,
    /// Pulse rate, /min.
    pub pulse_per_min: u16,
    /// The ratio of ratios, × 1000.
    pub r_milli: u16,
    /// Infrared perfusion (AC RMS / DC), × 10000.
    pub perfusion_bp: u16,
}

/// Why a window gave no reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PpgRejection {
    /// Red and infrared windows differ in length.
    LengthMismatch,
    /// Fewer than [`MIN_SAMPLES`] or more than [`MAX_SAMPLES`] samples.
    WrongLength(usize),
    /// A sample reached the top of the ADC range.
    Saturated,
    /// The infrared DC level is too low: no finger on the sensor.
    NoFinger,
    /// The pulsatile part is too small to measure.
    WeakPulse,
    /// The pulsatile part is too large for a resting finger: motion.
    Motion,
    /// No regular pulse in the window.
    Irregular,
    /// The pulse is outside [`MIN_PULSE_BPM`]..=[`MAX_PULSE_BPM`].
    PulseOutOfRange,
    /// The red and infrared signals do not move together (motion, ambient light).
    ChannelsDisagree,
    /// R is outside the calibrated range ([`CALIBRATED_R`]), × 1000.
    OutOfCalibration(u16),
}

/// One channel after baseline removal: `x[i] = v[i] − (a + b·i)`.
struct Channel<'a> {
    v: &'a [u32],
    a: f32,
    b: f32,
    dc: f32,
}

impl<'a> Channel<'a> {
    fn new(v: &'a [u32]) -> Channel<'a> {
        let n = v.len() as i64;
        let (mut s_v, mut s_iv) = (0i64, 0i64);
        for (i, &x) in v.iter().enumerate() {
            s_v += i64::from(x);
            s_iv += i as i64 * i64::from(x);
        }
        let s_i = n * (n - 1) / 2;
        let s_ii = (n - 1) * n * (2 * n - 1) / 6;
        // Least squares: b = (n·Σiv − Σi·Σv) / (n·Σi² − (Σi)²), exact in i64 for
        // n ≤ MAX_SAMPLES and 18-bit samples.
        let num = n * s_iv - s_i * s_v;
        let den = n * s_ii - s_i * s_i;
        let b = if den != 0 {
            num as f32 / den as f32
        } else {
            0.0
        };
        let dc = s_v as f32 / n as f32;
        let a = dc - b * (s_i as f32 / n as f32);
        Channel { v, a, b, dc }
    }

    fn x(&self, i: usize) -> f32 {
        self.v[i] as f32 - (self.a + self.b * i as f32)
    }

    fn energy(&self, from: usize, to: usize) -> f32 {
        (from..to).map(|i| self.x(i) * self.x(i)).sum()
    }

    fn rms(&self) -> f32 {
        libm::sqrtf(self.energy(0, self.v.len()) / self.v.len() as f32)
    }
}

/// Normalised autocorrelation of `c` at `lag`.
fn autocorr(c: &Channel<'_>, lag: usize) -> f32 {
    let n = c.v.len();
    let mut s = 0.0f32;
    for i in 0..n - lag {
        s += c.x(i) * c.x(i + lag);
    }
    let e = libm::sqrtf(c.energy(0, n - lag) * c.energy(lag, n));
    if e > 0.0 {
        s / e
    } else {
        0.0
    }
}

/// Estimates SpO2 and pulse rate from equally long red and infrared windows sampled at
/// [`SAMPLE_RATE_HZ`].
pub fn estimate(red: &[u32], ir: &[u32]) -> Result<PpgEstimate, PpgRejection> {
    if red.len() != ir.len() {
        return Err(PpgRejection::LengthMismatch);
    }
    let n = ir.len();
    if !(MIN_SAMPLES..=MAX_SAMPLES).contains(&n) {
        return Err(PpgRejection::WrongLength(n));
    }
    if red.iter().chain(ir.iter()).any(|&v| v >= SATURATION_LEVEL) {
        return Err(PpgRejection::Saturated);
    }
    let (r, i) = (Channel::new(red), Channel::new(ir));
    if i.dc < MIN_FINGER_DC as f32 || r.dc < MIN_FINGER_DC as f32 {
        return Err(PpgRejection::NoFinger);
    }
    let (ac_r, ac_i) = (r.rms(), i.rms());
    let perfusion = ac_i / i.dc;
    if perfusion < MIN_PERFUSION {
        return Err(PpgRejection::WeakPulse);
    }
    if perfusion > MAX_PERFUSION {
        return Err(PpgRejection::Motion);
    }

    // Autocorrelation over the pulse lags, one extra lag each side for the peak test.
    let mut acf = [0.0f32; LAG_MAX - LAG_MIN + 3];
    for (k, slot) in acf.iter_mut().enumerate() {
        *slot = autocorr(&i, LAG_MIN - 1 + k);
    }
    let best = acf[1..acf.len() - 1]
        .iter()
        .copied()
        .fold(f32::MIN, f32::max);
    if best < MIN_PERIODICITY {
        return Err(PpgRejection::Irregular);
    }
    let mut period = None;
    for (k, w) in acf.windows(3).enumerate() {
        let (prev, cur, next) = (w[0], w[1], w[2]);
        if cur >= prev && cur > next && cur >= HARMONIC_TOLERANCE * best {
            // Parabola through the three points: vertex offset in (−0.5, 0.5].
            let den = prev - 2.0 * cur + next;
            let off = if den != 0.0 {
                0.5 * (prev - next) / den
            } else {
                0.0
            };
            let lag = LAG_MIN + k;
            period = Some((lag, lag as f32 + off));
            break;
        }
    }
    let (lag, period) = period.ok_or(PpgRejection::Irregular)?;
    if lag <= LAG_MIN || lag >= LAG_MAX {
        return Err(PpgRejection::PulseOutOfRange);
    }
    let bpm = libm::roundf(60.0 * SAMPLE_RATE_HZ as f32 / period);
    if bpm < MIN_PULSE_BPM as f32 || bpm > MAX_PULSE_BPM as f32 {
        return Err(PpgRejection::PulseOutOfRange);
    }

    let mut cross = 0.0f32;
    for k in 0..n {
        cross += r.x(k) * i.x(k);
    }
    let corr = cross / libm::sqrtf(r.energy(0, n) * i.energy(0, n));
    if corr.is_nan() || corr < MIN_CHANNEL_CORRELATION {
        return Err(PpgRejection::ChannelsDisagree);
    }

    let ratio = (ac_r / r.dc) / perfusion;
    let r_milli = libm::roundf(ratio * 1000.0).clamp(0.0, u16::MAX as f32) as u16;
    if !(CALIBRATED_R.0..=CALIBRATED_R.1).contains(&ratio) {
        return Err(PpgRejection::OutOfCalibration(r_milli));
    }
    let spo2 = libm::roundf(CALIBRATION_INTERCEPT - CALIBRATION_SLOPE * ratio);
    Ok(PpgEstimate {
        spo2_percent: spo2.clamp(0.0, 100.0) as u8,
        pulse_per_min: bpm as u16,
        r_milli,
        perfusion_bp: libm::roundf(perfusion * 10_000.0) as u16,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    /// A PPG-like beat: fundamental plus a second harmonic (the dicrotic notch).
    fn beat(phase: f64) -> f64 {
        (2.0 * PI * phase).sin() + 0.3 * (4.0 * PI * phase + 0.8).sin()
    }

    struct Synth {
        bpm: f64,
        r: f64,
        ir_dc: f64,
        red_dc: f64,
        ir_perfusion: f64,
        drift: f64,
        noise: f64,
        red_phase: f64,
    }

    impl Synth {
        fn new(bpm: f64, r: f64) -> Synth {
            Synth {
                bpm,
                r,
                ir_dc: 120_000.0,
                red_dc: 90_000.0,
                ir_perfusion: 0.01,
                drift: 0.0,
                noise: 0.0,
                red_phase: 0.0,
            }
        }

        /// Red AC/DC = R × IR AC/DC, same beat shape, so the RMS ratio is exactly R.
        fn render(&self, n: usize) -> (Vec<u32>, Vec<u32>) {
            let mut seed: u32 = 12345;
            let mut rnd = move || {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                ((seed >> 16) & 0x7FFF) as f64 / 32_768.0 - 0.5
            };
            let (mut red, mut ir) = (Vec::new(), Vec::new());
            for k in 0..n {
                let t = k as f64 / SAMPLE_RATE_HZ as f64;
                let ph = t * self.bpm / 60.0;
                let ac_i = self.ir_dc * self.ir_perfusion;
                let ac_r = self.red_dc * self.ir_perfusion * self.r;
                let d = self.drift * t;
                ir.push((self.ir_dc + d + ac_i * beat(ph) + self.noise * ac_i * rnd()) as u32);
                red.push(
                    (self.red_dc + d + ac_r * beat(ph + self.red_phase) + self.noise * ac_r * rnd())
                        as u32,
                );
            }
            (red, ir)
        }
    }

    #[test]
    fn clean_signal_known_answer() {
        // R = 0.6 -> 110 − 15 = 95 %; 72 /min.
        let (red, ir) = Synth::new(72.0, 0.6).render(WINDOW_SAMPLES);
        let e = estimate(&red, &ir).unwrap();
        assert_eq!(e.spo2_percent, 95);
        assert_eq!(e.pulse_per_min, 72);
        assert!((e.r_milli as i32 - 600).abs() <= 5, "{e:?}");
    }

    #[test]
    fn range_of_rates_and_saturations() {
        // (bpm, R, expected SpO2 = 110 − 25R)
        for (bpm, r, spo2) in [
            (45.0, 0.48, 98),
            (60.0, 0.56, 96),
            (88.0, 0.72, 92),
            (110.0, 0.88, 88),
            (150.0, 1.2, 80),
        ] {
            let (red, ir) = Synth::new(bpm, r).render(WINDOW_SAMPLES);
            let e = estimate(&red, &ir).unwrap_or_else(|e| panic!("{bpm} {r}: {e:?}"));
            assert_eq!(e.spo2_percent, spo2, "{bpm} {r}: {e:?}");
            assert!((e.pulse_per_min as f64 - bpm).abs() <= 1.0, "{bpm}: {e:?}");
        }
    }

    #[test]
    fn drift_and_noise_are_tolerated() {
        let mut s = Synth::new(66.0, 0.64); // 94 %
        s.drift = 400.0; // counts per second
        s.noise = 0.1;
        let (red, ir) = s.render(WINDOW_SAMPLES);
        let e = estimate(&red, &ir).unwrap();
        assert!((e.spo2_percent as i32 - 94).abs() <= 1, "{e:?}");
        assert!((e.pulse_per_min as i32 - 66).abs() <= 1, "{e:?}");
    }

    #[test]
    fn no_finger() {
        let mut s = Synth::new(72.0, 0.6);
        s.ir_dc = 2_000.0;
        s.red_dc = 1_500.0;
        let (red, ir) = s.render(WINDOW_SAMPLES);
        assert_eq!(estimate(&red, &ir), Err(PpgRejection::NoFinger));
    }

    #[test]
    fn saturated() {
        let (mut red, ir) = Synth::new(72.0, 0.6).render(WINDOW_SAMPLES);
        red[100] = ADC_FULL_SCALE;
        assert_eq!(estimate(&red, &ir), Err(PpgRejection::Saturated));
    }

    #[test]
    fn flat_signal_is_weak() {
        let mut s = Synth::new(72.0, 0.6);
        s.ir_perfusion = 0.000_1;
        let (red, ir) = s.render(WINDOW_SAMPLES);
        assert_eq!(estimate(&red, &ir), Err(PpgRejection::WeakPulse));
    }

    #[test]
    fn large_swings_are_motion() {
        let mut s = Synth::new(72.0, 0.6);
        s.ir_perfusion = 0.1;
        let (red, ir) = s.render(WINDOW_SAMPLES);
        assert_eq!(estimate(&red, &ir), Err(PpgRejection::Motion));
    }

    #[test]
    fn noise_without_pulse_is_irregular() {
        let mut s = Synth::new(72.0, 0.6);
        s.ir_perfusion = 0.0;
        s.noise = 1.0;
        let (red, mut ir) = s.render(WINDOW_SAMPLES);
        // Pure noise around the DC at 1 % RMS.
        let mut seed = 7u32;
        for v in ir.iter_mut() {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *v = 120_000 + (seed >> 22); // 0..1023
            *v -= 512;
        }
        assert_eq!(estimate(&red, &ir), Err(PpgRejection::Irregular));
    }

    #[test]
    fn out_of_phase_channels_disagree() {
        let mut s = Synth::new(72.0, 0.6);
        s.red_phase = 0.5;
        let (red, ir) = s.render(WINDOW_SAMPLES);
        assert_eq!(estimate(&red, &ir), Err(PpgRejection::ChannelsDisagree));
    }

    #[test]
    fn outside_calibration_is_refused() {
        // R = 0.3 would extrapolate to 102.5 %; R = 2.0 to 60 %.
        let (red, ir) = Synth::new(72.0, 0.3).render(WINDOW_SAMPLES);
        assert!(matches!(
            estimate(&red, &ir),
            Err(PpgRejection::OutOfCalibration(r)) if (295..=305).contains(&r)
        ));
        let (red, ir) = Synth::new(72.0, 2.0).render(WINDOW_SAMPLES);
        assert!(matches!(
            estimate(&red, &ir),
            Err(PpgRejection::OutOfCalibration(r)) if (1990..=2010).contains(&r)
        ));
    }

    #[test]
    fn pulse_too_slow_is_out_of_range() {
        // 25 /min: period 240 samples, beyond the longest lag searched.
        let (red, ir) = Synth::new(25.0, 0.6).render(WINDOW_SAMPLES);
        assert!(matches!(
            estimate(&red, &ir),
            Err(PpgRejection::PulseOutOfRange | PpgRejection::Irregular)
        ));
    }

    #[test]
    fn shapes_are_checked() {
        assert_eq!(
            estimate(&[1; 10], &[1; 11]),
            Err(PpgRejection::LengthMismatch)
        );
        assert_eq!(
            estimate(&[1; 10], &[1; 10]),
            Err(PpgRejection::WrongLength(10))
        );
    }
}
