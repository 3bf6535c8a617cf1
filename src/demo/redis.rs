//! The demo's Redis, when `redis-server` is installed: the queue's hybrid half and the
//! Monitoring screen's Redis tile get a real server instead of a grey "not configured".
//!
//! Started as root (CI, a container), it runs as the unprivileged `redis` user (Debian's
//! package creates it), else `nobody`, like the cluster's PostgreSQL runs as `postgres`.
//! It lives as long as the demo cluster's data directory: a small shell watcher stops it
//! once the directory is gone (`penguin-admin demo down`, or a test run's cleanup), so
//! no stray server outlives the demo. It persists nothing (`--save ''`).

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use sqlx::Row;

use super::cluster::Cluster;
use crate::central::{Central, CentralError};
use crate::monitor::queue::redis_key;
use crate::monitor::redis::{RedisConn, RedisTarget};

const BINARIES: [&str; 2] = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"];

/// Starts Redis on a free loopback port for `cluster`; `None` when it is not installed
/// or did not come up (the demo then leaves Redis unconfigured).
pub(super) fn start(cluster: &Cluster) -> Option<u16> {
    let bin = BINARIES.into_iter().find(|b| Path::new(b).exists())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).ok()?.port();
    let dir = cluster.dir.display().to_string().replace('\'', "'\\''");
    let script = format!(
        "{bin} --port {port} --bind 127.0.0.1 --save '' --appendonly no --daemonize no & pid=$!; \
         while [ -d '{dir}' ] && kill -0 $pid 2>/dev/null; do sleep 2; done; kill $pid 2>/dev/null"
    );
    let mut command = if is_root() {
        let user = if user_exists("redis") { "redis" } else { "nobody" };
        let runuser =
            ["/usr/sbin/runuser", "/sbin/runuser"].into_iter().find(|p| Path::new(p).exists()).unwrap_or("runuser");
        let mut c = Command::new(runuser);
        c.args(["-u", user, "--", "sh", "-c", &script]);
        c
    } else {
        let mut c = Command::new("sh");
        c.arg("-c").arg(&script);
        c
    };
    let spawned = command
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: closing the app that started the demo must not stop it.
        .process_group(0)
        .spawn();
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start the demo's Redis");
        return None;
    }
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(port);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    tracing::warn!("the demo's Redis did not answer within 5 s; leaving Redis unconfigured");
    None
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

fn user_exists(name: &str) -> bool {
    Command::new("id")
        .arg("-u")
        .arg(name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Puts the jobs PostgreSQL marks `migrated_to_redis` on their queues' Redis lists, as
/// the platform's migrator would, so the queue figures agree between the two halves.
pub(super) async fn load_queues(central: &Central, url: &str) -> Result<usize, CentralError> {
    let rows = sqlx::query(
        "SELECT queue_name, array_agg(id::text ORDER BY id) AS ids FROM jobs
          WHERE status = 'migrated_to_redis' GROUP BY queue_name",
    )
    .fetch_all(&central.queue)
    .await
    .map_err(CentralError::sql("reading the jobs handed to Redis"))?;
    let redis_err = |e: crate::monitor::MonitorError| CentralError::Sql {
        context: "loading the demo's Redis".into(),
        source: sqlx::Error::Protocol(e.to_string()),
    };
    let target = RedisTarget::parse(url, None).map_err(redis_err)?;
    let mut conn = RedisConn::open(&target).await.map_err(redis_err)?;
    let mut pushed = 0;
    for row in rows {
        let key = redis_key(&row.get::<String, _>("queue_name"));
        let ids: Vec<String> = row.get("ids");
        for chunk in ids.chunks(500) {
            let mut args = vec!["RPUSH", key.as_str()];
            args.extend(chunk.iter().map(String::as_str));
            conn.command(&args).await.map_err(redis_err)?;
            pushed += chunk.len();
        }
    }
    Ok(pushed)
}
