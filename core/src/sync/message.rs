//! The protocol messages: postcard, one message per frame payload.
//!
//! The first byte of a payload is the [`Message`] variant (a postcard varint; the variant
//! numbers are append-only like record kinds). Every integer is a postcard varint, an
//! `Option` is a `0`/`1` byte followed by the value, a `bool` one byte.
//!
//! A [`Batch`] carries its records as one byte string holding the record envelopes back to
//! back. Envelopes are self-delimiting (`kind | body_len | body`), so a second length per
//! record would only cost bytes; the receiver splits the string with
//! [`Envelope::parse`]. Decoding borrows the records from the payload, and the sender
//! builds batches in place with [`BatchBuilder`]: neither side allocates.

use serde::{Deserialize, Serialize};

use crate::wire::codec::{varint_len, DecodeError, EncodeError, Writer};
use crate::wire::Envelope;

/// Upper bound of the encoded length of every message except [`Batch`] (the longest is a
/// [`Hello`]: tag, seven u32/u16 varints and a bool). Reply buffers of this size suffice.
pub const MAX_CONTROL_MESSAGE_LEN: usize = 40;

/// Bytes [`BatchBuilder`] reserves in front of the records: tag, epoch, first position
/// and the records' length, each at its longest varint form.
pub const BATCH_HEAD_RESERVE: usize = 1 + 5 + 5 + 5;

/// Wire number of the [`Message::Batch`] variant (its position in the enum).
const BATCH_TAG: u8 = 2;

/// Opens a session: the sender says who it is and asks where to resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Hello {
    /// The sender's device id (not 0).
    pub device: u32,
    /// The sender's epoch (not 0): the stream is `(device, epoch)`.
    pub epoch: u32,
    /// The record schema version the sender writes ([`crate::SCHEMA_VERSION`]).
    pub schema: u16,
    /// Names this hello phase; the welcome echoes it, so a late welcome answering an
    /// earlier hello (of this boot or a previous one) is recognised and ignored.
    pub session: u32,
    /// The highest position the sender has assigned in this epoch (0 for none). A
    /// receiver whose watermark is higher knows the epoch was reused after a wipe.
    pub last_position: u32,
    /// The sender's persistent boot counter.
    pub boot: u32,
    /// Seconds since that boot when the hello was made; with `boot` it lets the receiver
    /// place records stamped "time unknown" during this boot.
    pub uptime_s: u32,
    /// Whether the sender's clock is valid (informative; the receiver sends its time
    /// anyway).
    pub clock_valid: bool,
}

/// The receiver's answer to [`Hello`]: where to resume, and its UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Welcome {
    /// The stream epoch this answers.
    pub epoch: u32,
    /// The session of the hello this answers.
    pub session: u32,
    /// The receiver's watermark for the stream: resume at `watermark + 1`.
    pub watermark: u32,
    /// The receiver's UTC time in Unix seconds, if its clock is valid.
    pub utc_now: Option<u64>,
}

/// Consecutive records of the sender's stream, starting at `first_position`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Batch<'a> {
    /// The stream epoch.
    pub epoch: u32,
    /// Position of the first record (1 or more).
    pub first_position: u32,
    /// The record envelopes back to back (see [`Batch::records`]).
    pub records: &'a [u8],
}

impl<'a> Batch<'a> {
    /// Iterates over the record envelopes: each item is the parsed envelope and its bytes.
    pub fn records(&self) -> BatchRecords<'a> {
        BatchRecords {
            rest: self.records,
            failed: false,
        }
    }

    /// Counts the records, failing if the byte string is not a sequence of envelopes.
    pub fn count(&self) -> Result<u32, DecodeError> {
        let mut n: u32 = 0;
        for r in self.records() {
            r?;
            n = n.checked_add(1).ok_or(DecodeError::InvalidValue {
                field: "batch.records",
            })?;
        }
        Ok(n)
    }
}

/// Iterator over the envelopes of a [`Batch`]. After an error it ends.
#[derive(Debug, Clone)]
pub struct BatchRecords<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Iterator for BatchRecords<'a> {
    type Item = Result<(Envelope<'a>, &'a [u8]), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() || self.failed {
            return None;
        }
        match Envelope::parse(self.rest) {
            Ok((env, n)) => {
                let (raw, rest) = self.rest.split_at(n.min(self.rest.len()));
                self.rest = rest;
                Some(Ok((env, raw)))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// The receiver holds every position up to `watermark` of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Ack {
    /// The stream epoch.
    pub epoch: u32,
    /// Highest contiguous position committed.
    pub watermark: u32,
}

/// The receiver did not take a message; `reason` says why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Nack {
    /// The stream epoch (that of the message being refused).
    pub epoch: u32,
    /// The position the receiver expects next (its watermark + 1), or 0 when it has no
    /// session to speak of.
    pub expected: u32,
    /// Why.
    pub reason: NackReason,
}

/// Why a receiver refused a message. Variant numbers are append-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NackReason {
    /// The batch starts after `expected`: records were lost on the way; resend from there.
    Gap,
    /// The sender's schema version is outside what the receiver accepts. Syncing stops
    /// until one side is updated; the records stay in the outbox.
    UnsupportedSchema {
        /// Oldest schema version accepted.
        min: u16,
        /// Newest schema version accepted.
        max: u16,
    },
    /// The receiver's store failed (disk full, database locked); retry later.
    StoreUnavailable,
    /// A batch arrived before a hello (the receiver restarted, or the epoch changed):
    /// say hello again.
    NotIntroduced,
    /// The receiver already holds more of this `(device, epoch)` than the sender says it
    /// ever assigned: the device was wiped and reused its epoch. Syncing stops; the device
    /// must start a new epoch.
    EpochReused {
        /// The receiver's watermark for the stream.
        watermark: u32,
    },
    /// The message could not be decoded (or names device / epoch 0).
    Malformed,
}

/// The receiver's UTC time, sent whenever the receiver chooses (e.g. periodically).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TimeSync {
    /// UTC in Unix seconds.
    pub utc_now: u64,
}

/// Every protocol message. Variant numbers (their order here) are append-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Message<'a> {
    /// Sender -> receiver: open a session (0).
    Hello(Hello),
    /// Receiver -> sender: answer to hello (1).
    Welcome(Welcome),
    /// Sender -> receiver: records (2).
    #[serde(borrow)]
    Batch(Batch<'a>),
    /// Receiver -> sender: watermark (3).
    Ack(Ack),
    /// Receiver -> sender: refusal with reason (4).
    Nack(Nack),
    /// Receiver -> sender: UTC time (5).
    TimeSync(TimeSync),
}

impl<'a> Message<'a> {
    /// Decodes one message that must span all of `payload`.
    pub fn decode(payload: &'a [u8]) -> Result<Message<'a>, DecodeError> {
        let (m, rest) = postcard::take_from_bytes::<Message<'a>>(payload).map_err(|e| match e {
            postcard::Error::DeserializeUnexpectedEnd => {
                DecodeError::Truncated { field: "message" }
            }
            _ => DecodeError::InvalidValue { field: "message" },
        })?;
        if !rest.is_empty() {
            return Err(DecodeError::TrailingBytes { field: "message" });
        }
        Ok(m)
    }

    /// Encodes the message into `out`, returning the bytes written; on a short buffer the
    /// error says how many bytes are needed.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        match postcard::to_slice(self, out) {
            Ok(used) => Ok(used.len()),
            Err(_) => Err(EncodeError::BufferTooSmall {
                needed: self.encoded_len(),
            }),
        }
    }

    /// Length of the encoded message.
    pub fn encoded_len(&self) -> usize {
        postcard::serialize_with_flavor(self, postcard::ser_flavors::Size::default())
            .unwrap_or(usize::MAX)
    }
}

/// Builds a [`Message::Batch`] payload in place in the caller's buffer: records are copied
/// once, straight from the outbox into `out`. The result is byte-identical to encoding the
/// same [`Batch`] with [`Message::encode`].
#[derive(Debug)]
pub struct BatchBuilder<'o> {
    out: &'o mut [u8],
    epoch: u32,
    first_position: u32,
    limit: usize,
    records_len: usize,
    count: u32,
}

impl<'o> BatchBuilder<'o> {
    /// Starts a batch in `out`; the finished payload will be at most `max_payload` bytes.
    /// `out` needs [`BATCH_HEAD_RESERVE`] bytes more than the records it will hold.
    pub fn new(
        out: &'o mut [u8],
        epoch: u32,
        first_position: u32,
        max_payload: usize,
    ) -> Result<Self, EncodeError> {
        if out.len() <= BATCH_HEAD_RESERVE {
            return Err(EncodeError::BufferTooSmall {
                needed: BATCH_HEAD_RESERVE + 1,
            });
        }
        Ok(BatchBuilder {
            out,
            epoch,
            first_position,
            limit: max_payload,
            records_len: 0,
            count: 0,
        })
    }

    fn head_len(&self, records_len: usize) -> usize {
        1 + varint_len(self.epoch as u64)
            + varint_len(self.first_position as u64)
            + varint_len(records_len as u64)
    }

    /// Payload length if the batch were finished with `records_len` bytes of records.
    fn payload_len(&self, records_len: usize) -> usize {
        self.head_len(records_len).saturating_add(records_len)
    }

    /// Whether an envelope of `len` bytes would still fit.
    pub fn fits(&self, len: usize) -> bool {
        let Some(new_len) = self.records_len.checked_add(len) else {
            return false;
        };
        self.payload_len(new_len) <= self.limit
            && BATCH_HEAD_RESERVE.saturating_add(new_len) <= self.out.len()
    }

    /// Appends one record envelope if it fits, returning whether it did.
    pub fn push(&mut self, envelope: &[u8]) -> bool {
        if !self.fits(envelope.len()) {
            return false;
        }
        let start = BATCH_HEAD_RESERVE + self.records_len;
        match self.out.get_mut(start..start + envelope.len()) {
            Some(dst) => dst.copy_from_slice(envelope),
            None => return false,
        }
        self.records_len += envelope.len();
        self.count += 1;
        true
    }

    /// Records appended so far.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Payload length the batch has now.
    pub fn len(&self) -> usize {
        self.payload_len(self.records_len)
    }

    /// Whether no record was appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Writes the head in front of the records and returns the payload length.
    pub fn finish(self) -> usize {
        let head = self.head_len(self.records_len);
        self.out.copy_within(
            BATCH_HEAD_RESERVE..BATCH_HEAD_RESERVE + self.records_len,
            head,
        );
        let mut w = Writer::new(&mut self.out[..head]);
        w.u8(BATCH_TAG);
        w.varint(self.epoch as u64);
        w.varint(self.first_position as u64);
        w.varint(self.records_len as u64);
        // The head was sized exactly above; a short buffer cannot happen here.
        let _ = w.finish();
        head + self.records_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(m: &Message<'_>) -> std::vec::Vec<u8> {
        let mut out = [0u8; 256];
        let n = m.encode(&mut out).unwrap();
        assert_eq!(n, m.encoded_len());
        out[..n].to_vec()
    }

    #[test]
    fn control_messages_have_postcard_bytes() {
        // postcard: variant index as varint, then fields in order, u32/u16/u64 as LEB128
        // varints, bool as one byte, Option as 0 | 1 + value.
        // Ack { epoch 1, watermark 300 }: 3, 1, 300 = 0xAC 0x02.
        assert_eq!(
            enc(&Message::Ack(Ack {
                epoch: 1,
                watermark: 300
            })),
            [3, 1, 0xAC, 0x02]
        );
        // Nack { epoch 2, expected 5, Gap }: 4, 2, 5, 0.
        assert_eq!(
            enc(&Message::Nack(Nack {
                epoch: 2,
                expected: 5,
                reason: NackReason::Gap
            })),
            [4, 2, 5, 0]
        );
        // UnsupportedSchema { min 1, max 1 }: reason variant 1, then 1, 1.
        assert_eq!(
            enc(&Message::Nack(Nack {
                epoch: 2,
                expected: 0,
                reason: NackReason::UnsupportedSchema { min: 1, max: 1 }
            })),
            [4, 2, 0, 1, 1, 1]
        );
        // Welcome { epoch 1, session 2, watermark 0, utc Some(1_773_563_400) }:
        // 1_773_563_400 = 0x69B66E08 -> LEB128 0x88 0xDC 0xD9 0xCD 0x06.
        assert_eq!(
            enc(&Message::Welcome(Welcome {
                epoch: 1,
                session: 2,
                watermark: 0,
                utc_now: Some(1_773_563_400)
            })),
            [1, 1, 2, 0, 1, 0x88, 0xDC, 0xD9, 0xCD, 0x06]
        );
        // Hello { device 7, epoch 1, schema 1, session 5, last 0, boot 3, uptime 130,
        // clock false }: 0, 7, 1, 1, 5, 0, 3, 130 = 0x82 0x01, 0.
        assert_eq!(
            enc(&Message::Hello(Hello {
                device: 7,
                epoch: 1,
                schema: 1,
                session: 5,
                last_position: 0,
                boot: 3,
                uptime_s: 130,
                clock_valid: false
            })),
            [0, 7, 1, 1, 5, 0, 3, 0x82, 0x01, 0]
        );
        // TimeSync { 1_773_563_400 }: 5 then the varint above.
        assert_eq!(
            enc(&Message::TimeSync(TimeSync {
                utc_now: 1_773_563_400
            })),
            [5, 0x88, 0xDC, 0xD9, 0xCD, 0x06]
        );
    }

    #[test]
    fn longest_control_message_fits_the_bound() {
        let hello = Message::Hello(Hello {
            device: u32::MAX,
            epoch: u32::MAX,
            schema: u16::MAX,
            session: u32::MAX,
            last_position: u32::MAX,
            boot: u32::MAX,
            uptime_s: u32::MAX,
            clock_valid: true,
        });
        // 1 + 5 + 5 + 3 + 5 + 5 + 5 + 5 + 1 = 35 bytes.
        assert_eq!(hello.encoded_len(), 35);
        let welcome = Message::Welcome(Welcome {
            epoch: u32::MAX,
            session: u32::MAX,
            watermark: u32::MAX,
            utc_now: Some(u64::MAX),
        });
        // 1 + 5 + 5 + 5 + 1 + 10 = 27 bytes.
        assert_eq!(welcome.encoded_len(), 27);
        const { assert!(35 <= MAX_CONTROL_MESSAGE_LEN) };
    }

    #[test]
    fn decode_round_trip_and_strictness() {
        let m = Message::Nack(Nack {
            epoch: 9,
            expected: 1000,
            reason: NackReason::EpochReused { watermark: 999 },
        });
        let bytes = enc(&m);
        assert_eq!(Message::decode(&bytes), Ok(m));
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            Message::decode(&longer),
            Err(DecodeError::TrailingBytes { field: "message" })
        );
        assert_eq!(
            Message::decode(&bytes[..bytes.len() - 1]),
            Err(DecodeError::Truncated { field: "message" })
        );
        // Variant 6 does not exist.
        assert!(Message::decode(&[6, 0]).is_err());
        assert!(Message::decode(&[]).is_err());
    }

    #[test]
    fn batch_builder_matches_postcard() {
        // Two fake envelopes: kind 2, body length 3 / 1.
        let e1 = [2u8, 3, 10, 20, 30];
        let e2 = [9u8, 1, 0];
        let mut out = [0u8; 64];
        let mut b = BatchBuilder::new(&mut out, 1, 200, 64).unwrap();
        assert!(b.push(&e1));
        assert!(b.push(&e2));
        assert_eq!(b.count(), 2);
        let n = b.finish();
        // 2 (tag), 1 (epoch), 200 = 0xC8 0x01, 8 (records length), then the 8 bytes.
        assert_eq!(&out[..n], &[2, 1, 0xC8, 0x01, 8, 2, 3, 10, 20, 30, 9, 1, 0]);
        let records = [2u8, 3, 10, 20, 30, 9, 1, 0];
        let m = Message::Batch(Batch {
            epoch: 1,
            first_position: 200,
            records: &records,
        });
        assert_eq!(enc(&m), &out[..n]);
        let Message::Batch(d) = Message::decode(&out[..n]).unwrap() else {
            panic!("not a batch")
        };
        assert_eq!(d.count(), Ok(2));
        let got: std::vec::Vec<&[u8]> = d.records().map(|r| r.unwrap().1).collect();
        assert_eq!(got, [&e1[..], &e2[..]]);
    }

    #[test]
    fn batch_builder_respects_limit() {
        let e = [2u8, 3, 1, 2, 3];
        let mut out = [0u8; 64];
        // Head is 4 bytes (tag, epoch, position 1, length < 128): 4 + 5 = 9 fits in 9,
        // a second record would need 14.
        let mut b = BatchBuilder::new(&mut out, 1, 1, 9).unwrap();
        assert!(b.push(&e));
        assert!(!b.push(&e));
        assert_eq!(b.len(), 9);
        assert_eq!(b.finish(), 9);
        // A buffer too small for the head is refused.
        let mut tiny = [0u8; 8];
        assert!(BatchBuilder::new(&mut tiny, 1, 1, 100).is_err());
    }

    #[test]
    fn batch_with_garbage_records_fails_to_count() {
        // Kind 0 is reserved: not an envelope.
        let b = Batch {
            epoch: 1,
            first_position: 1,
            records: &[2, 1, 5, 0, 1, 2],
        };
        assert!(b.count().is_err());
        // Truncated second envelope.
        let b = Batch {
            epoch: 1,
            first_position: 1,
            records: &[2, 1, 5, 2, 4, 1],
        };
        assert!(b.count().is_err());
    }
}
