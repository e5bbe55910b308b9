//! `godwit toolchain install | list`: the pinned toolchains that build migrations in each
//! language, installed where the engine looks for them.

use crate::cli::{Format, Lang};
use crate::failure::Failure;
use crate::hints::toolchain_hint;
use crate::printer::{CYAN, GREEN, Printer, YELLOW};
use godwit::guest_build::Language;
use std::process::ExitCode;

pub fn install(printer: &mut Printer, languages: &[Lang]) -> anyhow::Result<ExitCode> {
    let toolchains = crate::cli::toolchains();
    let dir = toolchains.dir().map(|d| d.display().to_string()).unwrap_or_default();
    for language in languages.iter().copied().map(Language::from) {
        printer.status("Installing", CYAN, format!("the {language} toolchain ({dir})"));
        let mut progress = |line: &str| printer.progress(line);
        if let Err(error) = toolchains.install(language, &mut progress) {
            let hint = toolchain_hint(&error);
            return Err(Failure::check(error.to_string()).hint(hint).into());
        }
        printer.status("Installed", GREEN, format!("the {language} toolchain"));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn list(printer: &mut Printer, format: Format) -> anyhow::Result<ExitCode> {
    let toolchains = crate::cli::toolchains();
    let tools = toolchains.list();
    if format == Format::Json {
        let tools: Vec<_> = tools
            .iter()
            .map(|t| {
                serde_json::json!({
                    "language": t.language.name(),
                    "tool": t.tool,
                    "installed": t.found.is_ok(),
                    "path": t.found.as_ref().ok().map(|p| p.display().to_string()),
                    "install": t.found.as_ref().err().map(toolchain_hint),
                })
            })
            .collect();
        let value = serde_json::json!({
            "schema_version": 1,
            "dir": toolchains.dir().map(|d| d.display().to_string()),
            "contract": godwit::contract::world(),
            "tools": tools,
        });
        printer.data(serde_json::to_string_pretty(&value)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let dir = toolchains.dir().map_or("(none)".to_owned(), |d| d.display().to_string());
    printer.data(format!("toolchains in {dir}, contract {}", godwit::contract::world()))?;
    for tool in &tools {
        let (mark, detail) = match &tool.found {
            Ok(path) => ("installed", path.display().to_string()),
            Err(error) => ("missing", toolchain_hint(error)),
        };
        let language = tool.language.name();
        printer.data(format!("{language:<7} {mark:<10} {:<40} {detail}", tool.tool))?;
    }
    if tools.iter().any(|t| t.found.is_err()) {
        printer.status("Note", YELLOW, "no toolchain is needed to run prebuilt .wasm migrations");
    }
    Ok(ExitCode::SUCCESS)
}
