//! `--format auto`: which tool wrote a folder, from its file names and, where names are
//! shared (`0001_x.sql`), from the markers inside the files. Every migration file votes for the
//! formats that read it so; the folder's format is the one every file agrees on. A folder
//! whose files fit two formats equally (golang-migrate's and sqlx's `.up.sql` names; `V1__x.sql`
//! in Flyway and refinery) is ambiguous, and one whose files disagree is mixed: both are
//! errors saying which files decided, never a guess.

use super::{DetectError, Format, names};
use crate::guest_build;
use crate::source::name::is_backup;
use std::collections::BTreeSet;
use std::path::Path;

pub(super) fn detect(dir: &Path) -> Result<Format, DetectError> {
    let shown = dir.display().to_string();
    let read = |e: std::io::Error| DetectError::Read { dir: shown.clone(), reason: e.to_string() };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let entry = entry.map_err(read)?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
        if !is_backup(&name) {
            names.push((name, entry.path().is_dir()));
        }
    }
    names.sort();
    let flyway_versions: BTreeSet<String> = names
        .iter()
        .filter_map(|(name, _)| name.strip_prefix('V')?.split_once("__").map(|(v, _)| v.to_owned()))
        .collect();
    // (file, the formats it fits)
    let mut votes: Vec<(String, Vec<Format>)> = Vec::new();
    for (name, is_dir) in &names {
        let path = dir.join(name);
        if let Some(fits) = fits(name, *is_dir, &path, &flyway_versions) {
            votes.push((name.clone(), fits));
        }
    }
    decide(&shown, &votes)
}

fn decide(dir: &str, votes: &[(String, Vec<Format>)]) -> Result<Format, DetectError> {
    let Some((first_file, first)) = votes.first() else {
        return Ok(Format::Godwit);
    };
    let mut common: Vec<Format> = first.clone();
    let mut narrowed_by = first_file;
    for (file, fits) in &votes[1..] {
        let kept: Vec<Format> = common.iter().copied().filter(|f| fits.contains(f)).collect();
        if kept.is_empty() {
            let mut found = common.clone();
            for format in fits {
                if !found.contains(format) {
                    found.push(*format);
                }
            }
            return Err(DetectError::Mixed {
                dir: dir.into(),
                found,
                why: format!("{narrowed_by} is {} and {file} is {}", names(&common), names(fits)),
            });
        }
        if kept.len() < common.len() {
            narrowed_by = file;
        }
        common = kept;
    }
    match common.as_slice() {
        [one] => Ok(*one),
        _ => Err(DetectError::Ambiguous {
            dir: dir.into(),
            candidates: common.clone(),
            why: format!("every file is named as both write them (like {first_file})"),
        }),
    }
}

/// The formats a folder entry is a migration of; `None` when it is not a migration of any
/// (or is one of godwit's own components or migration directories, which fit every format).
fn fits(
    name: &str,
    is_dir: bool,
    path: &Path,
    flyway_versions: &BTreeSet<String>,
) -> Option<Vec<Format>> {
    use Format::*;
    if is_dir {
        if guest_build::detect(path).is_ok() {
            return None;
        }
        return path.join("up.sql").is_file().then(|| vec![Diesel]);
    }
    if name.ends_with(".wasm") {
        return None;
    }
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    let numbered = digits > 0 && name.as_bytes().get(digits) == Some(&b'_');
    if numbered && name.ends_with(".go") && !name.ends_with("_test.go") {
        return Some(vec![Goose]);
    }
    if let Some(rest) = name.strip_prefix("R__") {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        return match marker(&text) {
            Some(Godwit) => Some(vec![Godwit]),
            _ => rest.ends_with(".sql").then(|| vec![Flyway]),
        };
    }
    if let Some(first @ ('V' | 'U')) = name.chars().next() {
        let (version, _) = name[1..].split_once("__")?;
        if version.is_empty()
            || !version.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'_')
        {
            return None;
        }
        if !version.bytes().all(|b| b.is_ascii_digit()) {
            return Some(vec![Flyway]);
        }
        return Some(match first {
            // An undo file of a versioned migration is Flyway's; refinery's `U` stands alone.
            'U' if flyway_versions.contains(version) => vec![Flyway],
            'U' => vec![Refinery],
            _ => vec![Flyway, Refinery],
        });
    }
    if !numbered || !name.ends_with(".sql") {
        return None;
    }
    if name.ends_with(".up.sql") || name.ends_with(".down.sql") {
        return Some(vec![GolangMigrate, Sqlx]);
    }
    let text = std::fs::read_to_string(path).unwrap_or_default();
    Some(match marker(&text) {
        Some(format) => vec![format],
        None => vec![Sqlx],
    })
}

/// The format whose section marker a file's text holds.
fn marker(text: &str) -> Option<Format> {
    text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("--")?.trim_start().to_ascii_lowercase();
        if rest.starts_with("godwit:") {
            Some(Format::Godwit)
        } else if rest.starts_with("+goose") {
            Some(Format::Goose)
        } else if rest.starts_with("migrate:up") || rest.starts_with("migrate:down") {
            Some(Format::Dbmate)
        } else {
            None
        }
    })
}
