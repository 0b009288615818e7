"""UDP datagrams out of a classic pcap capture (tcpdump, Wireshark's "pcap" format).

A capture of a surveillance network's UDP traffic is how ASTERIX is most often recorded:
each datagram's payload is what a live receiver would have got, and the packet's capture
time dates the records' times of day. The format is small enough to read here: a 24-byte
file header (magic ``a1b2c3d4`` microseconds or ``a1b23c4d`` nanoseconds, either byte
order; the link type), then per packet a 16-byte header (seconds, fraction, captured and
original lengths) and the captured bytes. Link types: Ethernet (with 802.1Q tags), Linux
cooked (SLL, SLL2), raw IP, BSD loopback; IPv4 and IPv6. Packets that are not UDP, IP
fragments and packets cut by the capture's snap length carry no whole datagram and are
counted as skipped. pcapng captures are refused with how to convert them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from deconflict.errors import InputError, Problem

__all__ = ["Datagram", "PcapScan", "is_pcap", "udp_datagrams"]

MAGICS: dict[bytes, tuple[Literal["little", "big"], float]] = {
    b"\xd4\xc3\xb2\xa1": ("little", 1e-6),
    b"\xa1\xb2\xc3\xd4": ("big", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("little", 1e-9),
    b"\xa1\xb2\x3c\x4d": ("big", 1e-9),
}
PCAPNG = b"\x0a\x0d\x0d\x0a"
NULL, ETHERNET, SLL, SLL2 = 0, 1, 113, 276
RAW_IP = (12, 14, 101, 228, 229)
"""Raw IP link types: the BSDs' DLT_RAW numbers, LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6."""
UDP = 17


@dataclass(frozen=True)
class Datagram:
    """A UDP payload: its capture time (seconds since the epoch), where it starts in the file."""

    time_s: float
    offset: int
    payload: bytes


@dataclass
class PcapScan:
    """What :func:`udp_datagrams` skipped: packets that are not whole UDP datagrams."""

    skipped: int = 0
    cut: int = 0  # the last packet ran past the end of the file
    datagrams: list[Datagram] = field(default_factory=list)


def is_pcap(head: bytes) -> bool:
    """Whether data starts as a pcap (or pcapng) capture."""
    return head[:4] in MAGICS or head[:4] == PCAPNG


def _ip_payload(packet: bytes, at: int, version: int) -> tuple[int, int] | None:
    """Where a UDP payload starts in ``packet`` and how long it is, from an IP header at ``at``."""
    if version == 4:
        if len(packet) < at + 20 or packet[at] >> 4 != 4:
            return None
        header = (packet[at] & 0x0F) * 4
        fragment = int.from_bytes(packet[at + 6 : at + 8], "big") & 0x3FFF  # more fragments, offset
        if packet[at + 9] != UDP or fragment:
            return None
        udp = at + header
    elif version == 6:
        if len(packet) < at + 40 or packet[at] >> 4 != 6 or packet[at + 6] != UDP:
            return None
        udp = at + 40
    else:
        return None
    if len(packet) < udp + 8:
        return None
    length = int.from_bytes(packet[udp + 4 : udp + 6], "big") - 8
    if length < 0 or len(packet) < udp + 8 + length:
        return None
    return udp + 8, length


def _network(packet: bytes, link: int) -> tuple[int, int] | None:
    """Where the IP header starts in a packet of the link type, and the IP version."""
    if link == ETHERNET:
        at, kind = 14, packet[12:14]
        while kind in (b"\x81\x00", b"\x88\xa8") and len(packet) >= at + 4:  # VLAN tags
            kind, at = packet[at + 2 : at + 4], at + 4
    elif link == SLL:
        at, kind = 16, packet[14:16]
    elif link == SLL2:
        at, kind = 20, packet[0:2]
    elif link in RAW_IP:
        return (0, packet[0] >> 4) if packet else None
    elif link == NULL:
        return (4, packet[4] >> 4) if len(packet) > 4 else None
    else:
        return None
    versions = {b"\x08\x00": 4, b"\x86\xdd": 6}
    return (at, versions[kind]) if kind in versions else None


def udp_datagrams(data: bytes, source: str) -> PcapScan:
    """The UDP payloads of a pcap capture, in capture order.

    Raises
    ------
    InputError
        A pcapng capture, or a link type this reader does not know.
    """
    if data[:4] == PCAPNG:
        message = "a pcapng capture: convert it to pcap first (editcap -F pcap IN OUT, or save as pcap)"
        raise InputError([Problem(source, message)])
    endian, unit_s = MAGICS[data[:4]]
    link = int.from_bytes(data[20:24], endian) & 0x0FFFFFFF
    if link not in (NULL, ETHERNET, SLL, SLL2, *RAW_IP):
        raise InputError(
            [Problem(source, f"pcap link type {link} is not read (Ethernet, Linux SLL, raw IP)")]
        )
    scan = PcapScan()
    i = 24
    n = len(data)
    while i + 16 <= n:
        seconds = int.from_bytes(data[i : i + 4], endian)
        fraction = int.from_bytes(data[i + 4 : i + 8], endian)
        captured = int.from_bytes(data[i + 8 : i + 12], endian)
        original = int.from_bytes(data[i + 12 : i + 16], endian)
        start = i + 16
        if start + captured > n:
            scan.cut += 1
            break
        packet = data[start : start + captured]
        i = start + captured
        network = _network(packet, link) if captured == original else None
        found = None if network is None else _ip_payload(packet, *network)
        if found is None:
            scan.skipped += 1
            continue
        at, length = found
        scan.datagrams.append(Datagram(seconds + fraction * unit_s, start + at, packet[at : at + length]))
    if 24 <= i < n and i + 16 > n:
        scan.cut += 1
    return scan
