"""PostgreSQL 15 + PostGIS 3 storage: every store in one database, bundled by :class:`PostgresStorage`."""
