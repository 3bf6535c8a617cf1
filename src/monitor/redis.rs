//! A small Redis client: enough RESP2 over a tokio `TcpStream` for `AUTH`, `SELECT`,
//! `LLEN` and `INFO`. The `redis` crate would add its own connection manager and a dozen
//! features for four commands.

use std::collections::BTreeMap;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::MonitorError;

/// Where Redis is, from `redis://[user@]host:port[/db]` and the keyring's password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisTarget {
    /// Host name or address.
    pub host: String,
    /// Port (default 6379).
    pub port: u16,
    /// Database number (default 0).
    pub db: u32,
    /// ACL user name, if any.
    pub user: Option<String>,
    /// Password, from the keyring.
    pub password: Option<String>,
}

impl RedisTarget {
    /// Parses the profile's `redis_url`; a password in the URL is refused (it belongs in the keyring).
    pub fn parse(url: &str, password: Option<String>) -> Result<RedisTarget, MonitorError> {
        let bad = |why: String| MonitorError::Config(format!("[monitor] redis_url {url:?}: {why}"));
        let u = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if u.scheme() != "redis" {
            return Err(bad("use redis://host:port[/db]".into()));
        }
        if u.password().is_some() {
            return Err(bad(
                "contains a password; remove it and store it with `penguin-admin monitor set-redis-password`".into(),
            ));
        }
        let host = u.host_str().filter(|h| !h.is_empty()).ok_or_else(|| bad("no host".into()))?.to_string();
        let db = match u.path().trim_start_matches('/') {
            "" => 0,
            d => d.parse().map_err(|_| bad(format!("database {d:?} is not a number")))?,
        };
        let user = Some(u.username().to_string()).filter(|s| !s.is_empty());
        Ok(RedisTarget {
            host: host.trim_matches(['[', ']']).to_string(),
            port: u.port().unwrap_or(6379),
            db,
            user,
            password,
        })
    }

    /// `host:port`, for messages.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// A RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`.
    Simple(String),
    /// `-ERR …`.
    Error(String),
    /// `:42`.
    Integer(i64),
    /// `$n` bulk string (`None` for the null bulk).
    Bulk(Option<Vec<u8>>),
    /// `*n` array.
    Array(Vec<Reply>),
}

/// One open connection.
pub struct RedisConn {
    stream: BufReader<TcpStream>,
    address: String,
}

impl RedisConn {
    /// Connects, authenticates and selects the database.
    pub async fn open(t: &RedisTarget) -> Result<RedisConn, MonitorError> {
        let address = t.address();
        let tcp = TcpStream::connect((t.host.as_str(), t.port))
            .await
            .map_err(|e| MonitorError::Redis(format!("cannot connect to {address}: {e}")))?;
        let mut conn = RedisConn { stream: BufReader::new(tcp), address };
        if let Some(pw) = &t.password {
            let r = match &t.user {
                Some(u) => conn.command(&["AUTH", u, pw]).await?,
                None => conn.command(&["AUTH", pw]).await?,
            };
            conn.expect_ok(r, "AUTH")?;
        }
        if t.db != 0 {
            let r = conn.command(&["SELECT", &t.db.to_string()]).await?;
            conn.expect_ok(r, "SELECT")?;
        }
        Ok(conn)
    }

    fn expect_ok(&self, r: Reply, what: &str) -> Result<(), MonitorError> {
        match r {
            Reply::Simple(_) => Ok(()),
            Reply::Error(e) => Err(MonitorError::Redis(format!("{} refused {what}: {e}", self.address))),
            other => Err(MonitorError::Redis(format!("{} answered {what} with {other:?}", self.address))),
        }
    }

    /// Sends one command and reads its reply.
    pub async fn command(&mut self, args: &[&str]) -> Result<Reply, MonitorError> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        let io = |e: std::io::Error| MonitorError::Redis(format!("{}: {e}", self.address));
        self.stream.get_mut().write_all(&out).await.map_err(io)?;
        self.read_reply(0).await
    }

    async fn read_line(&mut self) -> Result<String, MonitorError> {
        let mut line = String::new();
        let n = self
            .stream
            .read_line(&mut line)
            .await
            .map_err(|e| MonitorError::Redis(format!("{}: {e}", self.address)))?;
        if n == 0 {
            return Err(MonitorError::Redis(format!("{} closed the connection", self.address)));
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }

    fn read_reply(
        &mut self,
        depth: usize,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Reply, MonitorError>> + Send + '_>> {
        Box::pin(async move {
            let garbage = |line: &str| MonitorError::Redis(format!("unexpected answer (not Redis?): {:.60?}", line));
            let line = self.read_line().await?;
            let (tag, rest) = line.split_at(line.len().min(1));
            match tag {
                "+" => Ok(Reply::Simple(rest.to_string())),
                "-" => Ok(Reply::Error(rest.to_string())),
                ":" => rest.parse().map(Reply::Integer).map_err(|_| garbage(&line)),
                "$" => {
                    let n: i64 = rest.parse().map_err(|_| garbage(&line))?;
                    if n < 0 {
                        return Ok(Reply::Bulk(None));
                    }
                    if n > 64 * 1024 * 1024 {
                        return Err(garbage(&line));
                    }
                    let mut buf = vec![0; n as usize + 2];
                    self.stream
                        .read_exact(&mut buf)
                        .await
                        .map_err(|e| MonitorError::Redis(format!("{}: {e}", self.address)))?;
                    buf.truncate(n as usize);
                    Ok(Reply::Bulk(Some(buf)))
                }
                "*" if depth < 8 => {
                    let n: i64 = rest.parse().map_err(|_| garbage(&line))?;
                    let mut items = Vec::new();
                    for _ in 0..n.max(0) {
                        items.push(self.read_reply(depth + 1).await?);
                    }
                    Ok(Reply::Array(items))
                }
                _ => Err(garbage(&line)),
            }
        })
    }

    /// `LLEN key`.
    pub async fn llen(&mut self, key: &str) -> Result<i64, MonitorError> {
        match self.command(&["LLEN", key]).await? {
            Reply::Integer(n) => Ok(n),
            Reply::Error(e) => Err(MonitorError::Redis(format!("LLEN {key}: {e}"))),
            other => Err(MonitorError::Redis(format!("LLEN {key} answered {other:?}"))),
        }
    }

    /// `INFO`, parsed into `field → value` (sections flattened).
    pub async fn info(&mut self) -> Result<BTreeMap<String, String>, MonitorError> {
        match self.command(&["INFO"]).await? {
            Reply::Bulk(Some(bytes)) => Ok(parse_info(&String::from_utf8_lossy(&bytes))),
            Reply::Error(e) => Err(MonitorError::Redis(format!("INFO: {e}"))),
            other => Err(MonitorError::Redis(format!("INFO answered {other:?}"))),
        }
    }
}

/// Parses the text of `INFO`: `field:value` lines, `#` section headers ignored.
pub fn parse_info(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}
