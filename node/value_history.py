"""Unit values of earlier goods items, as the risk hooks compare them.

The listener writes one row per goods item of every version it assesses (`record`, in
that version's transaction; the function it returns is called once the transaction
committed) and the hooks read the newest `window` unit values of an HS subheading,
origin and currency, other than the document's own (`values`,
`RiskContext.unit_values`).

Read from the table, a lookup is `window` rows (500 by default) for every goods item:
about 0.8 ms of CPU a version in a catch-up, a third of what the listener's thread
spends on it. On SQLite the newest rows of the keys asked recently are kept in memory
instead. SQLite has one writer at a time and numbers a row as its transaction writes
it, so ids appear in the order transactions commit and the largest id tells whether
any row was written since the windows were read: one indexed read a lookup decides,
and a row written by anyone else (another process) drops them all. PostgreSQL draws
ids before transactions commit, in any order, so that test would not hold there:
every lookup reads the table.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from typing import cast

from sqlalchemy import Table, bindparam, func, insert, select
from sqlalchemy.orm import Session

from node import db as tables
from node.db import Database

CACHED_KEYS = 256
"""(HS subheading, origin, currency) keys whose newest values are kept (least recently
asked dropped first; `window` + `SLACK` values each, about 60 kB at 500)."""
SLACK = 64
"""Values kept per key beyond the window: they stand in for the document's own values
(an amendment's earlier versions), which a lookup leaves out. A document with more
values of one key than this is looked up in the table."""

_ROWS = cast(Table, tables.ValueHistory.__table__)
_V = _ROWS.c
_SAME_KEY = (
    _V.hs_subheading == bindparam("subheading"),
    _V.origin == bindparam("origin"),
    _V.currency == bindparam("currency"),
)
_OTHERS_NEWEST = (  # what `values` answers, from the table (index value_history_recent)
    select(_V.unit_value)
    .where(*_SAME_KEY, _V.document_id != bindparam("doc"))
    .order_by(_V.id.desc())
    .limit(bindparam("window"))
)
_NEWEST = (
    select(_V.document_id, _V.unit_value)
    .where(*_SAME_KEY)
    .order_by(_V.id.desc())
    .limit(bindparam("keep"))
)
_LAST_ID = select(func.max(_V.id))
_RECORD = insert(_ROWS)
_RECORD_RETURNING_IDS = insert(_ROWS).returning(_V.id, sort_by_parameter_order=True)

Key = tuple[str, str, str]


class ValueHistory:
    """The value history of one node database, for the listener's processing thread
    (its lock held: the windows are not shared between threads)."""

    def __init__(self, db: Database, *, keys: int = CACHED_KEYS, slack: int = SLACK) -> None:
        self.db = db
        self._slack = slack
        self._keep = 0  # window + slack of the window the windows were read for
        self._keys = keys
        self._cached = db.engine.dialect.name == "sqlite"
        # key -> (document, value) of its newest rows, newest first
        self._windows: OrderedDict[Key, deque[tuple[str, float]]] = OrderedDict()
        self._last_id = -1  # the largest id the windows hold everything up to

    def values(
        self, subheading: str, origin: str, currency: str, doc_hex: str, window: int
    ) -> list[float]:
        """The newest `window` unit values of this HS subheading, origin and currency,
        newest first, other than document `doc_hex`'s own."""
        key = (subheading, origin, currency)
        params = {"subheading": subheading, "origin": origin, "currency": currency}
        others = {**params, "doc": doc_hex, "window": window}
        with self.db.engine.connect() as conn:  # Core: once a goods item
            if not self._cached:
                return list(conn.scalars(_OTHERS_NEWEST, others))
            last_id = conn.scalar(_LAST_ID) or 0
            if last_id != self._last_id or window + self._slack != self._keep:
                # written by someone else since (or another window asked)
                self._windows.clear()
                self._last_id = last_id
                self._keep = window + self._slack
            rows = self._windows.get(key)
            if rows is None:
                newest = conn.execute(_NEWEST, {**params, "keep": self._keep})
                pairs = cast("Iterable[tuple[str, float]]", newest)  # Rows: (document, value)
                rows = deque(((d, v) for d, v in pairs), maxlen=self._keep)
                self._windows[key] = rows
                if len(self._windows) > self._keys:
                    self._windows.popitem(last=False)
            else:
                self._windows.move_to_end(key)
            found = [value for doc, value in rows if doc != doc_hex]
            if len(found) < window and len(rows) == self._keep:
                # the document's own values took more places than the slack kept
                return list(conn.scalars(_OTHERS_NEWEST, others))
            return found[:window]

    def record(
        self,
        session: Session,
        doc_hex: str,
        version: int,
        origin: str,
        items: Iterable[tuple[int, str, str, float]],
    ) -> Callable[[], None]:
        """Write a version's goods items, (item index, HS subheading, currency, unit
        value) as `node.risk.reference.unit_values` gives them, in `session`'s
        transaction; returns what to call once that transaction committed (not if it
        did not)."""
        rows = [
            {
                "hs_subheading": subheading,
                "origin": origin,
                "currency": currency,
                "unit_value": value,
                "document_id": doc_hex,
                "version": version,
                "item": index,
            }
            for index, subheading, currency, value in items
        ]
        if not rows:
            return lambda: None
        if not self._cached:
            session.execute(_RECORD, rows)
            return lambda: None
        ids = list(session.scalars(_RECORD_RETURNING_IDS, rows))
        return lambda: self._committed(rows, ids)

    def _committed(self, rows: list[dict[str, object]], ids: list[int]) -> None:
        if ids != list(range(self._last_id + 1, self._last_id + 1 + len(ids))):
            # someone else wrote between the windows' last read and these rows
            self._windows.clear()
            self._last_id = -1
            return
        for row in rows:  # in id order: the newest ends up first
            key = (str(row["hs_subheading"]), str(row["origin"]), str(row["currency"]))
            window = self._windows.get(key)
            if window is not None:
                window.appendleft((str(row["document_id"]), cast(float, row["unit_value"])))
        self._last_id = ids[-1]
