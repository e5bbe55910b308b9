//! `godwit verify`: each migration applied, reverted and applied again on a scratch database,
//! with what each down fails to undo.

use super::{connect_options, count, load};
use crate::cli::Format;
use crate::config::Settings;
use crate::printer::{GREEN, Printer, YELLOW};
use godwit::schema::Difference;
use godwit::{Verification, Verified};
use std::process::ExitCode;

pub fn verify(
    settings: &Settings,
    printer: &mut Printer,
    dev: Option<&str>,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let migrator = load(settings, printer)?;
    let verified = migrator.verify(&settings.database, &connect_options(settings), dev)?;
    match format {
        Format::Json => {
            let all: Vec<serde_json::Value> = verified.iter().map(json).collect();
            let out = serde_json::json!({ "schema_version": 1, "migrations": all });
            printer.data(serde_json::to_string_pretty(&out)?)?;
        }
        Format::Text => {
            for one in &verified {
                printer.data(text(one))?;
            }
        }
    }
    let is = |f: fn(&Verified) -> bool| verified.iter().filter(|v| f(&v.verified)).count();
    let restored = is(|v| matches!(v, Verified::Restored));
    let behind = is(|v| matches!(v, Verified::LeavesBehind(_)));
    let irreversible = is(|v| matches!(v, Verified::Irreversible));
    let failed = is(|v| matches!(v, Verified::Failed(_)));
    let mut said = format!(
        "{}: {restored} restored by their down",
        count(verified.len(), "migration", "migrations")
    );
    for (n, what) in
        [(behind, "not undone by their down"), (irreversible, "irreversible"), (failed, "failed")]
    {
        if n > 0 {
            said.push_str(&format!(", {n} {what}"));
        }
    }
    match behind + failed {
        0 => {
            printer.status("Verified", GREEN, said);
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            printer.status("Verified", YELLOW, said);
            Ok(ExitCode::from(1))
        }
    }
}

fn text(one: &Verification) -> String {
    let label = &one.migration;
    match &one.verified {
        Verified::Restored => format!("restored      {label}"),
        Verified::Irreversible => format!("irreversible  {label} (no down)"),
        Verified::Failed(error) => format!("failed        {label}: {error}"),
        Verified::LeavesBehind(found) => {
            let mut out = format!("NOT UNDONE    {label}: its down");
            for difference in found {
                out.push_str(&format!("\n    {}", words(difference)));
            }
            out
        }
        _ => format!("?             {label}"),
    }
}

/// A difference between the schema after a down and the one before its up.
fn words(difference: &Difference) -> String {
    match difference {
        Difference::Extra { kind, name, .. } => format!("leaves {kind} {name} behind"),
        Difference::Missing { kind, name, .. } => {
            format!("drops {kind} {name}, which was there before its up")
        }
        Difference::Changed { kind, name, database, migrations } => {
            format!("leaves {kind} {name} as `{database}`; before its up it was `{migrations}`")
        }
        Difference::Unsupported { object } => format!("leaves {object} (not compared)"),
    }
}

fn json(one: &Verification) -> serde_json::Value {
    let (outcome, detail) = match &one.verified {
        Verified::Restored => ("restored", serde_json::Value::Null),
        Verified::Irreversible => ("irreversible", serde_json::Value::Null),
        Verified::Failed(error) => ("failed", serde_json::json!(error)),
        Verified::LeavesBehind(found) => ("not_undone", serde_json::json!(found)),
        _ => ("unknown", serde_json::Value::Null),
    };
    serde_json::json!({ "migration": one.migration, "outcome": outcome, "differences": detail })
}
