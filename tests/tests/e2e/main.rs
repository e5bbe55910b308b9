//! End-to-end tests: the real `godwit` binary and the engine against real SQLite files and a
//! real PostgreSQL server. One binary, one module per area.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backfill;
mod bad_inputs;
mod concurrency;
mod conformance;
mod docs;
mod embedding;
mod files;
mod fleet;
mod formats;
mod history;
mod lint;
mod live;
mod load;
mod lock_plan;
mod lock_trace;
mod lock_waits;
mod migrate;
mod new_user;
mod options;
mod packs;
mod polyglot;
mod postgres_only;
mod project;
mod schema;
mod torture;
mod wasm;
mod worker;
