//! Streams of the history: the project's own migrations, and each pack's. Versions,
//! out-of-order checks and `down` stay within a stream; the history table stores the project's
//! stream as the empty string and a pack's as its name.

use std::fmt;

/// Whose migrations: the project's, or one pack's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stream {
    /// The project's own migrations.
    #[default]
    Project,
    /// The migrations of the pack with this name.
    Pack(String),
}

impl Stream {
    /// The stream of the pack `name`.
    pub fn pack(name: impl Into<String>) -> Stream {
        Stream::Pack(name.into())
    }

    /// As the history table stores it: empty for the project, the pack's name otherwise.
    pub fn as_stored(&self) -> &str {
        match self {
            Stream::Project => "",
            Stream::Pack(name) => name,
        }
    }

    /// A stream as read back from the history table.
    pub fn from_stored(text: String) -> Stream {
        match text.is_empty() {
            true => Stream::Project,
            false => Stream::Pack(text),
        }
    }

    /// The pack's name; `None` for the project.
    pub fn pack_name(&self) -> Option<&str> {
        match self {
            Stream::Project => None,
            Stream::Pack(name) => Some(name),
        }
    }

    pub fn is_project(&self) -> bool {
        *self == Stream::Project
    }

    /// How messages name a migration of this stream: the label alone for the project's,
    /// `billing:0001_invoices` for a pack's.
    pub fn label(&self, label: impl fmt::Display) -> String {
        match self {
            Stream::Project => label.to_string(),
            Stream::Pack(name) => format!("{name}:{label}"),
        }
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stream::Project => f.write_str("the project"),
            Stream::Pack(name) => write!(f, "pack `{name}`"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_round_trips() {
        assert_eq!(Stream::from_stored(String::new()), Stream::Project);
        assert_eq!(Stream::from_stored("billing".into()), Stream::pack("billing"));
        assert_eq!(Stream::pack("billing").as_stored(), "billing");
        assert_eq!(Stream::Project.as_stored(), "");
        assert_eq!(Stream::pack("billing").label("0001_x"), "billing:0001_x");
        assert_eq!(Stream::Project.label("0001_x"), "0001_x");
    }
}
