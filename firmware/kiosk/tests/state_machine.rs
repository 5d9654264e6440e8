//! The kiosk state machine on the host: scripted sensors, a mock serial link to core's
//! sealed receiver with an in-memory store and key store, a NOR flash in RAM under the
//! outbox and another under the kiosk's seal store (provisioned as the board does).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::f64::consts::PI;
use std::rc::Rc;

use tcmcare_core::ids::{CareHomeId, DeviceId, Epoch, ResidentNumber};
use tcmcare_core::record::{Body, MeasurementSource, Record, ValidationError};
use tcmcare_core::seal::{
    open_provision_confirmation, DeviceKey, KeyId, MemoryKeyStore, OpenError, Provision,
    SealHeader, SealStore, Sealer, SealerError, DEFAULT_LEASE_BLOCK, PROVISION_SALT_LEN,
};
use tcmcare_core::sync::{
    FlashStorage, LinkSecurity, MemoryStore, ReceiverEvent, SealedReceiver, SealedReceiverEvent,
    SealedSender, SenderConfig,
};
use tcmcare_core::time::Timestamp;
use tcmcare_core::wire::{encode_frame, FrameDecoder};
use tcmcare_device_models::{RamNorFlash, PAGE_SIZE};
use tcmcare_kiosk::drivers::bp::MAX_BP_MEASUREMENT_LEN;
use tcmcare_kiosk::drivers::mfrc522::CardUid;
use tcmcare_kiosk::kiosk::{
    Event, Kiosk, KioskConfig, KioskMemory, Measurement, Peripherals, State, Step, UPLINK_MTU,
};
use tcmcare_kiosk::ppg::PpgRejection;
use tcmcare_kiosk::provision::{self, OpenOutboxError, OutboxPlan, StoredStream};
use tcmcare_kiosk::residents::ResidentTable;
use tcmcare_kiosk::seal_store::FlashSealStore;
use tcmcare_kiosk::sensors::{
    BloodPressureMonitor, CardReader, Failure, PpgSource, Thermometer, UplinkPort, WeightScale,
};

type Flash = RamNorFlash<{ 8 * PAGE_SIZE }>;
type Storage = FlashStorage<Flash>;
type SealFlash = RamNorFlash<{ 2 * PAGE_SIZE }>;
type Seal = FlashSealStore<SealFlash>;
type TestKiosk = Kiosk<'static, Storage, Seal>;
const P: u32 = PAGE_SIZE as u32;
const DEVICE: DeviceId = DeviceId(0x4B01);
const UTC: u64 = 1_740_961_800; // 2025-03-03T00:30:00Z
const KEY: [u8; 32] = [0x7C; 32];
/// The kiosk's random bytes at provisioning (a board draws them from its TRNG).
const SALT: [u8; PROVISION_SALT_LEN] = *b"\x93kiosk salt #01\x5e";
/// Another provisioning's salt.
const SALT_2: [u8; PROVISION_SALT_LEN] = *b"\x0ckiosk salt #02\xa1";

/// The key the kiosk and the terminal seal with after [`provisioned`]: the link key of
/// `KEY` and `SALT` (what `open_provision_confirmation` gives the terminal).
fn link_key() -> DeviceKey {
    tcmcare_core::seal::link_key(&DeviceKey::from_bytes(KEY), &SALT)
}

fn card(b: u8) -> CardUid {
    CardUid::new(&[b, 0x11, 0x22, 0x33]).unwrap()
}

// ---------------------------------------------------------------- fake sensors

#[derive(Default)]
struct Reader(VecDeque<CardUid>);
impl CardReader for Reader {
    fn poll_card(&mut self) -> Result<Option<CardUid>, Failure> {
        Ok(self.0.pop_front())
    }
}

struct Thermo(VecDeque<Result<i16, Failure>>);
impl Thermometer for Thermo {
    fn read_centi_c(&mut self) -> Result<i16, Failure> {
        self.0.pop_front().unwrap_or(Err(Failure::Bus))
    }
}

/// A PPG of a resting finger (R, bpm) or a finger-less sensor; 10 samples per read.
struct Ppg {
    bpm: f64,
    r: f64,
    finger: bool,
    k: u64,
}
impl PpgSource for Ppg {
    fn restart(&mut self) -> Result<(), Failure> {
        self.k = 0;
        Ok(())
    }
    fn read(&mut self, red: &mut [u32], ir: &mut [u32]) -> Result<usize, Failure> {
        let n = red.len().min(ir.len()).min(10);
        for i in 0..n {
            let t = self.k as f64 / 100.0;
            self.k += 1;
            let s = (2.0 * PI * t * self.bpm / 60.0).sin();
            if self.finger {
                ir[i] = (120_000.0 * (1.0 + 0.01 * s)) as u32;
                red[i] = (90_000.0 * (1.0 + 0.01 * self.r * s)) as u32;
            } else {
                ir[i] = 1_500;
                red[i] = 1_200;
            }
        }
        Ok(n)
    }
}

struct Scale(VecDeque<Result<u32, Failure>>);
impl WeightScale for Scale {
    fn weigh_g(&mut self) -> Result<u32, Failure> {
        self.0.pop_front().unwrap_or(Err(Failure::Timeout))
    }
}

/// A monitor answering after `after` polls with a 0x2A35 value (flags 0x04; SYS, DIA,
/// MAP NaN, pulse as SFLOATs).
struct Bp {
    reading: Option<(u16, u16, u16)>,
    polls: u32,
    after: u32,
}
impl BloodPressureMonitor for Bp {
    fn start(&mut self) -> Result<(), Failure> {
        self.polls = 0;
        Ok(())
    }
    fn poll(&mut self, buf: &mut [u8; MAX_BP_MEASUREMENT_LEN]) -> Result<Option<usize>, Failure> {
        self.polls += 1;
        match self.reading {
            Some((s, d, p)) if self.polls >= self.after => {
                let b = [
                    0x04,
                    s as u8,
                    (s >> 8) as u8,
                    d as u8,
                    (d >> 8) as u8,
                    0xFF,
                    0x07,
                    p as u8,
                    (p >> 8) as u8,
                ];
                buf[..9].copy_from_slice(&b);
                self.reading = None;
                Ok(Some(9))
            }
            _ => Ok(None),
        }
    }
}

// ---------------------------------------------------------------- mock link + terminal

struct Terminal {
    receiver: SealedReceiver<MemoryStore, MemoryKeyStore>,
    decoder: FrameDecoder<2048>,
    to_kiosk: VecDeque<u8>,
    connected: bool,
    drop_acks: u32,
    /// Flip a byte of this many sealed replies (an attacker on the cable).
    tamper_replies: u32,
    duplicates: u32,
    commits: u32,
    /// Kiosk frames the terminal rejected.
    rejected: u32,
    /// (key id, counter) of every kiosk frame, in order.
    counters: Vec<(u32, u32)>,
}

impl Terminal {
    fn new() -> Rc<RefCell<Terminal>> {
        let mut keys = MemoryKeyStore::new();
        keys.insert(DEVICE, KeyId(1), link_key());
        Rc::new(RefCell::new(Terminal {
            receiver: SealedReceiver::new(MemoryStore::new(), keys, LinkSecurity::Sealed),
            decoder: FrameDecoder::new(),
            to_kiosk: VecDeque::new(),
            connected: true,
            drop_acks: 0,
            tamper_replies: 0,
            duplicates: 0,
            commits: 0,
            rejected: 0,
            counters: Vec::new(),
        }))
    }

    /// Sends a frame to the kiosk as it is.
    fn inject(&mut self, payload: &[u8]) {
        let mut f = [0u8; 128];
        let n = encode_frame(payload, &mut f).unwrap();
        self.to_kiosk.extend(&f[..n]);
    }

    fn records(&self) -> Vec<Record> {
        self.receiver
            .store()
            .records()
            .iter()
            .map(|r| Record::decode(&r.envelope).unwrap())
            .collect()
    }
}

#[derive(Clone)]
struct Link(Rc<RefCell<Terminal>>);

impl UplinkPort for Link {
    fn write_all(&mut self, bytes: &[u8]) {
        let mut guard = self.0.borrow_mut();
        let t = &mut *guard;
        if !t.connected {
            return;
        }
        let mut input = bytes;
        let mut payloads = Vec::new();
        while let Some(r) = t.decoder.feed(&mut input) {
            payloads.push(r.expect("kiosk frames are intact").to_vec());
        }
        for mut p in payloads {
            let (h, _) = SealHeader::decode(&p).expect("kiosk frames are sealed");
            t.counters.push((h.key_id.0, h.counter));
            let mut out = [0u8; 128];
            let o = t.receiver.handle(Some(UTC), &mut p, &mut out).unwrap();
            let ev = match o.event {
                SealedReceiverEvent::Sync(ev) => ev,
                _ => {
                    t.rejected += 1;
                    continue;
                }
            };
            match ev {
                ReceiverEvent::Committed { .. } => t.commits += 1,
                ReceiverEvent::Duplicate { .. } => t.duplicates += 1,
                _ => {}
            }
            let is_ack = matches!(
                ev,
                ReceiverEvent::Committed { .. } | ReceiverEvent::Duplicate { .. }
            );
            if is_ack && t.drop_acks > 0 {
                t.drop_acks -= 1;
                continue;
            }
            if o.reply_len > 0 {
                if is_ack && t.tamper_replies > 0 {
                    t.tamper_replies -= 1;
                    let last = o.reply_len - 1;
                    out[last] ^= 0x01; // a bit of the tag
                }
                t.inject(&out[..o.reply_len]);
            }
        }
    }
    fn read_available(&mut self, buf: &mut [u8]) -> usize {
        let mut t = self.0.borrow_mut();
        if !t.connected {
            t.to_kiosk.clear();
            return 0;
        }
        let mut n = 0;
        while n < buf.len() {
            match t.to_kiosk.pop_front() {
                Some(b) => {
                    buf[n] = b;
                    n += 1;
                }
                None => break,
            }
        }
        n
    }
}

// ---------------------------------------------------------------- harness

type Hw = Peripherals<Reader, Thermo, Ppg, Scale, Bp, Link>;

fn provision_of(device: DeviceId, epoch: u32, key_id: u32, key: [u8; 32]) -> Provision {
    Provision {
        device,
        epoch: Epoch(epoch),
        key_id: KeyId(key_id),
        key: DeviceKey::from_bytes(key),
    }
}

fn provision_payload(device: DeviceId, epoch: u32, key_id: u32, key: [u8; 32]) -> Vec<u8> {
    let mut b = [0u8; 64];
    let n = provision_of(device, epoch, key_id, key)
        .encode(&mut b)
        .unwrap();
    b[..n].to_vec()
}

/// A seal store provisioned as the board does in provisioning mode: device 0x4B01,
/// epoch 1, key 1.
fn provisioned() -> SealFlash {
    let store = FlashSealStore::new(SealFlash::new(), 0..2 * P).unwrap();
    let mut payload = provision_payload(DEVICE, 1, 1, KEY);
    let (sealer, _, confirmation) =
        provision::provision(store, &mut payload, true, None, None, Some(&SALT)).unwrap();
    // The terminal keeps the key the kiosk proves it holds.
    let confirmed =
        open_provision_confirmation(&provision_of(DEVICE, 1, 1, KEY), confirmation.as_bytes())
            .unwrap();
    assert_eq!(confirmed.link_key, link_key());
    sealer.into_store().into_flash()
}

fn sender(flash: Flash, seal: SealFlash, boot: u32) -> SealedSender<Storage, Seal> {
    let store = FlashSealStore::new(seal, 0..2 * P).unwrap();
    let sealer = Sealer::resume(store, DEFAULT_LEASE_BLOCK).unwrap();
    let storage = FlashStorage::new(flash, 4 * P..8 * P, 2 * P..4 * P).unwrap();
    let (outbox, _) = provision::open_outbox(storage, sealer.device(), sealer.epoch()).unwrap();
    let cfg = SenderConfig {
        mtu: UPLINK_MTU,
        initial_rto_ms: 500,
        ..SenderConfig::default()
    };
    SealedSender::new(outbox, cfg, boot, false, sealer).unwrap()
}

/// The flash of a kiosk after a power cut: RAM is gone, outbox and seal store stay.
fn power_cut(k: TestKiosk) -> (Flash, SealFlash) {
    let (outbox, sealer) = k.into_sender().into_parts();
    (
        outbox.into_storage().into_flash(),
        sealer.into_store().into_flash(),
    )
}

fn table() -> ResidentTable {
    let mut t = ResidentTable::new(CareHomeId(31));
    t.provision(card(1), ResidentNumber(1001)).unwrap();
    t.provision(card(2), ResidentNumber(1002)).unwrap();
    t
}

fn kiosk_on(flash: Flash, seal: SealFlash, boot: u32) -> TestKiosk {
    let cfg = KioskConfig {
        bp_timeout_ms: 3_000,
        ..KioskConfig::default()
    };
    // Firmware keeps these in statics; a test leaks them.
    let table = Box::leak(Box::new(table()));
    let mem = Box::leak(Box::new(KioskMemory::new()));
    Kiosk::new(cfg, sender(flash, seal, boot), boot, table, mem)
}

/// A newly provisioned kiosk with an empty outbox.
fn kiosk(flash: Flash, boot: u32) -> TestKiosk {
    kiosk_on(flash, provisioned(), boot)
}

fn good_hw(link: Link) -> Hw {
    Peripherals {
        reader: Reader::default(),
        thermometer: Some(Thermo(VecDeque::from([Ok(3661)]))),
        oximeter: Some(Ppg {
            bpm: 72.0,
            r: 0.6,
            finger: true,
            k: 0,
        }),
        scale: Some(Scale(VecDeque::from([Ok(61_500)]))),
        bp_monitor: Some(Bp {
            reading: Some((128, 82, 70)),
            polls: 0,
            after: 50,
        }),
        uplink: link,
    }
}

/// Polls every ms from `*now` until `until` holds or `limit_ms` pass; returns events.
fn run(
    k: &mut TestKiosk,
    hw: &mut Hw,
    now: &mut u64,
    limit_ms: u64,
    until: impl Fn(&TestKiosk, &[Event]) -> bool,
) -> Vec<Event> {
    let mut events = Vec::new();
    let end = *now + limit_ms;
    while *now < end {
        k.poll(*now, hw);
        while let Some(e) = k.next_event() {
            events.push(e);
        }
        *now += 1;
        if until(k, &events) {
            break;
        }
    }
    events
}

fn transitions(events: &[Event]) -> Vec<State> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Transition { to, .. } => Some(*to),
            _ => None,
        })
        .collect()
}

fn vitals(r: &Record) -> tcmcare_core::record::VitalSigns {
    match r.body {
        Body::Vitals(v) => v,
        _ => panic!("not vitals"),
    }
}

// ---------------------------------------------------------------- tests

#[test]
fn full_visit_is_validated_stored_uplinked_and_acked() {
    let term = Terminal::new();
    let mut hw = good_hw(Link(term.clone()));
    let mut k = kiosk(Flash::new(), 1);
    let mut now = 0;
    // Link up first: hello, welcome (sets the clock).
    let ev = run(&mut k, &mut hw, &mut now, 100, |_, e| {
        e.iter().any(|e| matches!(e, Event::ClockSet(_)))
    });
    assert!(ev.contains(&Event::ClockSet(UTC)));
    hw.reader.0.push_back(card(1));
    let ev = run(&mut k, &mut hw, &mut now, 20_000, |k, e| {
        k.state() == State::Idle && e.iter().any(|e| matches!(e, Event::Acked { .. }))
    });
    assert_eq!(
        transitions(&ev),
        vec![
            State::Identified,
            State::Measuring(Step::Temperature),
            State::Measuring(Step::Oximetry),
            State::Measuring(Step::Weight),
            State::Measuring(Step::BloodPressure),
            State::Storing,
            State::Uplinking,
            State::Idle,
        ]
    );
    assert!(ev.contains(&Event::Measured(Measurement::Oximetry {
        spo2: 95,
        pulse: 72
    })));
    // Records are in the outbox in the poll after the last measurement (1 ms later).
    let stored_at = ev
        .iter()
        .position(|e| matches!(e, Event::VisitStored { .. }));
    let (records, end) = match stored_at.map(|i| ev[i]) {
        Some(Event::VisitStored {
            records,
            measured_end_ms,
        }) => (records, measured_end_ms),
        _ => panic!("no VisitStored"),
    };
    assert_eq!(records, 2);
    let bp_measured = ev
        .iter()
        .position(|e| matches!(e, Event::Measured(Measurement::BloodPressure { .. })))
        .unwrap();
    assert!(bp_measured < stored_at.unwrap());
    assert!(end > 0);
    let t = term.borrow();
    let recs = t.records();
    assert_eq!(recs.len(), 2);
    let (kv, bt) = (vitals(&recs[0]), vitals(&recs[1]));
    assert_eq!(kv.source, MeasurementSource::KioskSensor);
    assert_eq!(
        (
            kv.temperature_centi_c,
            kv.spo2_percent,
            kv.pulse_per_min,
            kv.weight_g
        ),
        (Some(3661), Some(95), Some(72), Some(61_500))
    );
    assert_eq!(bt.source, MeasurementSource::Bluetooth);
    assert_eq!(
        (bt.systolic_mmhg, bt.diastolic_mmhg, bt.pulse_per_min),
        (Some(128), Some(82), Some(70))
    );
    assert_eq!(recs[0].header.resident.number, ResidentNumber(1001));
    assert_eq!((recs[0].header.id.seq.0, recs[1].header.id.seq.0), (1, 2));
    // The clock came from the welcome: the visit is dated in UTC.
    assert!(matches!(recs[0].header.time, Timestamp::Utc(t) if t.unix() >= UTC));
    assert!(k.sender().outbox().is_empty());
}

#[test]
fn failed_sensors_do_not_block_the_others() {
    let term = Terminal::new();
    let mut hw = good_hw(Link(term.clone()));
    // Thermometer: PEC error then a bus error then PEC again: 3 attempts, given up.
    hw.thermometer = Some(Thermo(VecDeque::from([
        Err(Failure::Checksum),
        Err(Failure::Bus),
        Err(Failure::Checksum),
    ])));
    // No finger: both PPG windows rejected.
    hw.oximeter.as_mut().unwrap().finger = false;
    // Scale absent; BP monitor never answers.
    hw.scale = None;
    hw.bp_monitor.as_mut().unwrap().reading = None;
    // Nothing is measured at all: the visit ends without a record.
    let mut k = kiosk(Flash::new(), 1);
    let mut now = 0;
    hw.reader.0.push_back(card(2));
    let ev = run(&mut k, &mut hw, &mut now, 30_000, |k, e| {
        k.state() == State::Idle && e.len() > 3
    });
    let fails: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            Event::MeasureFailed {
                step,
                failure,
                retry,
            } => Some((*step, *failure, *retry)),
            _ => None,
        })
        .collect();
    assert_eq!(
        fails,
        vec![
            (Step::Temperature, Failure::Checksum, true),
            (Step::Temperature, Failure::Bus, true),
            (Step::Temperature, Failure::Checksum, false),
            (Step::Oximetry, Failure::Ppg(PpgRejection::NoFinger), true),
            (Step::Oximetry, Failure::Ppg(PpgRejection::NoFinger), false),
            (Step::BloodPressure, Failure::Timeout, false),
        ]
    );
    assert!(ev.contains(&Event::Skipped(Step::Weight)));
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::VisitStored { records: 0, .. })));
    assert_eq!(transitions(&ev).last(), Some(&State::Idle));
    assert!(term.borrow().records().is_empty());
}

#[test]
fn partial_visit_keeps_what_was_measured() {
    let term = Terminal::new();
    let mut hw = good_hw(Link(term.clone()));
    hw.oximeter.as_mut().unwrap().finger = false;
    hw.bp_monitor = None;
    let mut k = kiosk(Flash::new(), 1);
    let mut now = 0;
    hw.reader.0.push_back(card(1));
    run(&mut k, &mut hw, &mut now, 30_000, |k, e| {
        k.state() == State::Idle && e.iter().any(|e| matches!(e, Event::Acked { .. }))
    });
    let recs = term.borrow().records();
    assert_eq!(recs.len(), 1);
    let v = vitals(&recs[0]);
    assert_eq!(
        (v.temperature_centi_c, v.spo2_percent, v.weight_g),
        (Some(3661), None, Some(61_500))
    );
}

#[test]
fn value_core_rejects_is_dropped_with_its_reason() {
    // A forehead reading of 25.00 °C is outside core's 30..45 °C: dropped, the weight
    // is kept.
    let term = Terminal::new();
    let mut hw = good_hw(Link(term.clone()));
    hw.thermometer = Some(Thermo(VecDeque::from([Ok(2500)])));
    hw.oximeter = None;
    hw.bp_monitor = None;
    let mut k = kiosk(Flash::new(), 1);
    let mut now = 0;
    hw.reader.0.push_back(card(1));
    let ev = run(&mut k, &mut hw, &mut now, 30_000, |k, e| {
        k.state() == State::Idle && e.iter().any(|e| matches!(e, Event::Acked { .. }))
    });
    assert!(ev.contains(&Event::ValueDropped(
        ValidationError::TemperatureOutOfRange(2500)
    )));
    let recs = term.borrow().records();
    assert_eq!(recs.len(), 1);
    assert_eq!(vitals(&recs[0]).temperature_centi_c, None);
    assert_eq!(vitals(&recs[0]).weight_g, Some(61_500));
}

#[test]
fn unknown_card_starts_no_visit() {
    let term = Terminal::new();
    let mut hw = good_hw(Link(term.clone()));
    let mut k = kiosk(Flash::new(), 1);
    let mut now = 0;
    hw.reader.0.push_back(card(9));
    let ev = run(&mut k, &mut hw, &mut now, 1_000, |_, _| false);
    assert!(ev.contains(&Event::UnknownCard));
    assert!(transitions(&ev).is_empty());
    assert_eq!(k.state(), State::Idle);
}

#[test]
fn clockless_visit_is_dated_by_boot_and_uptime() {
    let term = Terminal::new();
    term.borrow_mut().connected = false;
    let mut hw = good_hw(Link(term.clone()));
    hw.bp_monitor = None;
    let mut k = kiosk(Flash::new(), 3);
    let mut now = 5_000;
    hw.reader.0.push_back(card(1));
    run(&mut k, &mut hw, &mut now, 30_000, |k, _| {
        k.state() == State::Idle
    });
    term.borrow_mut().connected = true;
    run(&mut k, &mut hw, &mut now, 5_000, |k, _| {
        k.sender().outbox().is_empty()
    });
    let recs = term.borrow().records();
    assert_eq!(recs.len(), 1);
    assert_eq!(
        recs[0].header.time,
        Timestamp::Unknown {
            boot: 3,
            uptime_s: 5
        }
    );
}

/// Power is cut after the visit's records are pushed and before any ack (the link is
/// down): after the restart the outbox still holds them, they are sent once.
#[test]
fn power_loss_between_push_and_ack_loses_nothing() {
    let term = Terminal::new();
    term.borrow_mut().connected = false;
    let mut hw = good_hw(Link(term.clone()));
    let mut k = kiosk(Flash::new(), 1);
    let mut now = 0;
    hw.reader.0.push_back(card(1));
    run(&mut k, &mut hw, &mut now, 30_000, |_, e| {
        e.iter().any(|e| matches!(e, Event::VisitStored { .. }))
    });
    assert_eq!(k.sender().outbox().len(), 2);
    // Hellos went unanswered: counters of the first lease were used, never more than it.
    assert!((2..=65).contains(&k.sender().sealer().next_counter()));
    // Power cut: RAM state is gone, the flash stays.
    let (flash, seal) = power_cut(k);
    term.borrow_mut().connected = true;
    let mut k = kiosk_on(flash, seal, 2);
    assert_eq!(k.sender().outbox().len(), 2);
    // Counting continues after the persisted lease (counters 1..=64, core's
    // DEFAULT_LEASE_BLOCK): the rest of the block is skipped, none is reused.
    assert_eq!(k.sender().sealer().next_counter(), 65);
    let mut now = 0;
    run(&mut k, &mut hw, &mut now, 5_000, |k, _| {
        k.sender().outbox().is_empty()
    });
    let t = term.borrow();
    let recs = t.records();
    assert_eq!(recs.len(), 2);
    assert_eq!((recs[0].header.id.seq.0, recs[1].header.id.seq.0), (1, 2));
    // The epoch survived the restart (the outbox resumed, it did not start a new one).
    assert_eq!(recs[0].header.id.epoch, Epoch(1));
}

/// The terminal commits the records but its ack is lost; power is cut before the
/// resend: after the restart the kiosk resends, the terminal recognises the duplicates
/// and stores nothing twice.
#[test]
fn power_loss_after_a_lost_ack_duplicates_nothing() {
    let term = Terminal::new();
    term.borrow_mut().drop_acks = 1;
    let mut hw = good_hw(Link(term.clone()));
    let mut k = kiosk(Flash::new(), 1);
    let mut now = 0;
    run(&mut k, &mut hw, &mut now, 100, |_, e| {
        e.iter().any(|e| matches!(e, Event::Welcomed { .. }))
    });
    hw.reader.0.push_back(card(1));
    run(&mut k, &mut hw, &mut now, 30_000, |_, _| {
        term.borrow().commits >= 1
    });
    assert_eq!(term.borrow().records().len(), 2);
    assert_eq!(k.sender().outbox().len(), 2, "the ack was lost");
    let before = *term.borrow().counters.last().unwrap();
    let (flash, seal) = power_cut(k);
    let mut k = kiosk_on(flash, seal, 2);
    let mut now = 0;
    let ev = run(&mut k, &mut hw, &mut now, 5_000, |k, _| {
        k.sender().outbox().is_empty()
    });
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::Welcomed { watermark: 2 })
            || matches!(e, Event::Acked { watermark: 2 })));
    assert_eq!(term.borrow().records().len(), 2);
    // The terminal took every frame after the restart: its counters went on from the
    // next lease.
    let t = term.borrow();
    let after = t
        .counters
        .iter()
        .skip_while(|c| **c != before)
        .nth(1)
        .unwrap();
    assert_eq!(*after, (1, 65));
    assert_eq!(t.rejected, 0);
}

#[test]
fn retransmission_recovers_a_dropped_ack() {
    let term = Terminal::new();
    let mut hw = good_hw(Link(term.clone()));
    let mut k = kiosk(Flash::new(), 1);
    let mut now = 0;
    run(&mut k, &mut hw, &mut now, 100, |_, e| {
        e.iter().any(|e| matches!(e, Event::Welcomed { .. }))
    });
    term.borrow_mut().drop_acks = 1;
    hw.reader.0.push_back(card(1));
    let ev = run(&mut k, &mut hw, &mut now, 40_000, |k, e| {
        k.sender().outbox().is_empty() && e.iter().any(|e| matches!(e, Event::Acked { .. }))
    });
    assert!(k.sender().outbox().is_empty());
    assert!(term.borrow().duplicates >= 1, "the batch was resent");
    assert_eq!(term.borrow().records().len(), 2);
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::Acked { watermark: 2 })));
}

#[test]
fn ack_wait_is_bounded_and_records_stay_queued() {
    let term = Terminal::new();
    term.borrow_mut().connected = false;
    let mut hw = good_hw(Link(term.clone()));
    hw.bp_monitor = None;
    let mut k = kiosk(Flash::new(), 1);
    let mut now = 0;
    hw.reader.0.push_back(card(1));
    let ev = run(&mut k, &mut hw, &mut now, 60_000, |k, e| {
        k.state() == State::Idle && e.contains(&Event::AckTimeout)
    });
    assert!(ev.contains(&Event::AckTimeout));
    assert_eq!(k.sender().outbox().len(), 1);
    // A second resident can measure meanwhile.
    hw.thermometer = Some(Thermo(VecDeque::from([Ok(3650)])));
    hw.scale = Some(Scale(VecDeque::from([Ok(50_000)])));
    hw.oximeter = None;
    hw.reader.0.push_back(card(2));
    run(&mut k, &mut hw, &mut now, 60_000, |k, e| {
        k.state() == State::Idle && e.contains(&Event::AckTimeout)
    });
    assert_eq!(k.sender().outbox().len(), 2);
    term.borrow_mut().connected = true;
    run(&mut k, &mut hw, &mut now, 10_000, |k, _| {
        k.sender().outbox().is_empty()
    });
    let recs = term.borrow().records();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1].header.resident.number, ResidentNumber(1002));
}

// ---------------------------------------------------------------- sealing

#[test]
fn every_kiosk_frame_is_sealed_under_the_provisioned_key() {
    let term = Terminal::new();
    let mut hw = good_hw(Link(term.clone()));
    let mut k = kiosk(Flash::new(), 1);
    let mut now = 0;
    hw.reader.0.push_back(card(1));
    run(&mut k, &mut hw, &mut now, 30_000, |k, e| {
        k.state() == State::Idle && e.iter().any(|e| matches!(e, Event::Acked { .. }))
    });
    let t = term.borrow();
    assert_eq!(t.records().len(), 2);
    assert_eq!(t.rejected, 0);
    // Key 1, counters 1, 2, 3... in order.
    let expect: Vec<(u32, u32)> = (1..=t.counters.len() as u32).map(|c| (1, c)).collect();
    assert_eq!(t.counters, expect);
}

#[test]
fn a_tampered_reply_is_rejected_and_the_stream_completes() {
    let term = Terminal::new();
    let mut hw = good_hw(Link(term.clone()));
    let mut k = kiosk(Flash::new(), 1);
    let mut now = 0;
    run(&mut k, &mut hw, &mut now, 100, |_, e| {
        e.iter().any(|e| matches!(e, Event::Welcomed { .. }))
    });
    term.borrow_mut().tamper_replies = 1;
    hw.reader.0.push_back(card(1));
    let ev = run(&mut k, &mut hw, &mut now, 40_000, |k, e| {
        k.sender().outbox().is_empty() && e.iter().any(|e| matches!(e, Event::Acked { .. }))
    });
    assert!(ev.contains(&Event::Rejected(OpenError::BadTag)));
    assert_eq!(k.rejected_frames(), 1);
    // The altered ack changed nothing: the batch was resent and acknowledged again.
    assert!(term.borrow().duplicates >= 1);
    assert_eq!(term.borrow().records().len(), 2);
    assert!(k.sender().outbox().is_empty());
}

#[test]
fn unsealed_and_replayed_replies_are_rejected() {
    let term = Terminal::new();
    let mut hw = good_hw(Link(term.clone()));
    let mut k = kiosk(Flash::new(), 1);
    let mut now = 0;
    // A plain welcome (variant 1 of core's messages is not sealed): refused.
    term.borrow_mut().inject(&[0x01, 0x00, 0x00]);
    let ev = run(&mut k, &mut hw, &mut now, 100, |_, e| {
        e.iter().any(|e| matches!(e, Event::Welcomed { .. }))
    });
    assert!(ev.contains(&Event::Rejected(OpenError::UnsealedRefused)));
    assert_eq!(k.rejected_frames(), 1);
}

#[test]
fn provision_outside_provisioning_mode_is_refused_and_the_key_stays() {
    let term = Terminal::new();
    let mut hw = good_hw(Link(term.clone()));
    let mut k = kiosk(Flash::new(), 1);
    let mut now = 0;
    // A Provision with another key, sent to a kiosk in normal mode.
    term.borrow_mut()
        .inject(&provision_payload(DEVICE, 1, 2, [0x99; 32]));
    hw.reader.0.push_back(card(1));
    let ev = run(&mut k, &mut hw, &mut now, 30_000, |k, e| {
        k.state() == State::Idle && e.iter().any(|e| matches!(e, Event::Acked { .. }))
    });
    assert!(ev.contains(&Event::ProvisionRefused));
    assert_eq!(k.sender().sealer().key_id(), KeyId(1));
    // The terminal knows only key 1 and took everything.
    let t = term.borrow();
    assert_eq!(t.records().len(), 2);
    assert_eq!(t.rejected, 0);
    assert!(t.counters.iter().all(|(key, _)| *key == 1));
    drop(t);
    // And the flash still holds key 1.
    let (_, seal) = power_cut(k);
    let mut store = FlashSealStore::new(seal, 0..2 * P).unwrap();
    let state = store.load().unwrap().unwrap();
    assert_eq!((state.key_id, state.key), (KeyId(1), link_key()));
}

#[test]
fn an_unprovisioned_kiosk_has_no_sealer() {
    let store = FlashSealStore::new(SealFlash::new(), 0..2 * P).unwrap();
    assert!(matches!(
        Sealer::resume(store, DEFAULT_LEASE_BLOCK),
        Err(SealerError::NotProvisioned)
    ));
}

/// Re-provisioned with a new epoch: an outbox with records still waiting is kept as it
/// is (the kiosk does not sync); once everything is acknowledged it starts a new stream.
#[test]
fn a_new_epoch_never_drops_unacknowledged_records() {
    let term = Terminal::new();
    term.borrow_mut().connected = false;
    let mut hw = good_hw(Link(term.clone()));
    hw.bp_monitor = None;
    let mut k = kiosk(Flash::new(), 1);
    let mut now = 0;
    hw.reader.0.push_back(card(1));
    run(&mut k, &mut hw, &mut now, 30_000, |_, e| {
        e.iter().any(|e| matches!(e, Event::VisitStored { .. }))
    });
    let (flash, seal) = power_cut(k);
    let waiting = StoredStream {
        device: DEVICE,
        epoch: Epoch(1),
        pending: 1,
    };
    // Provisioning epoch 2 now is refused...
    let store = FlashSealStore::new(seal, 0..2 * P).unwrap();
    let mut storage = FlashStorage::new(flash, 4 * P..8 * P, 2 * P..4 * P).unwrap();
    let stored = provision::stored_stream(&mut storage).unwrap();
    assert_eq!(stored, Some(waiting));
    let mut p2 = provision_payload(DEVICE, 2, 2, [0x21; 32]);
    assert_eq!(
        provision::provision(store, &mut p2, true, stored, None, Some(&SALT_2)).err(),
        Some(provision::ProvisionStatus::OutboxPending)
    );
    // ... and a sealer of epoch 2 (however it came about) does not open that outbox.
    assert_eq!(
        provision::open_outbox(storage, DEVICE, Epoch(2)).err(),
        Some(OpenOutboxError::Pending(waiting))
    );
}

#[test]
fn a_new_epoch_starts_a_new_stream_once_everything_is_acknowledged() {
    let term = Terminal::new();
    let mut hw = good_hw(Link(term.clone()));
    hw.bp_monitor = None;
    let mut k = kiosk(Flash::new(), 1);
    let mut now = 0;
    hw.reader.0.push_back(card(1));
    run(&mut k, &mut hw, &mut now, 30_000, |k, e| {
        k.state() == State::Idle && e.iter().any(|e| matches!(e, Event::Acked { .. }))
    });
    let (flash, seal) = power_cut(k);
    let mut storage = FlashStorage::new(flash, 4 * P..8 * P, 2 * P..4 * P).unwrap();
    let stored = provision::stored_stream(&mut storage).unwrap();
    let store = FlashSealStore::new(seal, 0..2 * P).unwrap();
    let mut p2 = provision_payload(DEVICE, 2, 2, [0x21; 32]);
    let (sealer, _, _) =
        provision::provision(store, &mut p2, true, stored, None, Some(&SALT_2)).unwrap();
    let (outbox, plan) = provision::open_outbox(storage, sealer.device(), sealer.epoch()).unwrap();
    assert_eq!(
        plan,
        OutboxPlan::Restart {
            previous: StoredStream {
                device: DEVICE,
                epoch: Epoch(1),
                pending: 0
            }
        }
    );
    assert_eq!(
        (outbox.epoch(), outbox.next_seq().unwrap().0),
        (Epoch(2), 1)
    );
}
