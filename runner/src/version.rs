//! Migration versions: the number in front of a file name, ordered numerically so that `0002`,
//! `10` and a UTC timestamp like `20261122093000` all sort as a user expects; and Flyway's
//! dotted versions (`1.2.3`), which compare part by part as numbers, trailing zero parts not
//! counting (`1.0` is `1`, `1.10` comes after `1.9`).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// The longest dotted version kept, in characters: Flyway's own history column holds 50.
pub const MAX_DOTTED_LEN: usize = 50;

/// A migration's version: a number (`20261122093000`) or numbers joined by dots (`1.2.3`).
/// A number is stored as a signed 64-bit integer because that is what both SQLite and
/// PostgreSQL store natively; a number or part above `i64::MAX` is rejected when parsed.
/// Versions are kept in one canonical form (no leading zeros, no trailing `.0` parts), so two
/// versions that compare equal are equal and print the same.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version(Repr);

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Repr {
    Number(i64),
    /// Two parts or more, the last one not zero, as canonical text.
    Dotted {
        len: u8,
        text: [u8; MAX_DOTTED_LEN],
    },
}

impl Version {
    /// Builds a version from a database value; negative values are not versions.
    pub fn new(value: i64) -> Option<Version> {
        (value >= 0).then_some(Version(Repr::Number(value)))
    }

    /// The version as one number, or `None` for a dotted version.
    pub fn number(self) -> Option<i64> {
        match self.0 {
            Repr::Number(n) => Some(n),
            Repr::Dotted { .. } => None,
        }
    }

    /// Whether the version has more than one part (`1.2`).
    pub fn is_dotted(&self) -> bool {
        matches!(self.0, Repr::Dotted { .. })
    }

    /// The parts, most significant first: one for a number.
    pub fn parts(&self) -> impl Iterator<Item = i64> + '_ {
        let (first, rest) = match &self.0 {
            Repr::Number(n) => (Some(*n), None),
            Repr::Dotted { len, text } => (None, Some(&text[..usize::from(*len)])),
        };
        // Dotted text was checked when the version was made: digits and dots only.
        let rest = rest
            .into_iter()
            .flat_map(|text| text.split(|b| *b == b'.'))
            .map(|part| part.iter().fold(0i64, |n, b| n * 10 + i64::from(b - b'0')));
        first.into_iter().chain(rest)
    }

    /// The version after this one, as a new migration takes it: the number plus one, or a
    /// dotted version with its last part plus one (`1.2.3` → `1.2.4`); `None` past the
    /// largest.
    pub fn next(self) -> Option<Version> {
        let mut parts: Vec<String> = self.parts().map(|p| p.to_string()).collect();
        let last = parts.last_mut()?;
        *last = last.parse::<i64>().ok()?.checked_add(1)?.to_string();
        Version::from_parts(parts.iter().map(String::as_str)).ok()
    }

    /// A version from its parts as written (digit strings, leading zeros allowed), as
    /// Flyway reads `1.2.3` or `1_2_3`.
    pub fn from_parts<'t>(
        parts: impl IntoIterator<Item = &'t str>,
    ) -> Result<Version, VersionError> {
        let parts: Vec<&str> = parts.into_iter().collect();
        let whole = || parts.join(".");
        let mut numbers = Vec::with_capacity(parts.len());
        for part in &parts {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(VersionError::NotDigits(whole()));
            }
            numbers.push(part.parse::<i64>().map_err(|_| VersionError::TooLarge(whole()))?);
        }
        let significant = numbers.iter().rposition(|n| *n != 0).map_or(1, |i| i + 1);
        if significant == 1 {
            return Ok(Version(Repr::Number(numbers.first().copied().unwrap_or(0))));
        }
        let text = numbers[..significant].iter().map(i64::to_string).collect::<Vec<_>>().join(".");
        if text.len() > MAX_DOTTED_LEN {
            return Err(VersionError::TooLong(whole()));
        }
        let mut bytes = [0u8; MAX_DOTTED_LEN];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Ok(Version(Repr::Dotted { len: text.len() as u8, text: bytes }))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        match (self.0, other.0) {
            (Repr::Number(a), Repr::Number(b)) => a.cmp(&b),
            _ => self.parts().cmp(other.parts()),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Version) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Why a string is not a version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VersionError {
    #[error("a version is a number, or numbers joined by dots (1.2.3); `{0}` is not")]
    NotDigits(String),
    #[error("version `{0}` is too large (at most 18 digits)")]
    TooLarge(String),
    #[error("version `{0}` is longer than {MAX_DOTTED_LEN} characters")]
    TooLong(String),
}

/// Digits (`0042`), or digits joined by dots (`1.2.3`).
impl FromStr for Version {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Version, VersionError> {
        if !text.contains('.') {
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(VersionError::NotDigits(text.to_owned()));
            }
            return text
                .parse::<i64>()
                .map(|n| Version(Repr::Number(n)))
                .map_err(|_| VersionError::TooLarge(text.to_owned()));
        }
        Version::from_parts(text.split('.'))
    }
}

/// In configuration files a version is a number (`after = 3`) or a string (`after =
/// "20261122093000"`, `after = "1.2"`).
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

/// A number as a number, a dotted version as a string (`"1.2"`).
impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Repr::Number(n) => serializer.serialize_i64(n),
            Repr::Dotted { .. } => serializer.collect_str(self),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Number(n) => n.fmt(f),
            // Only digits and dots were ever written there.
            Repr::Dotted { len, text } => {
                f.pad(std::str::from_utf8(&text[..usize::from(*len)]).unwrap_or("?"))
            }
        }
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        text.parse().unwrap()
    }

    #[test]
    fn parses_zero_padded_and_timestamps_numerically() {
        let a: Version = "0002".parse().unwrap();
        let b: Version = "10".parse().unwrap();
        let c: Version = "20261122093000".parse().unwrap();
        assert!(a < b && b < c);
        assert_eq!(a, "2".parse().unwrap());
        assert_eq!(a.to_string(), "2");
        assert_eq!(a.number(), Some(2));
    }

    #[test]
    fn rejects_non_digits_and_overflow() {
        assert!(matches!("1a".parse::<Version>(), Err(VersionError::NotDigits(_))));
        assert!(matches!("".parse::<Version>(), Err(VersionError::NotDigits(_))));
        assert!(matches!("-1".parse::<Version>(), Err(VersionError::NotDigits(_))));
        assert!(matches!("1..2".parse::<Version>(), Err(VersionError::NotDigits(_))));
        assert!(matches!("1.".parse::<Version>(), Err(VersionError::NotDigits(_))));
        assert!(matches!(
            "99999999999999999999".parse::<Version>(),
            Err(VersionError::TooLarge(_))
        ));
        assert!(matches!(
            "1.99999999999999999999".parse::<Version>(),
            Err(VersionError::TooLarge(_))
        ));
        let long = vec!["12"; 20].join(".");
        assert!(matches!(long.parse::<Version>(), Err(VersionError::TooLong(_))));
        assert_eq!(Version::new(-1), None);
    }

    #[test]
    fn dotted_versions_compare_part_by_part_as_flyway_does() {
        // Flyway's order: numbers per part, a missing part is zero.
        let order = ["1", "1.0.1", "1.1", "1.2", "1.2.3", "1.9", "1.10", "2", "2.0.0.1", "10"];
        for pair in order.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(v("1.0"), v("1"));
        assert_eq!(v("1.0.0"), v("01"));
        assert_eq!(v("1.01"), v("1.1"));
        assert_eq!(v("01.020.0").to_string(), "1.20");
        assert!(!v("1.0").is_dotted() && v("1.0").number() == Some(1));
        assert_eq!(v("1.2.3").parts().collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(v("1.2").number(), None);
        assert_eq!(Version::from_parts(["1", "2"]).unwrap(), v("1.2"));
        assert_eq!(serde_json::to_string(&[v("7"), v("1.2")]).unwrap(), r#"[7,"1.2"]"#);
        assert_eq!(format!("{:>5}|", v("1.2")), "  1.2|");
        assert_eq!((v("1.2.3").next(), v("9").next()), (Some(v("1.2.4")), Some(v("10"))));
        assert_eq!(Version::new(i64::MAX).unwrap().next(), None);
    }
}
