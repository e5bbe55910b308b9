//! Opening a PostgreSQL connection: the URL, TLS as `sslmode` says, a time limit on the whole
//! of connecting, and the session settings godwit relies on.

use super::tls::{self, SslMode};
use super::types::db_error;
use super::{PostgresDriver, quote_ident};
use crate::driver::{ConnectError, ConnectOptions, DbError, redact};
use postgres::{Client, NoTls};
use sha2::{Digest, Sha256};

impl PostgresDriver {
    pub fn connect(url: &str, options: &ConnectOptions) -> Result<PostgresDriver, ConnectError> {
        let target = redact(url);
        let invalid = |reason: String| ConnectError::InvalidUrl { url: target.clone(), reason };
        let (stripped, tls_params) = tls::split_url(url).map_err(invalid)?;
        let mut config: postgres::Config =
            stripped.parse().map_err(|e: postgres::Error| invalid(e.to_string()))?;
        // `connect_timeout` in the URL wins, as with libpq.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        config.application_name("godwit");
        let tls_config = match tls_params.mode {
            SslMode::Disable => {
                config.ssl_mode(postgres::config::SslMode::Disable);
                None
            }
            mode => {
                config.ssl_mode(match mode {
                    SslMode::Prefer => postgres::config::SslMode::Prefer,
                    _ => postgres::config::SslMode::Require,
                });
                Some(tls::client_config(&tls_params).map_err(invalid)?)
            }
        };
        let connect_error = |source| ConnectError::Unreachable { target: target.clone(), source };
        let mut client = connect_within(config, tls_config).map_err(connect_error)?;
        // A godwit killed in the middle of a long statement must not keep the migration lock
        // until the statement ends: the server checks every second that the client is still
        // there (PostgreSQL 14 and later, on Linux, macOS and the BSDs; ignored elsewhere).
        let _ = client.batch_execute("SET client_connection_check_interval = 1000");
        let (schema, explicit_schema) = match &options.schema {
            Some(schema) => (schema.clone(), true),
            None => {
                let row = client
                    .query_one("SELECT current_schema()", &[])
                    .map_err(|e| connect_error(db_error(&e)))?;
                let schema: Option<String> = row.get(0);
                let schema = schema.ok_or_else(|| {
                    connect_error(DbError::new(
                        "the connection has no current schema (empty search_path); pass --schema",
                    ))
                })?;
                (schema, false)
            }
        };
        Ok(PostgresDriver::new(client, target, schema, explicit_schema))
    }
}

/// Connects, giving up after `connect_timeout` per host for the whole of it. The driver's own
/// timeout covers only the TCP connection: a server (or a proxy) that accepts it and then
/// never answers would otherwise hold godwit forever. The attempt runs on a thread of its own,
/// left behind if it does not finish in time.
fn connect_within(
    config: postgres::Config,
    tls: Option<rustls::ClientConfig>,
) -> Result<Client, DbError> {
    let hosts = u32::try_from(config.get_hosts().len().max(1)).unwrap_or(u32::MAX);
    let limit = config.get_connect_timeout().map(|timeout| timeout.saturating_mul(hosts));
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let connected = match tls {
            None => config.connect(NoTls),
            Some(tls) => config.connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls)),
        };
        let _ = sender.send(connected.map_err(|e| db_error(&e)));
    });
    let outcome = match limit {
        Some(limit) => receiver.recv_timeout(limit).map_err(|_| {
            DbError::new(format!(
                "the server did not complete the connection within {} s (connect_timeout)",
                limit.as_secs()
            ))
        }),
        None => receiver.recv().map_err(|e| DbError::new(e.to_string())),
    };
    outcome?
}

/// The advisory lock key: one per history table, so projects sharing a database in
/// different schemas do not wait for each other.
pub(super) fn lock_key(schema: &str) -> i64 {
    let digest = Sha256::digest(format!("godwit:{schema}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// `"schema".godwit_history`.
pub(super) fn history_table(schema: &str) -> String {
    format!("{}.godwit_history", quote_ident(schema))
}
