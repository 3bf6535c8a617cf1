//! Real peers for the monitoring tests, each started in a temporary directory on a free
//! port and killed on drop: redis-server, dnsmasq (answering blocklist queries), Prometheus
//! (scraping an in-test /metrics endpoint), aiosmtpd (plain and with STARTTLS), and small
//! in-test TCP servers that hang or answer garbage.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A port free for both TCP and UDP on 127.0.0.1.
pub fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A started peer process; killed (and reaped) on drop.
pub struct Peer {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub name: &'static str,
}

impl Peer {
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(name: &'static str, cmd: &mut Command, port: u16, dir: tempfile::TempDir) -> Peer {
    let log = std::fs::File::create(dir.path().join(format!("{name}.log"))).unwrap();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e} (run the install-deps step)"));
    Peer { child, port, dir, name }
}

fn wait_until(peer: &mut Peer, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = peer.child.try_wait() {
            let log = std::fs::read_to_string(peer.dir.path().join(format!("{}.log", peer.name))).unwrap_or_default();
            panic!("{} exited ({status}) before {what}:\n{log}", peer.name);
        }
        if ready() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(peer.dir.path().join(format!("{}.log", peer.name))).unwrap_or_default();
    panic!("{} not {what} within 30 s:\n{log}", peer.name);
}

/// Sends one command to Redis (inline protocol) and returns the first reply line.
pub fn redis_cmd(port: u16, args: &[&str]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = format!("*{}\r\n", args.len());
    for a in args {
        out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(out.as_bytes()).unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    line.trim_end().to_string()
}

/// `redis-server` on a free port, no persistence.
pub fn redis() -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut peer = spawn(
        "redis",
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--dir"])
            .arg(dir.path()),
        port,
        dir,
    );
    wait_until(&mut peer, "answering PING", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok() && redis_cmd(port, &["PING"]) == "+PONG"
    });
    peer
}

fn dns_query(port: u16, name: &str) -> Option<u8> {
    let s = UdpSocket::bind("127.0.0.1:0").ok()?;
    s.set_read_timeout(Some(Duration::from_millis(300))).ok()?;
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    s.send_to(&q, ("127.0.0.1", port)).ok()?;
    let mut buf = [0u8; 512];
    let n = s.recv(&mut buf).ok()?;
    (n >= 4).then(|| buf[3] & 0x0f)
}

/// dnsmasq answering `records` (`(name, ipv4)`), NXDOMAIN for everything else under `zones`,
/// REFUSED for any other name. Runs as root without reading any system configuration.
pub fn dnsmasq(zones: &[&str], records: &[(&str, &str)]) -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = Command::new("dnsmasq");
    cmd.args(["--no-daemon", "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts"])
        .args(["--conf-file=/dev/null", "--user=root", "--group=root", "--cache-size=0", "--log-facility=-"])
        .arg(format!("--port={port}"))
        .arg(format!("--pid-file={}", dir.path().join("dnsmasq.pid").display()));
    for z in zones {
        cmd.arg(format!("--address=/{z}/"));
    }
    for (name, ip) in records {
        cmd.arg(format!("--address=/{name}/{ip}"));
    }
    let mut peer = spawn("dnsmasq", &mut cmd, port, dir);
    let probe = format!("0.0.0.0.{}", zones.first().copied().unwrap_or("test"));
    wait_until(&mut peer, "answering queries", || dns_query(port, &probe).is_some());
    peer
}

/// A tiny HTTP/1.1 server on a std thread answering every request with `body()` (text/plain).
pub struct HttpServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

pub fn http_server(body: impl Fn() -> String + Send + 'static) -> HttpServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        while !flag.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((mut s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf);
                    let b = body();
                    let _ = write!(
                        s,
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\
                         Connection: close\r\n\r\n{b}",
                        b.len()
                    );
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    HttpServer { port, stop }
}

/// Prometheus scraping `targets` (`host:port`) every second.
pub fn prometheus(targets: &[String]) -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let list = targets.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: node\n    \
         scrape_timeout: 900ms\n    static_configs:\n      - targets: [{list}]\n"
    );
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    let mut peer = spawn(
        "prometheus",
        Command::new("prometheus")
            .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}")),
        port,
        dir,
    );
    wait_until(&mut peer, "ready", || http_get(port, "/-/ready").is_some_and(|b| b.contains("Ready")));
    peer
}

/// GET `path` on 127.0.0.1:`port`, returning the body of a 200 answer.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}

fn smtp_ready(port: u16) -> bool {
    let Ok(s) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).is_ok() && line.starts_with("220")
}

/// aiosmtpd without TLS.
pub fn aiosmtpd() -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut peer = spawn(
        "aiosmtpd",
        Command::new("/usr/bin/python3").args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")]),
        port,
        dir,
    );
    wait_until(&mut peer, "sending its banner", || smtp_ready(port));
    peer
}

const STARTTLS_SERVER: &str = r#"
import ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]), tls_context=ctx, require_starttls=False)
c.start()
while True:
    time.sleep(3600)
"#;

/// aiosmtpd offering STARTTLS with a self-signed certificate for `localhost`.
pub fn aiosmtpd_starttls() -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let ok = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success(), "openssl could not make a certificate");
    std::fs::write(dir.path().join("server.py"), STARTTLS_SERVER).unwrap();
    let mut peer = spawn(
        "aiosmtpd-tls",
        Command::new("/usr/bin/python3").arg(dir.path().join("server.py")).arg(port.to_string()).arg(&cert).arg(&key),
        port,
        dir,
    );
    wait_until(&mut peer, "sending its banner", || smtp_ready(port));
    peer
}

/// An in-test TCP server handing every connection to `handle` on its own thread.
pub struct FakeTcp {
    pub port: u16,
    stop: Arc<AtomicBool>,
}

impl Drop for FakeTcp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

pub fn fake_tcp(handle: fn(TcpStream)) -> FakeTcp {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        while !flag.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    std::thread::spawn(move || handle(s));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    FakeTcp { port, stop }
}

/// Accepts and says nothing for a minute (a hung peer).
pub fn hang(s: TcpStream) {
    std::thread::sleep(Duration::from_secs(60));
    drop(s);
}

/// Answers every connection with an HTTP error (garbage for SMTP or Redis).
pub fn garbage(mut s: TcpStream) {
    let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    std::thread::sleep(Duration::from_millis(500));
}

/// A port nothing listens on.
pub fn closed_port() -> u16 {
    free_port()
}
