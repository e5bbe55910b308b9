//! Checksums of migration files. A checksum is the SHA-256 of the file's text after two
//! normalisations that keep it stable across checkouts: a leading UTF-8 byte-order mark is
//! dropped and every line ending (CRLF, lone CR) becomes LF. Nothing else is changed, so an
//! edit to any statement, comment or whitespace inside a line is a modification.

use sha2::{Digest, Sha256};
use std::fmt;

/// Feeds `text` to `hasher` without a leading byte-order mark and with every line ending
/// made LF.
fn normalised(hasher: &mut Sha256, text: &str) {
    let mut rest = text.strip_prefix('\u{feff}').unwrap_or(text);
    while let Some(at) = rest.find('\r') {
        hasher.update(&rest.as_bytes()[..at]);
        hasher.update(b"\n");
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('\n') {
            rest = after;
        }
    }
    hasher.update(rest.as_bytes());
}

/// A SHA-256 digest, shown and stored as 64 lowercase hex digits.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(into = "String")]
pub struct Checksum(String);

impl Checksum {
    /// The checksum of a migration's text, normalised as this module describes.
    pub fn of_text(text: &str) -> Checksum {
        let mut hasher = Sha256::new();
        normalised(&mut hasher, text);
        Checksum::of_digest(&hasher.finalize())
    }

    /// The checksum of a migration read from several files (another tool's up, down and
    /// side files): each normalised as [`Checksum::of_text`] does, separated by NUL bytes
    /// (which no migration text holds), empty for a file that is not there.
    pub fn of_texts(texts: &[&str]) -> Checksum {
        let mut hasher = Sha256::new();
        for (i, text) in texts.iter().enumerate() {
            if i > 0 {
                hasher.update(b"\0");
            }
            normalised(&mut hasher, text);
        }
        Checksum::of_digest(&hasher.finalize())
    }

    /// The checksum of a binary migration (a component): its bytes as they are.
    pub fn of_bytes(bytes: &[u8]) -> Checksum {
        Checksum::of_digest(&Sha256::digest(bytes))
    }

    fn of_digest(digest: &[u8]) -> Checksum {
        use fmt::Write;
        let mut hex = String::with_capacity(digest.len() * 2);
        for byte in digest {
            let _ = write!(hex, "{byte:02x}");
        }
        Checksum(hex)
    }

    /// A checksum as read back from the history table.
    pub fn from_stored(hex: String) -> Checksum {
        Checksum(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 digits, enough to tell two checksums apart in a message.
    pub fn short(&self) -> &str {
        self.0.get(..12).unwrap_or(&self.0)
    }
}

impl From<Checksum> for String {
    fn from(checksum: Checksum) -> String {
        checksum.0
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Checksum({})", self.short())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest() {
        assert_eq!(
            Checksum::of_text("abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn line_endings_and_bom_do_not_matter() {
        let lf = Checksum::of_text("create table t (x int);\nselect 1;\n");
        assert_eq!(lf, Checksum::of_text("create table t (x int);\r\nselect 1;\r\n"));
        assert_eq!(lf, Checksum::of_text("create table t (x int);\rselect 1;\r"));
        assert_eq!(lf, Checksum::of_text("\u{feff}create table t (x int);\nselect 1;\n"));
    }

    #[test]
    fn any_other_edit_changes_it() {
        let base = Checksum::of_text("select 1;\n");
        assert_ne!(base, Checksum::of_text("select 1; \n"));
        assert_ne!(base, Checksum::of_text("select 1;\n\n"));
        assert_ne!(base, Checksum::of_text("SELECT 1;\n"));
    }
}
