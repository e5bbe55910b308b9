//! A throwaway PostgreSQL cluster for the tests, started once per test process.
//!
//! `GODWIT_TEST_PG_URL` names an existing server instead (each test creates its own database
//! in it). Otherwise the newest `/usr/lib/postgresql/*/bin` (or `GODWIT_TEST_PG_BIN`) runs
//! `initdb` and `pg_ctl` as an unprivileged user in a temporary directory, on a free
//! 127.0.0.1 port, with TLS on (a CA and a server certificate made with `openssl`). A shell
//! wrapper holds the cluster up while it can read from this process; when the process exits
//! the pipe closes and the wrapper stops the cluster and deletes its directory.
//!
//! `GODWIT_TEST_PG_DURABLE=1` keeps the server's default durability (fsync on), for
//! benchmarks; tests turn it off for speed.
//!
//! Without a server, PostgreSQL tests are skipped with a note, unless `CI` is set: then they
//! fail, so a CI run cannot pass without testing PostgreSQL.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// A running server the tests may create databases on.
#[derive(Debug)]
pub struct Server {
    /// A URL of the `postgres` maintenance database, for creating test databases.
    pub admin_url: String,
    /// The CA that signed the server certificate, when this harness started the cluster.
    pub ca_cert: Option<PathBuf>,
    /// Major version, like 15 or 18.
    pub version: String,
    _keepalive: Option<Mutex<ChildStdin>>,
}

impl Server {
    /// The URL of database `name` on this server, with extra query parameters.
    pub fn url(&self, name: &str, query: &str) -> String {
        let (base, params) = self.admin_url.split_once('?').unwrap_or((&self.admin_url, ""));
        let base = base.rsplit_once('/').map_or(base, |(server, _)| server);
        let params: Vec<&str> = [params, query].into_iter().filter(|p| !p.is_empty()).collect();
        match params.is_empty() {
            true => format!("{base}/{name}"),
            false => format!("{base}/{name}?{}", params.join("&")),
        }
    }
}

/// The server, starting it on first use; `None` (with a note) when none can be had outside CI.
pub fn server() -> Option<&'static Server> {
    static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
    match SERVER.get_or_init(start) {
        Ok(server) => Some(server),
        Err(reason) if std::env::var_os("CI").is_some() => {
            panic!("CI is set and no PostgreSQL server could be started: {reason}")
        }
        Err(reason) => {
            eprintln!("note: skipping a PostgreSQL test: {reason}");
            None
        }
    }
}

/// Creates an empty database and returns its URL.
pub fn fresh_database() -> Option<String> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let server = server()?;
    let name =
        format!("godwit_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
    let mut admin = postgres::Client::connect(&server.admin_url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("connect to {}: {e}", server.admin_url));
    admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("create test database");
    Some(server.url(&name, ""))
}

fn start() -> Result<Server, String> {
    if let Ok(url) = std::env::var("GODWIT_TEST_PG_URL") {
        let mut client = postgres::Client::connect(&url, postgres::NoTls)
            .map_err(|e| format!("GODWIT_TEST_PG_URL: {e}"))?;
        let version = server_version(&mut client)?;
        return Ok(Server { admin_url: url, ca_cert: None, version, _keepalive: None });
    }
    let bin = find_bin()?;
    let dir = std::env::temp_dir().join(format!("godwit-pg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let user = run_as_user();
    if let Some(user) = &user {
        run(Command::new("chown").arg(user).arg(&dir))?;
    }
    let sh = |script: &str| shell(&dir, user.as_deref(), &bin, script);
    run(&mut sh(CERTS))?;
    run(&mut sh(
        "\"$PGBIN/initdb\" -D data -U postgres -A trust -E UTF8 --no-sync >initdb.log 2>&1 || { cat initdb.log; exit 1; }",
    ))?;
    // Everyone is trusted but one role, which must give its password: the wrong-password
    // test (B24 in docs/bad-inputs.md) connects as it.
    run(&mut sh("printf '%s\\n' 'local all all trust' \
         'host all godwit_password_check 127.0.0.1/32 scram-sha-256' \
         'host all all 127.0.0.1/32 trust' 'host all all ::1/128 trust' >data/pg_hba.conf"))?;
    let port = free_port()?;
    let mut conf = format!(
        "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{dir}'\n\
         max_connections = 300\n\
         ssl = on\nssl_cert_file = '{dir}/server.crt'\nssl_key_file = '{dir}/server.key'\n",
        dir = dir.display()
    );
    if std::env::var_os("GODWIT_TEST_PG_DURABLE").is_none() {
        conf.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
    }
    let conf_path = dir.join("data/postgresql.auto.conf");
    std::fs::write(&conf_path, conf).map_err(|e| format!("write {}: {e}", conf_path.display()))?;
    // Started in the foreground of a wrapper that stops the cluster when our pipe closes.
    let mut wrapper = sh(
        "\"$PGBIN/pg_ctl\" -D data -l server.log -w -t 60 start >/dev/null 2>&1 || { echo failed; cat server.log; exit 1; }; \
         echo started; cat >/dev/null; \"$PGBIN/pg_ctl\" -D data -m immediate stop >/dev/null 2>&1; cd /; rm -rf \"$OLDPWD\"",
    );
    let mut child = wrapper
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("start pg_ctl: {e}"))?;
    let stdout = child.stdout.take().ok_or("no wrapper stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    if first != "started" {
        let log: Vec<String> = lines.map_while(Result::ok).collect();
        return Err(format!("pg_ctl start failed: {}", log.join("\n")));
    }
    let admin_url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let mut client = postgres::Client::connect(&admin_url, postgres::NoTls)
        .map_err(|e| format!("connect to the new cluster: {e}"))?;
    let version = server_version(&mut client)?;
    let keepalive = child.stdin.take().map(Mutex::new);
    Ok(Server { admin_url, ca_cert: Some(dir.join("ca.crt")), version, _keepalive: keepalive })
}

/// `sh -c script` in `dir`, as `user` when given, with `$PGBIN` set.
pub(crate) fn shell(dir: &Path, user: Option<&str>, bin: &Path, script: &str) -> Command {
    let mut command = match user {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", user, "--", "sh", "-c", script]);
            c
        }
        None => {
            let mut c = Command::new("sh");
            c.args(["-c", script]);
            c
        }
    };
    command.current_dir(dir).env("PGBIN", bin);
    command
}

const CERTS: &str = "set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=godwit-test-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext 2>/dev/null
chmod 600 server.key";

fn server_version(client: &mut postgres::Client) -> Result<String, String> {
    let row = client
        .query_one("SELECT current_setting('server_version_num')", &[])
        .map_err(|e| e.to_string())?;
    let number: String = row.get(0);
    Ok(number.get(..number.len().saturating_sub(4)).unwrap_or("").to_owned())
}

/// `GODWIT_TEST_PG_BIN`, else the newest installed server.
pub(crate) fn find_bin() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("GODWIT_TEST_PG_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| {
            "no PostgreSQL server in /usr/lib/postgresql (apt-get install postgresql)".to_owned()
        })?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    candidates.sort();
    candidates
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "no initdb under /usr/lib/postgresql".to_owned())
}

/// initdb refuses to run as root; run the cluster as `postgres` (or `nobody`) then.
pub(crate) fn run_as_user() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return None;
    }
    let exists =
        |user: &str| Command::new("id").arg(user).output().is_ok_and(|o| o.status.success());
    ["postgres", "nobody"].into_iter().find(|u| exists(u)).map(str::to_owned)
}

pub(crate) fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

pub(crate) fn run(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}
