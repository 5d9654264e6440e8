//! Interim `make demo`: a care-home morning through the core library only.
//!
//! A kiosk measures five residents and writes framed records onto a noisy serial line
//! (one frame is corrupted on the way); the terminal reads the stream with the streaming
//! frame decoder, rejects the corrupted frame by its CRC, decodes and validates the rest,
//! prints alerts, and scores a constitution form. The end-to-end care home (QEMU kiosks,
//! C terminal, Python report) replaces this when it lands.

use tcmcare_conformance::header;
use tcmcare_core::constitution::{assess, Constitution};
use tcmcare_core::record::{Body, Record, VitalSigns};
use tcmcare_core::wire::{encode_record_frame, FrameDecoder, MAX_RECORD_FRAME_LEN};

fn main() {
    let t0 = tcmcare_conformance::T_2026_03_15_0830Z;
    let readings: [(u32, u16, u16, u16, u8, i16); 5] = [
        (1234, 128, 82, 76, 97, 3660),
        (1235, 152, 94, 88, 95, 3650),
        (1236, 118, 76, 64, 91, 3700),
        (1237, 135, 85, 102, 96, 3755),
        (1238, 110, 70, 58, 98, 3620),
    ];
    let mut line = Vec::new();
    for (i, &(resident, sys, dia, pulse, spo2, temp)) in readings.iter().enumerate() {
        let r = Record {
            header: header(7, i as u32 + 1, resident, t0 + 120 * i as u64),
            body: Body::Vitals(VitalSigns {
                systolic_mmhg: Some(sys),
                diastolic_mmhg: Some(dia),
                pulse_per_min: Some(pulse),
                spo2_percent: Some(spo2),
                temperature_centi_c: Some(temp),
                ..Default::default()
            }),
        };
        let mut frame = [0u8; MAX_RECORD_FRAME_LEN];
        let n = encode_record_frame(&r, &mut frame).expect("valid record");
        let start = line.len();
        line.extend_from_slice(&frame[..n]);
        if i == 2 {
            line[start + 8] ^= 0x10; // line noise
        }
    }
    println!(
        "kiosk 7 wrote {} frames, {} bytes on the serial line (one corrupted)",
        readings.len(),
        line.len()
    );

    let mut dec = FrameDecoder::<MAX_RECORD_FRAME_LEN>::new();
    let mut input = &line[..];
    let (mut ok, mut rejected) = (0, 0);
    while let Some(frame) = dec.feed(&mut input) {
        match frame.map(Record::decode) {
            Ok(Ok(r)) => {
                ok += 1;
                if let Body::Vitals(v) = &r.body {
                    let alerts: Vec<_> = v.alerts().names().collect();
                    println!(
                        "  record {} resident {}: {}/{} mmHg, pulse {}, SpO2 {} %, {:.2} °C  alerts: {}",
                        r.header.id,
                        r.header.resident,
                        v.systolic_mmhg.unwrap_or(0),
                        v.diastolic_mmhg.unwrap_or(0),
                        v.pulse_per_min.unwrap_or(0),
                        v.spo2_percent.unwrap_or(0),
                        v.temperature_centi_c.unwrap_or(0) as f64 / 100.0,
                        if alerts.is_empty() { "-".to_string() } else { alerts.join(", ") }
                    );
                }
            }
            Ok(Err(e)) => {
                rejected += 1;
                println!("  rejected record: {e}");
            }
            Err(e) => {
                rejected += 1;
                println!("  rejected frame: {e}");
            }
        }
    }
    println!("terminal accepted {ok}, rejected {rejected}");

    let mut answers = [1u8; 33];
    for item in [2, 3, 4, 14, 11, 12] {
        answers[item - 1] = 3;
    }
    let a = assess(&answers).expect("answers 1..=5");
    println!("constitution form of resident 1234:");
    for c in Constitution::ALL {
        println!(
            "  {} {:>2}  {}",
            c.name_zh(),
            a.score(c),
            a.verdict(c).label_zh()
        );
    }
    let primary: Vec<_> = a.primary().iter().map(|c| c.name_zh()).collect();
    println!("  primary: {}", primary.join(" "));
}
