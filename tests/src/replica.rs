//! A PostgreSQL primary with a streaming replica of its own, for the tests of throttling on
//! replica lag: `initdb`, a replication entry in `pg_hba.conf`, `pg_basebackup` into a
//! second directory (or, where the server comes without it, a low-level base backup), both on
//! free 127.0.0.1 ports. The replica can be stopped, started and
//! delayed (`recovery_min_apply_delay`). Both are stopped and deleted when the pair drops.

use crate::pg::{find_bin, free_port, run, run_as_user, shell};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Pair {
    dir: PathBuf,
    user: Option<String>,
    bin: PathBuf,
    /// The primary's `postgres` database.
    pub primary_url: String,
    pub replica_url: String,
    /// The replica's `application_name`, as `pg_stat_replication` shows it.
    pub replica_name: &'static str,
}

impl Pair {
    /// A running pair, or why there is none.
    pub fn start() -> Result<Pair, String> {
        let bin = find_bin()?;
        let dir = std::env::temp_dir().join(format!(
            "godwit-pg-pair-{}-{}",
            std::process::id(),
            free_port()?
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let user = run_as_user();
        if let Some(user) = &user {
            run(Command::new("chown").arg(user).arg(&dir))?;
        }
        let (primary, replica) = (free_port()?, free_port()?);
        let pair = Pair {
            primary_url: format!("postgres://postgres@127.0.0.1:{primary}/postgres"),
            replica_url: format!("postgres://postgres@127.0.0.1:{replica}/postgres"),
            replica_name: "replica1",
            dir,
            user,
            bin,
        };
        let fsync = match std::env::var_os("GODWIT_TEST_PG_DURABLE") {
            Some(_) => "",
            None => "fsync = off\\n",
        };
        let common =
            format!("listen_addresses = '127.0.0.1'\\n{fsync}wal_receiver_status_interval = 1s\\n");
        pair.sh(&format!(
            "set -e
             \"$PGBIN/initdb\" -D primary -U postgres -A trust -E UTF8 --no-sync >initdb.log 2>&1 || {{ cat initdb.log; exit 1; }}
             printf '%s\\n' 'local all all trust' 'host all all 127.0.0.1/32 trust' \
               'local replication all trust' 'host replication all 127.0.0.1/32 trust' >primary/pg_hba.conf
             printf \"{common}port = {primary}\\nunix_socket_directories = '$PWD'\\n\" >>primary/postgresql.auto.conf
             \"$PGBIN/pg_ctl\" -D primary -l primary.log -w -t 60 start >/dev/null"
        ))?;
        if pair.bin.join("pg_basebackup").is_file() {
            pair.sh(&format!(
                "\"$PGBIN/pg_basebackup\" -h 127.0.0.1 -p {primary} -U postgres -D replica -R -X stream >/dev/null"
            ))?;
        } else {
            pair.copy_primary()?;
        }
        pair.sh(&format!(
            "set -e
             printf \"port = {replica}\\nunix_socket_directories = '$PWD'\\nprimary_conninfo = 'host=127.0.0.1 port={primary} user=postgres application_name=replica1'\\n\" >>replica/postgresql.auto.conf
             touch replica/standby.signal
             chmod 700 replica"
        ))?;
        pair.start_replica()?;
        Ok(pair)
    }

    /// A pair for a test, or (outside CI, where one must start) a note and nothing.
    pub fn for_test() -> Option<Pair> {
        match Pair::start() {
            Ok(pair) => Some(pair),
            Err(reason) if std::env::var_os("CI").is_some() => panic!("no replica: {reason}"),
            Err(reason) => {
                eprintln!("note: skipping a replica test: {reason}");
                None
            }
        }
    }

    /// The replica's data directory as PostgreSQL's low-level base backup makes it, for
    /// servers that come without `pg_basebackup` (the PostgreSQL 18 of the npm package): the
    /// primary's files copied between `pg_backup_start` and `pg_backup_stop` in one session,
    /// without its WAL, which the replica then streams, and the `backup_label` the stop returns.
    fn copy_primary(&self) -> Result<(), String> {
        let mut client = postgres::Client::connect(&self.primary_url, postgres::NoTls)
            .map_err(|e| format!("connect to the primary: {e}"))?;
        client
            .batch_execute("SELECT pg_backup_start('godwit replica', true)")
            .map_err(|e| format!("pg_backup_start: {e}"))?;
        // tar exits 1 when a file changed while it was read, which a base backup allows.
        self.sh(
            "mkdir replica && (cd primary && tar --exclude=./postmaster.pid --exclude=./postmaster.opts \
               --exclude='./pg_wal/*' --exclude='./pg_replslot/*' -cf - .) | (cd replica && tar -xf -); \
             status=$?; mkdir -p replica/pg_wal/archive_status; [ $status -le 1 ]",
        )?;
        let label: String = client
            .query_one("SELECT labelfile FROM pg_backup_stop(false)", &[])
            .map_err(|e| format!("pg_backup_stop: {e}"))?
            .get(0);
        let mut write = shell(
            &self.dir,
            self.user.as_deref(),
            &self.bin,
            "printf '%s' \"$LABEL\" >replica/backup_label",
        );
        run(write.env("LABEL", label))
    }

    fn sh(&self, script: &str) -> Result<(), String> {
        run(&mut shell(&self.dir, self.user.as_deref(), &self.bin, script))
    }

    pub fn start_replica(&self) -> Result<(), String> {
        self.sh("\"$PGBIN/pg_ctl\" -D replica -l replica.log -w -t 60 start >/dev/null || { cat replica.log; exit 1; }")?;
        self.wait_streaming(true)
    }

    pub fn stop_replica(&self) -> Result<(), String> {
        self.sh("\"$PGBIN/pg_ctl\" -D replica -m fast -w stop >/dev/null")?;
        self.wait_streaming(false)
    }

    /// Replays WAL `delay` after the primary wrote it (zero: at once). A standby takes no
    /// `ALTER SYSTEM`: the setting goes at the end of its configuration, then a reload.
    pub fn delay_replica(&self, delay: Duration) -> Result<(), String> {
        self.sh(&format!(
            "printf \"recovery_min_apply_delay = '{}ms'\\n\" >>replica/postgresql.auto.conf && \
             \"$PGBIN/pg_ctl\" -D replica reload >/dev/null",
            delay.as_millis()
        ))
    }

    /// Waits until the primary sees the replica streaming (or no longer).
    fn wait_streaming(&self, streaming: bool) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let mut client = postgres::Client::connect(&self.primary_url, postgres::NoTls)
                .map_err(|e| format!("connect to the primary: {e}"))?;
            let row = client
                .query_one(
                    "SELECT count(*) FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'",
                    &[&self.replica_name],
                )
                .map_err(|e| e.to_string())?;
            if (row.get::<_, i64>(0) > 0) == streaming {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(60) {
                return Err(format!(
                    "the replica is not {}streaming after 60 s",
                    if streaming { "" } else { "done " }
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = self.sh("\"$PGBIN/pg_ctl\" -D replica -m immediate stop >/dev/null 2>&1; \
             \"$PGBIN/pg_ctl\" -D primary -m immediate stop >/dev/null 2>&1; true");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
