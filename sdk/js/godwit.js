// godwit's helpers for migrations written in JavaScript and built with componentize-qjs.
//
//   import { define, execute, query } from "godwit";
//   export const migration = define({ description: "...", reversible: true,
//     up() { execute("CREATE TABLE t (x INTEGER)"); },
//     down() { execute("DROP TABLE t"); } });
//
// Integers cross the boundary as JavaScript numbers (exact up to 2^53).
import sql from "godwit:migration/sql@0.2.2";
import log from "godwit:migration/log@0.2.2";
import options from "godwit:migration/options@0.2.2";

/** The SQL value of a JavaScript value: null/undefined, boolean, number, string, Uint8Array. */
export function value(v) {
  if (v === null || v === undefined) return { tag: "null" };
  if (typeof v === "boolean") return { tag: "boolean", val: v };
  if (typeof v === "number") {
    // An integral number outside the 64-bit range (1e300, say) stays a real.
    const integer = Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 63;
    return integer ? { tag: "integer", val: v } : { tag: "real", val: v };
  }
  if (typeof v === "bigint") return { tag: "integer", val: Number(v) };
  if (typeof v === "string") return { tag: "text", val: v };
  if (v instanceof Uint8Array) return { tag: "blob", val: v };
  throw new TypeError(`no SQL value for ${typeof v}`);
}

/** A database error: `code` is the SQLSTATE (PostgreSQL) or SQLite's result code name. */
export class DbError extends Error {
  constructor(error) {
    super(error && error.code ? `${error.message} (${error.code})` : String(error && error.message));
    this.code = error && error.code;
  }
}

function host(call) {
  try {
    return call();
  } catch (e) {
    // componentize-qjs throws the `db-error` record as an Error's `payload`.
    throw new DbError(e instanceof Error && e.payload !== undefined ? e.payload : e);
  }
}

/** "sqlite" or "postgres". */
export function dialect() {
  return sql.currentDialect();
}

/** Runs one statement with positional parameters ($1, $2, ...); returns rows changed. */
export function execute(statement, ...params) {
  return host(() => sql.execute(statement, params.map(value)));
}

/**
 * Whether JSON carries every value of `rows` exactly: no blob, bigint, NaN or infinity (which
 * JSON.stringify would turn into an object, an exception or a null). Indexed loops: QuickJS
 * runs them several times faster than iterators.
 */
function plainRows(rows) {
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    for (let j = 0; j < row.length; j++) {
      const v = row[j];
      const type = typeof v;
      if (type === "string" || type === "boolean" || v == null) continue;
      // A number is plain when it is finite (NaN - NaN and Infinity - Infinity are NaN).
      if (type !== "number" || v - v !== 0) return false;
    }
  }
  return true;
}

/**
 * Runs one statement for every parameter row (arrays of equal length), in one host call. The
 * rows cross as one JSON text written by the engine's own JSON.stringify; rows JSON cannot
 * spell exactly go the typed way instead.
 */
export function executeMany(statement, rows) {
  if (plainRows(rows)) {
    return host(() => sql.executeManyJson(statement, JSON.stringify(rows)));
  }
  const width = rows.length ? rows[0].length : 0;
  const flat = [];
  rows.forEach((row, i) => {
    if (row.length !== width) {
      throw new Error(`parameter row ${i} has ${row.length} values, row 0 has ${width}`);
    }
    for (const p of row) flat.push(value(p));
  });
  return host(() => sql.executeMany(statement, width, flat));
}

/**
 * Runs `statement` once over all of `rows`, set-based: `{rows}` in the statement stands for
 * the rows as a table whose columns `columns` names and types ("id bigint"), in the order of
 * each row's values. The rows go to the database as one JSON text, read with
 * json_array_elements (PostgreSQL) or json_each (SQLite). Values are null, booleans, finite
 * numbers and strings. Returns the rows the statement changed.
 */
export function executeSet(statement, columns, rows) {
  if (!statement.includes("{rows}")) {
    throw new Error("executeSet: the statement has no {rows} to read the rows from");
  }
  const word = /^[A-Za-z0-9_]+$/;
  const postgres = dialect() === "postgres";
  const select = columns.map((column, i) => {
    const trimmed = column.trim();
    const at = trimmed.indexOf(" ");
    const [name, type] = at < 0 ? [trimmed, ""] : [trimmed.slice(0, at), trimmed.slice(at + 1).trim()];
    const parts = type.split(/[(), ]/).filter((p) => p);
    if (!word.test(name) || parts.length === 0 || !parts.every((p) => word.test(p))) {
      throw new Error(`executeSet: column \`${column}\` is not \`name type\`, like \`id bigint\``);
    }
    return postgres ? `(r->>${i})::${type} AS ${name}` : `CAST(value->>${i} AS ${type}) AS ${name}`;
  });
  if (select.length === 0) throw new Error("executeSet: no columns");
  rows.forEach((row, i) => {
    if (row.length !== columns.length) {
      throw new Error(`executeSet: row ${i} has ${row.length} values for ${columns.length} columns`);
    }
    for (const v of row) {
      const plain = v === null || ["boolean", "string"].includes(typeof v);
      if (!plain && !(typeof v === "number" && Number.isFinite(v))) {
        throw new Error(`executeSet: row ${i}: ${String(v)} has no JSON form; use executeMany`);
      }
    }
  });
  const table = postgres
    ? `(SELECT ${select.join(", ")} FROM json_array_elements($1::json) AS r)`
    : `(SELECT ${select.join(", ")} FROM json_each($1))`;
  return execute(statement.replaceAll("{rows}", table), JSON.stringify(rows));
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function fromBase64(text) {
  const digits = text.replace(/=+$/, "");
  const bytes = new Uint8Array(Math.floor((digits.length * 3) / 4));
  let bits = 0;
  let count = 0;
  let at = 0;
  for (const c of digits) {
    bits = (bits << 6) | BASE64.indexOf(c);
    count += 6;
    if (count >= 8) {
      count -= 8;
      bytes[at++] = (bits >> count) & 0xff;
    }
  }
  return bytes;
}

function revive(v) {
  if (v !== null && typeof v === "object") {
    if (typeof v.$blob === "string") return fromBase64(v.$blob);
    if (typeof v.$real === "string") return Number(v.$real);
  }
  return v;
}

/**
 * Runs a query; returns its rows as objects keyed by column name, built by the engine's own
 * JSON.parse from the one text the host sends.
 */
export function query(statement, ...params) {
  const result = host(() => sql.queryJson(statement, params.map(value)));
  const rows = JSON.parse(result.rows);
  if (result.tagged) {
    for (const row of rows) for (const k of Object.keys(row)) row[k] = revive(row[k]);
  }
  return rows;
}

/** The first column of the first row. */
export function scalar(statement, ...params) {
  const rows = query(statement, ...params);
  if (!rows.length) throw new Error("the query returned no row");
  return Object.values(rows[0])[0];
}

export function info(message) {
  log.log("info", String(message));
}

function guard(call) {
  try {
    return call();
  } catch (e) {
    throw e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  }
}

/**
 * The `migration` export from a plain object: description, reversible, batched, up(), down(),
 * transform(cursor, batchSize) returning { nextCursor, processed, estimatedTotal }.
 * A thrown error fails the migration with its message. How godwit should run it, all optional:
 * deferTransform (queue the transform for `godwit transforms run`), batchTargetMs, batchMin,
 * batchMax (null: the run's), requires (batched migrations, "0007" or file names, whose
 * transforms must be finished first).
 */
export function define(m) {
  return {
    describe() {
      const requires = (m.requires || []).map(String);
      const declared = [m.batchTargetMs, m.batchMin, m.batchMax].some((v) => v != null);
      if (m.deferTransform || declared || requires.length > 0) {
        options.declare({
          deferTransform: !!m.deferTransform,
          batchTargetMs: m.batchTargetMs ?? null,
          batchMin: m.batchMin ?? null,
          batchMax: m.batchMax ?? null,
          requires,
        });
      }
      return {
        description: m.description || "",
        reversible: !!m.reversible,
        batched: !!m.batched,
      };
    },
    up() {
      guard(() => m.up());
    },
    down() {
      guard(() => {
        if (!m.down) throw new Error("this migration cannot be reverted");
        m.down();
      });
    },
    transform(cursor, batchSize) {
      const p = guard(() => (m.transform ? m.transform(cursor, batchSize) : { processed: 0 }));
      return {
        nextCursor: p.nextCursor ?? null,
        processed: p.processed,
        estimatedTotal: p.estimatedTotal ?? null,
      };
    },
  };
}
