//! `godwit inspect`: what a component is (size, hash, imports, exports, whether it is a godwit
//! migration) or what a pack is (manifest, grant, migrations, the hash `godwit lock` pins).

use crate::cli::Format;
use crate::config::Settings;
use crate::failure::Failure;
use crate::hints::build_hint;
use crate::printer::Printer;
use godwit::Migrator;
use std::path::Path;
use std::process::ExitCode;

pub fn inspect(
    settings: &Settings,
    printer: &mut Printer,
    file: &Path,
    format: Format,
) -> anyhow::Result<ExitCode> {
    if file.join(godwit::pack::MANIFEST).is_file() {
        return inspect_pack(settings, printer, file, format);
    }
    let artifact = match file.is_dir() {
        true => {
            let mut progress = |progress: godwit::guest_build::BuildProgress<'_>| {
                if let godwit::guest_build::BuildProgress::Line(line) = progress {
                    printer.progress(line);
                }
            };
            crate::cli::builder(settings.build)
                .build(file, &mut progress)
                .map_err(|e| {
                    Failure::check(format!("{}: {e}", file.display())).hint(build_hint(&e))
                })?
                .artifact
        }
        false => file.to_owned(),
    };
    let bytes = std::fs::read(&artifact)
        .map_err(|e| Failure::config(format!("cannot read {}: {e}", file.display())))?;
    let runtime =
        godwit::wasm::Runtime::new(crate::cli::cache_root().map(|c| c.join("components")))?;
    let inspection = runtime.inspect(&bytes, settings.wasm).map_err(|e| {
        Failure::check(format!("{}: {e}", file.display()))
            .hint("a godwit migration is a WebAssembly component built against wit/migration.wit")
    })?;
    let world = godwit::contract::world();
    match format {
        Format::Json => {
            let value = serde_json::json!({
                "schema_version": 1,
                "file": file.display().to_string(),
                "size": inspection.size,
                "sha256": inspection.sha256,
                "imports": inspection.imports,
                "exports": inspection.exports,
                "world": world,
                "matches_world": inspection.world.is_ok(),
                "descriptor": inspection.world.as_ref().ok(),
                "problem": inspection.world.as_ref().err(),
            });
            printer.data(serde_json::to_string_pretty(&value)?)?;
        }
        Format::Text => {
            printer.data(format!("file         {}", file.display()))?;
            printer.data(format!("size         {} bytes", inspection.size))?;
            printer.data(format!("sha256       {}", inspection.sha256))?;
            printer.data(format!("imports      {}", inspection.imports.join(", ")))?;
            printer.data(format!("exports      {}", inspection.exports.join(", ")))?;
            match &inspection.world {
                Ok(info) => {
                    printer.data(format!("world        {world}: yes"))?;
                    printer.data(format!("description  {}", info.description))?;
                    printer.data(format!("reversible   {}", yes_no(info.reversible)))?;
                    printer.data(format!("batched      {}", yes_no(info.batched)))?;
                    if let Some(options) = run_options(&info.options) {
                        printer.data(format!("options      {options}"))?;
                    }
                }
                Err(problem) => printer.data(format!("world        {world}: no, {problem}"))?,
            }
        }
    }
    match inspection.world {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(_) => Ok(ExitCode::from(1)),
    }
}

/// What a component asked of the run, in one line; `None` when it asked nothing.
fn run_options(options: &godwit::wasm::RunOptions) -> Option<String> {
    let mut parts = Vec::new();
    if options.defer_transform {
        parts.push("defer transform".to_owned());
    }
    if let Some(target) = options.batch_target {
        parts.push(format!("batch target {}", humantime::format_duration(target)));
    }
    match (options.batch_min, options.batch_max) {
        (None, None) => {}
        (min, max) => parts.push(format!(
            "batch {}..{} rows",
            min.map_or(String::new(), |n| n.to_string()),
            max.map_or(String::new(), |n| n.to_string())
        )),
    }
    if !options.requires.is_empty() {
        parts.push(format!("requires {}", options.requires.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// `godwit inspect <pack dir>`: the manifest, the grant, the migrations and the SHA-256 that
/// `godwit lock` pins.
fn inspect_pack(
    settings: &Settings,
    printer: &mut Printer,
    dir: &Path,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let pack = godwit::pack::Pack::load(dir, None).map_err(godwit::Error::from)?;
    let source = godwit::source::DirSource::new(dir)
        .builder(crate::cli::builder(settings.build))
        .in_stream(pack.stream());
    let migrator = Migrator::from_source(&source)?;
    let migrations = migrator.migrations();
    let sha256 = pack.checksum(migrations);
    match format {
        Format::Json => {
            let list: Vec<_> = migrations
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "label": m.label,
                        "kind": m.kind,
                        "path": m.path.display().to_string(),
                        "checksum": m.checksum,
                        "reversible": m.is_reversible(),
                    })
                })
                .collect();
            let value = serde_json::json!({
                "schema_version": 1,
                "pack": pack.name,
                "version": pack.version,
                "description": pack.description,
                "dir": dir.display().to_string(),
                "sha256": sha256,
                "grant": pack.grant,
                "migrations": list,
            });
            printer.data(serde_json::to_string_pretty(&value)?)?;
        }
        Format::Text => {
            printer.data(format!("pack         {}", pack.name))?;
            printer.data(format!("version      {}", pack.version))?;
            if let Some(description) = &pack.description {
                printer.data(format!("description  {description}"))?;
            }
            printer.data(format!("dir          {}", dir.display()))?;
            printer.data(format!("sha256       {sha256}"))?;
            printer.data(format!("grant        {}", pack.grant.summary()))?;
            for m in migrations {
                let reversible = if m.is_reversible() { "" } else { "  irreversible" };
                printer.data(format!(
                    "migration    {} ({}, {}){reversible}",
                    m.label,
                    m.kind.as_str(),
                    m.checksum.short()
                ))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}
