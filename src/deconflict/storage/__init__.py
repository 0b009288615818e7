"""Storage backends implementing the domain's ``Store``, ``PartyStore`` and ``MessageStore`` protocols."""

from __future__ import annotations

from deconflict.channel.parties import PartyStore
from deconflict.config import Settings
from deconflict.storage.sqlite.audit import SQLiteAuditLog
from deconflict.storage.sqlite.conflict_states import SQLiteConflictStates
from deconflict.storage.sqlite.database import shared_database
from deconflict.storage.sqlite.incidents import SQLiteIncidentStore
from deconflict.storage.sqlite.ledger import SQLiteDisclosureLedger
from deconflict.storage.sqlite.messages import SQLiteMessageStore
from deconflict.storage.sqlite.parties import SQLitePartyStore
from deconflict.storage.sqlite.readiness import readiness_problem
from deconflict.storage.sqlite.operations import SQLiteStore
from deconflict.strategic.store import Store

__all__ = [
    "SQLiteAuditLog",
    "SQLiteConflictStates",
    "SQLiteDisclosureLedger",
    "SQLiteIncidentStore",
    "SQLiteMessageStore",
    "SQLitePartyStore",
    "SQLiteStore",
    "check_ready",
    "open_audit_log",
    "open_conflict_states",
    "open_disclosure_ledger",
    "open_incident_store",
    "open_message_store",
    "open_party_store",
    "open_store",
]


def open_store(settings: Settings) -> Store:
    """The store the settings choose (embedded SQLite at ``settings.db_path``).

    It shares one connection with :func:`open_audit_log` of the same file, so a
    filing and its audit entries commit together.
    """
    database = shared_database(settings.db_path)
    try:
        return SQLiteStore(database, settings.altitude_margins())
    finally:
        database.close()  # the store holds its own reference


def open_party_store(settings: Settings) -> PartyStore:
    """The party store the settings choose (the same SQLite file as :func:`open_store`).

    It shares one connection with :func:`open_audit_log` of the same file, so a
    party's registration, revocation or new token commits with its entry.
    """
    database = shared_database(settings.db_path)
    try:
        return SQLitePartyStore(database)
    finally:
        database.close()  # the store holds its own reference


def open_message_store(settings: Settings) -> SQLiteMessageStore:
    """The message store the settings choose (the same SQLite file as :func:`open_store`).

    It implements both :class:`~deconflict.channel.messages.MessageStore` and
    :class:`~deconflict.channel.deadlines.DeadlineStore`. It shares one connection with
    :func:`open_audit_log` of the same file, so a message and its audit entry commit together.
    """
    database = shared_database(settings.db_path)
    try:
        return SQLiteMessageStore(database)
    finally:
        database.close()  # the store holds its own reference


def open_audit_log(settings: Settings) -> SQLiteAuditLog:
    """The audit log the settings choose (the same SQLite file; the server key next to it)."""
    database = shared_database(settings.db_path)
    try:
        return SQLiteAuditLog(database)
    finally:
        database.close()  # the log holds its own reference


def open_conflict_states(settings: Settings) -> SQLiteConflictStates:
    """The conflict lifecycle store the settings choose (the same SQLite file as :func:`open_store`).

    It shares one connection with :func:`open_audit_log` of the same file, so a
    lifecycle change and its audit entry commit together.
    """
    database = shared_database(settings.db_path)
    try:
        return SQLiteConflictStates(database)
    finally:
        database.close()  # the store holds its own reference


def check_ready(settings: Settings) -> str | None:
    """Why the storage the settings choose cannot serve now (it does not answer, or its schema is
    not at the latest version), or ``None`` when it can."""
    return readiness_problem(settings.db_path)


def open_incident_store(settings: Settings) -> SQLiteIncidentStore:
    """The incident store (and tactical history) the settings choose (the same SQLite file).

    It shares one connection with :func:`open_audit_log` of the same file, so an
    incident and its audit entry commit together.
    """
    database = shared_database(settings.db_path)
    try:
        return SQLiteIncidentStore(database)
    finally:
        database.close()  # the store holds its own reference


def open_disclosure_ledger(settings: Settings) -> SQLiteDisclosureLedger:
    """The disclosure ledger the settings choose (the same SQLite file as :func:`open_store`).

    It shares one connection with :func:`open_store` and :func:`open_audit_log`
    of the same file, so a conflict, its audit entry and its disclosures commit together.
    """
    database = shared_database(settings.db_path)
    try:
        return SQLiteDisclosureLedger(database)
    finally:
        database.close()  # the ledger holds its own reference
