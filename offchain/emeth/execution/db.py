"""Durable storage of the execution layer: SQLAlchemy Core tables.

SQLite (a file, or ``sqlite://`` in memory) by default; the same code runs on PostgreSQL
given a ``postgresql://`` URL. Token amounts are stored as decimal strings (uint256 does not
fit a 64-bit integer column); sums are taken in Python.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from offchain.errors import ConfigError

metadata = MetaData()

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", String(34), primary_key=True),
    Column("parent_id", String(34), nullable=True, index=True),
    Column("sub_index", Integer, nullable=True),
    Column("requester", String(42), nullable=False, index=True),
    Column("program_id", String(64), nullable=False),
    Column("dataset_key", String(200), nullable=False),
    Column("params", Text, nullable=False),
    Column("fee", String(80), nullable=False),
    Column("timeout_s", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("splittable", Boolean, nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("node", String(42), nullable=True, index=True),
    Column("result_key", String(200), nullable=True),
    Column("fuel", String(80), nullable=True),
    Column("children", Integer, nullable=False, default=0),
    Column("reason", Text, nullable=True),
    Column("processing_deadline", Float, nullable=True),
    Column("ticket_id", BigInteger, nullable=True, index=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

history = Table(
    "history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(34), nullable=False, index=True),
    Column("action", String(32), nullable=False),
    Column("actor", String(42), nullable=False),
    Column("from_state", String(16), nullable=True),
    Column("to_state", String(16), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("node", String(42), nullable=True),
    Column("detail", Text, nullable=True),
    Column("at", Float, nullable=False),
)

applied_actions = Table(
    "applied_actions",
    metadata,
    Column("digest", String(66), primary_key=True),
    Column("action", String(32), nullable=False),
    Column("actor", String(42), nullable=False),
    Column("job_id", String(34), nullable=True),
    Column("at", Float, nullable=False),
)

penalties = Table(
    "penalties",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("node", String(42), nullable=False, index=True),
    Column("job_id", String(34), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("amount", String(80), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("ticket_id", BigInteger, nullable=True, index=True),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("job_id", "attempt", name="uq_penalty_job_attempt"),
)

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_id", BigInteger, primary_key=True, autoincrement=False),
    Column("node", String(42), nullable=False, index=True),
    Column("signer", String(42), nullable=False),
    Column("jobs_root", String(66), nullable=False),
    Column("job_count", Integer, nullable=False),
    Column("fuel", String(80), nullable=False),
    Column("penalty", String(80), nullable=False),
    Column("signature", String(200), nullable=False),
    Column("valid_until", BigInteger, nullable=False),  # last L1 timestamp it may settle at
    Column("settled", Boolean, nullable=False, default=False),
    # Past validUntil on L1 and never settled: its jobs were released to be billed again.
    Column("expired", Boolean, nullable=False, default=False),
    Column("settled_tx", String(66), nullable=True),
    Column("created_at", Float, nullable=False),
)

ticket_jobs = Table(
    "ticket_jobs",
    metadata,
    Column("ticket_id", BigInteger, nullable=False, index=True),
    Column("idx", Integer, nullable=False),
    Column("job_id", String(34), nullable=False, unique=True),  # each job in one Ticket only
)

ticket_debits = Table(
    "ticket_debits",
    metadata,
    Column("ticket_id", BigInteger, nullable=False, index=True),
    Column("idx", Integer, nullable=False),
    Column("requester", String(42), nullable=False, index=True),
    Column("amount", String(80), nullable=False),
    # The requester's leaf under the Ticket's debitsRoot (docs/spec.md, "Debits and lazy
    # balances"): its cumulative debit in this execution layer and its previous Ticket.
    Column("cumulative", String(80), nullable=False),
    Column("prev_ticket_id", BigInteger, nullable=False),
    # Part of ``amount`` already counted in the chain by an expired Ticket's debit (docs/spec.md,
    # "Ticket validity"): ``cumulative`` = previous cumulative + amount - carried.
    Column("carried", String(80), nullable=False, default="0"),
)

job_backing = Table(
    "job_backing",
    metadata,
    # What backs a job in a posted Ticket's leaf (docs/spec.md, "Disputes and the bonded Signer
    # set"): its requester's RegisterJob signature (a registered job) and when the execution
    # layer accepted its latest Process (unix seconds). Its own table: databases created
    # before it get it without a column migration.
    Column("job_id", String(34), primary_key=True),
    Column("register_sig", String(132), nullable=True),
    Column("processed_at", BigInteger, nullable=True),
)

posted_leaves = Table(
    "posted_leaves",
    metadata,
    # The job leaves of a Ticket posted on EmethCore (docs/spec.md, "Disputes and the bonded
    # Signer set"): published by anyone, checked only against the Ticket's jobsRoot, so
    # watchers can recheck (and dispute) any posted Ticket.
    Column("ticket_id", BigInteger, primary_key=True, autoincrement=False),
    Column("document", Text, nullable=False),  # {"ticket": Ticket.to_dict(), "leaves": [...]}
    Column("created_at", Float, nullable=False),
)

cursors = Table(
    "cursors",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

l1_cancels = Table(
    "l1_cancels",
    metadata,
    # Keyed by (job id, requester), as EmethCore.cancelledAt: nobody cancels another's job.
    Column("job_id", String(34), primary_key=True),
    Column("requester", String(42), primary_key=True),
    Column("at", BigInteger, nullable=False),
    Column("block", BigInteger, nullable=False),
    Column("outcome", String(32), nullable=False),
)

account_locks = Table(
    "account_locks",
    metadata,
    # One row per requester or node whose funds a write checks: the write updates the row
    # first, so two writers (two execution-layer processes on one PostgreSQL database)
    # checking the same account's funds run one after the other (see ``lock_accounts``).
    Column("address", String(42), primary_key=True),
    Column("writes", BigInteger, nullable=False),
)

meta = Table(
    "meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

Index("ix_jobs_state_parent", jobs.c.state, jobs.c.parent_id)

EL_ID_BITS = 31
"""Bits of an execution layer id; Ticket ids are ``el_id << 32 | sequence`` (fit an int64)."""


def execution_layer_id(engine: Engine) -> int:
    """This database's execution layer id (1 .. 2**31 - 1), drawn at random on first use.

    It is the EIP-712 ``salt`` of the actions' domain and the high bits of every Ticket id,
    so two execution layers (or a fresh database) on one EmethCore never share Ticket ids
    nor accept each other's signed actions.
    """
    with engine.begin() as c:
        v = c.execute(select(meta.c.value).where(meta.c.name == "el_id")).scalar()
        if v is None:
            v = str(secrets.randbelow(2**EL_ID_BITS - 1) + 1)
            c.execute(insert(meta).values(name="el_id", value=v))
    return int(v)


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """A write transaction (commits on success, rolls back on error).

    On SQLite it starts with ``BEGIN IMMEDIATE``: the database's write lock is taken before
    the first read, so what the transaction reads (committed fees, penalties) cannot change
    before it writes, whichever process writes next. On PostgreSQL the funds checks lock
    their accounts' rows (:func:`lock_accounts`).
    """
    with engine.begin() as c:
        if engine.dialect.name == "sqlite":
            c.exec_driver_sql("BEGIN IMMEDIATE")
        yield c


def lock_accounts(c: Connection, addresses: Iterable[str]) -> None:
    """Lock the ``account_locks`` rows of ``addresses`` until ``c``'s transaction ends.

    Every write that checks an account's funds or collateral calls it first, so on a
    database shared by several execution-layer processes two such writes on one account
    are serialised by the database (an ``UPDATE`` row lock; a missing row is inserted, and a
    concurrent insert of the same row waits for the first and then locks it). Addresses are
    locked in sorted order, so two writers never wait for each other in a cycle.
    """
    for address in sorted(set(addresses)):
        bump = (
            update(account_locks)
            .where(account_locks.c.address == address)
            .values(writes=account_locks.c.writes + 1)
        )
        if c.execute(bump).rowcount:
            continue
        try:
            with c.begin_nested():
                c.execute(insert(account_locks).values(address=address, writes=1))
        except IntegrityError:
            c.execute(bump)  # another writer inserted it first (and has committed)


def postgres_url(url: str) -> str:
    """``postgresql://`` / ``postgres://`` URLs use psycopg 3 (the ``postgres`` extra).

    Raises:
        ConfigError: psycopg is not installed.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("postgresql+psycopg://"):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise ConfigError(
                "a PostgreSQL database URL needs psycopg, which is not installed",
                "pip install 'l2kit[postgres]'",
            ) from None
    return url


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the schema created.

    SQLite gets WAL mode and a busy timeout (several agents may read while the service
    writes); an in-memory SQLite database is shared across threads.
    """
    if url.startswith("sqlite"):
        kw: dict[str, object] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kw["poolclass"] = StaticPool
        engine = create_engine(url, **kw)  # type: ignore[arg-type]

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _rec):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    else:
        engine = create_engine(postgres_url(url), pool_pre_ping=True)
    metadata.create_all(engine)
    return engine
