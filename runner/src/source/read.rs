//! Reading what a scan found: godwit's SQL files and components, other tools' files, and
//! migration directories (built). Every problem names its file.

use super::SourceEvent;
use super::format::{self, Texts};
use super::name::NameProblem;
use super::problem::{ProblemKind, SourceProblem};
use super::scan::{Found, What};
use super::sql_file;
use crate::checksum::Checksum;
use crate::guest_build::{BuildProgress, Builder};
use crate::migration::{DownFile, Key, Kind, Migration, Script, WasmScript};
use crate::stream::Stream;
use std::path::Path;

/// Loads the plain files among `found` (not the migration directories, which may build), on
/// a few threads when there are many: a project of a thousand migrations spends most of a
/// no-op run opening and reading them. The result is in the order of `found`, `None` for each
/// migration directory.
pub(super) fn load_files(found: &[Found]) -> Vec<Option<Result<Migration, SourceProblem>>> {
    let load_one = |found: &Found| match &found.what {
        What::Source => None,
        What::File => Some(load(&found.path, found.key.clone(), found.name.clone())),
        What::Format { .. } => load_format(found),
    };
    const PER_THREAD: usize = 128;
    let threads = std::thread::available_parallelism().map_or(1, usize::from).min(4);
    if threads < 2 || found.len() < 2 * PER_THREAD {
        return found.iter().map(load_one).collect();
    }
    let chunk = found.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = found
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(load_one).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| match worker.join() {
                Ok(loaded) => loaded,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// A migration directory: built by its language's toolchain into a component.
pub(super) fn load_source(
    dir: &Path,
    key: Key,
    name: String,
    builder: &Builder,
    events: &mut dyn FnMut(SourceEvent<'_>),
) -> Result<Migration, SourceProblem> {
    let progress = &mut |progress: BuildProgress<'_>| match progress {
        BuildProgress::Started(language) => events(SourceEvent::Building { dir, language }),
        BuildProgress::Line(line) => events(SourceEvent::BuildOutput { dir, line }),
    };
    let built =
        builder.build(dir, progress).map_err(|e| SourceProblem::new(dir, ProblemKind::Build(e)))?;
    let bytes =
        std::fs::read(&built.artifact).map_err(|e| SourceProblem::new(dir, ProblemKind::Io(e)))?;
    let label = dir.file_name().and_then(|s| s.to_str()).unwrap_or(&name).to_owned();
    Ok(Migration {
        stream: Stream::Project,
        key,
        name,
        label,
        path: dir.to_owned(),
        kind: Kind::Wasm,
        checksum: built.checksum,
        script: Script::Wasm(WasmScript::new(bytes)),
        text_order: None,
    })
}

/// A file's text: valid UTF-8 without NUL bytes.
fn read_text(path: &Path) -> Result<String, SourceProblem> {
    let bytes = read(path).map_err(|e| SourceProblem::new(path, ProblemKind::Io(e)))?;
    text(path, bytes)
}

/// A file's bytes, read without asking its size first: migrations are small, and a thousand
/// of them read on every run make the saved lookup show.
fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::with_capacity(4096);
    // Through `Take`, which reads to the end without `File`'s lookup of the size.
    std::fs::File::open(path)?.take(u64::MAX).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn text(path: &Path, bytes: Vec<u8>) -> Result<String, SourceProblem> {
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        SourceProblem::new(path, ProblemKind::NotUtf8 { line })
    })?;
    if let Some(at) = text.find('\0') {
        let line = text[..at].matches('\n').count() + 1;
        return Err(SourceProblem::new(path, ProblemKind::NulByte { line }));
    }
    Ok(text)
}

fn load(path: &Path, key: Key, name: String) -> Result<Migration, SourceProblem> {
    let is_wasm = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("wasm"));
    // A component may be megabytes: read at its size.
    let bytes = match is_wasm {
        true => std::fs::read(path),
        false => read(path),
    }
    .map_err(|e| SourceProblem::new(path, ProblemKind::Io(e)))?;
    let label = path.file_stem().and_then(|s| s.to_str()).unwrap_or(&name).to_owned();
    if is_wasm {
        if bytes.is_empty() {
            return Err(SourceProblem::new(path, ProblemKind::Empty));
        }
        return Ok(Migration {
            stream: Stream::Project,
            key,
            name,
            label,
            path: path.to_owned(),
            kind: Kind::Wasm,
            checksum: Checksum::of_bytes(&bytes),
            script: Script::Wasm(WasmScript::new(bytes)),
            text_order: None,
        });
    }
    let text = text(path, bytes)?;
    if text.trim_start_matches('\u{feff}').trim().is_empty() {
        return Err(SourceProblem::new(path, ProblemKind::Empty));
    }
    let script = sql_file::parse(text.strip_prefix('\u{feff}').unwrap_or(&text))
        .map_err(|e| SourceProblem::new(path, ProblemKind::Content(e)))?;
    Ok(Migration {
        stream: Stream::Project,
        key,
        name,
        label,
        path: path.to_owned(),
        kind: Kind::Sql,
        checksum: Checksum::of_text(&text),
        script: Script::Sql(script),
        text_order: None,
    })
}

/// A migration in another tool's format. Its checksum covers every file it is read from.
/// `None` for a directory that turns out to be godwit's own migration directory (built then).
fn load_format(found: &Found) -> Option<Result<Migration, SourceProblem>> {
    match read_format(found) {
        Err(problem) if is_own_dir(found, &problem) => None,
        loaded => Some(loaded),
    }
}

/// Whether `problem` is a format directory's missing up file, in a directory that holds one
/// of godwit's migration directory markers instead.
fn is_own_dir(found: &Found, problem: &SourceProblem) -> bool {
    matches!(problem.kind, ProblemKind::Name(NameProblem::NoUpFile))
        && crate::guest_build::detect(&found.path).is_ok()
}

fn read_format(found: &Found) -> Result<Migration, SourceProblem> {
    let What::Format { format, down, config, dir } = &found.what else {
        unreachable!("load_format reads format migrations only")
    };
    let path = &found.path;
    let (texts, down, label) = match (dir, format::files_in_dir(*format)) {
        (true, Some((up, down, meta))) => {
            // Read straight away: a file that is not there is told by the read, without a
            // lookup first (a thousand directories make the difference show).
            let optional = |name: &str| {
                let file = path.join(name);
                match read(&file) {
                    Ok(bytes) => text(&file, bytes).map(Some),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(SourceProblem::new(&file, ProblemKind::Io(e))),
                }
            };
            let no_up = || SourceProblem::new(path, ProblemKind::Name(NameProblem::NoUpFile));
            let texts = Texts { up: optional(up)?.ok_or_else(no_up)?, meta: optional(meta)? };
            // Whether down.sql is there is told when a revert (or a listing) first needs it.
            let down = Some(path.join(down));
            (
                texts,
                down,
                path.file_name().and_then(|s| s.to_str()).unwrap_or(&found.name).to_owned(),
            )
        }
        _ => {
            let meta = config.as_deref().map(read_text).transpose()?;
            let texts = Texts { up: read_text(path)?, meta };
            (texts, down.clone(), format::label(*format, path))
        }
    };
    let mut script = format::parse(*format, &texts)
        .map_err(|e| SourceProblem::new(path, ProblemKind::Format(e)))?;
    // The down file is read when a revert needs it, so the checksum covers what every run
    // reads: the up file (and diesel's metadata.toml or a Flyway script's config), which is
    // also all sqlx records.
    if let (Some(down), Some(reader)) = (down, format::down_reader(*format, &script)) {
        script.down_file = Some(DownFile::new(down, reader));
    }
    let checksum = match &texts.meta {
        None => Checksum::of_text(&texts.up),
        Some(meta) => Checksum::of_texts(&[&texts.up, meta]),
    };
    Ok(Migration {
        stream: Stream::Project,
        key: found.key.clone(),
        name: found.name.clone(),
        label,
        path: path.to_owned(),
        kind: Kind::Sql,
        checksum,
        script: Script::Sql(script),
        text_order: None,
    })
}
