//! Creates the `observers` table with an index, on SQLite or PostgreSQL; `down` drops both.

use godwit_sdk::{Dialect, Migration, Result, log, params, sql};

struct Observers;

impl Migration for Observers {
    fn description() -> String {
        "observers who report sightings".into()
    }

    fn reversible() -> bool {
        true
    }

    fn up() -> Result<()> {
        let id = match sql::dialect() {
            Dialect::Sqlite => "INTEGER PRIMARY KEY",
            Dialect::Postgres => "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        };
        sql::execute(
            &format!("CREATE TABLE observers (id {id}, name TEXT NOT NULL, email TEXT)"),
            params![],
        )?;
        sql::execute("CREATE INDEX observers_email ON observers (email)", params![])?;
        sql::execute(
            "INSERT INTO observers (name, email) VALUES ($1, $2)",
            params!["Ada", "ada@example.org"],
        )?;
        let count: i64 = sql::scalar("SELECT count(*) FROM observers", params![])?;
        log::info(&format!("observers created with {count} row"));
        Ok(())
    }

    fn down() -> Result<()> {
        sql::execute("DROP INDEX observers_email", params![])?;
        sql::execute("DROP TABLE observers", params![])?;
        Ok(())
    }
}

godwit_sdk::migration!(Observers);
