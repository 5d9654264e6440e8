//! The kiosk's real drivers against the register-level device models (the same pairing
//! the QEMU board runs), on the host with a manual clock.

use tcmcare_device_models::{
    BleBpMonitor, BpReading, Finger, Hx711, ManualClock, ManualDelay, Max30102, Mfrc522, Mlx90614,
    COUNTS_PER_GRAM, EMPTY_PLATFORM_COUNTS,
};
use tcmcare_kiosk::drivers::bp::parse_indication;
use tcmcare_kiosk::drivers::hx711::{Gain, Hx711 as Hx711Driver, Hx711Error};
use tcmcare_kiosk::drivers::mfrc522::{CardUid, Mfrc522 as Reader, Mfrc522Error};
use tcmcare_kiosk::drivers::oximeter::PulseOximeter;
use tcmcare_kiosk::drivers::scale::Scale;
use tcmcare_kiosk::drivers::thermometer::{BodyThermometer, ThermometerError};
use tcmcare_kiosk::ppg::{estimate, PpgRejection, WINDOW_SAMPLES};

#[test]
fn thermometer_reads_the_model_and_catches_its_pec_fault() {
    let m = Mlx90614::new();
    // 36.61 °C: raw = (3661 + 27315) / 2 = 15488.
    m.set_object_raw(Mlx90614::raw_of_centi_c(3661));
    let mut t = BodyThermometer::new(m.bus()).unwrap();
    assert_eq!(t.object_centi_c(), Ok(3661));
    m.corrupt_next_pec(1);
    assert_eq!(t.object_centi_c(), Err(ThermometerError::Pec));
    assert_eq!(t.object_centi_c(), Ok(3661));
    m.set_object_raw(0x8000 | 15_488);
    assert_eq!(t.object_centi_c(), Err(ThermometerError::SensorFault));
    m.set_present(false);
    assert!(matches!(t.object_centi_c(), Err(ThermometerError::I2c(_))));
}

fn ppg_window(finger: Finger) -> Result<tcmcare_kiosk::ppg::PpgEstimate, PpgRejection> {
    let clock = ManualClock::new();
    let m = Max30102::new(&clock);
    m.set_finger(finger);
    let mut ox = PulseOximeter::new(m.bus()).unwrap();
    ox.restart().unwrap();
    let (mut red, mut ir) = (vec![0u32; WINDOW_SAMPLES], vec![0u32; WINDOW_SAMPLES]);
    let mut filled = 0;
    while filled < WINDOW_SAMPLES {
        clock.advance_us(100_000); // 10 samples per 100 ms, well under the FIFO depth
        filled += ox
            .read_samples(&mut red[filled..], &mut ir[filled..])
            .unwrap();
    }
    estimate(&red, &ir)
}

#[test]
fn oximeter_and_estimator_on_the_model_ppg() {
    // R 0.72 -> 110 − 18 = 92 %; 88 /min.
    let e = ppg_window(Finger::Resting {
        bpm: 88.0,
        r: 0.72,
        perfusion: 0.008,
    })
    .unwrap();
    assert_eq!((e.spo2_percent, e.pulse_per_min), (92, 88));
    assert_eq!(ppg_window(Finger::Absent), Err(PpgRejection::NoFinger));
    assert_eq!(ppg_window(Finger::Moving), Err(PpgRejection::Motion));
}

#[test]
fn oximeter_fifo_overflow_is_detected() {
    let clock = ManualClock::new();
    let m = Max30102::new(&clock);
    let mut ox = PulseOximeter::new(m.bus()).unwrap();
    ox.restart().unwrap();
    clock.advance_us(500_000); // 50 samples into a 32-deep FIFO without rollover
    let (mut red, mut ir) = ([0u32; 64], [0u32; 64]);
    assert!(ox.read_samples(&mut red, &mut ir).is_err());
}

#[test]
fn hx711_and_scale_on_the_model() {
    let clock = ManualClock::new();
    let hx = Hx711::new(&clock);
    hx.set_noise_counts(0.0);
    let (dout, sck) = hx.pins();
    let mut adc = Hx711Driver::new(dout, sck, ManualDelay(&clock), Gain::A128).unwrap();
    // Settling (400 ms) outlasts one read's timeout.
    assert_eq!(adc.read_raw(150_000), Err(Hx711Error::NotReady));
    assert_eq!(adc.read_raw(400_000), Ok(EMPTY_PLATFORM_COUNTS));
    hx.set_load_g(1_000);
    assert_eq!(
        adc.read_raw(150_000),
        Ok(EMPTY_PLATFORM_COUNTS + 1_000 * COUNTS_PER_GRAM)
    );
    let mut scale = Scale::new(adc);
    hx.set_load_g(0);
    scale.tare().unwrap();
    hx.set_load_g(20_000);
    scale.calibrate(20_000).unwrap();
    hx.set_load_g(61_500);
    assert_eq!(scale.weigh_g(), Ok(61_500));
    hx.set_connected(false);
    assert!(scale.weigh_g().is_err());
}

#[test]
fn hx711_model_powers_down_when_the_clock_stays_high() {
    let clock = ManualClock::new();
    let hx = Hx711::new(&clock);
    let (dout, sck) = hx.pins();
    let mut adc = Hx711Driver::new(dout, sck, ManualDelay(&clock), Gain::A128).unwrap();
    assert!(adc.read_raw(500_000).is_ok());
    adc.power_down().unwrap();
    assert!(!adc.is_ready().unwrap());
    adc.power_up().unwrap();
    // Reset: settles again before the next conversion.
    assert_eq!(adc.read_raw(100_000), Err(Hx711Error::NotReady));
    assert!(adc.read_raw(500_000).is_ok());
}

#[test]
fn card_reader_on_the_model() {
    let rc = Mfrc522::new();
    let mut r = Reader::new(rc.bus());
    assert_eq!(r.init(), Ok(0x92));
    assert_eq!(r.poll_card(), Ok(None));
    for uid in [
        &[0x3A, 0x91, 0x5C, 0x07][..],
        &[0x04, 0x62, 0x19, 0xB2, 0x7E, 0x58, 0x80],
        &[0x04, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09],
    ] {
        rc.remove_cards();
        rc.insert_card(0, uid);
        assert_eq!(r.poll_card(), Ok(CardUid::new(uid)));
        // Halted: not read again while it stays in the field.
        assert_eq!(r.poll_card(), Ok(None));
    }
    rc.remove_cards();
    rc.insert_card(0, &[1, 2, 3, 4]);
    rc.insert_card(1, &[5, 6, 7, 8]);
    assert_eq!(r.poll_card(), Err(Mfrc522Error::Collision));
}

#[test]
fn ble_monitor_indicates_after_its_cuff_time() {
    let clock = ManualClock::new();
    let m = BleBpMonitor::new(&clock);
    m.prepare(
        Some(BpReading {
            systolic: 142,
            diastolic: 91,
            pulse: 88,
        }),
        2_000,
    );
    m.start();
    let mut buf = [0u8; 19];
    assert_eq!(m.poll(&mut buf), None);
    clock.advance_us(2_000_000);
    let n = m.poll(&mut buf).unwrap();
    let bp = parse_indication::<()>(&buf[..n]).unwrap();
    assert_eq!(
        (bp.systolic_mmhg, bp.diastolic_mmhg, bp.pulse_per_min),
        (142, 91, Some(88))
    );
}
