//! `godwit new` in a folder of another tool's format: the new SQL migration is written as
//! that tool writes one (its names, its section markers, its up and down files), so the
//! folder stays the tool's and the team's habits carry on.

use godwit::source::Format;
use std::path::PathBuf;

/// The UTC time as `YYYYMMDDHHMMSS`.
pub fn utc_stamp() -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    now.chars().filter(char::is_ascii_digit).collect()
}

/// The files of a new migration numbered `version` (digits, or a UTC stamp where the tool
/// numbers by time) named `slug`, relative to the folder. `reversible`: the folder's sqlx
/// migrations have up and down files.
pub fn files(
    format: Format,
    version: &str,
    slug: &str,
    reversible: bool,
) -> Vec<(PathBuf, String)> {
    let file = |name: String, text: &str| (PathBuf::from(name), text.to_owned());
    match format {
        Format::Sqlx if reversible => vec![
            file(format!("{version}_{slug}.up.sql"), "-- Add up migration script here\n"),
            file(format!("{version}_{slug}.down.sql"), "-- Add down migration script here\n"),
        ],
        Format::Sqlx => {
            vec![file(format!("{version}_{slug}.sql"), "-- Add migration script here\n")]
        }
        Format::GolangMigrate => vec![
            file(format!("{version}_{slug}.up.sql"), ""),
            file(format!("{version}_{slug}.down.sql"), ""),
        ],
        Format::Goose => vec![file(
            format!("{version}_{slug}.sql"),
            "-- +goose Up\n-- +goose StatementBegin\nSELECT 'up SQL query';\n-- +goose StatementEnd\n\n-- +goose Down\n-- +goose StatementBegin\nSELECT 'down SQL query';\n-- +goose StatementEnd\n",
        )],
        Format::Dbmate => {
            vec![file(format!("{version}_{slug}.sql"), "-- migrate:up\n\n\n-- migrate:down\n\n")]
        }
        Format::Diesel => {
            let dir = diesel_dir(version, slug);
            vec![
                file(format!("{dir}/up.sql"), "-- Your SQL goes here\n"),
                file(format!("{dir}/down.sql"), "-- This file should undo anything in `up.sql`\n"),
            ]
        }
        Format::Flyway | Format::Refinery => vec![file(format!("V{version}__{slug}.sql"), "")],
        _ => Vec::new(),
    }
}

/// diesel's directory name: the stamp as `YYYY-MM-DD-HHMMSS`.
fn diesel_dir(stamp: &str, slug: &str) -> String {
    match stamp.len() {
        14 => format!("{}-{}-{}-{}_{slug}", &stamp[..4], &stamp[4..6], &stamp[6..8], &stamp[8..]),
        _ => format!("{stamp}_{slug}"),
    }
}

/// How many digits the first migration's version has, as the tool writes it (`godwit`:
/// `0001`; golang-migrate's `-seq`: `000001`; goose's `-s`: `00001`; Flyway and refinery: `1`).
pub fn first_width(format: Format) -> usize {
    match format {
        Format::GolangMigrate => 6,
        Format::Goose => 5,
        Format::Flyway | Format::Refinery => 1,
        _ => 4,
    }
}

/// Whether the tool numbers migrations by time whatever the folder holds.
pub fn numbers_by_time(format: Format) -> bool {
    matches!(format, Format::Diesel | Format::Dbmate)
}
