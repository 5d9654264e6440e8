//! The sensor kiosk on QEMU `mps2-an386` (Cortex-M4F).
//!
//! The kiosk library's real drivers run against register-level sensor models; the
//! CMSDK UART0 is the uplink to the terminal (QEMU bridges it to a host TCP socket); the
//! outbox lives on a RAM-backed NOR flash that survives the simulated power cuts
//! (system resets); defmt goes out over semihosting. A scripted morning of visits
//! ([`world`]) drives the sensors; when every record is acknowledged the board reports
//! its peak stack and exits through semihosting.
//!
//! The semihosting command line ([`args`]) picks the device id and the day to play, and
//! can mirror the flash to a host file so the outbox survives the QEMU process itself
//! being killed (`make demo` does that to one of its two kiosks).
#![no_std]
#![no_main]
#![deny(unsafe_code)]

mod args;
mod hw;
mod world;

use cortex_m_rt::{entry, exception, ExceptionFrame};
use defmt_semihosting as _;

use static_cell::ConstStaticCell;
use tcmcare_core::ids::{CareHomeId, DeviceId, Epoch, ResidentNumber};
use tcmcare_core::sync::{FlashStorage, Outbox, Sender, SenderConfig};
use tcmcare_device_models::scenario::{CALIBRATION_MASS_G, CARE_HOME};
use tcmcare_device_models::{BleBpMonitor, Hx711, Max30102, Mfrc522, Mlx90614};
use tcmcare_kiosk::drivers::bp::{BloodPressureLink, MAX_BP_MEASUREMENT_LEN};
use tcmcare_kiosk::drivers::hx711::{Gain, Hx711 as Hx711Driver};
use tcmcare_kiosk::drivers::mfrc522::{CardUid, Mfrc522 as Mfrc522Driver};
use tcmcare_kiosk::drivers::oximeter::PulseOximeter;
use tcmcare_kiosk::drivers::scale::Scale;
use tcmcare_kiosk::drivers::thermometer::BodyThermometer;
use tcmcare_kiosk::kiosk::{Event, Kiosk, KioskConfig, KioskMemory, Peripherals, UPLINK_MTU};
use tcmcare_kiosk::persist;
use tcmcare_kiosk::residents::ResidentTable;

use args::BoardArgs;
use hw::{Attached, BoardClock, BoardDelay, HostImage, PsramFlash, Uart0, WorldMemory, FLASH_PAGE};
use world::{Action, Models, World};

/// Flash layout (pages of 4 KiB): identity counters, outbox meta, outbox queue.
const P: u32 = FLASH_PAGE as u32;
const COUNTERS: core::ops::Range<u32> = 0..2 * P;
const OUTBOX_META: core::ops::Range<u32> = 2 * P..4 * P;
const OUTBOX_QUEUE: core::ops::Range<u32> = 4 * P..8 * P;
/// The card table (static RAM; the size report counts it).
static TABLE: ConstStaticCell<ResidentTable> = ConstStaticCell::new(ResidentTable::unassigned());
/// The kiosk's PPG window and frame buffers (static RAM).
static MEMORY: ConstStaticCell<KioskMemory> = ConstStaticCell::new(KioskMemory::new());

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
    hw::exit(1)
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
            hw::exit(1)
        }
    };
    defmt::info!(
        "board: kiosk {=u32} ({=u32:#x}), cohort {=str}",
        args.device,
        args.device,
        args.cohort.name
    );
    if let Some(path) = args.flash_path() {
        match HostImage::attach(path) {
            Ok(Attached::Loaded) => defmt::info!("board: flash image loaded from the host file"),
            Ok(Attached::Created) => defmt::info!("board: flash image file created"),
            Err(e) => {
                defmt::error!("board: flash image file: {}", e);
                hw::exit(1)
            }
        }
    }

    let mut flash = PsramFlash;
    let cold = WorldMemory::cold_start_init(&mut flash);
    let Ok(id) = persist::next_boot(&mut flash, COUNTERS) else {
        fail("identity counters")
    };
    defmt::info!(
        "board: boot {=u32} ({=str}), fresh epoch {=u32}",
        id.boot,
        if cold {
            "cold start"
        } else {
            "after power cut"
        },
        id.fresh_epoch
    );
    let Ok(storage) = FlashStorage::new(PsramFlash, OUTBOX_QUEUE, OUTBOX_META) else {
        fail("flash layout")
    };
    let outbox = match Outbox::open(storage, DeviceId(args.device), Epoch(id.fresh_epoch)) {
        Ok(o) => o,
        Err(e) => {
            defmt::error!("board: outbox: {}", e);
            hw::exit(1)
        }
    };
    defmt::info!(
        "board: outbox epoch {=u32}, {=usize} record(s) waiting",
        outbox.epoch().0,
        outbox.len()
    );
    let cfg = SenderConfig {
        mtu: UPLINK_MTU,
        ..SenderConfig::default()
    };
    let Ok(sender) = Sender::new(outbox, cfg, id.boot, false) else {
        fail("sender config")
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
        KioskConfig::default(),
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
                let (used, size) = hw::stack_usage();
                defmt::info!("board: stack peak {=u32} of {=u32} bytes", used, size);
                hw::exit(0);
            }
            Action::Stuck => fail("outbox did not drain"),
        }
        cortex_m::asm::wfi();
    }
}

#[allow(unsafe_code)] // cortex-m-rt requires the HardFault handler to be `unsafe fn`
#[exception]
unsafe fn HardFault(ef: &ExceptionFrame) -> ! {
    defmt::error!("board: hard fault at pc {=u32:#x}", ef.pc());
    hw::exit(3)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    match info.location() {
        Some(l) => defmt::error!("board: panic at {=str}:{=u32}", l.file(), l.line()),
        None => defmt::error!("board: panic"),
    }
    hw::exit(2)
}
