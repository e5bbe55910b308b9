//! Misbehaves in the way the table `hostile_mode` names, so that one component can show every
//! limit of godwit's sandbox: `spin` loops forever, `memory` allocates 2 GiB, `panic` panics,
//! `file` reads /etc/passwd, `env` counts the environment, `flood` logs and prints without
//! end, `sql-error` runs a statement on a table that does not exist, `clock` reads the time,
//! `escape` drops the `users` table (which no pack's grant allows), `network` connects to a
//! local port.

use godwit_sdk::{Migration, Result, log, params, sql};

struct Hostile;

impl Migration for Hostile {
    fn description() -> String {
        "misbehaves on purpose".into()
    }

    fn up() -> Result<()> {
        let mode: String = sql::scalar("SELECT mode FROM hostile_mode", params![])?;
        sql::execute("CREATE TABLE hostile_was_here (x INTEGER)", params![])?;
        match mode.as_str() {
            "spin" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "memory" => {
                let mut hog: Vec<Vec<u8>> = Vec::new();
                for _ in 0..2048 {
                    hog.push(vec![1u8; 1 << 20]);
                }
                Err(format!("allocated {} MiB", hog.len()).into())
            }
            "panic" => panic!("hostile guest panicked on purpose"),
            "file" => match std::fs::read_to_string("/etc/passwd") {
                Ok(text) => Err(format!("read {} bytes of /etc/passwd", text.len()).into()),
                Err(e) => Err(format!("could not read /etc/passwd: {e}").into()),
            },
            "env" => Err(format!("saw {} environment variables", std::env::vars().count()).into()),
            "clock" => {
                let since_epoch = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(u64::MAX);
                Err(format!("the wall clock says {since_epoch} s since 1970").into())
            }
            "flood" => {
                for i in 0..1_000_000u32 {
                    log::info(&format!("flood line {i}"));
                    println!("printed line {i}");
                }
                Ok(())
            }
            "sql-error" => {
                sql::execute("INSERT INTO no_such_table VALUES (1)", params![])?;
                Ok(())
            }
            "network" => match std::net::TcpStream::connect("127.0.0.1:5432") {
                Ok(_) => Err("connected to 127.0.0.1:5432".into()),
                Err(e) => Err(format!("could not connect to 127.0.0.1:5432: {e}").into()),
            },
            "escape" => {
                sql::execute("DROP TABLE users", params![])?;
                Ok(())
            }
            other => Err(format!("unknown mode {other}").into()),
        }
    }
}

godwit_sdk::migration!(Hostile);
