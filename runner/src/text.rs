//! Small text helpers for messages: a count with the right noun, a list of problems. They sit
//! at the bottom of the engine, below every room that writes a message.

use std::fmt;

pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
}

/// A one-line summary, or a count followed by one indented line per item.
pub(crate) fn list<T: fmt::Display>(what: &str, items: &[T]) -> String {
    match items {
        [one] => one.to_string(),
        _ => {
            let mut text = plural(items.len(), what, &format!("{what}s"));
            for item in items {
                text.push_str(&format!("\n  {item}"));
            }
            text
        }
    }
}
