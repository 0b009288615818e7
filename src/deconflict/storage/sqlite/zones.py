"""Published geographical zones in the SQLite file, one row per party and identifier."""

from __future__ import annotations

from collections.abc import Sequence

from deconflict.channel.zones import PublishedZone
from deconflict.storage.rows import zone_from_json, zone_to_json
from deconflict.storage.sqlite.database import DatabaseStore
from deconflict.strategic.zones import Zone

__all__ = ["SQLiteZoneStore"]


class SQLiteZoneStore(DatabaseStore):
    """The default :class:`~deconflict.channel.zones.ZoneStore`."""

    def publish(self, party: str, zones: Sequence[Zone], now_s: float) -> None:
        with self.database.transaction():
            self._db.executemany(
                "INSERT INTO zones (party, identifier, zone, published_s) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (party, identifier) DO UPDATE SET zone = excluded.zone, "
                "published_s = excluded.published_s",
                [(party, z.identifier, zone_to_json(z), now_s) for z in zones],
            )

    def withdraw(self, party: str, identifier: str) -> bool:
        with self.database.transaction():
            cursor = self._db.execute(
                "DELETE FROM zones WHERE party = ? AND identifier = ?", (party, identifier)
            )
        return cursor.rowcount > 0

    def list_zones(self) -> list[PublishedZone]:
        with self._lock:
            rows = self._db.execute(
                "SELECT party, zone, published_s FROM zones ORDER BY party, identifier"
            ).fetchall()
        return [PublishedZone(r["party"], zone_from_json(r["zone"]), float(r["published_s"])) for r in rows]
