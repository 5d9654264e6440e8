//! The mps2-an386 hardware the kiosk uses: SysTick time, a busy-wait delay, CMSDK UART0,
//! the PSRAM-backed NOR flash and the scripted world's memory, optionally mirrored to a
//! host file. Every `unsafe` of the firmware is in this module: fixed MMIO/RAM addresses
//! of the QEMU machine, accessed with volatile operations from the single thread of
//! `main`.
#![allow(unsafe_code)]

use core::cell::RefCell;
use core::ffi::CStr;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use cortex_m::interrupt::Mutex;
use semihosting::fs::File;
use semihosting::io::{Read, Seek, SeekFrom, Write};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use cortex_m_rt::exception;
use embedded_storage::nor_flash::{
    check_erase, check_read, check_write, ErrorType, MultiwriteNorFlash, NorFlash,
    NorFlashErrorKind, ReadNorFlash,
};
use tcmcare_kiosk::sensors::UplinkPort;

/// SYSCLK of the MPS2 FPGA images (QEMU hw/arm/mps2.c: 25 MHz).
pub const SYSCLK_HZ: u32 = 25_000_000;
const TICKS_PER_MS: u32 = SYSCLK_HZ / 1000;
const TICKS_PER_US: u32 = SYSCLK_HZ / 1_000_000;

static MILLIS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    MILLIS.fetch_add(1, Ordering::Relaxed);
}

/// Starts a 1 kHz SysTick interrupt.
pub fn start_systick(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(TICKS_PER_MS - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Microseconds since boot (wraps after 49 days of uptime; the kiosk reboots nightly).
pub fn now_us() -> u64 {
    loop {
        let m1 = MILLIS.load(Ordering::Relaxed);
        let cvr = SYST::get_current();
        let m2 = MILLIS.load(Ordering::Relaxed);
        if m1 == m2 {
            let into_ms = (TICKS_PER_MS - 1).saturating_sub(cvr) / TICKS_PER_US;
            return u64::from(m1) * 1000 + u64::from(into_ms);
        }
    }
}

/// Milliseconds since boot.
pub fn now_ms() -> u64 {
    u64::from(MILLIS.load(Ordering::Relaxed))
}

defmt::timestamp!("{=u64:ms}", now_ms());

/// The models' view of time.
#[derive(Debug, Clone, Copy)]
pub struct BoardClock;

impl tcmcare_device_models::Clock for BoardClock {
    fn now_us(&self) -> u64 {
        now_us()
    }
}

/// A busy-waiting delay on SysTick (the HX711 clock pulses need microseconds).
#[derive(Debug, Clone, Copy)]
pub struct BoardDelay;

impl embedded_hal::delay::DelayNs for BoardDelay {
    fn delay_ns(&mut self, ns: u32) {
        let until = now_us() + u64::from(ns.div_ceil(1000));
        while now_us() < until {}
    }
}

/// CMSDK APB UART0 (QEMU: `-serial` 0).
pub struct Uart0;

const UART0: usize = 0x4000_4000;
const DATA: usize = 0x000;
const STATE: usize = 0x004;
const CTRL: usize = 0x008;
const BAUDDIV: usize = 0x010;
const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;

fn uart_read(off: usize) -> u32 {
    // SAFETY: UART0's registers are at this address on mps2-an386; reads have no side
    // effect other than popping the RX byte (DATA), which only `Uart0` does.
    unsafe { core::ptr::read_volatile((UART0 + off) as *const u32) }
}

fn uart_write(off: usize, v: u32) {
    // SAFETY: as above; only the main thread drives the UART.
    unsafe { core::ptr::write_volatile((UART0 + off) as *mut u32, v) }
}

impl Uart0 {
    /// Enables the transmitter and receiver (the divider only matters on hardware).
    pub fn init() -> Self {
        uart_write(BAUDDIV, 16);
        uart_write(CTRL, CTRL_TX_EN | CTRL_RX_EN);
        Uart0
    }
}

impl Uart0 {
    /// Waits until the last byte written has left the transmit register (bounded: a
    /// stuck transmitter is given up after about 10 ms).
    pub fn flush(&mut self) {
        let until = now_us() + 10_000;
        while uart_read(STATE) & STATE_TX_FULL != 0 && now_us() < until {}
    }
}

impl UplinkPort for Uart0 {
    fn write_all(&mut self, bytes: &[u8]) {
        for &b in bytes {
            while uart_read(STATE) & STATE_TX_FULL != 0 {}
            uart_write(DATA, u32::from(b));
        }
    }

    fn read_available(&mut self, buf: &mut [u8]) -> usize {
        let mut n = 0;
        while n < buf.len() && uart_read(STATE) & STATE_RX_FULL != 0 {
            buf[n] = uart_read(DATA) as u8;
            n += 1;
        }
        n
    }
}

/// The emulated NOR flash: 10 pages of 4 KiB at the bottom of PSRAM. QEMU keeps RAM
/// contents across a system reset, so it behaves like flash across the power cuts the
/// board simulates. Erase sets 0xFF, writes only clear bits.
pub struct PsramFlash;

/// Base address of the emulated flash.
const FLASH_BASE: usize = 0x2100_0000;
/// Erase page, bytes.
pub const FLASH_PAGE: usize = 4096;
/// Size, bytes.
pub const FLASH_SIZE: usize = 10 * FLASH_PAGE;

/// Errors of [`PsramFlash`]: only misuse (alignment, bounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
pub struct FlashRangeError;

impl embedded_storage::nor_flash::NorFlashError for FlashRangeError {
    fn kind(&self) -> NorFlashErrorKind {
        NorFlashErrorKind::OutOfBounds
    }
}

fn flash_ptr(offset: usize) -> *mut u8 {
    (FLASH_BASE + offset) as *mut u8
}

impl ErrorType for PsramFlash {
    type Error = FlashRangeError;
}

impl ReadNorFlash for PsramFlash {
    const READ_SIZE: usize = 1;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashRangeError> {
        check_read(self, offset, bytes.len()).map_err(|_| FlashRangeError)?;
        for (i, b) in bytes.iter_mut().enumerate() {
            // SAFETY: offset + i < FLASH_SIZE (checked), inside PSRAM, not used by the
            // program's sections.
            *b = unsafe { core::ptr::read_volatile(flash_ptr(offset as usize + i)) };
        }
        Ok(())
    }
    fn capacity(&self) -> usize {
        FLASH_SIZE
    }
}

impl NorFlash for PsramFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = FLASH_PAGE;
    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashRangeError> {
        check_erase(self, from, to).map_err(|_| FlashRangeError)?;
        for a in from as usize..to as usize {
            // SAFETY: a < FLASH_SIZE (checked).
            unsafe { core::ptr::write_volatile(flash_ptr(a), 0xFF) };
        }
        HostImage::mirror(from as usize, to as usize - from as usize);
        Ok(())
    }
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashRangeError> {
        check_write(self, offset, bytes.len()).map_err(|_| FlashRangeError)?;
        for (i, &b) in bytes.iter().enumerate() {
            let p = flash_ptr(offset as usize + i);
            // SAFETY: inside the flash (checked); NOR programming clears bits only.
            unsafe { core::ptr::write_volatile(p, core::ptr::read_volatile(p) & b) };
        }
        HostImage::mirror(offset as usize, bytes.len());
        Ok(())
    }
}

impl MultiwriteNorFlash for PsramFlash {}

/// Words of the scripted world kept across resets (PSRAM after the flash): the world
/// outside the MCU does not forget who already visited when the kiosk loses power.
pub struct WorldMemory;

const WORLD_BASE: usize = FLASH_BASE + 0x10_0000;
const WORLD_MAGIC: u32 = 0x4B10_5C01;
/// Word indices.
const W_MAGIC: usize = 0;
/// Index of the next visit to play.
pub const W_NEXT_VISIT: usize = 1;
/// Power cuts so far.
pub const W_POWER_CUTS: usize = 2;
const WORLD_WORDS: usize = 4;

impl WorldMemory {
    fn word(i: usize) -> *mut u32 {
        (WORLD_BASE + 4 * i) as *mut u32
    }
    /// Reads a word.
    pub fn get(i: usize) -> u32 {
        if i >= WORLD_WORDS {
            return 0;
        }
        // SAFETY: inside PSRAM, outside every section and the flash.
        unsafe { core::ptr::read_volatile(Self::word(i)) }
    }
    /// Writes a word.
    pub fn set(i: usize, v: u32) {
        if i < WORLD_WORDS {
            // SAFETY: as above.
            unsafe { core::ptr::write_volatile(Self::word(i), v) }
            HostImage::mirror(IMAGE_WORLD_OFFSET + 4 * i, 4);
        }
    }
    /// On a cold start (QEMU zeroes RAM) the flash is erased and the world reset;
    /// returns whether this was a cold start.
    pub fn cold_start_init(flash: &mut PsramFlash) -> bool {
        if Self::get(W_MAGIC) == WORLD_MAGIC {
            return false;
        }
        let _ = flash.erase(0, FLASH_SIZE as u32);
        for i in 1..WORLD_WORDS {
            Self::set(i, 0);
        }
        Self::set(W_MAGIC, WORLD_MAGIC);
        true
    }
}

/// The flash and the world's words mirrored to a file on the host (semihosting), so
/// they survive the QEMU process itself being killed, as flash survives a power loss.
///
/// The file is the image `flash (FLASH_SIZE bytes) | world words (little endian)`. At
/// boot [`HostImage::attach`] loads an existing image into PSRAM (or creates the file
/// from PSRAM); afterwards every flash erase or write and every world word is written
/// through to the file before the call returns.
pub struct HostImage;

/// Offset of the world's words in the image file.
const IMAGE_WORLD_OFFSET: usize = FLASH_SIZE;
/// Length of the image file.
pub const IMAGE_LEN: usize = FLASH_SIZE + 4 * WORLD_WORDS;
/// Bytes copied per host call.
const IMAGE_CHUNK: usize = 256;

static IMAGE_FILE: Mutex<RefCell<Option<File>>> = Mutex::new(RefCell::new(None));
/// Set when a write-through failed (reported once).
static IMAGE_FAILED: AtomicBool = AtomicBool::new(false);

/// How [`HostImage::attach`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum Attached {
    /// An existing image was loaded into PSRAM.
    Loaded,
    /// No image existed: the file was created from PSRAM.
    Created,
}

/// Why the image file could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum ImageError {
    /// Neither opened nor created.
    Open,
    /// An existing file of another length (not an image of this board).
    Length(u32),
    /// A host read, seek or write failed.
    Io,
}

/// Address of byte `offset` of the image in PSRAM.
fn image_ptr(offset: usize) -> *mut u8 {
    if offset < IMAGE_WORLD_OFFSET {
        flash_ptr(offset)
    } else {
        (WORLD_BASE + (offset - IMAGE_WORLD_OFFSET)) as *mut u8
    }
}

impl HostImage {
    /// Opens (or creates) the image file at `path`, loads it into PSRAM or writes PSRAM
    /// into it, and mirrors every later change.
    pub fn attach(path: &CStr) -> Result<Attached, ImageError> {
        let (mut file, attached) = match File::options().read(true).write(true).open(path) {
            Ok(f) => (f, Attached::Loaded),
            Err(_) => {
                let f = File::options()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(path)
                    .map_err(|_| ImageError::Open)?;
                (f, Attached::Created)
            }
        };
        let mut chunk = [0u8; IMAGE_CHUNK];
        match attached {
            Attached::Loaded => {
                let len = file.metadata().map_err(|_| ImageError::Io)?.len();
                if len != IMAGE_LEN as u64 {
                    return Err(ImageError::Length(len as u32));
                }
                let mut at = 0;
                while at < IMAGE_LEN {
                    let n = IMAGE_CHUNK.min(IMAGE_LEN - at);
                    file.read_exact(&mut chunk[..n])
                        .map_err(|_| ImageError::Io)?;
                    for (i, b) in chunk[..n].iter().enumerate() {
                        // SAFETY: at + i < IMAGE_LEN: inside the flash or the world words.
                        unsafe { core::ptr::write_volatile(image_ptr(at + i), *b) };
                    }
                    at += n;
                }
            }
            Attached::Created => {
                let mut at = 0;
                while at < IMAGE_LEN {
                    let n = IMAGE_CHUNK.min(IMAGE_LEN - at);
                    read_image(at, &mut chunk[..n]);
                    file.write_all(&chunk[..n]).map_err(|_| ImageError::Io)?;
                    at += n;
                }
            }
        }
        cortex_m::interrupt::free(|cs| *IMAGE_FILE.borrow(cs).borrow_mut() = Some(file));
        Ok(attached)
    }

    /// Writes bytes `offset..offset + len` of the image through to the file (no-op
    /// without a file).
    fn mirror(offset: usize, len: usize) {
        cortex_m::interrupt::free(|cs| {
            let mut slot = IMAGE_FILE.borrow(cs).borrow_mut();
            let Some(file) = slot.as_mut() else {
                return;
            };
            let mut chunk = [0u8; IMAGE_CHUNK];
            let mut at = offset;
            let end = (offset + len).min(IMAGE_LEN);
            let mut ok = file.seek(SeekFrom::Start(at as u64)).is_ok();
            while ok && at < end {
                let n = IMAGE_CHUNK.min(end - at);
                read_image(at, &mut chunk[..n]);
                ok = file.write_all(&chunk[..n]).is_ok();
                at += n;
            }
            if !ok && !IMAGE_FAILED.swap(true, Ordering::Relaxed) {
                defmt::error!("board: flash image write-through failed at {=usize}", at);
            }
        });
    }
}

/// Copies image bytes `at..at + out.len()` out of PSRAM.
fn read_image(at: usize, out: &mut [u8]) {
    for (i, b) in out.iter_mut().enumerate() {
        // SAFETY: callers stay below IMAGE_LEN: inside the flash or the world words.
        *b = unsafe { core::ptr::read_volatile(image_ptr(at + i)) };
    }
}

extern "C" {
    static _stack_start: u32;
    static _stack_end: u32;
}

/// Peak stack use measured by stack painting (cortex-m-rt `paint-stack` fills the stack
/// with 0xCCCCCCCC at reset): (bytes used, bytes available).
pub fn stack_usage() -> (u32, u32) {
    // Linker symbols: only their addresses are taken.
    let (top, bottom) = (
        core::ptr::addr_of!(_stack_start) as usize,
        core::ptr::addr_of!(_stack_end) as usize,
    );
    let mut p = bottom;
    while p < top {
        // SAFETY: bottom..top is the stack region, word aligned.
        let v = unsafe { core::ptr::read_volatile(p as *const u32) };
        if v != 0xCCCC_CCCC {
            break;
        }
        p += 4;
    }
    ((top - p) as u32, (top - bottom) as u32)
}

/// Ends the QEMU run with `code` (semihosting SYS_EXIT).
pub fn exit(code: i32) -> ! {
    semihosting::process::exit(code)
}

/// Cuts the power: a system reset (AIRCR.SYSRESETREQ). RAM outside the program's
/// sections (the emulated flash, the world) survives, as flash would.
pub fn power_cut() -> ! {
    cortex_m::peripheral::SCB::sys_reset()
}
