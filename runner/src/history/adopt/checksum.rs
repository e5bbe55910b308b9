//! The checksums other tools keep of the migrations they applied, computed the way each tool
//! computes them: sqlx's SHA-384 of the file, Flyway's CRC32 of its lines, refinery's SipHash
//! 1-3 of the name, version and text.

use sha2::{Digest, Sha384};
use std::hash::{Hash, Hasher};

/// A checksum as a tool recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ToolChecksum {
    /// sqlx: SHA-384 of the file's bytes.
    Sha384(Vec<u8>),
    /// Flyway: CRC32 of the file's lines (UTF-8, without line endings or a leading
    /// byte-order mark), stored as a signed 32-bit integer.
    Crc32(i32),
    /// refinery: SipHash 1-3 (keys 0, 0) of the name, the version (a 32-bit integer unless
    /// refinery was built for 64-bit versions) and the text, as Rust's `Hash` feeds them.
    SipHash13(u64),
}

impl ToolChecksum {
    /// The checksum the tool would record for a migration of this name, version and text.
    pub fn matches(&self, name: &str, version: i64, text: &str) -> bool {
        match self {
            ToolChecksum::Sha384(digest) => Sha384::digest(text.as_bytes()).as_slice() == digest,
            ToolChecksum::Crc32(value) => flyway_crc32(text) == *value,
            ToolChecksum::SipHash13(value) => {
                let narrow = i32::try_from(version).ok().map(|v| refinery(name, v, text));
                narrow == Some(*value) || refinery(name, version, text) == *value
            }
        }
    }

    /// The checksum the tool would record for `text`, shown as the tool shows it.
    pub fn of_same_kind(&self, name: &str, version: i64, text: &str) -> String {
        match self {
            ToolChecksum::Sha384(_) => hex(&Sha384::digest(text.as_bytes())),
            ToolChecksum::Crc32(_) => flyway_crc32(text).to_string(),
            ToolChecksum::SipHash13(_) => refinery_checksum(name, version, text).to_string(),
        }
    }
}

impl std::fmt::Display for ToolChecksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ToolChecksum::Sha384(digest) => f.write_str(&hex(digest)),
            ToolChecksum::Crc32(value) => write!(f, "{value}"),
            ToolChecksum::SipHash13(value) => write!(f, "{value}"),
        }
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn unhex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// Flyway's checksum: a CRC32 updated with each line's UTF-8 bytes, lines split at `\n`,
/// `\r\n` or `\r` and taken without their endings, the byte-order mark dropped from the first.
pub fn flyway_crc32(text: &str) -> i32 {
    let mut crc = crc32fast::Hasher::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        crc.update(&rest.as_bytes()[..end]);
        rest = &rest[end..];
        if let Some(after) = rest.strip_prefix("\r\n") {
            rest = after;
        } else if !rest.is_empty() {
            rest = &rest[1..];
        }
    }
    crc.finalize() as i32
}

/// refinery's checksum of a migration, with the version as a 32-bit integer where it fits
/// (refinery's default build).
pub(crate) fn refinery_checksum(name: &str, version: i64, text: &str) -> u64 {
    match i32::try_from(version) {
        Ok(v) => refinery(name, v, text),
        Err(_) => refinery(name, version, text),
    }
}

fn refinery<V: Hash>(name: &str, version: V, text: &str) -> u64 {
    let mut hasher = siphasher::sip::SipHasher13::new();
    name.hash(&mut hasher);
    version.hash(&mut hasher);
    text.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flyway_crc_ignores_line_endings_and_bom() {
        let lf = flyway_crc32("create table t (x int);\nselect 1;\n");
        assert_eq!(flyway_crc32("\u{feff}create table t (x int);\r\nselect 1;\r\n"), lf);
        assert_eq!(flyway_crc32("create table t (x int);\nselect 1;"), lf);
        assert_ne!(flyway_crc32("create table t (x int);\nselect 2;\n"), lf);
        // CRC32 of "abc" (the lines concatenated), as a signed integer.
        assert_eq!(flyway_crc32("a\nbc"), 0x352441c2_u32 as i32);
    }

    #[test]
    fn sha384_and_hex() {
        let digest = Sha384::digest(b"select 1;").to_vec();
        let recorded = ToolChecksum::Sha384(unhex(&hex(&digest)).unwrap());
        assert!(recorded.matches("x", 1, "select 1;"));
        assert!(!recorded.matches("x", 1, "select 1;\n"));
    }
}
