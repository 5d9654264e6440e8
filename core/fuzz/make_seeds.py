#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into seeds/<target>/ from the golden
vectors (tests/vectors/manifest.json) and hand-made protocol cases. Deterministic:
re-running rewrites the same small files. frame_decoder and record_decode seeds are
kept as committed (golden frames and envelopes)."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = os.path.join(HERE, "..", "..", "tests", "vectors", "manifest.json")


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def write(target, name, data):
    d = os.path.join(HERE, "seeds", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))


def parse_envelope(env):
    """kind, body of an envelope."""
    kind = env[0]
    n, shift, i = 0, 0, 1
    while True:
        b = env[i]
        n |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            break
        shift += 7
    return kind, env[i : i + n]


vectors = [v for v in json.load(open(MANIFEST))["vectors"] if v.get("envelope_hex")]
envs = {v["name"]: bytes.fromhex(v["envelope_hex"]) for v in vectors}

# record_body: kind selector (kind - 1) + body.
for name, env in envs.items():
    kind, body = parse_envelope(env)
    if 1 <= kind <= 7:
        write("record_body", name, bytes([kind - 1]) + body)

# gatt_parse: selector (index in Characteristic::ALL: BP, temperature, PLX, weight,
# glucose) + value; examples from the GATT specifications' layouts (gatt.rs tests).
TS = [0xE9, 0x07, 0x03, 0x0E, 0x09, 0x1A, 0x35]  # 2025-03-14 09:26:53
gatt = {
    "bp-120-80-mmhg": [0, 0x00, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00],
    "bp-kpa": [0, 0x01, 0xA0, 0xF0, 0x6B, 0xF0, 0x7C, 0xF0],
    "bp-full": [0, 0x1E, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00] + TS + [0x48, 0x00, 0x01, 0x05, 0x00],
    "temp-celsius": [1, 0x00, 0x6E, 0x01, 0x00, 0xFF],
    "temp-fahrenheit-ts-type": [1, 0x07, 0xDA, 0x03, 0x00, 0xFF] + TS + [0x02],
    "plx-basic": [2, 0x00, 0x61, 0x00, 0x48, 0x00],
    "plx-full": [2, 0x00, 0x61, 0x00, 0x48, 0x00] + TS + [0x80, 0x00, 0x20, 0x00, 0x00, 0x19, 0xF0],
    "weight-si": [3, 0x00, 0xB0, 0x36],
    "weight-imperial-bmi": [3, 0x09, 0x46, 0x3C, 0xE5, 0x00, 0xB1, 0x02],
    "weight-full": [3, 0x0E, 0xB0, 0x36] + TS + [0x02, 0xE5, 0x00, 0xD6, 0x06],
    "glucose": [4, 0x06, 0x01, 0x00] + TS + [0x38, 0xC0, 0x11],
    "glucose-offset-status": [4, 0x1B, 0x34, 0x12] + TS + [0xC4, 0xFF, 0x64, 0xB0, 0x11, 0x01, 0x00],
    "unknown-uuid": [9, 0x00, 0x2A, 0x01, 0x02],
}
for name, data in gatt.items():
    write("gatt_parse", name, data)

# sync_message: every message kind (bytes as in the message.rs unit tests).
vitals = envs["vitals-bp-pulse-spo2-temp"]
hello = bytes([0, 7, 1, 1, 5, 0, 3, 0x82, 0x01, 0])
welcome = bytes([1, 1, 2, 0, 1, 0x88, 0xDC, 0xD9, 0xCD, 0x06])
ack = bytes([3, 1, 0xAC, 0x02])


def batch(epoch, first, records):
    return bytes([2]) + varint(epoch) + varint(first) + varint(len(records)) + records


msgs = {
    "hello": hello,
    "welcome": welcome,
    "batch-one-vitals": batch(1, 42, vitals),
    "batch-two": batch(1, 1, envs["resident-female-hypertension"] + envs["herbal-prescribed"]),
    "batch-unknown-kind": batch(1, 1, envs["unknown-kind-200"]),
    "ack": ack,
    "nack-gap": bytes([4, 2, 5, 0]),
    "nack-schema": bytes([4, 2, 0, 1, 1, 1]),
    "nack-epoch-reused": bytes([4, 9, 0xE8, 0x07, 4, 0xE7, 0x07]),
    "time-sync": bytes([5, 0x88, 0xDC, 0xD9, 0xCD, 0x06]),
}
for name, data in msgs.items():
    write("sync_message", name, data)

# receiver_sequence: chunks `len | payload`, 0xFF toggles a store outage. A kiosk 7
# epoch 1 hello (last position 3) then batches of positions 1..3, a gap, a duplicate.
hello7 = bytes([0, 7, 1, 1, 0x01, 0x00, 3, 1, 10, 1])
own = []
for seq in (1, 2, 3):
    kind, body = parse_envelope(vitals)
    body = bytearray(body)
    # Header starts device 7, epoch 1, seq 42 (0x2a): set seq.
    assert body[:3] == bytes([7, 1, 0x2A])
    body[2] = seq
    own.append(bytes([kind]) + varint(len(body)) + bytes(body))


def chunks(*payloads):
    out = bytearray()
    for p in payloads:
        if p is None:
            out.append(0xFF)
        else:
            out.append(len(p))
            out += p
    return bytes(out)


write("receiver_sequence", "hello-batches", chunks(hello7, batch(1, 1, own[0] + own[1]), batch(1, 3, own[2])))
write("receiver_sequence", "gap-duplicate", chunks(hello7, batch(1, 2, own[1]), batch(1, 1, own[0]), batch(1, 1, own[0])))
write("receiver_sequence", "outage", chunks(hello7, None, batch(1, 1, own[0]), None, batch(1, 1, own[0])))
write("receiver_sequence", "batch-before-hello", chunks(batch(1, 1, own[0]), hello7, ack))

# seal_open: ops `op | len | bytes`. Op 1/3 seal the bytes (after a 4-byte counter and
# an epoch byte) as genuine kiosk / terminal frames.
def op(o, data):
    return bytes([o, len(data)]) + data


def ctr(n, epoch=0):
    return struct.pack("<I", n) + bytes([epoch])


key = bytes([0x42] * 32)
provision = bytes([0xA2, 7, 1, 1]) + key
rekey = bytes([0xA3, 2]) + bytes([0x99] * 32)
state = bytes([1]) + struct.pack("<IIIII", 7, 1, 1, 64, 5) + key
seal = {
    "kiosk-session": op(1, ctr(1) + hello7) + op(1, ctr(2) + batch(1, 1, own[0])) + op(1, ctr(2) + batch(1, 1, own[0])),
    "kiosk-replay-older": op(1, ctr(5) + hello7) + op(1, ctr(4) + batch(1, 1, own[0])),
    "raw-sealed-header": op(0, bytes([0xA1, 1, 7, 1, 9]) + bytes(range(40))) + op(0, hello7),
    "terminal-frames": op(3, ctr(1) + ack) + op(3, ctr(1) + ack) + op(3, ctr(2) + welcome) + op(2, bytes([0xA1, 1, 7, 1, 3]) + bytes(20)),
    "terminal-rekey": op(3, ctr(3) + rekey) + op(3, ctr(1) + ack),
    "decoders": op(4, provision) + op(4, rekey) + op(4, state) + op(4, bytes([0xA1, 1, 7, 1, 0xAC, 0x02])),
}
for name, data in seal.items():
    write("seal_open", name, data)
