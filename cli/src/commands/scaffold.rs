//! The files `godwit new --kind rust | python | js | c` writes: a migration directory whose
//! skeleton builds at once and whose `up` fails until it is written, so a forgotten one never
//! passes for applied. Each names the SDK this godwit carries and how it is built.

use godwit::guest_build::Language;
use std::path::Path;

/// What goes into a skeleton.
pub struct Skeleton<'a> {
    /// The directory's name, `0005_backfill_emails`.
    pub stem: &'a str,
    /// What the user said the migration does.
    pub description: &'a str,
    pub batched: bool,
    /// With `--sdk`: a `godwit-sdk` checkout to depend on by path.
    pub sdk: Option<&'a Path>,
}

/// The files of the skeleton, by path relative to the migration directory.
pub fn files(language: Language, skeleton: &Skeleton<'_>) -> Vec<(&'static str, String)> {
    match language {
        Language::Rust => vec![("Cargo.toml", manifest(skeleton)), ("src/lib.rs", rust(skeleton))],
        Language::Python => vec![("migration.py", python(skeleton))],
        Language::JavaScript => vec![("migration.js", javascript(skeleton))],
        _ => vec![("migration.c", c(skeleton))],
    }
}

/// `text` as the inside of a double-quoted string in Rust, Python, JavaScript and C.
fn quoted(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn manifest(s: &Skeleton<'_>) -> String {
    let dependency = match s.sdk {
        Some(path) => format!("{{ path = {} }}", toml::Value::String(path.display().to_string())),
        // The carried SDK stands in for it whenever godwit builds the crate.
        None => {
            let mut parts = godwit::GODWIT_VERSION.split('.');
            format!("\"{}.{}\"", parts.next().unwrap_or("0"), parts.next().unwrap_or("1"))
        }
    };
    format!(
        "# Built by `godwit build` (or `godwit up`) for wasm32-wasip2, with `godwit-sdk` patched to\n\
         # the SDK this godwit carries. `godwit toolchain install rust` adds the target.\n\
         [package]\nname = \"migration-{}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
         [lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\ngodwit-sdk = {dependency}\n\n\
         # A migration crate builds on its own, even inside another Cargo workspace.\n[workspace]\n\n\
         [profile.release]\nopt-level = \"s\"\nlto = true\ndebug = false\n",
        s.stem.replace('_', "-")
    )
}

fn rust(s: &Skeleton<'_>) -> String {
    let description = quoted(s.description);
    let (batched, transform) = match s.batched {
        true => (
            "\n    fn batched() -> bool {\n        true\n    }\n\n\
             \x20   // How godwit runs it (batch_target, batch_min, batch_max, requires too):\n\
             \x20   // fn options() -> godwit_sdk::Options {\n\
             \x20   //     godwit_sdk::Options { defer_transform: true, ..Default::default() }\n\
             \x20   // }\n",
            "\n    /// Up to `batch_size` rows after `cursor`; `next_cursor: None` when done.\n\
             \x20   fn transform(_cursor: Option<String>, _batch_size: u32) -> Result<BatchProgress> {\n\
             \x20       // let rows = sql::query(\"SELECT id FROM t WHERE id > $1 ORDER BY id LIMIT $2\", params![..])?;\n\
             \x20       Err(\"write this migration's transform in src/lib.rs\".into())\n    }\n",
        ),
        false => ("", ""),
    };
    let imports = if s.batched { "BatchProgress, Migration, Result" } else { "Migration, Result" };
    format!(
        "//! {}\n\nuse godwit_sdk::{{{imports}}};\n\nstruct Change;\n\n\
         impl Migration for Change {{\n    fn description() -> String {{\n        \"{description}\".into()\n    }}\n\n\
         \x20   fn reversible() -> bool {{\n        true\n    }}\n{batched}\n\
         \x20   fn up() -> Result<()> {{\n\
         \x20       // godwit_sdk::sql::execute(\"ALTER TABLE users ADD COLUMN email TEXT\", godwit_sdk::params![])?;\n\
         \x20       Err(\"write this migration's up in src/lib.rs\".into())\n    }}\n{transform}\n\
         \x20   fn down() -> Result<()> {{\n        Err(\"write this migration's down in src/lib.rs\".into())\n    }}\n}}\n\n\
         godwit_sdk::migration!(Change);\n",
        s.description.lines().next().unwrap_or_default()
    )
}

fn python(s: &Skeleton<'_>) -> String {
    let batch = match s.batched {
        true => {
            "    batched = True\n    # How godwit runs it: defer_transform = True, batch_target_ms = 200,\n\
             \x20   # batch_min = 100, batch_max = 100000, requires = [\"0007\"]\n"
        }
        false => "",
    };
    let method = match s.batched {
        true => {
            "\n    def batch(self, cursor, batch_size):\n\
                 \x20       # Up to batch_size rows after cursor (None on the first batch), then\n\
                 \x20       # return godwit.Progress(next_cursor or None when done, rows_processed).\n\
                 \x20       raise NotImplementedError(\"write this migration's batch in migration.py\")\n"
        }
        false => "",
    };
    format!(
        "\"\"\"{}\n\nBuilt by `godwit build` (or `godwit up`) with componentize-py; `godwit toolchain install\n\
         python` installs it. `import godwit` is the SDK this godwit carries.\n\"\"\"\n\n\
         import godwit\n\n\nclass Migration(godwit.Migration):\n\
         \x20   description = \"{}\"\n    reversible = True\n{batch}\n\
         \x20   def apply(self):\n\
         \x20       # godwit.execute(\"ALTER TABLE users ADD COLUMN email TEXT\")\n\
         \x20       raise NotImplementedError(\"write this migration's apply in migration.py\")\n{method}\n\
         \x20   def revert(self):\n\
         \x20       raise NotImplementedError(\"write this migration's revert in migration.py\")\n",
        s.description.replace("\"\"\"", "'''"),
        quoted(s.description)
    )
}

fn javascript(s: &Skeleton<'_>) -> String {
    let (batch, transform) = match s.batched {
        true => (
            "  batched: true,\n  // How godwit runs it: deferTransform: true, batchTargetMs: 200, batchMin: 100,\n\
             \x20 // batchMax: 100000, requires: [\"0007\"],\n",
            "\n  // Up to batchSize rows after cursor (null on the first batch); return\n\
             \x20 // { nextCursor (null when done), processed }.\n\
             \x20 transform(cursor, batchSize) {\n\
             \x20   throw new Error(\"write this migration's transform in migration.js\");\n  },\n",
        ),
        false => ("", ""),
    };
    format!(
        "// {}\n//\n// Built by `godwit build` (or `godwit up`) with componentize-qjs; `godwit toolchain\n\
         // install js` installs it. \"godwit\" is the SDK this godwit carries.\n\
         import {{ define, execute }} from \"godwit\";\n\n\
         export const migration = define({{\n  description: \"{}\",\n  reversible: true,\n{batch}\n\
         \x20 up() {{\n    // execute(\"ALTER TABLE users ADD COLUMN email TEXT\");\n\
         \x20   throw new Error(\"write this migration's up in migration.js\");\n  }},\n{transform}\n\
         \x20 down() {{\n    throw new Error(\"write this migration's down in migration.js\");\n  }},\n}});\n",
        s.description.lines().next().unwrap_or_default(),
        quoted(s.description)
    )
}

fn c(s: &Skeleton<'_>) -> String {
    let (transform, field) = match s.batched {
        true => (
            "\n/* Up to batch_size rows after cursor (NULL on the first batch); write the next cursor\n\
             \x20* into next (leave it empty when done) and the rows done into *processed. */\n\
             static bool transform(const char *cursor, uint32_t batch_size, char *next, size_t next_size,\n\
             \x20                     uint64_t *processed, int64_t *estimated_total, gw_string *err) {\n\
             \x20 return gw_fail(err, \"write this migration's transform in migration.c\");\n}\n",
            ", .transform = transform\n             /* How godwit runs it: .defer_transform = true, .batch_target_ms = 200,\n\
             \x20             .batch_min = 100, .batch_max = 100000,\n\
             \x20             .requires = (const char *const[]){\"0007\", NULL} */",
        ),
        false => ("", ""),
    };
    format!(
        "/* {}\n *\n * Built by `godwit build` (or `godwit up`) with clang and wit-bindgen; `godwit toolchain\n\
         \x20* install c` installs them. godwit.h is the SDK this godwit carries. */\n\
         #include \"godwit.h\"\n\n\
         static bool up(gw_string *err) {{\n\
         \x20 /* if (!gw_execute(\"ALTER TABLE users ADD COLUMN email TEXT\", GW_NO_PARAMS, NULL))\n\
         \x20  *   return gw_failed(err); */\n\
         \x20 return gw_fail(err, \"write this migration's up in migration.c\");\n}}\n\n\
         static bool down(gw_string *err) {{\n\
         \x20 return gw_fail(err, \"write this migration's down in migration.c\");\n}}\n{transform}\n\
         GW_MIGRATION(.description = \"{}\", .reversible = true, .up = up, .down = down{field});\n",
        s.description.replace("*/", "* /").lines().next().unwrap_or_default(),
        quoted(s.description)
    )
}
