//! Migration versions: the number in front of a file name, ordered numerically so that `0002`,
//! `10` and a UTC timestamp like `20261122093000` all sort as a user expects.

use std::fmt;
use std::str::FromStr;

/// A migration's version. Stored as a signed 64-bit integer because that is what both SQLite
/// and PostgreSQL store natively; versions above `i64::MAX` are rejected when parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Version(i64);

impl Version {
    /// Builds a version from a database value; negative values are not versions.
    pub fn new(value: i64) -> Option<Version> {
        (value >= 0).then_some(Version(value))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// Why a string is not a version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VersionError {
    #[error("a version is made of digits only, `{0}` is not")]
    NotDigits(String),
    #[error("version `{0}` is too large (at most 18 digits)")]
    TooLarge(String),
}

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Version, VersionError> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(VersionError::NotDigits(text.to_owned()));
        }
        text.parse::<i64>().map(Version).map_err(|_| VersionError::TooLarge(text.to_owned()))
    }
}

/// In configuration files a version is a number (`after = 3`) or a string of digits
/// (`after = "20261122093000"`).
impl<'de> serde::Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Version, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(i64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(n) => Version::new(n)
                .ok_or_else(|| serde::de::Error::custom(format!("version {n} is negative"))),
            Raw::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_zero_padded_and_timestamps_numerically() {
        let a: Version = "0002".parse().unwrap();
        let b: Version = "10".parse().unwrap();
        let c: Version = "20261122093000".parse().unwrap();
        assert!(a < b && b < c);
        assert_eq!(a, "2".parse().unwrap());
        assert_eq!(a.to_string(), "2");
    }

    #[test]
    fn rejects_non_digits_and_overflow() {
        assert!(matches!("1a".parse::<Version>(), Err(VersionError::NotDigits(_))));
        assert!(matches!("".parse::<Version>(), Err(VersionError::NotDigits(_))));
        assert!(matches!("-1".parse::<Version>(), Err(VersionError::NotDigits(_))));
        assert!(matches!(
            "99999999999999999999".parse::<Version>(),
            Err(VersionError::TooLarge(_))
        ));
        assert_eq!(Version::new(-1), None);
    }
}
