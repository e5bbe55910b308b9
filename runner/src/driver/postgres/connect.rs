//! Opening a PostgreSQL connection: the URL, TLS as `sslmode` says, a time limit on the whole
//! of connecting, and the session settings godwit relies on.

use super::client::Client;
use super::tls::{self, SslMode};
use super::types::db_error;
use super::{PostgresDriver, quote_ident};
use crate::driver::{ConnectError, ConnectOptions, redact};
use sha2::{Digest, Sha256};
use tokio_postgres::config::SslMode as ConfigSslMode;

impl PostgresDriver {
    pub fn connect(url: &str, options: &ConnectOptions) -> Result<PostgresDriver, ConnectError> {
        let target = redact(url);
        let invalid = |reason: String| ConnectError::InvalidUrl { url: target.clone(), reason };
        let (stripped, tls_params) = tls::split_url(url).map_err(invalid)?;
        let mut config: tokio_postgres::Config =
            stripped.parse().map_err(|e: tokio_postgres::Error| invalid(e.to_string()))?;
        // `connect_timeout` in the URL wins, as with libpq.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        config.application_name("godwit");
        let tls_config = match tls_params.mode {
            SslMode::Disable => {
                config.ssl_mode(ConfigSslMode::Disable);
                None
            }
            mode => {
                config.ssl_mode(match mode {
                    SslMode::Prefer => ConfigSslMode::Prefer,
                    _ => ConfigSslMode::Require,
                });
                Some(tls::client_config(&tls_params).map_err(invalid)?)
            }
        };
        let connect_error = |source| ConnectError::Unreachable { target: target.clone(), source };
        // `connect_timeout` bounds each host's TCP connection in tokio-postgres; godwit bounds
        // the whole of connecting by it, per host, as libpq does.
        let hosts = u32::try_from(config.get_hosts().len().max(1)).unwrap_or(u32::MAX);
        let limit = config.get_connect_timeout().map(|timeout| timeout.saturating_mul(hosts));
        let client = Client::connect(&config, tls_config, limit).map_err(connect_error)?;
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
                let schema =
                    schema.ok_or_else(|| ConnectError::NoSchema { target: target.clone() })?;
                (schema, false)
            }
        };
        Ok(PostgresDriver::new(client, target, schema, explicit_schema))
    }
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
