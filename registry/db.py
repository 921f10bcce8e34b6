"""The database: engine, sessions, migrations.

SQLite (the embedded default) gets WAL, a busy timeout, foreign keys and `BEGIN IMMEDIATE` for every
transaction, so that the daemon and the CLI can write at once without "database is locked" on
read-then-write transactions. Any other SQLAlchemy URL (PostgreSQL) is used as is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlmodel import Session, create_engine

from registry.errors import GovpulseError, ValidationError

_log = logging.getLogger(__name__)
T = TypeVar("T")
MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_MS = 30_000


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Build an engine for `url`; creates the folder of an SQLite file."""
    try:
        return _make_engine(url, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise ValidationError(
            f"database URL {mask_password(url)!r} is not usable: {exc}",
            hint="e.g. sqlite:////var/lib/govpulse/govpulse.db or postgresql+psycopg://user@host/govpulse",
        ) from None


def mask_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _json(value: Any) -> str:
    # Chinese stays readable (and half the size) in JSON columns such as the audit trail.
    return json.dumps(value, ensure_ascii=False, default=str)


def _make_engine(url: str, **kwargs: Any) -> Engine:
    kwargs.setdefault("json_serializer", _json)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except (OSError, ValueError) as exc:
                raise ValidationError(
                    f"database URL {mask_password(url)[:200]!r} is not usable: cannot create its folder: "
                    f"{getattr(exc, 'strerror', None) or exc}",
                    hint="e.g. sqlite:////var/lib/govpulse/govpulse.db, in a folder govpulse may write",
                ) from None
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_MS / 1000, "check_same_thread": False}, **kwargs
        )
        _sqlite_setup(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy (not pysqlite) decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A reader that writes nothing may ask for a plain BEGIN (execution option read_only=True): a WAL
        # snapshot that takes no write lock, so that several can read at once, beside a writer.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("read_only") else "BEGIN IMMEDIATE")


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    cfg = alembic_config(None)  # type: ignore[arg-type]
    return ScriptDirectory.from_config(cfg).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def ensure_schema(engine: Engine) -> None:
    """Apply pending migrations (on first use and after an upgrade of govpulse)."""
    try:
        if current_revision(engine) != head_revision():
            upgrade(engine)
    except OperationalError as exc:
        raise GovpulseError(
            f"cannot open the database {engine.url.render_as_string(hide_password=True)[:200]}: "
            f"{(str(exc.orig).splitlines() or [''])[0]}",
            hint="check the --db URL / GOVPULSE_DATABASE_URL and that the server is running",
        ) from None


def open_engine(url: str, *, migrate: bool = True) -> Engine:
    engine = make_engine(url)
    if migrate:
        ensure_schema(engine)
    return engine


def retrying(work: Callable[[], T], *, seconds: float = 600.0, pause: float = 1.0, what: str = "") -> T:
    """Run `work`, again while the database is locked or unreachable (a busy SQLite file beyond its busy
    timeout, a PostgreSQL restart), for up to `seconds`: for the bookkeeping of a long job, which must
    not die of a passing lock while the work it records goes on."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return work()
        except OperationalError as exc:
            if time.monotonic() > deadline:
                raise
            _log.warning(
                "database not available%s, retrying: %s",
                f" ({what})" if what else "",
                str(exc.orig or exc).splitlines()[0],
            )
            time.sleep(pause)


@contextmanager
def reading(engine: Engine) -> Iterator[Any]:
    """A connection for reads only: on SQLite a plain BEGIN (a snapshot, no write lock), so that reports,
    the scorer and `status` never block a patrol that is writing."""
    with engine.connect() as conn:
        yield conn.execution_options(read_only=True)


_PG_SNAPSHOT = re.compile(r"[0-9A-Fa-f-]+")


@contextmanager
def reading_together(engine: Engine, n: int) -> Iterator[list[Connection]]:
    """`n` read-only connections on one and the same snapshot of the database, so that the reads of one
    job can run on several threads at once and still agree with each other.

    SQLite: each reader's snapshot is taken by its first read, done here while another connection holds
    the write lock for a moment, so that no commit can fall between them. PostgreSQL: REPEATABLE READ
    transactions sharing the first one's exported snapshot.
    """
    with ExitStack() as stack:
        conns = [stack.enter_context(engine.connect()).execution_options(read_only=True) for _ in range(n)]
        if engine.dialect.name == "sqlite":
            with engine.connect() as lock:
                lock.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: no writer can commit until the rollback
                for conn in conns:
                    conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").all()
                lock.rollback()
        elif engine.dialect.name == "postgresql":
            conns = [
                conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True) for conn in conns
            ]
            snapshot = conns[0].exec_driver_sql("SELECT pg_export_snapshot()").scalar()
            if not _PG_SNAPSHOT.fullmatch(str(snapshot)):
                raise GovpulseError(f"unexpected snapshot id from PostgreSQL: {snapshot!r}")
            for conn in conns[1:]:
                conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        yield conns


def one_writer_at_a_time(conn: Connection, name: str) -> None:
    """Within the transaction of `conn`, wait until no other transaction that called this with `name` is
    open (SQLite's BEGIN IMMEDIATE already lets one writer in at a time; PostgreSQL takes an advisory lock
    held until the transaction ends)."""
    if conn.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (key,))


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed as one transaction, or rolled back whole on any error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def upsert(
    engine_or_session: Any,
    table: Any,
    rows: list[dict[str, Any]],
    *,
    keys: list[str],
    update: list[str] | None = None,
    keep_if_null: tuple[str, ...] = (),
) -> None:
    """Insert many rows at once; on a key conflict do nothing, or update the `update` columns.

    Columns in `keep_if_null` keep their stored value when the new one is NULL (a source that does not
    give a number must not erase one another source gave). One statement for all rows (dialect-native
    ON CONFLICT), never a query per row.
    """
    if not rows:
        return
    dialect = (
        engine_or_session.get_bind().dialect.name
        if isinstance(engine_or_session, Session)
        else engine_or_session.dialect.name
    )
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    tbl = getattr(table, "__table__", table)
    stmt = insert(tbl)
    if update:
        from sqlalchemy import func

        set_ = {c: func.coalesce(stmt.excluded[c], tbl.c[c]) if c in keep_if_null else stmt.excluded[c] for c in update}
        stmt = stmt.on_conflict_do_update(index_elements=keys, set_=set_)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    if isinstance(engine_or_session, Session):
        engine_or_session.execute(stmt, rows)
    else:
        with engine_or_session.begin() as conn:
            conn.execute(stmt, rows)
