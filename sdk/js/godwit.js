// godwit's helpers for migrations written in JavaScript and built with componentize-qjs.
//
//   import { define, execute, query } from "godwit";
//   export const migration = define({ description: "...", reversible: true,
//     up() { execute("CREATE TABLE t (x INTEGER)"); },
//     down() { execute("DROP TABLE t"); } });
//
// Integers cross the boundary as JavaScript numbers (exact up to 2^53).
import sql from "godwit:migration/sql@0.2.0";
import log from "godwit:migration/log@0.2.0";

/** The SQL value of a JavaScript value: null/undefined, boolean, number, string, Uint8Array. */
export function value(v) {
  if (v === null || v === undefined) return { tag: "null" };
  if (typeof v === "boolean") return { tag: "boolean", val: v };
  if (typeof v === "number") {
    return Number.isInteger(v) ? { tag: "integer", val: v } : { tag: "real", val: v };
  }
  if (typeof v === "bigint") return { tag: "integer", val: Number(v) };
  if (typeof v === "string") return { tag: "text", val: v };
  if (v instanceof Uint8Array) return { tag: "blob", val: v };
  throw new TypeError(`no SQL value for ${typeof v}`);
}

function plain(v) {
  return v.tag === "null" ? null : v.val;
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
    throw new DbError(e);
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

/** Runs one statement for every parameter row (arrays of equal length), in one host call. */
export function executeMany(statement, rows) {
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

/** Runs a query; returns its rows as objects keyed by column name. */
export function query(statement, ...params) {
  const result = host(() => sql.query(statement, params.map(value)));
  const columns = result.columns;
  const rows = [];
  for (let i = 0; i + columns.length <= result.values.length && columns.length; i += columns.length) {
    const row = {};
    columns.forEach((c, j) => (row[c] = plain(result.values[i + j])));
    rows.push(row);
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
 * A thrown error fails the migration with its message.
 */
export function define(m) {
  return {
    describe() {
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
