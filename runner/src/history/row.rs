//! A history row as the engine sees it, and the checks that a row read back is one godwit
//! could have written: a tampered table is reported, not trusted.

use crate::checksum::Checksum;
use crate::driver::{DbError, Value};
use crate::stream::Stream;
use crate::version::Version;

/// The state a history row records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RecordState {
    Applied,
    /// A migration that ran outside a transaction and failed part-way; it blocks `up` until
    /// `godwit repair` clears it.
    Failed,
    /// A batched migration whose `up` committed and whose transform has not finished; `cursor`
    /// and `rows_done` say how far it got, and `godwit up` resumes it there.
    InProgress,
}

impl RecordState {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordState::Applied => "applied",
            RecordState::Failed => "failed",
            RecordState::InProgress => "in_progress",
        }
    }

    pub fn parse(text: &str) -> Option<RecordState> {
        match text {
            "applied" => Some(RecordState::Applied),
            "failed" => Some(RecordState::Failed),
            "in_progress" => Some(RecordState::InProgress),
            _ => None,
        }
    }
}

/// A row read back from the history table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedMigration {
    /// The project's, or a pack's.
    pub stream: Stream,
    pub version: Option<Version>,
    pub name: String,
    pub kind: String,
    pub checksum: Checksum,
    /// UTC, RFC 3339 with second precision.
    pub applied_at: String,
    pub execution_ms: i64,
    pub state: RecordState,
    pub godwit_version: String,
    pub cursor: Option<String>,
    pub rows_done: i64,
}

/// The values of one row, in the order of [`super::sql::COLUMNS`].
pub(super) fn decode(values: &[Value]) -> Result<AppliedMigration, DbError> {
    let mut at = values.iter();
    let mut next = || at.next().unwrap_or(&Value::Null);
    let (stream, version, name, kind) = (next(), next(), next(), next());
    let (checksum, applied_at, execution_ms, state) = (next(), next(), next(), next());
    let (godwit_version, cursor, rows_done, dotted) = (next(), next(), next(), next());
    let name = text(name, "name")?;
    let bad = |what: &str| {
        DbError::new(format!("godwit_history has a row godwit did not write ({what} for `{name}`)"))
    };
    let version = match (version, dotted) {
        (Value::Null, Value::Null) => None,
        (Value::Integer(v), Value::Null) => {
            Some(Version::new(*v).ok_or_else(|| bad("a negative version"))?)
        }
        // Written only for versions of two parts or more, in their one canonical form.
        (Value::Null, Value::Text(text)) => match text.parse::<Version>() {
            Ok(v) if v.is_dotted() && v.to_string() == *text => Some(v),
            _ => return Err(bad("a malformed dotted version")),
        },
        (Value::Integer(_), _) => return Err(bad("both a version and a dotted version")),
        _ => return Err(bad("a version that is not a number")),
    };
    let state = text(state, "state")?;
    let state = RecordState::parse(&state).ok_or_else(|| bad("an unknown state"))?;
    let checksum = text(checksum, "checksum")?;
    if checksum.len() != 64 || !checksum.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("a malformed checksum"));
    }
    Ok(AppliedMigration {
        stream: Stream::from_stored(text(stream, "stream")?),
        version,
        kind: text(kind, "kind")?,
        checksum: Checksum::from_stored(checksum),
        applied_at: text(applied_at, "applied_at")?,
        execution_ms: integer(execution_ms, "execution_ms")?,
        state,
        godwit_version: text(godwit_version, "godwit_version")?,
        cursor: match cursor {
            Value::Null => None,
            value => Some(text(value, "cursor")?),
        },
        rows_done: integer(rows_done, "rows_done")?,
        name,
    })
}

fn text(value: &Value, column: &str) -> Result<String, DbError> {
    match value {
        Value::Text(text) => Ok(text.clone()),
        other => Err(DbError::new(format!(
            "godwit_history has a row godwit did not write ({column} is {other:?}, not text)"
        ))),
    }
}

fn integer(value: &Value, column: &str) -> Result<i64, DbError> {
    match value {
        Value::Integer(n) => Ok(*n),
        other => Err(DbError::new(format!(
            "godwit_history has a row godwit did not write ({column} is {other:?}, not a number)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: &str, checksum: &str) -> Vec<Value> {
        vec![
            Value::Text(String::new()),
            Value::Integer(3),
            Value::Text("add_email".into()),
            Value::Text("sql".into()),
            Value::Text(checksum.into()),
            Value::Text("2026-11-23T00:00:00Z".into()),
            Value::Integer(4),
            Value::Text(state.into()),
            Value::Text("0.1.0".into()),
            Value::Null,
            Value::Integer(0),
            Value::Null,
        ]
    }

    #[test]
    fn rows_godwit_wrote_are_read_and_others_refused() {
        let good = decode(&row("applied", &"ab".repeat(32))).unwrap();
        assert_eq!(
            (good.stream, good.version, good.state),
            (Stream::Project, Version::new(3), RecordState::Applied)
        );
        let unknown = decode(&row("done", &"ab".repeat(32))).unwrap_err();
        assert!(unknown.message.contains("(an unknown state for `add_email`)"), "{unknown}");
        let malformed = decode(&row("applied", "abc")).unwrap_err();
        assert!(malformed.message.contains("a malformed checksum"), "{malformed}");
        let mut negative = row("applied", &"ab".repeat(32));
        negative[1] = Value::Integer(-1);
        assert!(decode(&negative).unwrap_err().message.contains("a negative version"));
        let mut dotted = row("applied", &"ab".repeat(32));
        (dotted[1], dotted[11]) = (Value::Null, Value::Text("1.2".into()));
        assert_eq!(decode(&dotted).unwrap().version, "1.2".parse().ok());
        dotted[11] = Value::Text("1.02".into());
        assert!(decode(&dotted).unwrap_err().message.contains("a malformed dotted version"));
        (dotted[1], dotted[11]) = (Value::Integer(1), Value::Text("1.2".into()));
        assert!(decode(&dotted).unwrap_err().message.contains("both a version"));
    }
}
