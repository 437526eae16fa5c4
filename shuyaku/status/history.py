"""Every status run kept: SQLite beside the stack's state by default, PostgreSQL when the team backend is in use.

When `PULUMI_BACKEND_URL` (or `--backend`) is a `postgres://` URL, the runs go into the same database, in a table
of their own (`<schema>.shuyaku_status_runs`, the schema of the URL's `table=`, else `public`), read and written with
the URL's own login (its passfile or password; the password never reaches a message). Otherwise they go into
`<state dir>/status-history.sqlite`. One row per run: id, stack, period, time and the run as JSON; a run read back
is checked against its model like any input (file, line and field on a problem).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from shuyaku.contracts import checked, source
from shuyaku.contracts.problems import ProblemsError
from shuyaku.contracts.status import StatusRun
from shuyaku.deploy import backend as backends

TABLE = "shuyaku_status_runs"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class Store(Protocol):
    where: str

    def save(self, run: StatusRun) -> None: ...

    def rows(self, stack: str) -> list[tuple[str, str, str]]: ...  # (id, taken_at ISO, period), oldest first

    def text(self, run_id: str) -> str | None: ...


def parse_run(text: str, label: str) -> StatusRun:
    """A stored or exported run, checked; ProblemsError names the place (label:line) and the field."""
    src = source.parse(text, Path(label))
    run, problems = checked.check(StatusRun, src)
    if problems or run is None:
        raise ProblemsError(problems)
    return run


class SqliteStore:
    def __init__(self, path: Path):
        self.path = path
        self.where = str(path)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id TEXT PRIMARY KEY, stack TEXT NOT NULL, "
                       "period TEXT NOT NULL, taken_at TEXT NOT NULL, doc TEXT NOT NULL)")
            yield db
            db.commit()
        finally:
            db.close()

    def save(self, run: StatusRun) -> None:
        with self._db() as db:
            db.execute(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?)",
                       (run.id, run.stack, run.period, run.taken_at.isoformat(), run.model_dump_json(indent=1)))

    def rows(self, stack: str) -> list[tuple[str, str, str]]:
        with self._db() as db:
            cur = db.execute(f"SELECT id, taken_at, period FROM {TABLE} WHERE stack = ? ORDER BY taken_at, id", (stack,))
            return [(str(a), str(b), str(c)) for a, b, c in cur.fetchall()]

    def text(self, run_id: str) -> str | None:
        with self._db() as db:
            row = db.execute(f"SELECT doc FROM {TABLE} WHERE id = ?", (run_id,)).fetchone()
            return str(row[0]) if row else None


def pg_target(url: str) -> tuple[str, str]:
    """(libpq URL without Pulumi's `table=` parameter, schema-qualified table for the runs)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    table = next((v for k, v in query if k == "table"), "")
    schema = table.split(".")[0] if "." in table else "public"
    if not _IDENT.match(schema):
        raise ValueError(f"unusable schema name in table= of the backend URL: {schema[:40]!r}")
    kept = urlencode([(k, v) for k, v in query if k != "table"], safe="/:,")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, kept, parts.fragment)), f"{schema}.{TABLE}"


class PostgresStore:
    def __init__(self, backend: backends.Backend):
        self.conninfo, self.table = pg_target(backend.url)
        self.password = backend.password
        self.where = f"{backend.display} ({self.table})"

    @contextmanager
    def _db(self) -> Iterator[Any]:
        try:
            import psycopg
        except ImportError:
            raise RuntimeError("the team history needs psycopg (pip install 'psycopg[binary]>=3.1'), "
                               "or give --history FILE for SQLite") from None
        kwargs: dict[str, Any] = {"password": self.password} if self.password else {}
        with psycopg.connect(self.conninfo, **kwargs) as db:  # commits on a clean exit
            db.execute(f"CREATE TABLE IF NOT EXISTS {self.table} (id TEXT PRIMARY KEY, stack TEXT NOT NULL, "
                       "period TEXT NOT NULL, taken_at TIMESTAMPTZ NOT NULL, doc JSONB NOT NULL)")
            yield db

    def save(self, run: StatusRun) -> None:
        with self._db() as db:
            db.execute(f"INSERT INTO {self.table} VALUES (%s, %s, %s, %s, %s)",
                       (run.id, run.stack, run.period, run.taken_at, run.model_dump_json()))

    def rows(self, stack: str) -> list[tuple[str, str, str]]:
        with self._db() as db:
            cur = db.execute(f"SELECT id, taken_at, period FROM {self.table} WHERE stack = %s ORDER BY taken_at, id",
                             (stack,))
            return [(str(a), b.isoformat() if isinstance(b, datetime) else str(b), str(c)) for a, b, c in cur.fetchall()]

    def text(self, run_id: str) -> str | None:
        import json

        with self._db() as db:
            row = db.execute(f"SELECT doc FROM {self.table} WHERE id = %s", (run_id,)).fetchone()
            if not row:
                return None
            return row[0] if isinstance(row[0], str) else json.dumps(row[0], ensure_ascii=False, indent=1)


def open_store(history: str | None, backend: backends.Backend, state_dir: Path) -> Store:
    """`--history PATH` (a SQLite file) when given; the team's PostgreSQL when the backend is one; else SQLite."""
    if history:
        return SqliteStore(Path(history))
    if backend.kind in ("postgres", "postgresql"):
        return PostgresStore(backend)
    return SqliteStore(state_dir / "status-history.sqlite")


def load(store: Store, run_id: str) -> StatusRun | None:
    text = store.text(run_id)
    return None if text is None else parse_run(text, f"{store.where}#{run_id}")


def runs(store: Store, stack: str) -> list[StatusRun]:
    """Every run of the stack, oldest first."""
    return [r for r in (load(store, rid) for rid, _, _ in store.rows(stack)) if r is not None]
