//! The terminal side of the link: core's sealed receiver over the emulated UART, with
//! the link faults it injects.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tcmcare_core::ids::DeviceId;
use tcmcare_core::seal::{
    open_in_place, DeviceKey, Direction, KeyId, MemoryKeyStore, OpenError, SealHeader,
};
use tcmcare_core::sync::{
    LinkSecurity, MemoryStore, Message, ReceiverEvent, SealedReceiver, SealedReceiverEvent,
};
use tcmcare_core::wire::{decode_frame, encode_frame, max_frame_len, FrameDecoder};
use tcmcare_device_models::scenario::TERMINAL_UTC_START;

use crate::qemu::{Boot, Served};

/// The key the harness's terminal provisions the kiosk with (a fixed test key; a real
/// terminal draws one from a secure random source). The kiosk mixes its salt into it:
/// both sides seal with the link key of the kiosk's confirmation.
pub(crate) const TEST_KEY: [u8; 32] = *b"tcmcare qemu-test terminal key 1";

/// The key of the `Provision` sent without the button: the kiosk must not take it.
pub(crate) const ROGUE_KEY: [u8; 32] = [0x5A; 32];

/// The epoch and key id the kiosk is provisioned with.
pub(crate) const EPOCH: u32 = 1;
pub(crate) const KEY_ID: u32 = 1;

/// Reads what is there (up to 20 ms), 0 when nothing came.
pub(crate) fn read_some(stream: &mut TcpStream, buf: &mut [u8]) -> usize {
    match stream.read(buf) {
        Ok(0) => {
            std::thread::sleep(Duration::from_millis(5));
            0
        }
        Ok(n) => n,
        Err(e)
            if e.kind() == std::io::ErrorKind::WouldBlock
                || e.kind() == std::io::ErrorKind::TimedOut =>
        {
            0
        }
        Err(_) => {
            std::thread::sleep(Duration::from_millis(5));
            0
        }
    }
}

pub(crate) fn send_frame(stream: &mut TcpStream, payload: &[u8]) -> Result<(), String> {
    let mut f = vec![0u8; max_frame_len(payload.len())];
    let m = encode_frame(payload, &mut f).map_err(|e| format!("encode: {e}"))?;
    stream.write_all(&f[..m]).map_err(|e| format!("write: {e}"))
}

/// What the terminal saw on the link, over every boot of the kiosk.
#[derive(Default)]
pub(crate) struct LinkStats {
    pub(crate) frames: u32,
    pub(crate) corrupted_injected: u32,
    pub(crate) bad_frames: u32,
    pub(crate) acks_dropped: u32,
    pub(crate) replies_tampered: u32,
    pub(crate) commits: u32,
    pub(crate) duplicates: u32,
    pub(crate) hellos: u32,
    /// Kiosk frames the sealed receiver refused.
    pub(crate) rejected: Vec<OpenError>,
    /// (key id, counter) of every kiosk frame, in arrival order.
    pub(crate) counters: Vec<(u32, u32)>,
    /// Frames held back while the cable was cut before the kill.
    pub(crate) held: u32,
    pub(crate) kills: u32,
}

/// The terminal: core's sealed receiver, an in-memory store and key store, and the
/// link faults it injects.
pub(crate) struct Terminal {
    pub(crate) receiver: SealedReceiver<MemoryStore, MemoryKeyStore>,
    key: DeviceKey,
    decoder: FrameDecoder<4096>,
    raw: Vec<u8>,
    pub(crate) stats: LinkStats,
    /// Position of the last record of the day: the batch carrying it is held back
    /// and the kiosk killed while it resends it.
    kill_at_position: Option<u32>,
    cut: bool,
    start: Instant,
}

impl Terminal {
    /// The terminal of a kiosk whose provisioning was confirmed with `link_key`.
    pub(crate) fn new(device: u32, last_position: u32, link_key: DeviceKey) -> Self {
        let mut keys = MemoryKeyStore::new();
        keys.insert(DeviceId(device), KeyId(KEY_ID), link_key.clone());
        Terminal {
            receiver: SealedReceiver::new(MemoryStore::new(), keys, LinkSecurity::Sealed),
            key: link_key,
            decoder: FrameDecoder::new(),
            raw: Vec::new(),
            stats: LinkStats::default(),
            kill_at_position: Some(last_position),
            cut: false,
            start: Instant::now(),
        }
    }

    /// The seal header of a kiosk frame and, for a batch, its first and last position
    /// (the harness knows the key, so it can look inside; the receiver does not use
    /// this).
    fn peek(&self, frame: &[u8]) -> Option<(SealHeader, Option<(u32, u32)>)> {
        let mut copy = frame.to_vec();
        let payload = decode_frame(&mut copy).ok()?;
        let mut sealed = payload.to_vec();
        let (h, plain) = open_in_place(&self.key, Direction::Uplink, &mut sealed).ok()?;
        let batch = match Message::decode(plain) {
            Ok(Message::Batch(b)) => {
                let n = b.count().ok()?;
                Some((b.first_position, b.first_position + n.saturating_sub(1)))
            }
            _ => None,
        };
        Some((h, batch))
    }

    /// Plays the terminal for one boot of the kiosk until QEMU exits, the kill fault
    /// kills it, or `deadline`.
    pub(crate) fn serve(
        &mut self,
        boot: &mut Boot,
        stream: &mut TcpStream,
        deadline: Instant,
    ) -> Result<Served, String> {
        let mut buf = [0u8; 1024];
        loop {
            if let Some(st) = boot.try_exit() {
                return Ok(Served::Exited(st));
            }
            if Instant::now() > deadline {
                return Ok(Served::TimedOut);
            }
            let n = read_some(stream, &mut buf);
            for &b in &buf[..n] {
                self.raw.push(b);
                if b != 0 {
                    continue;
                }
                let mut frame = std::mem::take(&mut self.raw);
                self.stats.frames += 1;
                let peek = self.peek(&frame);
                if let Some((h, _)) = &peek {
                    self.stats.counters.push((h.key_id.0, h.counter));
                }
                let batch = peek.and_then(|p| p.1);
                // Fault 4: the cable is cut when the day's last record is first sent;
                // the kiosk's QEMU process is killed while it resends it.
                if let (Some(last), Some((_, to))) = (self.kill_at_position, batch) {
                    if to >= last {
                        self.cut = true;
                    }
                }
                if self.cut {
                    self.stats.held += 1;
                    if batch.is_some() && self.stats.held >= 2 {
                        boot.kill();
                        self.cut = false;
                        self.kill_at_position = None;
                        self.stats.kills += 1;
                        self.raw.clear();
                        self.decoder = FrameDecoder::new();
                        return Ok(Served::Killed);
                    }
                    continue;
                }
                // Fault 1: one byte of the first record batch is corrupted on the wire.
                if self.stats.corrupted_injected == 0 && batch.is_some() && frame.len() > 8 {
                    let i = frame.len() / 2;
                    frame[i] = if frame[i] == 0x01 {
                        0x02
                    } else {
                        frame[i] ^ 0x01
                    };
                    self.stats.corrupted_injected += 1;
                }
                let mut input = &frame[..];
                while let Some(r) = self.decoder.feed(&mut input) {
                    let mut payload = match r {
                        Ok(p) => p.to_vec(),
                        Err(_) => {
                            self.stats.bad_frames += 1;
                            continue;
                        }
                    };
                    self.handle(&mut payload, stream)?;
                }
            }
        }
    }

    fn handle(&mut self, payload: &mut [u8], stream: &mut TcpStream) -> Result<(), String> {
        let utc = TERMINAL_UTC_START + self.start.elapsed().as_secs();
        let mut out = [0u8; 256];
        let o = self
            .receiver
            .handle(Some(utc), payload, &mut out)
            .map_err(|e| format!("receiver: {e}"))?;
        let ev = match o.event {
            SealedReceiverEvent::Sync(ev) => ev,
            SealedReceiverEvent::Rejected(e) => {
                self.stats.rejected.push(e);
                return Ok(());
            }
            SealedReceiverEvent::DownlinkExhausted => {
                return Err("terminal counters exhausted".into())
            }
        };
        let (is_ack, committed) = match ev {
            ReceiverEvent::Committed { .. } => {
                self.stats.commits += 1;
                (true, true)
            }
            ReceiverEvent::Duplicate { .. } => {
                self.stats.duplicates += 1;
                (true, false)
            }
            ReceiverEvent::Introduced { .. } => {
                self.stats.hellos += 1;
                (false, false)
            }
            _ => (false, false),
        };
        // Fault 2: the ack of the second committed batch is lost.
        if is_ack && committed && self.stats.commits == 2 && self.stats.acks_dropped == 0 {
            self.stats.acks_dropped += 1;
            return Ok(());
        }
        if o.reply_len == 0 {
            return Ok(());
        }
        let reply = &mut out[..o.reply_len];
        // Fault 3: the ack of the first committed batch is altered on the way (a byte
        // of its ciphertext, right after the seal header): the kiosk must refuse it.
        if committed && self.stats.commits == 1 && self.stats.replies_tampered == 0 {
            if let Ok((_, at)) = SealHeader::decode(reply) {
                if let Some(b) = reply.get_mut(at) {
                    *b ^= 0x20;
                    self.stats.replies_tampered += 1;
                }
            }
        }
        send_frame(stream, reply)
    }
}
