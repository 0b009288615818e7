"""EUROCONTROL ASTERIX: CAT021 (ADS-B ground station target reports) and CAT062 (SDPS system
tracks), from data blocks to states.

Framing: a file (or a UDP datagram) is data blocks back to back, each a category byte, a
2-byte big-endian length (the block's, header included) and records. The framing is ours:
a block whose length is shorter than a header and a field specification, or bytes that do
not start a block, are skipped up to the next plausible CAT021/CAT062 block and counted as
``garbage``; a block running past the end of the data counts as ``truncated``. Blocks of
other categories (service messages, radar plots) carry no state and are skipped (read, not
dropped). A pcap capture of the UDP datagrams is read too (:mod:`deconflict.feeds.pcap`): each
datagram's blocks as above, byte offsets still the file's.

Decoding: records are parsed by `libasterix <https://pypi.org/project/libasterix/>`_ (MIT)
with the editions :data:`EDITIONS` (CAT021 2.7, CAT062 1.21). A record the library
rejects is dropped as ``bad_record``, naming its byte offset in the file and the first item
that does not parse; the rest of its block is skipped with it (a record's length is known
only by parsing it). What a record says, in the module's units (converted at the edge):

- identity: CAT021 the target address (I021/080; ``~`` before it when I021/040 says it is
  not a 24-bit ICAO address); CAT062 the aircraft address (I062/380 ADR) when the track has
  had one, else ``track-SAC-SIC-NUMBER`` (I062/010, I062/040). A record without one is
  dropped (``no_identity``).
- position: WGS-84, I021/131 (high resolution) else I021/130; I062/105. Latitudes beyond
  ±90° or longitudes beyond ±180° are dropped (``out_of_range``).
- altitude: the flight level (pressure altitude, what separation is measured in),
  I021/145 or I062/136 (measured) or I062/135 (calculated barometric); the geometric
  height only where there is none (I021/140, I062/130).
- velocity: I021/160 ground speed and track angle; I062/185 Cartesian ``vx`` (east),
  ``vy`` (north) turned into ground speed and track. Vertical rate: I021/155 (barometric)
  else I021/157 (geometric); I062/220. None: level.
- callsign: I021/170; I062/245, else I062/380 ID, else I062/390 CS.
- on the ground: I021/040 GBS; I062/080 SFC, else I062/380 SAB GBS, else the flight status
  of I062/380 COM.

Time: a record carries the time of day (UTC seconds since midnight): I021/071 (time of
applicability for position), else I021/073 (time of reception for position), else I021/077
(time of transmission); I062/070. A record without one is dropped (``no_time``). The date
comes from outside: a file's first record is on the day of ``start_s`` (``--start-time``;
the next day when its time of day is more than 12 h before the start's), and each record
after it at the time of day nearest to the previous record's time (a recording that runs
past midnight goes on into the next day). Without ``start_s`` times are seconds from
1970-01-01 00:00 UTC, the time of day plus whole days. A live source dates each record
nearest to its receive time, a pcap capture nearest to its packet's capture time.

Assembly is the BaseStation reader's rule (:mod:`deconflict.feeds.sbs`): a record with a
position becomes a state when its aircraft has a velocity and an altitude within
``max_velocity_age_s`` (usually the record's own); the reports go through the same assembly
code.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from asterix.base import Bits, Fspec, ParsingMode, UapItem

from deconflict.feeds.drops import Drops, Reading
from deconflict.feeds.files import open_binary
from deconflict.feeds.pcap import is_pcap, udp_datagrams
from deconflict.feeds.sbs import (
    DEFAULT_MAX_VELOCITY_AGE_S,
    FeedState,
    Messages,
    SbsAssembler,
    assemble_messages,
)

__all__ = [
    "EDITIONS",
    "AsterixAssembler",
    "Block",
    "BlockScan",
    "Report",
    "assemble_asterix",
    "decode_block",
    "looks_like_asterix",
    "read_asterix",
    "scan_blocks",
]

EDITIONS: dict[int, str] = {21: "Cat_021_2_7", 62: "Cat_062_1_21"}
"""The libasterix specification each category is parsed with (a class of ``asterix.generated``)."""
CATEGORIES = frozenset({1, 2, 8, 10, 11, 19, 20, 21, 23, 25, 34, 48, 62, 63, 65, 150, 247, 252})
"""Categories a surveillance stream carries beside CAT021/CAT062 (plots, service messages):
what may follow a block (the framing's plausibility check)."""
DAY_S = 86_400.0
HALF_DAY_S = 43_200.0
HEADER_BYTES = 3
MPS_PER_KT = 1852.0 / 3600.0
AIRBORNE = 3  # a BaseStation transmission type, so the reports go through the same assembly


@functools.cache
def _edition(category: int) -> Any:
    """The libasterix specification of ``category`` (one of :data:`EDITIONS`).

    Imported on first use: ``asterix.generated`` holds every category's editions, some
    6 MB of code that takes a second or more to load, and every ``deconflict`` command (a
    server too) imports this module, most of them never to read ASTERIX.
    """
    import asterix.generated

    return getattr(asterix.generated, EDITIONS[category])


@dataclass(frozen=True)
class Block:
    """One data block: where it starts in the data, its category, and its bytes (header included)."""

    offset: int
    category: int
    data: bytes


@dataclass
class BlockScan:
    """What :func:`scan_blocks` found: the blocks, and the runs of bytes it skipped."""

    blocks: list[Block] = field(default_factory=list)
    garbage: list[tuple[int, int]] = field(default_factory=list)  # (offset, bytes)
    truncated: list[tuple[int, int]] = field(default_factory=list)  # (offset, bytes missing)


def _block_at(data: bytes, i: int) -> int:
    """The length of a plausible block at ``i`` (0: none there; -1: one cut by the end)."""
    if i + HEADER_BYTES > len(data):
        return -1
    length = int.from_bytes(data[i + 1 : i + 3], "big")
    if length < HEADER_BYTES + 1:
        return 0
    return length if i + length <= len(data) else -1


def _ours_at(data: bytes, i: int, depth: int = 2) -> bool:
    """Whether a CAT021/CAT062 block starts at ``i`` followed by ``depth`` more blocks of the
    categories a surveillance stream carries (or the end of the data): a single length field
    says little, a chain of them does."""
    if i == len(data):
        return True
    return data[i] in EDITIONS and _block_at(data, i) > 0 and _chain(data, i, depth)


def _chain(data: bytes, i: int, depth: int) -> bool:
    if i == len(data):
        return True
    if data[i] not in CATEGORIES:
        return False
    length = _block_at(data, i)
    if length < 0:
        return True  # a block cut by the end of the data
    return length > 0 and (depth == 0 or _chain(data, i + length, depth - 1))


def _resynchronise(data: bytes, start: int) -> int:
    """The next offset from ``start`` where a chain of CAT021/CAT062 blocks starts; ``len(data)``
    when there is none."""
    n = len(data)
    for i in range(start, n):
        if data[i] in EDITIONS and _ours_at(data, i):
            return i
    return n


def scan_blocks(data: bytes) -> BlockScan:
    """Split ASTERIX bytes into data blocks, skipping garbage (see the module's framing): a
    CAT021/CAT062 block inside which another one starts was cut short (``truncated``).

    Examples
    --------
    >>> block = bytes([62, 0, 5, 0x80, 0x01])
    >>> scan = scan_blocks(b"junk" + block + block[:4])
    >>> [(b.offset, b.category) for b in scan.blocks], scan.garbage, scan.truncated
    ([(4, 62)], [(0, 4)], [(9, 1)])
    """
    scan = BlockScan()
    n = len(data)
    i = 0
    while i < n:
        length = _block_at(data, i)
        ours = data[i] in EDITIONS
        if length > 0:
            follows = _chain(data, i + length, 0)
            if ours and not follows:
                j = _resynchronise(data, i + 1)
                if j < i + length:  # a block starts inside this one: this one was cut short
                    scan.truncated.append((i, length - (j - i)))
                    i = j
                    continue
            if ours or follows:
                scan.blocks.append(Block(i, data[i], data[i : i + length]))
                i += length
                continue
        elif length < 0 and ours:
            size = int.from_bytes(data[i + 1 : i + 3], "big") if i + HEADER_BYTES <= n else HEADER_BYTES
            j = _resynchronise(data, i + 1)
            scan.truncated.append((i, size - (j - i)))
            i = j
            continue
        j = _resynchronise(data, i + 1)
        scan.garbage.append((i, j - i))
        i = j
    return scan


def looks_like_asterix(head: bytes, whole: bool) -> bool:
    """Whether data starts with CAT021/CAT062 data blocks: two in a row, or one that is the whole
    file (``whole``: ``head`` is the whole file)."""
    if not head or head[0] not in EDITIONS:
        return False
    length = _block_at(head, 0)
    if length <= 0:
        return False
    if length == len(head):
        return whole
    return _chain(head, length, 1)


@dataclass(frozen=True)
class Report:
    """What one record says about its aircraft, in the module's units; NaN where it says nothing.

    ``ground``: -1 not said, 0 airborne, 1 on the ground."""

    id: str
    callsign: str
    time_of_day_s: float
    lat_deg: float
    lon_deg: float
    alt_ft: float
    gs_kt: float
    trk_deg: float
    vr_ftpmin: float
    ground: int


class _Bad(Exception):
    """A record with a value out of range, or without what every record must have."""

    def __init__(self, reason: str, field: str | None, message: str) -> None:
        super().__init__(message)
        self.reason, self.field, self.message = reason, field, message


def _item(record: Any, name: str) -> Any:
    item = record.get_item(name)
    return None if item is None else item.variation


def _sub(variation: Any, name: str) -> Any:
    item = variation.get_item(name)
    return None if item is None else item.variation


def _quantity(variation: Any, unit: str) -> float:
    return float(variation.content.as_quantity(unit))


def _uint(variation: Any) -> int:
    return int(variation.content.as_uint())


def _text(variation: Any) -> str:
    return str(variation.content.as_string()).strip().rstrip("_#")


def _position(record: Any, high: str | None, low: str, category: int) -> tuple[float, float]:
    for name, unit in ((high, "°"), (low, "°")):
        if name is None:
            continue
        position = _item(record, name)
        if position is None:
            continue
        lat_deg = _quantity(_sub(position, "LAT"), unit)
        lon_deg = _quantity(_sub(position, "LON"), unit)
        where = f"I{category:03d}/{name}"
        if not -90.0 <= lat_deg <= 90.0:
            raise _Bad(
                "out_of_range", f"{where} LAT", f"latitude must be within [-90, 90], got {lat_deg:.6f}"
            )
        if not -180.0 <= lon_deg <= 180.0:
            raise _Bad(
                "out_of_range", f"{where} LON", f"longitude must be within [-180, 180], got {lon_deg:.6f}"
            )
        return lat_deg, lon_deg
    return math.nan, math.nan


def _time_of_day(record: Any, names: tuple[str, ...], category: int) -> float:
    for name in names:
        item = _item(record, name)
        if item is not None:
            return _quantity(item, "s")
    where = " or ".join(f"I{category:03d}/{name}" for name in names)
    raise _Bad("no_time", where, "no time of day")


def report_cat021(record: Any) -> Report:
    """What a CAT021 record says (see the module's list)."""
    address = _item(record, "080")
    if address is None:
        raise _Bad("no_identity", "I021/080", "no target address")
    descriptor = _item(record, "040")
    icao = descriptor is None or _uint(_sub(descriptor, "ATP")) == 0
    ident = ("" if icao else "~") + f"{_uint(address):06x}"
    time_of_day_s = _time_of_day(record, ("071", "073", "077"), 21)
    lat_deg, lon_deg = _position(record, "131", "130", 21)
    alt_ft = math.nan
    if (level := _item(record, "145")) is not None:
        alt_ft = _quantity(level, "FL") * 100.0
    elif (height := _item(record, "140")) is not None:
        alt_ft = _quantity(height, "ft")
    gs_kt = trk_deg = math.nan
    if (vector := _item(record, "160")) is not None:
        gs_kt = _quantity(_sub(vector, "GS"), "NM/s") * 3600.0
        trk_deg = _quantity(_sub(vector, "TA"), "°")
    vr_ftpmin = math.nan
    for name, sub in (("155", "BVR"), ("157", "GVR")):
        if (rate := _item(record, name)) is not None:
            vr_ftpmin = _quantity(_sub(rate, sub), "ft/min")
            break
    callsign = "" if (target := _item(record, "170")) is None else _text(target)
    ground = -1
    if descriptor is not None and (gbs := _sub(descriptor, "GBS")) is not None:
        ground = _uint(gbs)
    return Report(ident, callsign, time_of_day_s, lat_deg, lon_deg, alt_ft, gs_kt, trk_deg, vr_ftpmin, ground)


# I062/380 COM flight status: airborne (0, 2), on the ground (1, 3); others do not say.
COM_GROUND = {0: 0, 1: 1, 2: 0, 3: 1}


def report_cat062(record: Any, addresses: dict[str, str]) -> Report:
    """What a CAT062 record says (see the module's list); ``addresses`` remembers each track's
    aircraft address once a record gave it."""
    number = _item(record, "040")
    if number is None:
        raise _Bad("no_identity", "I062/040", "no track number")
    source = _item(record, "010")
    sac_sic = "?-?" if source is None else f"{_uint(_sub(source, 'SAC'))}-{_uint(_sub(source, 'SIC'))}"
    track = f"track-{sac_sic}-{_uint(number)}"
    derived = _item(record, "380")
    if derived is not None and (adr := _sub(derived, "ADR")) is not None:
        addresses[track] = f"{_uint(adr):06x}"
    ident = addresses.get(track, track)
    time_of_day_s = _time_of_day(record, ("070",), 62)
    lat_deg, lon_deg = _position(record, None, "105", 62)
    alt_ft = math.nan
    if (measured := _item(record, "136")) is not None:
        alt_ft = _quantity(measured, "FL") * 100.0
    elif (barometric := _item(record, "135")) is not None:
        alt_ft = _quantity(_sub(barometric, "CTB"), "FL") * 100.0
    elif (geometric := _item(record, "130")) is not None:
        alt_ft = _quantity(geometric, "ft")
    gs_kt = trk_deg = math.nan
    if (velocity := _item(record, "185")) is not None:
        vx_mps, vy_mps = _quantity(_sub(velocity, "VX"), "m/s"), _quantity(_sub(velocity, "VY"), "m/s")
        gs_kt = math.hypot(vx_mps, vy_mps) / MPS_PER_KT
        trk_deg = math.degrees(math.atan2(vx_mps, vy_mps)) % 360.0
    vr_ftpmin = math.nan if (rate := _item(record, "220")) is None else _quantity(rate, "ft/min")
    callsign = ""
    if (target := _item(record, "245")) is not None:
        callsign = _text(_sub(target, "CHR"))
    elif derived is not None and (own := _sub(derived, "ID")) is not None:
        callsign = _text(own)
    elif (plan := _item(record, "390")) is not None and (sign := _sub(plan, "CS")) is not None:
        callsign = _text(sign)
    ground = -1
    status = _item(record, "080")
    if status is not None and (surface := _sub(status, "SFC")) is not None:
        ground = _uint(surface)
    elif derived is not None and (sab := _sub(derived, "SAB")) is not None:
        ground = _uint(_sub(sab, "GBS"))
    elif derived is not None and (com := _sub(derived, "COM")) is not None:
        ground = COM_GROUND.get(_uint(_sub(com, "STAT")), -1)
    return Report(ident, callsign, time_of_day_s, lat_deg, lon_deg, alt_ft, gs_kt, trk_deg, vr_ftpmin, ground)


def _failed_item(spec: Any, bits: Any, category: int) -> str:
    """The first item of a record that does not parse (for the drop's message)."""
    found = Fspec.parse(ParsingMode.StrictParsing, spec.cv_record.cv_fspec_max_bytes, bits)
    if isinstance(found, ValueError):
        return "FSPEC"
    fspec, remaining = found
    items = spec.cv_record.cv_items_list
    for k, flag in enumerate(fspec):
        if not flag:
            continue
        if k >= len(items) or not issubclass(items[k], UapItem):
            return f"FSPEC bit {k + 1}"
        non_spare = items[k].cv_non_spare
        parsed = non_spare.parse(remaining)
        if isinstance(parsed, ValueError):
            return f"I{category:03d}/{non_spare.cv_name}"
        remaining = parsed[1]
    return "FSPEC"


@dataclass
class Decoded:
    """A block's records: (the record's number in the block from 0, report) for each record that
    says something, and how many records were read."""

    reports: list[tuple[int, Report]] = field(default_factory=list)
    records: int = 0


def decode_block(block: Block, drops: Drops, addresses: dict[str, str], base: int = 0) -> Decoded:
    """Parse a CAT021/CAT062 block's records with libasterix; what each says, bad ones counted in
    ``drops`` naming the record's byte offset (``base`` plus its offset in the block) and field."""
    decoded = Decoded()
    if block.category not in EDITIONS:
        return decoded
    spec = _edition(block.category)
    bits = Bits.from_bytes(block.data[HEADER_BYTES:])
    total = len(bits)
    while len(bits):
        offset = base + block.offset + HEADER_BYTES + (total - len(bits)) // 8
        number = decoded.records
        decoded.records += 1
        where = f"record at byte {offset}"
        parsed = spec.cv_record.parse(ParsingMode.StrictParsing, bits)
        if isinstance(parsed, ValueError):
            rest = len(bits) // 8
            item = _failed_item(spec, bits, block.category)
            drops.add(
                "bad_record",
                None,
                item,
                f"CAT{block.category:03d} record does not parse ({parsed}); the {rest} bytes left in its "
                "data block skipped",
                record=where,
            )
            break
        record, bits = parsed
        try:
            report = report_cat021(record) if block.category == 21 else report_cat062(record, addresses)
        except _Bad as bad:
            drops.add(bad.reason, None, bad.field, bad.message, record=where)
            continue
        decoded.reports.append((number, report))
    return decoded


class DayClock:
    """Dates times of day: each one the instant nearest the previous (the first on the day of
    ``start_s``, the next day when more than 12 h before the start's time of day)."""

    def __init__(self, start_s: float) -> None:
        self.previous_s: float | None = None
        self.start_s = start_s

    def time_s(self, time_of_day_s: float) -> float:
        if self.previous_s is None:
            day_s = math.floor(self.start_s / DAY_S) * DAY_S
            time_s = day_s + time_of_day_s
            if time_s < self.start_s - HALF_DAY_S:
                time_s += DAY_S
        else:
            time_s = nearest(self.previous_s, time_of_day_s)
        self.previous_s = time_s
        return time_s


def nearest(moment_s: float, time_of_day_s: float) -> float:
    """The instant with time of day ``time_of_day_s`` nearest ``moment_s`` (seconds since the epoch).

    Examples
    --------
    >>> nearest(86_400.0 * 2 + 10.0, 86_390.0) - 86_400.0 * 2
    -10.0
    """
    day_s = math.floor(moment_s / DAY_S) * DAY_S
    time_s = day_s + time_of_day_s
    if time_s - moment_s > HALF_DAY_S:
        time_s -= DAY_S
    elif moment_s - time_s > HALF_DAY_S:
        time_s += DAY_S
    return time_s


def _scan_drops(scan: BlockScan, drops: Drops, base: int = 0) -> None:
    for offset, size in scan.garbage:
        drops.add(
            "garbage",
            None,
            None,
            f"{size} bytes that start no CAT021/CAT062 data block",
            record=f"byte {base + offset}",
        )
    for offset, missing in scan.truncated:
        drops.add(
            "truncated",
            None,
            None,
            f"a data block cut short ({missing} bytes missing)",
            record=f"byte {base + offset}",
        )


def assemble_asterix(
    data: bytes,
    source: str,
    *,
    start_s: float = 0.0,
    max_velocity_age_s: float = DEFAULT_MAX_VELOCITY_AGE_S,
) -> Reading:
    """States from the bytes of an ASTERIX recording (see the module's rules): data blocks back to
    back, or a pcap capture of UDP datagrams (:mod:`deconflict.feeds.pcap`; each record then dated
    nearest its packet's capture time, ``start_s`` unused). Rows are the numbers of the data
    blocks' records from 1, in file order (a block of another category counts as one);
    :attr:`Reading.records` counts those, the runs of garbage and cut blocks, and the packets of a
    capture that are not whole UDP datagrams.

    Raises
    ------
    InputError
        A pcapng capture, or a pcap capture of a link type :mod:`~deconflict.feeds.pcap` does not read.
    """
    drops = Drops(source)
    if is_pcap(data):
        capture = udp_datagrams(data, source)
        drops.add_many("not_udp", capture.skipped)
        if capture.cut:
            drops.add("truncated", None, None, "a packet cut by the end of the capture", record="last packet")
        parts = [(d.payload, d.offset, d.time_s) for d in capture.datagrams]
        records = capture.skipped + capture.cut
    else:
        parts = [(data, 0, math.nan)]
        records = 0
    addresses: dict[str, str] = {}
    clock = DayClock(start_s)
    codes: dict[str, int] = {}
    rows: list[int] = []
    times: list[float] = []
    reports: list[Report] = []
    rows_so_far = 0  # of the blocks, in file order: states' rows
    for payload, base, captured_s in parts:
        scan = scan_blocks(payload)
        _scan_drops(scan, drops, base)
        records += len(scan.garbage) + len(scan.truncated)
        for block in scan.blocks:
            if block.category not in EDITIONS:
                rows_so_far += 1
                continue
            decoded = decode_block(block, drops, addresses, base)
            for number, report in decoded.reports:
                rows.append(rows_so_far + number + 1)
                dated = clock.time_s(report.time_of_day_s)
                times.append(dated if math.isnan(captured_s) else nearest(captured_s, report.time_of_day_s))
                reports.append(report)
            rows_so_far += decoded.records
    messages = _messages(rows, times, reports, codes)
    tracks = assemble_messages(messages, list(codes), source, max_velocity_age_s, drops)
    return Reading("asterix", tracks, drops, records + rows_so_far)


def _messages(rows: list[int], times: list[float], reports: list[Report], codes: dict[str, int]) -> Messages:
    def column(name: str) -> np.ndarray[Any, np.dtype[np.float64]]:
        return np.array([getattr(r, name) for r in reports], dtype=np.float64)

    return Messages(
        row=np.array(rows, dtype=np.int64),
        aircraft=np.array([codes.setdefault(r.id, len(codes)) for r in reports], dtype=np.int64),
        msg_type=np.full(len(reports), AIRBORNE, dtype=np.int8),
        time_s=np.array(times, dtype=np.float64),
        values={
            name: column(name) for name in ("alt_ft", "gs_kt", "trk_deg", "lat_deg", "lon_deg", "vr_ftpmin")
        },
        callsign=np.array([r.callsign for r in reports], dtype=np.str_) if reports else np.empty(0, np.str_),
        ground=np.array([r.ground for r in reports], dtype=np.int8),
    )


def read_asterix(
    path: str | Path,
    *,
    start_s: float = 0.0,
    max_velocity_age_s: float = DEFAULT_MAX_VELOCITY_AGE_S,
) -> Reading:
    """Read an ASTERIX recording (raw data blocks back to back, optionally ``.gz``); see
    :func:`assemble_asterix`.

    Raises
    ------
    InputError
        The file cannot be read (bad blocks and records are dropped and counted, not raised).
    """
    with open_binary(Path(path)) as stream:
        data = stream.read()
    return assemble_asterix(data, str(path), start_s=start_s, max_velocity_age_s=max_velocity_age_s)


class AsterixAssembler:
    """Datagram-by-datagram assembly (the live path): each datagram's blocks are decoded as they
    come, each record dated nearest its receive time, and go through the BaseStation reader's
    assembly (:class:`~deconflict.feeds.sbs.SbsAssembler`); rows are record numbers from 1, and
    byte offsets count from the first datagram's first byte.

    Examples
    --------
    >>> a = AsterixAssembler("live")
    >>> a.datagram(b"\\x3e\\x00\\x05\\x80\\x01", 100.0), a.records, a.drops.summary()
    ([], 1, 'bad_record 1')
    """

    def __init__(self, source: str, *, max_velocity_age_s: float = DEFAULT_MAX_VELOCITY_AGE_S) -> None:
        self.assembler = SbsAssembler(source, max_velocity_age_s)
        self.drops = self.assembler.drops
        self.records = 0
        self.received = 0  # bytes so far: offsets in messages count from the first datagram
        self._rows = 0  # records of the blocks so far: states' rows, as a file's
        self._addresses: dict[str, str] = {}

    def datagram(self, data: bytes, time_s: float) -> list[FeedState]:
        """Take one datagram received at ``time_s``; the states it completes."""
        base = self.received
        self.received += len(data)
        scan = scan_blocks(data)
        _scan_drops(scan, self.drops, base)
        self.records += len(scan.garbage) + len(scan.truncated)
        states: list[FeedState] = []
        for block in scan.blocks:
            first = self._rows
            if block.category not in EDITIONS:
                decoded = Decoded(records=1)
            else:
                decoded = decode_block(block, self.drops, self._addresses, base)
            self.records += decoded.records
            self._rows += decoded.records
            for number, report in decoded.reports:
                state = self._report(report, nearest(time_s, report.time_of_day_s), first + number + 1)
                if state is not None:
                    states.append(state)
        return states

    def _report(self, report: Report, time_s: float, row: int) -> FeedState | None:
        return self.assembler.message(
            report.id,
            AIRBORNE,
            time_s,
            {
                name: value
                for name in ("alt_ft", "gs_kt", "trk_deg", "lat_deg", "lon_deg", "vr_ftpmin")
                if not math.isnan(value := getattr(report, name))
            },
            report.callsign,
            None if report.ground < 0 else report.ground,
            row,
        )
