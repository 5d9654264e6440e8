//! The sensor kiosk on QEMU `mps2-an386` (Cortex-M4F).
//!
//! The kiosk library's real drivers run against register-level sensor models; the
//! CMSDK UART0 is the uplink to the terminal (QEMU bridges it to a host TCP socket); the
//! outbox lives on a RAM-backed NOR flash that survives the simulated power cuts
//! (system resets); defmt goes out over semihosting. A scripted morning of visits
//! ([`world`]) drives the sensors; when every record is acknowledged the board reports
//! its peak stack and exits through semihosting.
//!
//! The kiosk's identity and key come from provisioning: with the provisioning button
//! held at power-up (semihosting argument `--provision`) the board waits for a
//! `Provision` frame on UART0, derives its link key with a salt from `--entropy` (this
//! QEMU machine has no TRNG), persists it in its seal store, answers with core's
//! provisioning confirmation (or a refusal, see `tcmcare_kiosk::provision`) and exits
//! (code 0). A normal boot resumes the sealer from the seal store and syncs over sealed
//! frames; an unprovisioned kiosk logs so and exits with code 3.
//!
//! The semihosting command line ([`args`]) picks the day to play and can mirror the
//! flash to a host file so the outbox and the seal state survive the QEMU process itself
//! being killed (`make demo` does that to one of its two kiosks).
//!
//! Exit codes: 0 day done / provisioned, 1 board error (command line, flash, config),
//! 2 panic, 3 not provisioned, 4 hard fault, 5 identity conflict (`--device` differs
//! from the provisioned id, or the outbox holds unacknowledged records of another
//! device or epoch, or a newer epoch).
#![no_std]
#![no_main]
#![deny(unsafe_code)]

mod args;
mod hw;
mod world;

use cortex_m_rt::{entry, exception, ExceptionFrame};
use defmt_semihosting as _;

use static_cell::ConstStaticCell;
use tcmcare_core::ids::{CareHomeId, DeviceId, ResidentNumber};
use tcmcare_core::seal::{Sealer, SealerError, DEFAULT_LEASE_BLOCK, MAX_PROVISION_CONFIRM_LEN};
use tcmcare_core::sync::{FlashStorage, SealedSender, SenderConfig};
use tcmcare_core::wire::{encode_frame, max_frame_len, FrameDecoder};
use tcmcare_device_models::scenario::{CALIBRATION_MASS_G, CARE_HOME};
use tcmcare_device_models::{BleBpMonitor, Hx711, Max30102, Mfrc522, Mlx90614, PushButton};
use tcmcare_kiosk::drivers::bp::{BloodPressureLink, MAX_BP_MEASUREMENT_LEN};
use tcmcare_kiosk::drivers::hx711::{Gain, Hx711 as Hx711Driver};
use tcmcare_kiosk::drivers::mfrc522::{CardUid, Mfrc522 as Mfrc522Driver};
use tcmcare_kiosk::drivers::oximeter::PulseOximeter;
use tcmcare_kiosk::drivers::scale::Scale;
use tcmcare_kiosk::drivers::thermometer::BodyThermometer;
use tcmcare_kiosk::kiosk::{
    Event, Kiosk, KioskConfig, KioskMemory, Peripherals, DOWNLINK_FRAME_LEN, UPLINK_MTU,
};
use tcmcare_kiosk::persist;
use tcmcare_kiosk::provision::{self, OpenOutboxError, OutboxPlan, ProvisionStatus};
use tcmcare_kiosk::residents::ResidentTable;
use tcmcare_kiosk::seal_store::FlashSealStore;
use tcmcare_kiosk::sensors::UplinkPort;
use zeroize::Zeroizing;

use args::{BoardArgs, ENTROPY_LEN};
use hw::{Attached, BoardClock, BoardDelay, HostImage, PsramFlash, Uart0, WorldMemory, FLASH_PAGE};
use world::{Action, Models, World};

/// Flash layout (pages of 4 KiB): boot counters, outbox meta, outbox queue, seal state.
const P: u32 = FLASH_PAGE as u32;
const COUNTERS: core::ops::Range<u32> = 0..2 * P;
const OUTBOX_META: core::ops::Range<u32> = 2 * P..4 * P;
const OUTBOX_QUEUE: core::ops::Range<u32> = 4 * P..8 * P;
const SEAL: core::ops::Range<u32> = 8 * P..10 * P;

/// Exit code: a board error (command line, flash, configuration).
const EXIT_ERROR: i32 = 1;
/// Exit code: a panic.
const EXIT_PANIC: i32 = 2;
/// Exit code: the kiosk is not provisioned.
const EXIT_NOT_PROVISIONED: i32 = 3;
/// Exit code: a hard fault.
const EXIT_FAULT: i32 = 4;
/// Exit code: identity conflict (`--device`, or the outbox belongs to another stream).
const EXIT_IDENTITY: i32 = 5;
/// The card table (static RAM; the size report counts it).
static TABLE: ConstStaticCell<ResidentTable> = ConstStaticCell::new(ResidentTable::unassigned());
/// The kiosk's PPG window and frame buffers (static RAM).
static MEMORY: ConstStaticCell<KioskMemory> = ConstStaticCell::new(KioskMemory::new());

/// A welcome is taken if it answers a hello sent at most this long before, ms. Core's
/// default (3 s) suits a real UART; under QEMU's `-icount shift=5,sleep=off` simulated
/// time is not tied to the host's: while the core sleeps in `wfi` it jumps straight to
/// the next timer (a hello resend backs off to a minute), so a welcome that took a few
/// host milliseconds can arrive a minute of simulated time after its hello. The bound
/// is therefore above the longest resend interval (core's `DEFAULT_MAX_RTO_MS`, 60 s)
/// plus a visit; only the simulated board uses it.
const QEMU_MAX_HELLO_AGE_MS: u64 = 300_000;

/// Simulated time after which the board gives up, ms.
const MORNING_TIMEOUT_MS: u64 = 600_000;

/// The BLE stack of this board: the monitor model's indications.
struct BleLink<'a, 'c>(&'a BleBpMonitor<'c>);

impl BloodPressureLink for BleLink<'_, '_> {
    type Error = core::convert::Infallible;
    fn start(&mut self) -> Result<(), Self::Error> {
        self.0.start();
        Ok(())
    }
    fn poll_indication(
        &mut self,
        buf: &mut [u8; MAX_BP_MEASUREMENT_LEN],
    ) -> Result<Option<usize>, Self::Error> {
        Ok(self.0.poll(buf))
    }
}

fn fail(what: &str) -> ! {
    defmt::error!("board: {=str}", what);
    hw::exit(EXIT_ERROR)
}

/// Simulated time after which provisioning mode gives up, ms (a real kiosk waits until
/// it is switched off; the QEMU board must end).
const PROVISION_TIMEOUT_MS: u64 = 3_600_000;

/// Provisioning mode (the button was held at power-up): waits for a `Provision` frame on
/// UART0, has core derive the link key with the salt `entropy` (`--entropy`: this QEMU
/// machine has no TRNG; without it every `Provision` is refused with `0x08`) and persist
/// it, answers with the confirmation (or `[0xA2, status]`) framed, and exits with code 0
/// once provisioned. Frames that are not a `Provision` are ignored; after a refusal it
/// keeps waiting.
fn provisioning_mode(
    mut uart: Uart0,
    mut store: FlashSealStore<PsramFlash>,
    expect: Option<u32>,
    entropy: Option<[u8; ENTROPY_LEN]>,
) -> ! {
    defmt::info!("board: provisioning button held at power-up: provisioning mode, waiting for a Provision frame on UART0");
    if entropy.is_none() {
        defmt::error!("board: no entropy for the provisioning salt: this QEMU board has no random number generator, start it with --entropy and 32 hex digits of fresh random bytes; every Provision is refused (status 0x08)");
    }
    let mut reader = FrameDecoder::<DOWNLINK_FRAME_LEN>::new();
    // Raw line bytes hold the key (COBS-encoded): wiped when dropped, as the reader's.
    let mut rx = Zeroizing::new([0u8; 32]);
    loop {
        if hw::now_ms() > PROVISION_TIMEOUT_MS {
            fail("provisioning mode: no Provision frame arrived");
        }
        let n = uart.read_available(&mut rx[..]);
        let mut input = rx.get(..n).unwrap_or(&[]);
        while let Some(frame) = reader.feed_mut(&mut input) {
            let payload = match frame {
                Ok(p) => p,
                Err(e) => {
                    defmt::warn!("board: provisioning: bad frame ignored: {}", e);
                    continue;
                }
            };
            if !provision::is_provision(payload) {
                defmt::warn!("board: provisioning: frame ignored (not a Provision)");
                continue;
            }
            // What the outbox holds decides whether a new identity is safe.
            let stored = FlashStorage::new(PsramFlash, OUTBOX_QUEUE, OUTBOX_META)
                .ok()
                .and_then(|mut s| provision::stored_stream(&mut s).ok());
            let answer = match stored {
                None => {
                    defmt::error!("board: provisioning: the outbox cannot be read");
                    Err(ProvisionStatus::StoreFailed)
                }
                Some(stored) => {
                    let button_held = true; // provisioning mode is entered only so
                    provision::provision(
                        &mut store,
                        payload,
                        button_held,
                        stored,
                        expect.map(DeviceId),
                        entropy.as_ref(),
                    )
                    .map(|(_, _, confirmation)| confirmation)
                }
            };
            let refusal;
            let reply = match &answer {
                Ok(confirmation) => confirmation.as_bytes(),
                Err(status) => {
                    refusal = provision::ack_payload(*status);
                    &refusal[..]
                }
            };
            let mut f = [0u8; max_frame_len(MAX_PROVISION_CONFIRM_LEN)];
            match encode_frame(reply, &mut f) {
                Ok(m) => uart.write_all(f.get(..m).unwrap_or(&[])),
                Err(_) => fail("provisioning answer"),
            }
            uart.flush();
            if answer.is_ok() {
                defmt::info!(
                    "board: provisioning confirmation sent; restart the kiosk without the button"
                );
                hw::exit(0);
            }
        }
        cortex_m::asm::wfi();
    }
}

#[entry]
fn main() -> ! {
    let Some(cp) = cortex_m::Peripherals::take() else {
        fail("peripherals taken")
    };
    hw::start_systick(cp.SYST);
    let uart = Uart0::init();
    let args = match BoardArgs::read() {
        Ok(a) => a,
        Err(e) => {
            defmt::error!("board: command line: {}", e);
            hw::exit(EXIT_ERROR)
        }
    };
    defmt::info!("board: cohort {=str}", args.cohort.name);
    if let Some(path) = args.flash_path() {
        match HostImage::attach(path) {
            Ok(Attached::Loaded) => defmt::info!("board: flash image loaded from the host file"),
            Ok(Attached::Created) => defmt::info!("board: flash image file created"),
            Err(e) => {
                defmt::error!("board: flash image file: {}", e);
                hw::exit(EXIT_ERROR)
            }
        }
    }

    let mut flash = PsramFlash;
    let _cold = WorldMemory::cold_start_init(&mut flash);
    let Ok(seal_store) = FlashSealStore::new(PsramFlash, SEAL) else {
        fail("seal store layout")
    };
    // The provisioning button (a GPIO input), read once at power-up.
    let button = PushButton::new(args.provision);
    if provision::button_held(&mut button.pin()) {
        provisioning_mode(uart, seal_store, args.device, args.entropy);
    }
    let sealer = match Sealer::resume(seal_store, DEFAULT_LEASE_BLOCK) {
        Ok(s) => s,
        Err(SealerError::NotProvisioned) => {
            defmt::error!("not provisioned: hold the provisioning button at power-up");
            hw::exit(EXIT_NOT_PROVISIONED)
        }
        Err(e) => {
            defmt::error!("board: seal store: {}", e);
            hw::exit(EXIT_ERROR)
        }
    };
    let (device, epoch) = (sealer.device(), sealer.epoch());
    defmt::info!(
        "board: kiosk {=u32} ({=u32:#x}), epoch {=u32}, key id {=u32}, next frame counter {=u64}",
        device.0,
        device.0,
        epoch.0,
        sealer.key_id().0,
        sealer.next_counter()
    );
    if let Some(d) = args.device.filter(|d| *d != device.0) {
        defmt::error!(
            "board: --device {=u32} given, but this kiosk is provisioned as device {=u32}",
            d,
            device.0
        );
        hw::exit(EXIT_IDENTITY)
    }

    let Ok(id) = persist::next_boot(&mut flash, COUNTERS) else {
        fail("boot counters")
    };
    defmt::info!(
        "board: boot {=u32} ({=str})",
        id.boot,
        if id.boot == 1 {
            "first boot"
        } else {
            "after power cut"
        }
    );
    let Ok(storage) = FlashStorage::new(PsramFlash, OUTBOX_QUEUE, OUTBOX_META) else {
        fail("flash layout")
    };
    let (outbox, plan) = match provision::open_outbox(storage, device, epoch) {
        Ok(o) => o,
        Err(OpenOutboxError::Pending(s)) => {
            defmt::error!(
                "board: the outbox holds {=u32} unacknowledged record(s) of device {=u32} epoch {=u32}, this kiosk is provisioned as device {=u32} epoch {=u32}: provision it as device {=u32} epoch {=u32} to upload them; nothing is dropped, nothing is synced",
                s.pending, s.device.0, s.epoch.0, device.0, epoch.0, s.device.0, s.epoch.0
            );
            hw::exit(EXIT_IDENTITY)
        }
        Err(OpenOutboxError::Stale(s)) => {
            defmt::error!(
                "board: the outbox already used epoch {=u32} of device {=u32}; provisioned epoch {=u32} is older: provision a newer epoch",
                s.epoch.0, s.device.0, epoch.0
            );
            hw::exit(EXIT_IDENTITY)
        }
        Err(OpenOutboxError::Outbox(e)) => {
            defmt::error!("board: outbox: {}", e);
            hw::exit(EXIT_ERROR)
        }
    };
    defmt::info!(
        "board: outbox epoch {=u32}, {=usize} record(s) waiting",
        outbox.epoch().0,
        outbox.len()
    );
    if let OutboxPlan::Restart { previous } = plan {
        defmt::info!(
            "board: the outbox of device {=u32} epoch {=u32} was fully acknowledged: new stream",
            previous.device.0,
            previous.epoch.0
        );
    }
    let cfg = SenderConfig {
        mtu: UPLINK_MTU,
        ..SenderConfig::default()
    };
    let sender = match SealedSender::new(outbox, cfg, id.boot, false, sealer) {
        Ok(s) => s,
        Err(_) => fail("sealed sender config"),
    };

    // The card table the terminal provisions, and the kiosk's buffers: statics built by
    // `const fn`, never on the stack.
    let table = TABLE.take();
    table.set_care_home(CareHomeId(CARE_HOME));
    for c in args.cohort.cards {
        let Some(uid) = CardUid::new(c.uid) else {
            fail("card uid")
        };
        if table.provision(uid, ResidentNumber(c.resident)).is_err() {
            fail("card table");
        }
    }

    // The sensors (models) and their drivers.
    let clock = BoardClock;
    let models = Models {
        mlx: Mlx90614::new(),
        max: Max30102::new(&clock),
        hx: Hx711::new(&clock),
        rc: Mfrc522::new(),
        bpm: BleBpMonitor::new(&clock),
    };
    let thermometer = BodyThermometer::new(models.mlx.bus()).ok();
    let oximeter = PulseOximeter::new(models.max.bus()).ok();
    let mut reader = Mfrc522Driver::new(models.rc.bus());
    match reader.init() {
        Ok(v) => defmt::info!("board: MFRC522 version {=u8:#x}", v),
        Err(e) => defmt::error!("board: MFRC522: {}", e),
    }
    let (dout, sck) = models.hx.pins();
    let scale = match Hx711Driver::new(dout, sck, BoardDelay, Gain::A128) {
        Ok(adc) => {
            // Tare the empty platform, calibrate with the reference mass.
            // The HX711 settles for 400 ms after power-up: tare retries until then.
            let mut s = Scale::new(adc);
            models.hx.set_load_g(0);
            let mut tare = s.tare();
            for _ in 0..5 {
                if tare.is_ok() {
                    break;
                }
                tare = s.tare();
            }
            models.hx.set_load_g(CALIBRATION_MASS_G);
            let cal = s.calibrate(CALIBRATION_MASS_G);
            models.hx.set_load_g(0);
            match (tare, cal) {
                (Ok(_), Ok(c)) => {
                    defmt::info!("board: scale calibrated {}", c);
                    Some(s)
                }
                _ => {
                    defmt::error!("board: scale calibration failed");
                    None
                }
            }
        }
        Err(_) => None,
    };
    let mut hw = Peripherals {
        reader,
        thermometer,
        oximeter,
        scale,
        bp_monitor: Some(BleLink(&models.bpm)),
        uplink: uart,
    };

    let mut kiosk = Kiosk::new(
        KioskConfig {
            max_hello_age_ms: QEMU_MAX_HELLO_AGE_MS,
            ..KioskConfig::default()
        },
        sender,
        id.boot,
        table,
        MEMORY.take(),
    );
    let mut world = World::new(hw::now_ms(), args.cohort);
    let (boot_peak, _) = hw::stack_usage();
    defmt::info!(
        "board: kiosk ready, stack peak so far {=u32} bytes",
        boot_peak
    );
    loop {
        let now = hw::now_ms();
        if now > MORNING_TIMEOUT_MS {
            fail("morning timed out");
        }
        kiosk.poll(now, &mut hw);
        while let Some(e) = kiosk.next_event() {
            if let Event::VisitStored {
                records,
                measured_end_ms,
            } = e
            {
                // Upper bound: the poll also sent the batch after the pushes.
                let us = hw::now_us().saturating_sub(measured_end_ms * 1000);
                defmt::info!(
                    "board: {=u8} record(s) in the flash outbox {=u64} us after the last measurement",
                    records,
                    us
                );
            }
            match world.on_event(now, &e, &models) {
                Action::PowerCut => hw::power_cut(),
                Action::Continue => {}
                Action::Done | Action::Stuck => {}
            }
        }
        match world.step(
            now,
            kiosk.state(),
            kiosk.sender().outbox().is_empty(),
            &models,
        ) {
            Action::Continue => {}
            Action::PowerCut => hw::power_cut(),
            Action::Done => {
                defmt::info!(
                    "board: {=u32} sealed frame(s) rejected",
                    kiosk.rejected_frames()
                );
                let (used, size) = hw::stack_usage();
                defmt::info!("board: stack peak {=u32} of {=u32} bytes", used, size);
                hw::exit(0);
            }
            Action::Stuck => fail("outbox did not drain"),
        }
        // While draining, only the link is left to wait for, and its replies take host
        // time: sleeping would let `-icount sleep=off` jump simulated time to the next
        // timer (the drain deadline among them) before a reply can arrive. Spinning
        // keeps simulated time tied to executed instructions.
        if !world.draining() {
            cortex_m::asm::wfi();
        }
    }
}

#[allow(unsafe_code)] // cortex-m-rt requires the HardFault handler to be `unsafe fn`
#[exception]
unsafe fn HardFault(ef: &ExceptionFrame) -> ! {
    defmt::error!("board: hard fault at pc {=u32:#x}", ef.pc());
    hw::exit(EXIT_FAULT)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    match info.location() {
        Some(l) => defmt::error!("board: panic at {=str}:{=u32}", l.file(), l.line()),
        None => defmt::error!("board: panic"),
    }
    hw::exit(EXIT_PANIC)
}
