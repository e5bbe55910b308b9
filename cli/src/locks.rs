//! A statement's locks as a dry run and `godwit lint --trace` print them: the mode, the
//! relation, its size, and what the application cannot do meanwhile.

use crate::progress::thousands;
use godwit::lint::{Lock, RelationSize};

/// `ACCESS EXCLUSIVE on orders (41 M rows, 3.2 GiB): blocks reads and writes; may rewrite it`.
pub fn line(lock: &Lock) -> String {
    let size = match lock.size {
        Some(size) => format!(" ({})", size_text(size)),
        None => " (not in the database yet)".to_owned(),
    };
    let rewrites = if lock.rewrites { "; may rewrite it" } else { "" };
    format!("{} on {}{size}: {}{rewrites}", lock.mode, lock.relation, lock.mode.blocks())
}

fn size_text(size: RelationSize) -> String {
    let rows = match size.rows {
        Some(rows) => format!("{} rows", count(rows)),
        None => "rows never counted".to_owned(),
    };
    format!("{rows}, {}", bytes(size.bytes))
}

/// `987`, `123,456`, `4.1 M`, `41 M`, `2.0 G`.
fn count(n: u64) -> String {
    let scaled = |unit: f64, name: &str| {
        let value = n as f64 / unit;
        match value < 10.0 {
            true => format!("{value:.1} {name}"),
            false => format!("{value:.0} {name}"),
        }
    };
    match n {
        n if n < 1_000_000 => thousands(n),
        n if n < 1_000_000_000 => scaled(1e6, "M"),
        _ => scaled(1e9, "G"),
    }
}

/// `8 KiB`, `3.2 GiB`.
fn bytes(n: u64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{n} bytes"),
        _ if value < 10.0 => format!("{value:.1} {}", units[unit]),
        _ => format!("{value:.0} {}", units[unit]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use godwit::lint::LockMode;

    #[test]
    fn a_lock_reads_as_a_reviewer_wants_it() {
        let size = Some(RelationSize { rows: Some(41_234_567), bytes: 3_435_973_837 });
        let lock = Lock {
            mode: LockMode::AccessExclusive,
            relation: "orders".into(),
            rewrites: true,
            size,
        };
        assert_eq!(
            line(&lock),
            "ACCESS EXCLUSIVE on orders (41 M rows, 3.2 GiB): blocks reads and writes; may rewrite it"
        );
        let lock =
            Lock { mode: LockMode::Share, relation: "lines".into(), rewrites: false, size: None };
        assert_eq!(line(&lock), "SHARE on lines (not in the database yet): blocks writes");
        assert_eq!(count(12_345), "12,345");
        assert_eq!(count(4_150_000), "4.2 M");
        assert_eq!(count(2_000_000_000), "2.0 G");
        assert_eq!(bytes(8192), "8.0 KiB");
    }
}
