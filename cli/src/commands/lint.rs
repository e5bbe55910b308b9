//! `godwit lint`: what the pending migrations (or, with `--all`, every one) would do to a live
//! database, as the engine's rules find it; findings on stdout, the summary on stderr.

use super::{count, load, load_and_connect};
use crate::cli::LintFormat;
use crate::config::Settings;
use crate::failure::Failure;
use crate::printer::{GREEN, Printer, YELLOW};
use godwit::lint::{Finding, Level};
use godwit::status::EntryState;
use std::process::ExitCode;

pub fn lint(
    settings: &Settings,
    printer: &mut Printer,
    all: bool,
    format: LintFormat,
) -> anyhow::Result<ExitCode> {
    let Some(dialect) = godwit::driver::dialect_of(&settings.database) else {
        // An unknown scheme: connecting refuses it, naming the URL, as every command does.
        let refused = super::connect(settings).err();
        return Err(
            refused.unwrap_or_else(|| Failure::check("the database URL names no dialect").into())
        );
    };
    let (migrator, applied) = match all {
        true => (load(settings, printer)?, None),
        false => {
            let (migrator, mut db) = load_and_connect(settings, || load(settings, printer))?;
            let applied = migrator.history(&mut db)?;
            (migrator, Some(applied))
        }
    };
    let linted: Vec<&godwit::migration::Migration> = match &applied {
        None => migrator.migrations().iter().collect(),
        Some(applied) => godwit::status::status(migrator.migrations(), applied)
            .into_iter()
            .filter(|e| matches!(e.state, EntryState::Pending | EntryState::Changed))
            .filter_map(|e| e.migration)
            .collect(),
    };
    let findings =
        godwit::lint::lint(linted.iter().copied(), dialect, &settings.lint, &settings.lock_waits);
    match format {
        LintFormat::Sarif => printer.data(serde_json::to_string_pretty(&sarif(&findings))?)?,
        LintFormat::Json => {
            let json = serde_json::json!({ "schema_version": 1, "findings": findings.iter().map(json).collect::<Vec<_>>() });
            printer.data(serde_json::to_string_pretty(&json)?)?;
        }
        LintFormat::Text => {
            for finding in &findings {
                printer.data(text(finding))?;
            }
        }
    }
    let standing = || findings.iter().filter(|f| f.allowed.is_none());
    let errors = standing().filter(|f| f.level == Level::Error).count();
    let warnings = standing().count() - errors;
    let read = count(linted.len(), "migration", "migrations");
    let mut summary = format!(
        "{} and {} in {read}",
        count(errors, "error", "errors"),
        count(warnings, "warning", "warnings")
    );
    let allowed = findings.len() - standing().count();
    if allowed > 0 {
        summary.push_str(&format!(
            " ({} allowed by their files)",
            count(allowed, "finding", "findings")
        ));
    }
    match errors {
        0 => {
            printer.status("Linted", GREEN, summary);
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            printer.status("Linted", YELLOW, summary);
            Ok(ExitCode::from(1))
        }
    }
}

/// A finding on one line, as `godwit up` tells it before it applies anything.
pub fn one_line(finding: &Finding) -> String {
    let (level, rule, path) = (finding.level, finding.rule, finding.path.display());
    // A statement a component sent has no line in a file.
    let at = match finding.line {
        0 => String::new(),
        line => format!(":{line}"),
    };
    format!("{level}[{rule}]: {path}{at}: {}; {}", finding.what, finding.rule.instead())
}

fn text(finding: &Finding) -> String {
    if let Some(reason) = &finding.allowed {
        let (rule, path) = (finding.rule, finding.path.display());
        return format!("allowed[{rule}]: {path}:{}: {} ({reason})", finding.line, finding.what);
    }
    format!(
        "{}[{}]: {}:{}: {}\n  why: {}\n  instead: {}",
        finding.level,
        finding.rule,
        finding.path.display(),
        finding.line,
        finding.what,
        finding.rule.why(),
        finding.rule.instead()
    )
}

pub fn json(finding: &Finding) -> serde_json::Value {
    serde_json::json!({
        "rule": finding.rule.id(),
        "level": finding.level,
        "migration": finding.migration,
        "path": finding.path.display().to_string(),
        "line": finding.line,
        "what": finding.what,
        "statement": finding.statement,
        "why": finding.rule.why(),
        "instead": finding.rule.instead(),
        "allowed": finding.allowed,
    })
}

/// The findings as a SARIF 2.1.0 log, which code-scanning services show on a pull request:
/// every rule with its description, every finding with its file and line.
fn sarif(findings: &[Finding]) -> serde_json::Value {
    let level = |level: Level| match level {
        Level::Error => "error",
        Level::Warning => "warning",
    };
    let rules: Vec<serde_json::Value> = godwit::lint::Rule::ALL
        .iter()
        .map(|rule| {
            serde_json::json!({
                "id": rule.id(),
                "shortDescription": { "text": rule.why() },
                "help": { "text": rule.instead() },
                "helpUri": format!("docs/lint.md#{}", rule.id()),
                "defaultConfiguration": {
                    "enabled": rule.level().is_some(),
                    "level": level(rule.level().unwrap_or(Level::Warning)),
                },
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = findings
        .iter()
        .map(|finding| {
            let suppressions: Vec<serde_json::Value> = finding
                .allowed
                .iter()
                .map(|reason| serde_json::json!({ "kind": "inSource", "justification": reason }))
                .collect();
            serde_json::json!({
                "suppressions": suppressions,
                "ruleId": finding.rule.id(),
                "level": level(finding.level),
                "message": { "text": format!("{}: {}; {}", finding.what, finding.rule.why(), finding.rule.instead()) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": finding.path.display().to_string().replace('\\', "/") },
                        "region": { "startLine": finding.line },
                    },
                }],
            })
        })
        .collect();
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "godwit",
                "version": godwit::GODWIT_VERSION,
                "informationUri": "https://github.com/godwit-migrate/godwit",
                "rules": rules,
            } },
            "results": results,
        }],
    })
}
