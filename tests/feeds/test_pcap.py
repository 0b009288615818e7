"""ASTERIX in pcap captures of UDP: payloads out of Ethernet (VLAN-tagged too), Linux cooked and
raw IP packets, IPv4 and IPv6, records dated by their packets' capture times; packets that are
no whole datagram counted; pcapng refused with how to convert it."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from deconflict.errors import InputError
from deconflict.feeds import detect_format, read_feed
from deconflict.feeds.pcap import udp_datagrams
from tests.feeds.asterix_encoder import cat021_record, cat062_record, data_block

KLM, AFR = 0x40621D, 0x3944F1
NOON_S = 1714564800.0  # 2024-05-01T12:00:00Z


def _udp(payload: bytes) -> bytes:
    return struct.pack(">HHHH", 40000, 8600, 8 + len(payload), 0) + payload


def _ipv4(payload: bytes, protocol: int = 17, fragment: int = 0) -> bytes:
    header = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, fragment, 64, protocol, 0,
                         bytes([10, 0, 0, 1]), bytes([239, 0, 0, 1]))  # fmt: skip
    return header + payload


def _ipv6(payload: bytes) -> bytes:
    return struct.pack(">IHBB16s16s", 6 << 28, len(payload), 17, 64, bytes(16), bytes(16)) + payload


def _ethernet(ip: bytes, vlan: bool = False) -> bytes:
    tag = b"\x81\x00\x00\x07" if vlan else b""
    kind = b"\x08\x00" if ip[0] >> 4 == 4 else b"\x86\xdd"
    return bytes(6) + bytes(6) + tag + kind + ip


def _pcap(packets: list[tuple[float, bytes]], link: int = 1, nanoseconds: bool = False) -> bytes:
    magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
    out = struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 65535, link)
    for time_s, packet in packets:
        seconds = int(time_s)
        fraction = round((time_s - seconds) * (1e9 if nanoseconds else 1e6))
        out += struct.pack("<IIII", seconds, fraction, len(packet), len(packet)) + packet
    return out


def _reports(time_s: float) -> bytes:
    return data_block(21, [cat021_record(KLM, time_s, 48.5, 2.0, 35000, 450, 90, 0, "KLM1")]) + data_block(
        62, [cat062_record(3, time_s, 48.0, 2.0, 30000, 200.0, 180.0, 0.0, icao24=AFR)]
    )


def test_records_in_a_capture_are_dated_by_its_packets(tmp_path: Path) -> None:
    midnight_s = 1714608000.0  # 2024-05-02T00:00:00Z: the capture runs past midnight
    first, second = _reports(midnight_s - 1), _reports(midnight_s + 1)
    packets = [
        (midnight_s - 0.5, _ethernet(_ipv4(_udp(first)))),
        (midnight_s + 0.2, _ethernet(_ipv4(b"\x00" * 20, protocol=6))),  # TCP: not a datagram
        (midnight_s + 0.3, _ethernet(_ipv4(_udp(b"\x15\x00"), fragment=0x2000))),  # a fragment
        (midnight_s + 1.5, _ethernet(_ipv6(_udp(second)), vlan=True)),
    ]
    path = tmp_path / "capture.pcap"
    path.write_bytes(_pcap(packets, nanoseconds=True))
    assert detect_format(path) == "asterix"
    reading = read_feed(path)  # no --start-time: the capture dates the records
    t = reading.tracks
    assert t.time_s is not None
    assert sorted(zip(t.ids.tolist(), t.time_s.tolist(), strict=True)) == [
        ("3944f1", midnight_s - 1),
        ("3944f1", midnight_s + 1),
        ("40621d", midnight_s - 1),
        ("40621d", midnight_s + 1),
    ]
    assert dict(reading.drops.counts) == {"not_udp": 2} and reading.records == 6


def test_bad_bytes_in_a_capture_name_their_offset_in_the_file(tmp_path: Path) -> None:
    bad = data_block(21, [cat021_record(KLM, NOON_S, 95.0, 2.0, 35000, 450, 90, 0)])
    packet = _ipv4(_udp(b"\x00\xff" + bad))
    data = _pcap([(NOON_S, packet), (NOON_S + 1, _ipv4(_udp(_reports(NOON_S + 1))))], link=101)
    data += struct.pack("<IIII", int(NOON_S) + 2, 0, 100, 100) + bytes(10)  # cut by the end
    path = tmp_path / "c.pcap"
    path.write_bytes(data)
    reading = read_feed(path, "asterix")
    assert dict(reading.drops.counts) == {"garbage": 1, "out_of_range": 1, "truncated": 1}
    payload_at = 24 + 16 + 20 + 8
    messages = [str(p) for p in reading.drops.examples]
    assert f"{path}: byte {payload_at}: garbage: 2 bytes that start no CAT021/CAT062 data block" in messages
    assert any(
        m.startswith(f"{path}: record at byte {payload_at + 2 + 3}: I021/131 LAT: out_of_range")
        for m in messages
    )
    assert len(reading.tracks) == 2


def test_linux_cooked_captures_and_pcapng(tmp_path: Path) -> None:
    sll = bytes(14) + b"\x08\x00"
    data = _pcap([(NOON_S, sll + _ipv4(_udp(_reports(NOON_S))))], link=113)
    assert [len(d.payload) for d in udp_datagrams(data, "x").datagrams] == [len(_reports(NOON_S))]
    path = tmp_path / "c.pcapng"
    path.write_bytes(b"\x0a\x0d\x0d\x0a" + bytes(40))
    assert detect_format(path) == "asterix"
    with pytest.raises(InputError, match="pcapng capture: convert it to pcap first"):
        read_feed(path)
    with pytest.raises(InputError, match="link type 147 is not read"):
        udp_datagrams(_pcap([], link=147), "x")
