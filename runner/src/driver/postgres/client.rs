//! A blocking PostgreSQL client over tokio-postgres, as the `postgres` crate makes one, that
//! can also pipeline: send several requests before reading any answer, so that a step's end
//! (the history check, godwit's writes, the commit) costs one round trip instead of one each.
//! The connection runs on a single-threaded runtime of its own, driven while a call waits.

use crate::driver::DbError;
use futures_util::future::join_all;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Config, Error, NoTls, Row, Socket, Statement, ToStatement};

/// One request of a pipeline; its answer is the number of rows it changed (0 for others).
pub(super) type Request<'a> = Pin<Box<dyn Future<Output = Result<u64, Error>> + 'a>>;

pub(super) struct Client {
    runtime: Runtime,
    inner: tokio_postgres::Client,
}

/// Parameters of a statement.
pub(super) type Params<'a> = [&'a (dyn ToSql + Sync)];

impl Client {
    /// Connects, giving up after `limit` for the whole of it (reaching the server, TLS and
    /// authentication): a server or a proxy that accepts the connection and never answers is
    /// an error, not a hang.
    pub fn connect(
        config: &Config,
        tls: Option<rustls::ClientConfig>,
        limit: Option<Duration>,
    ) -> Result<Client, DbError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| DbError::new(format!("cannot start the connection's runtime: {e}")))?;
        let connecting = async {
            match tls {
                None => open(config, NoTls).await,
                Some(tls) => open(config, tokio_postgres_rustls::MakeRustlsConnect::new(tls)).await,
            }
        };
        let inner = runtime.block_on(async {
            match limit {
                None => connecting.await.map_err(|e| super::types::db_error(&e)),
                Some(limit) => match tokio::time::timeout(limit, connecting).await {
                    Ok(connected) => connected.map_err(|e| super::types::db_error(&e)),
                    Err(_) => Err(DbError::new(format!(
                        "the server did not complete the connection within {} s (connect_timeout)",
                        limit.as_secs()
                    ))),
                },
            }
        })?;
        Ok(Client { runtime, inner })
    }

    pub fn batch_execute(&self, sql: &str) -> Result<(), Error> {
        self.runtime.block_on(self.inner.batch_execute(sql))
    }

    pub fn prepare(&self, sql: &str) -> Result<Statement, Error> {
        self.runtime.block_on(self.inner.prepare(sql))
    }

    pub fn execute<T>(&self, statement: &T, params: &Params<'_>) -> Result<u64, Error>
    where
        T: ?Sized + ToStatement,
    {
        self.runtime.block_on(self.inner.execute(statement, params))
    }

    pub fn query<T>(&self, statement: &T, params: &Params<'_>) -> Result<Vec<Row>, Error>
    where
        T: ?Sized + ToStatement,
    {
        self.runtime.block_on(self.inner.query(statement, params))
    }

    pub fn query_one<T>(&self, statement: &T, params: &Params<'_>) -> Result<Row, Error>
    where
        T: ?Sized + ToStatement,
    {
        self.runtime.block_on(self.inner.query_one(statement, params))
    }

    pub fn query_opt<T>(&self, statement: &T, params: &Params<'_>) -> Result<Option<Row>, Error>
    where
        T: ?Sized + ToStatement,
    {
        self.runtime.block_on(self.inner.query_opt(statement, params))
    }

    /// The client, to make the requests of a [`Client::pipeline`] with.
    pub fn requests(&self) -> &tokio_postgres::Client {
        &self.inner
    }

    /// Sends every request before reading any answer, and returns the answers in order. The
    /// server runs them in order too: after one fails in a transaction, the ones after it fail
    /// as well (the transaction is aborted), and a `COMMIT` among them rolls back.
    pub fn pipeline(&self, requests: Vec<Request<'_>>) -> Vec<Result<u64, Error>> {
        // join_all polls the requests in order, and tokio-postgres sends each when first
        // polled, without waiting for the answers of those before it.
        self.runtime.block_on(join_all(requests))
    }
}

/// Connects with `tls` and starts the connection's task on the current runtime.
async fn open<T>(config: &Config, tls: T) -> Result<tokio_postgres::Client, Error>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let (client, connection) = config.connect(tls).await?;
    tokio::spawn(async move {
        // Ends when the connection does; its error comes back through the next request.
        let _ = connection.await;
    });
    Ok(client)
}
