"""godwit's helpers for migrations written in Python and built with componentize-py.

Subclass `Migration`, implement `apply` (and `revert`, and `batch` for a batched
transform), and name the class `Migration` in the module `migration`:

    import godwit

    class Migration(godwit.Migration):
        description = "add users.email"
        reversible = True

        def apply(self):
            godwit.execute("ALTER TABLE users ADD COLUMN email TEXT")

        def revert(self):
            godwit.execute("ALTER TABLE users DROP COLUMN email")

In a migration directory (`migrations/0005_add_email/migration.py`), `godwit build` and
`godwit up` build it with componentize-py against the copy of this module godwit carries.
"""

import base64
import json
import re

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.migration import BatchProgress, Descriptor
from wit_world.imports import log as _log
from wit_world.imports import options as _options
from wit_world.imports import sql, types


class DbError(Exception):
    """A database error: `code` is the SQLSTATE (PostgreSQL) or SQLite's result code name."""

    def __init__(self, code, message):
        super().__init__(f"{message} ({code})" if code else message)
        self.code = code
        self.message = message


def value(v):
    """The SQL value of a Python value: None, bool, int, float, str or bytes."""
    if v is None:
        return types.Value_Null()
    if isinstance(v, bool):
        return types.Value_Boolean(v)
    if isinstance(v, int):
        return types.Value_Integer(v)
    if isinstance(v, float):
        return types.Value_Real(v)
    if isinstance(v, str):
        return types.Value_Text(v)
    if isinstance(v, (bytes, bytearray)):
        return types.Value_Blob(bytes(v))
    raise TypeError(f"no SQL value for a {type(v).__name__}")


def _host(call, *args):
    try:
        return call(*args)
    except Err as e:
        raise DbError(e.value.code, e.value.message) from None


def dialect():
    """"sqlite" or "postgres"."""
    return "postgres" if sql.current_dialect() == types.Dialect.POSTGRES else "sqlite"


def execute(statement, *params):
    """Runs one statement with positional parameters ($1, $2, ...); returns rows changed."""
    return _host(sql.execute, statement, [value(p) for p in params])


def _json_value(v):
    if isinstance(v, (bytes, bytearray)):
        return {"$blob": base64.b64encode(v).decode("ascii")}
    raise TypeError(f"no SQL value for a {type(v).__name__}")


def execute_many(statement, rows):
    """Runs one statement for every parameter row (tuples of equal length), in one host call.

    The rows cross as one JSON text written by Python's own (C) encoder; rows JSON cannot
    spell exactly (a NaN or infinite float) go the typed way instead."""
    rows = rows if isinstance(rows, (list, tuple)) else list(rows)
    try:
        text = json.dumps(rows, allow_nan=False, default=_json_value, separators=(",", ":"))
    except ValueError:
        return _execute_many_typed(statement, rows)
    return _host(sql.execute_many_json, statement, text)


def _execute_many_typed(statement, rows):
    width = len(rows[0]) if rows else 0
    flat = []
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"parameter row {i} has {len(row)} values, row 0 has {width}")
        flat.extend(value(p) for p in row)
    return _host(sql.execute_many, statement, width, flat)


def execute_set(statement, columns, rows):
    """Runs `statement` once over all of `rows`, set-based: `{rows}` in the statement stands
    for the rows as a table whose columns `columns` names and types ("id bigint"), in the
    order of each row's values. The rows go to the database as one JSON text, read with
    json_array_elements (PostgreSQL) or json_each (SQLite). Values are None, booleans,
    integers, finite floats and strings. Returns the rows the statement changed."""
    if "{rows}" not in statement:
        raise ValueError("execute_set: the statement has no {rows} to read the rows from")
    table = _set_table(dialect(), columns)
    rows = [list(row) for row in rows]
    try:
        text = json.dumps(rows, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ValueError(f"execute_set: {e}; blobs and NaN need execute_many") from None
    widths = {len(row) for row in rows}
    if widths and widths != {len(columns)}:
        raise ValueError(f"execute_set: rows of {sorted(widths)} values for {len(columns)} columns")
    return execute(statement.replace("{rows}", table), text)


def _set_table(dialect_name, columns):
    word = re.compile(r"^[A-Za-z0-9_]+$")
    select = []
    for i, column in enumerate(columns):
        name, _, ty = column.strip().partition(" ")
        parts = [p for p in re.split(r"[(), ]", ty.strip()) if p]
        if not word.match(name) or not parts or not all(word.match(p) for p in parts):
            raise ValueError(f"execute_set: column `{column}` is not `name type`, like `id bigint`")
        if dialect_name == "postgres":
            select.append(f"(r->>{i})::{ty.strip()} AS {name}")
        else:
            select.append(f"CAST(value->>{i} AS {ty.strip()}) AS {name}")
    if not select:
        raise ValueError("execute_set: no columns")
    if dialect_name == "postgres":
        return f"(SELECT {', '.join(select)} FROM json_array_elements($1::json) AS r)"
    return f"(SELECT {', '.join(select)} FROM json_each($1))"


def _revive(v):
    if isinstance(v, dict) and len(v) == 1:
        if "$blob" in v:
            return base64.b64decode(v["$blob"])
        if "$real" in v:
            return float(v["$real"].replace("Infinity", "inf"))
    return v


def query(statement, *params):
    """Runs a query; returns its rows as dicts keyed by column name, built by Python's own
    JSON parser from the one text the host sends."""
    result = _host(sql.query_json, statement, [value(p) for p in params])
    rows = json.loads(result.rows)
    if result.tagged:
        rows = [{k: _revive(v) for k, v in row.items()} for row in rows]
    return rows


def scalar(statement, *params):
    """The first column of the first row."""
    rows = query(statement, *params)
    if not rows:
        raise ValueError("the query returned no row")
    return next(iter(rows[0].values()))


def log(message, level="info"):
    levels = {"debug": _log.Level.DEBUG, "info": _log.Level.INFO}
    levels.update(warn=_log.Level.WARN, error=_log.Level.ERROR)
    _log.log(levels[level], str(message))


class Progress:
    """What `batch` returns: the next cursor (None when done), rows processed, optional total."""

    def __init__(self, next_cursor, processed, estimated_total=None):
        self.next_cursor = next_cursor
        self.processed = processed
        self.estimated_total = estimated_total


def _guard(call):
    try:
        return call()
    except Exception as e:  # the migration fails with this message; godwit rolls back
        raise Err(f"{type(e).__name__}: {e}") from None


class Migration(exports.Migration):
    description = ""
    reversible = False
    batched = False
    # How godwit should run it: queue the transform for `godwit transforms run`, size its
    # batches (a target in milliseconds, bounds in rows; None: the run's), and the batched
    # migrations ("0007", or file names) whose transforms must be finished first.
    defer_transform = False
    batch_target_ms = None
    batch_min = None
    batch_max = None
    requires = ()

    def apply(self):
        raise NotImplementedError("apply")

    def revert(self):
        raise RuntimeError("this migration cannot be reverted")

    def batch(self, cursor, batch_size):
        return Progress(None, 0)

    def describe(self):
        declared = _options.RunOptions(
            bool(self.defer_transform),
            self.batch_target_ms,
            self.batch_min,
            self.batch_max,
            [str(name) for name in self.requires],
        )
        if declared != _options.RunOptions(False, None, None, None, []):
            _options.declare(declared)
        return Descriptor(self.description, self.reversible, self.batched)

    def up(self):
        _guard(self.apply)

    def down(self):
        _guard(self.revert)

    def transform(self, cursor, batch_size):
        p = _guard(lambda: self.batch(cursor, batch_size))
        return BatchProgress(p.next_cursor, p.processed, p.estimated_total)
