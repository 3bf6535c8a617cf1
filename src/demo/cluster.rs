//! A throwaway PostgreSQL cluster: `initdb` + `pg_ctl` in a temporary directory on a
//! free loopback port. Used by `penguin-admin demo up`, the tests and the benchmark.
//!
//! `initdb` refuses to run as root, so when we are root the data directory is owned by
//! the `postgres` system user and the server tools run through `runuser`. Tests call
//! [`Cluster::start`] many times: the first call in a process initialises a template
//! data directory and later calls copy it (about 0.3 s instead of 1.5 s).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::central::DbKind;

/// Errors starting or stopping a throwaway cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The PostgreSQL server binaries are not installed.
    #[error("PostgreSQL server binaries not found (looked for initdb in {0}); install them with `apt-get install postgresql`")]
    NoBinaries(String),
    /// A server tool failed.
    #[error("{tool} failed: {output}")]
    Tool {
        /// Which tool.
        tool: String,
        /// What it printed.
        output: String,
    },
    /// File system trouble.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ClusterError {
    let context = context.into();
    move |source| ClusterError::Io { context, source }
}

/// A running throwaway cluster. Dropping it does not stop it: call [`Cluster::stop`]
/// (tests use [`ClusterGuard`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Cluster {
    /// Data directory (also the socket directory).
    pub dir: PathBuf,
    /// TCP port on 127.0.0.1.
    pub port: u16,
}

/// Stops and removes the cluster when dropped.
#[derive(Debug)]
pub struct ClusterGuard(pub Cluster);

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        let _ = self.0.stop();
    }
}

/// Client authentication of a throwaway cluster: trust on the private socket only,
/// scram-sha-256 on 127.0.0.1.
const HBA: &str = "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n";

fn bin_dir() -> Result<PathBuf, ClusterError> {
    if let Ok(dir) = std::env::var("PG_BIN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    for version in ["17", "16", "15", "14"] {
        let dir = PathBuf::from(format!("/usr/lib/postgresql/{version}/bin"));
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    Err(ClusterError::NoBinaries("/usr/lib/postgresql/*/bin".into()))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

/// Runs a server tool, as `postgres` when we are root.
fn run_tool(tool: &str, args: &[&str]) -> Result<String, ClusterError> {
    let path = bin_dir()?.join(tool);
    let output = if is_root() {
        // runuser lives in /usr/sbin, which a minimal PATH may lack.
        let runuser =
            ["/usr/sbin/runuser", "/sbin/runuser"].into_iter().find(|p| Path::new(p).exists()).unwrap_or("runuser");
        Command::new(runuser).arg("-u").arg("postgres").arg("--").arg(&path).args(args).output()
    } else {
        Command::new(&path).args(args).output()
    }
    .map_err(io(format!("running {tool}{}", if is_root() { " as postgres through runuser" } else { "" })))?;
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if output.status.success() {
        Ok(text)
    } else {
        Err(ClusterError::Tool { tool: tool.into(), output: text.trim().to_string() })
    }
}

fn chown_postgres(path: &Path) -> Result<(), ClusterError> {
    if is_root() {
        let status =
            Command::new("chown").args(["-R", "postgres:postgres"]).arg(path).status().map_err(io("running chown"))?;
        if !status.success() {
            return Err(ClusterError::Tool { tool: "chown".into(), output: format!("exit {status}") });
        }
    }
    Ok(())
}

fn free_port() -> Result<u16, ClusterError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(io("finding a free port"))?;
    listener.local_addr().map(|a| a.port()).map_err(io("finding a free port"))
}

/// A process-wide template data directory, initialised once.
fn template() -> Result<PathBuf, ClusterError> {
    static TEMPLATE: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let dir = make_temp_dir("template").map_err(|e| e.to_string())?;
            let data = dir.join("data");
            std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
            chown_postgres(&dir).map_err(|e| e.to_string())?;
            let data_s = data.to_string_lossy().to_string();
            // An explicit locale: the caller's LANG may be unset or name a locale this
            // machine lacks (initdb then refuses with "invalid locale settings").
            run_tool(
                "initdb",
                &["-D", &data_s, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"],
            )
            .map_err(|e| match e {
                ClusterError::Tool { output, .. } => output,
                other => other.to_string(),
            })?;
            Ok(data)
        })
        .clone()
        .map_err(|output| ClusterError::Tool { tool: "initdb".into(), output })
}

fn make_temp_dir(label: &str) -> Result<PathBuf, ClusterError> {
    let base = std::env::temp_dir();
    for attempt in 0..100u32 {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let dir = base.join(format!("penguin-pg-{label}-{}-{nanos}-{attempt}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => {
                // The server runs as postgres and must be able to reach its directory.
                set_mode(&dir, 0o755)?;
                return Ok(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io("creating a temporary directory")(e)),
        }
    }
    Err(ClusterError::Tool { tool: "mkdir".into(), output: "could not create a unique temporary directory".into() })
}

fn set_mode(path: &Path, mode: u32) -> Result<(), ClusterError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io("setting permissions"))
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), ClusterError> {
    let status = Command::new("cp").arg("-a").arg(from).arg(to).status().map_err(io("copying the template cluster"))?;
    if status.success() {
        Ok(())
    } else {
        Err(ClusterError::Tool { tool: "cp".into(), output: format!("exit {status}") })
    }
}

impl Cluster {
    /// Starts a new private cluster on a free port with the four platform databases
    /// created (empty).
    pub fn start() -> Result<Cluster, ClusterError> {
        let template = template()?;
        let root = make_temp_dir("cluster")?;
        let dir = root.join("data");
        copy_dir(&template, &dir)?;
        // TCP (the desktop login) needs a password; the Unix socket lives in the
        // private data directory, so trust there reaches only its owner (and root).
        std::fs::write(dir.join("pg_hba.conf"), HBA).map_err(io("writing pg_hba.conf"))?;
        chown_postgres(&root)?;
        set_mode(&dir, 0o700)?;
        let mut last_err = None;
        for _ in 0..5 {
            let port = free_port()?;
            let cluster = Cluster { dir: dir.clone(), port };
            let opts = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
                 -c full_page_writes=off -c max_connections=200 -c shared_buffers=256MB",
                dir.display()
            );
            let log = dir.join("server.log");
            match run_tool(
                "pg_ctl",
                &["-D", &dir.to_string_lossy(), "-o", &opts, "-l", &log.to_string_lossy(), "-w", "-t", "30", "start"],
            ) {
                Ok(_) => {
                    cluster.create_databases()?;
                    return Ok(cluster);
                }
                Err(e) => last_err = Some(e), // the port may have been taken meanwhile
            }
        }
        Err(last_err.unwrap_or(ClusterError::Tool { tool: "pg_ctl".into(), output: "could not start".into() }))
    }

    fn create_databases(&self) -> Result<(), ClusterError> {
        for kind in DbKind::ALL {
            let socket = self.dir.to_string_lossy();
            run_tool("createdb", &["-h", &socket, "-p", &self.port.to_string(), "-U", "postgres", kind.key()])?;
        }
        Ok(())
    }

    /// The owner's URL of one of the four databases: the superuser over the cluster's
    /// private Unix socket (the demo's seeding, install and watcher; tests).
    pub fn url(&self, kind: DbKind) -> String {
        let mut url = url::Url::parse("postgres://postgres@localhost/").expect("a constant URL");
        url.set_port(Some(self.port)).ok();
        url.set_path(kind.key());
        url.query_pairs_mut().append_pair("host", &self.dir.to_string_lossy());
        url.to_string()
    }

    /// The desktop login's URL of one of the four databases: TCP on 127.0.0.1 with
    /// scram-sha-256 (the password is [`Cluster::desktop_password`]).
    pub fn desktop_url(&self, kind: DbKind) -> String {
        format!("postgres://{}@127.0.0.1:{}/{}", crate::central::install::DESKTOP_ROLE, self.port, kind.key())
    }

    /// The demo's desktop login password if it has one (the cluster may be gone).
    pub fn read_desktop_password(&self) -> Option<String> {
        let root = self.dir.parent().unwrap_or(&self.dir);
        std::fs::read_to_string(root.join("desktop-password")).ok().map(|p| p.trim().to_string())
    }

    /// The demo's desktop login password: random, kept next to the data directory in a
    /// file only its owner reads (a demo has no keyring to rely on).
    pub fn desktop_password(&self) -> Result<String, ClusterError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let root = self.dir.parent().unwrap_or(&self.dir);
        let path = root.join("desktop-password");
        if let Ok(pw) = std::fs::read_to_string(&path) {
            return Ok(pw.trim().to_string());
        }
        let pw = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io(format!("writing {}", path.display())))?;
        file.write_all(pw.as_bytes()).map_err(io(format!("writing {}", path.display())))?;
        Ok(pw)
    }

    /// Sets the `postgres` password, so the superuser can also sign in over TCP (which
    /// always asks for a password) and a wrong password can be tested.
    pub fn require_password(&self, password: &str) -> Result<(), ClusterError> {
        let socket = self.dir.to_string_lossy().to_string();
        let port = self.port.to_string();
        let sql = format!("ALTER USER postgres PASSWORD '{}'", password.replace('\'', "''"));
        let psql = bin_dir()?.join("psql");
        let out = Command::new(psql)
            .args(["-h", &socket, "-p", &port, "-U", "postgres", "-d", "oltp", "-qc", &sql])
            .output()
            .map_err(io("running psql"))?;
        if !out.status.success() {
            return Err(ClusterError::Tool {
                tool: "psql".into(),
                output: String::from_utf8_lossy(&out.stderr).into(),
            });
        }
        Ok(())
    }

    /// Stops the server and removes its directory.
    pub fn stop(&self) -> Result<(), ClusterError> {
        if self.dir.exists() {
            let result = run_tool("pg_ctl", &["-D", &self.dir.to_string_lossy(), "-m", "immediate", "-w", "stop"]);
            let root = self.dir.parent().map(Path::to_path_buf).unwrap_or_else(|| self.dir.clone());
            if root.file_name().is_some_and(|n| n.to_string_lossy().starts_with("penguin-pg-")) {
                std::fs::remove_dir_all(&root).map_err(io("removing the cluster directory"))?;
            }
            result?;
        }
        Ok(())
    }
}
