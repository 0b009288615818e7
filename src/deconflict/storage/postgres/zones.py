"""Published geographical zones in the PostgreSQL database, one row per party and identifier."""

from __future__ import annotations

from collections.abc import Sequence

from deconflict.channel.zones import PublishedZone
from deconflict.storage.postgres.database import DatabaseStore
from deconflict.storage.rows import zone_from_json, zone_to_json
from deconflict.strategic.zones import Zone

__all__ = ["PostgresZoneStore"]


class PostgresZoneStore(DatabaseStore):
    """A :class:`~deconflict.channel.zones.ZoneStore` in PostgreSQL."""

    def publish(self, party: str, zones: Sequence[Zone], now_s: float) -> None:
        with self.database.transaction() as db, db.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO zones (party, identifier, zone, published_s) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (party, identifier) DO UPDATE SET zone = excluded.zone, "
                "published_s = excluded.published_s",
                [(party, z.identifier, zone_to_json(z), now_s) for z in zones],
            )

    def withdraw(self, party: str, identifier: str) -> bool:
        with self.database.transaction() as db:
            cursor = db.execute("DELETE FROM zones WHERE party = %s AND identifier = %s", (party, identifier))
        return cursor.rowcount > 0

    def list_zones(self) -> list[PublishedZone]:
        with self.database.connection() as db:
            rows = db.execute(
                "SELECT party, zone, published_s FROM zones "
                'ORDER BY party COLLATE "C", identifier COLLATE "C"'
            ).fetchall()
        return [PublishedZone(r["party"], zone_from_json(r["zone"]), float(r["published_s"])) for r in rows]
