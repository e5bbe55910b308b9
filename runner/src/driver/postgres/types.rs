//! How values cross between godwit and PostgreSQL: parameters go in text format (the server
//! parses them for whatever type the statement gives them, blobs as binary `bytea`), result
//! columns come back as [`Value`]s, and the server's errors as [`DbError`]s.

use crate::driver::{DbError, Value};
use tokio_postgres::error::ErrorPosition;
use tokio_postgres::types::{Format, FromSql, IsNull, ToSql, Type, to_sql_checked};

/// Bytes as lowercase hex digits.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A SQL string literal.
pub(super) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A parameter in PostgreSQL's text format, which the server parses for whatever type the
/// statement gives the parameter; blobs go as binary `bytea`.
#[derive(Debug)]
pub(super) struct Param<'a>(pub(super) &'a Value);

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Value::Null => return Ok(IsNull::Yes),
            Value::Blob(bytes) => out.extend_from_slice(bytes),
            value => out.extend_from_slice(value.postgres_text().unwrap_or_default().as_bytes()),
        }
        Ok(IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        match self.0 {
            Value::Blob(_) => Format::Binary,
            _ => Format::Text,
        }
    }

    to_sql_checked!();
}

pub(super) fn as_sql<'a>(params: &'a [Param<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// A result column as a [`Value`]; types without an equivalent must be cast in the query.
pub(super) fn column_value(
    row: &tokio_postgres::Row,
    i: usize,
    name: &str,
    ty: &Type,
) -> Result<Value, DbError> {
    let get = |e: tokio_postgres::Error| db_error(&e);
    Ok(match *ty {
        Type::BOOL => row.try_get::<_, Option<bool>>(i).map_err(get)?.map(Value::Boolean),
        Type::INT2 => row.try_get::<_, Option<i16>>(i).map_err(get)?.map(|v| Value::Integer(v.into())),
        Type::INT4 => row.try_get::<_, Option<i32>>(i).map_err(get)?.map(|v| Value::Integer(v.into())),
        Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(get)?.map(Value::Integer),
        Type::FLOAT4 => row.try_get::<_, Option<f32>>(i).map_err(get)?.map(|v| Value::Real(v.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i).map_err(get)?.map(Value::Real),
        Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i).map_err(get)?.map(Value::Blob),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
            row.try_get::<_, Option<String>>(i).map_err(get)?.map(Value::Text)
        }
        _ => {
            return Err(DbError::new(format!(
                "column `{name}` has type {ty}, which has no godwit value; cast it in the query (`{name}::text`)"
            )));
        }
    }
    .unwrap_or(Value::Null))
}

/// A column of godwit's own query (its history): as [`column_value`], and a `timestamptz` as
/// RFC 3339 text with second precision, which is how the history shows it on every database.
pub(super) fn own_column_value(
    row: &tokio_postgres::Row,
    i: usize,
    name: &str,
    ty: &Type,
) -> Result<Value, DbError> {
    match *ty {
        Type::TIMESTAMPTZ => {
            let time = row.try_get::<_, Option<Timestamp>>(i).map_err(|e| db_error(&e))?;
            Ok(time.map_or(Value::Null, |t| Value::Text(t.rfc3339())))
        }
        _ => column_value(row, i, name, ty),
    }
}

/// A `timestamptz` as the server sends it in binary: microseconds since 2000-01-01 UTC.
/// Decoded here, so that the server does not format a thousand dates per run.
struct Timestamp(i64);

impl Timestamp {
    /// RFC 3339 with second precision, as the SQLite history stores it.
    fn rfc3339(&self) -> String {
        const FROM_UNIX_EPOCH: i64 = 946_684_800;
        const YEAR_10000: i64 = 253_402_300_800;
        let unix = self.0.div_euclid(1_000_000).saturating_add(FROM_UNIX_EPOCH);
        match (self.0, u64::try_from(unix)) {
            (i64::MAX, _) => "infinity".to_owned(),
            (i64::MIN, _) => "-infinity".to_owned(),
            (_, Ok(seconds)) if unix < YEAR_10000 => humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds),
            )
            .to_string(),
            // Only a hand-edited row can hold such a time.
            _ => format!("{unix} s from 1970-01-01T00:00:00Z"),
        }
    }
}

impl<'a> FromSql<'a> for Timestamp {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> Result<Timestamp, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Timestamp(i64::from_be_bytes(raw.try_into()?)))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ
    }
}

/// The server's message (with its detail and hint) and SQLSTATE, or the client-side cause
/// chain for connection and protocol errors; a connection that closed or broke under the
/// client gets SQLSTATE 08006 (`connection_failure`), as libpq reports it.
pub(super) fn db_error(error: &tokio_postgres::Error) -> DbError {
    if let Some(db) = error.as_db_error() {
        let mut message = db.message().to_owned();
        if let Some(detail) = db.detail() {
            message.push_str(&format!("\nDETAIL: {detail}"));
        }
        if let Some(hint) = db.hint() {
            message.push_str(&format!("\nHINT: {hint}"));
        }
        let position = match db.position() {
            Some(ErrorPosition::Original(at)) => usize::try_from(*at).ok(),
            _ => None,
        };
        return DbError { message, code: Some(db.code().code().to_owned()), position };
    }
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    let broken = error.is_closed()
        || std::error::Error::source(error).is_some_and(|cause| cause.is::<std::io::Error>());
    match broken {
        true => DbError::with_code(message, "08006"),
        false => DbError::new(message),
    }
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn binary_timestamps_read_as_rfc3339_seconds() {
        assert_eq!(Timestamp(0).rfc3339(), "2000-01-01T00:00:00Z");
        // 2026-11-19T15:08:48.853587Z (Unix time 1795100928), as the server sends it.
        let micros = (1_795_100_928 - 946_684_800) * 1_000_000 + 853_587;
        assert_eq!(Timestamp(micros).rfc3339(), "2026-11-19T15:08:48Z");
        assert_eq!(Timestamp(-1).rfc3339(), "1999-12-31T23:59:59Z");
        // `infinity` and times humantime cannot write are shown, not a panic.
        assert_eq!(Timestamp(i64::MAX).rfc3339(), "infinity");
        assert_eq!(Timestamp(i64::MIN).rfc3339(), "-infinity");
        assert_eq!(Timestamp(i64::MAX - 1).rfc3339(), "9224318721654 s from 1970-01-01T00:00:00Z");
        assert!(Timestamp(-1_000_000 * 946_684_801).rfc3339().starts_with("-1 s from 1970"));
    }
}
