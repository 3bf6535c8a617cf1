//! A live probe of each configured SMTP server: TCP connect, the 220 banner, EHLO, and
//! STARTTLS where offered (the TLS handshake is completed, then EHLO again), then QUIT.
//!
//! States: **down** when the server cannot be reached or sends no usable banner within the
//! budget; **degraded** when it answers but slowly (over [`Thresholds::smtp_slow_ms`]), with a
//! 4xx, with an EHLO refusal, or when the TLS handshake fails; **running** otherwise.
//! Certificates are accepted whatever they are (internal relays often use self-signed ones)
//! but the probe reports whether the chain verified against the Mozilla roots for the host name.
//! Conditions: `smtp:{host:port}:down` (critical), `smtp:{host:port}:degraded` (warning).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::{condition, AreaOutcome, MonitorError, Status, Thresholds};
use crate::alerts::{Condition, Severity, Subject};

/// Running, degraded or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum SmtpState {
    /// Banner, EHLO and (where offered) TLS fine, in time.
    Running,
    /// Answers, but slowly, with a 4xx, or TLS failed.
    Degraded,
    /// No connection or no banner.
    Down,
}

/// The TLS part of a probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TlsOutcome {
    /// The handshake completed.
    pub handshake: bool,
    /// The certificate chain verified for the host name against the Mozilla roots.
    pub verified: bool,
    /// `TLSv1_3`, …
    pub version: Option<String>,
    /// Why the handshake failed, or why the certificate did not verify.
    pub error: Option<String>,
}

/// One probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SmtpProbe {
    /// `host:port` as configured.
    pub server: String,
    /// The verdict.
    pub state: SmtpState,
    /// TCP connect time.
    pub connect_ms: Option<u64>,
    /// Time from connect to the end of the banner.
    pub banner_ms: Option<u64>,
    /// The whole conversation.
    pub total_ms: u64,
    /// The banner's first line (`220 mx.example ESMTP`).
    pub banner: Option<String>,
    /// EHLO answered 250.
    pub ehlo_ok: bool,
    /// The server offered STARTTLS.
    pub starttls_offered: bool,
    /// The TLS outcome, when STARTTLS was offered.
    pub tls: Option<TlsOutcome>,
    /// What made it degraded or down.
    pub problems: Vec<String>,
}

/// Splits `host:port` (`[v6]:port` for IPv6), refusing anything else.
pub fn split_host_port(s: &str) -> Result<(String, u16), MonitorError> {
    let bad =
        || MonitorError::Config(format!("[monitor] smtp_servers: {s:?} is not host:port (e.g. smtp.example.com:587)"));
    let (host, port) = s.trim().rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || port == 0 {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

/// An SMTP reply: code and lines (without the code).
type Reply = (u16, Vec<String>);

async fn read_reply<S: AsyncBufRead + Unpin>(s: &mut S) -> Result<Reply, String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let n = s.read_line(&mut line).await.map_err(|e| format!("reading: {e}"))?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        let line = line.trim_end_matches(['\r', '\n']);
        let code = line.get(..3).and_then(|c| c.parse::<u16>().ok()).filter(|c| (200..600).contains(c));
        let Some(code) = code else {
            return Err(format!("not an SMTP reply: {:.60?}", line));
        };
        let sep = line.as_bytes().get(3).copied();
        lines.push(line.get(4..).unwrap_or("").to_string());
        if sep != Some(b'-') || lines.len() > 100 {
            return Ok((code, lines));
        }
    }
}

async fn command<S: AsyncBufRead + AsyncWrite + Unpin>(s: &mut S, cmd: &str) -> Result<Reply, String> {
    s.write_all(format!("{cmd}\r\n").as_bytes()).await.map_err(|e| format!("writing {cmd}: {e}"))?;
    s.flush().await.map_err(|e| format!("writing {cmd}: {e}"))?;
    read_reply(s).await
}

/// Accepts every certificate but records whether the WebPKI verifier would have.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    outcome: Arc<Mutex<Option<Result<(), String>>>>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let r = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map(|_| ())
            .map_err(|e| e.to_string());
        if let Ok(mut o) = self.outcome.lock() {
            *o = Some(r);
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

type Verdict = Arc<Mutex<Option<Result<(), String>>>>;

fn tls_config() -> Result<(Arc<rustls::ClientConfig>, Verdict), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let outcome: Verdict = Arc::new(Mutex::new(None));
    let verifier = RecordingVerifier { inner, outcome: outcome.clone() };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok((Arc::new(config), outcome))
}

const HELO_NAME: &str = "penguin-admin.monitor";

/// Probes one server within `budget` (never longer).
pub async fn probe(server: &str, th: &Thresholds, budget: Duration) -> SmtpProbe {
    let start = Instant::now();
    let mut p = SmtpProbe {
        server: server.to_string(),
        state: SmtpState::Down,
        connect_ms: None,
        banner_ms: None,
        total_ms: 0,
        banner: None,
        ehlo_ok: false,
        starttls_offered: false,
        tls: None,
        problems: Vec::new(),
    };
    let outcome = tokio::time::timeout(budget, conversation(server, &mut p, start)).await;
    if outcome.is_err() {
        p.problems.push(format!("no complete answer within {:.1} s", budget.as_secs_f64()));
    }
    p.total_ms = start.elapsed().as_millis() as u64;
    p.state = if p.banner_ms.is_none() || p.banner.is_none() {
        SmtpState::Down
    } else if !p.problems.is_empty() || p.total_ms > th.smtp_slow_ms {
        SmtpState::Degraded
    } else {
        SmtpState::Running
    };
    if p.state == SmtpState::Degraded && p.total_ms > th.smtp_slow_ms && p.problems.is_empty() {
        p.problems.push(format!("slow: {} ms (degraded above {} ms)", p.total_ms, th.smtp_slow_ms));
    }
    p
}

/// The conversation; fills `p` as it goes so a timeout keeps what was learnt.
async fn conversation(server: &str, p: &mut SmtpProbe, start: Instant) {
    let (host, port) = match split_host_port(server) {
        Ok(hp) => hp,
        Err(e) => return p.problems.push(e.to_string()),
    };
    let tcp = match TcpStream::connect((host.as_str(), port)).await {
        Ok(t) => t,
        Err(e) => return p.problems.push(format!("cannot connect: {e}")),
    };
    p.connect_ms = Some(start.elapsed().as_millis() as u64);
    let mut s = BufReader::new(tcp);
    let (code, lines) = match read_reply(&mut s).await {
        Ok(r) => r,
        Err(e) => return p.problems.push(format!("banner: {e}")),
    };
    let first = lines.first().cloned().unwrap_or_default();
    if code != 220 && !(400..500).contains(&code) {
        return p.problems.push(format!("banner {code} {first}"));
    }
    p.banner = Some(format!("{code} {first}"));
    p.banner_ms = Some(start.elapsed().as_millis() as u64);
    if code != 220 {
        return p.problems.push(format!("the server answers {code} {first}"));
    }
    let ehlo = match command(&mut s, &format!("EHLO {HELO_NAME}")).await {
        Ok(r) => r,
        Err(e) => return p.problems.push(format!("EHLO: {e}")),
    };
    if ehlo.0 != 250 {
        p.problems.push(format!("EHLO answered {} {}", ehlo.0, ehlo.1.first().cloned().unwrap_or_default()));
        let _ = command(&mut s, "QUIT").await;
        return;
    }
    p.ehlo_ok = true;
    p.starttls_offered = ehlo.1.iter().any(|l| l.trim().eq_ignore_ascii_case("STARTTLS"));
    if !p.starttls_offered {
        let _ = command(&mut s, "QUIT").await;
        return;
    }
    let mut tls = TlsOutcome { handshake: false, verified: false, version: None, error: None };
    match command(&mut s, "STARTTLS").await {
        Ok((220, _)) => {}
        Ok((code, l)) => {
            tls.error = Some(format!("STARTTLS answered {code} {}", l.first().cloned().unwrap_or_default()));
            p.problems.push(tls.error.clone().unwrap_or_default());
            p.tls = Some(tls);
            return;
        }
        Err(e) => {
            tls.error = Some(format!("STARTTLS: {e}"));
            p.problems.push(tls.error.clone().unwrap_or_default());
            p.tls = Some(tls);
            return;
        }
    }
    let fail = |p: &mut SmtpProbe, mut tls: TlsOutcome, why: String| {
        p.problems.push(format!("TLS failed: {why}"));
        tls.error = Some(why);
        p.tls = Some(tls);
    };
    let (config, verdict) = match tls_config() {
        Ok(c) => c,
        Err(e) => return fail(p, tls, e),
    };
    let name = match ServerName::try_from(host.clone()) {
        Ok(n) => n,
        Err(e) => return fail(p, tls, format!("{host:?} is no TLS server name: {e}")),
    };
    let connector = tokio_rustls::TlsConnector::from(config);
    let mut secure = match connector.connect(name, s.into_inner()).await {
        Ok(t) => BufReader::new(t),
        Err(e) => return fail(p, tls, e.to_string()),
    };
    tls.handshake = true;
    tls.version = secure.get_ref().get_ref().1.protocol_version().map(|v| format!("{v:?}"));
    match verdict.lock().ok().and_then(|v| v.clone()) {
        Some(Ok(())) => tls.verified = true,
        Some(Err(e)) => tls.error = Some(format!("certificate not verified: {e}")),
        None => tls.error = Some("certificate not verified: none was checked".into()),
    }
    p.tls = Some(tls);
    match command(&mut secure, &format!("EHLO {HELO_NAME}")).await {
        Ok((250, _)) => {}
        Ok((code, l)) => p.problems.push(format!("EHLO after STARTTLS answered {code} {}", l.join(" "))),
        Err(e) => p.problems.push(format!("EHLO after STARTTLS: {e}")),
    }
    let _ = command(&mut secure, "QUIT").await;
}

/// The SMTP area: every server probed concurrently.
pub(crate) async fn check(
    servers: &[String],
    th: &Thresholds,
    budget: Duration,
) -> Result<AreaOutcome<Vec<SmtpProbe>>, MonitorError> {
    // Leave the area's own timeout room to collect the verdicts.
    let per_probe = budget.mul_f64(0.9);
    let probes = futures_util::future::join_all(servers.iter().map(|s| probe(s, th, per_probe))).await;
    let mut status = Status::Green;
    let mut conditions: Vec<Condition> = Vec::new();
    for p in &probes {
        let details = [
            ("total_ms", p.total_ms.to_string()),
            ("problems", p.problems.join("; ")),
            ("banner", p.banner.clone().unwrap_or_default()),
        ];
        match p.state {
            SmtpState::Running => {}
            SmtpState::Degraded => {
                status = status.worst(Status::Yellow);
                conditions.push(condition(
                    "smtp",
                    Subject::SmtpServer(p.server.clone()),
                    &p.server,
                    "degraded",
                    Severity::Warning,
                    format!("SMTP {} is degraded: {}", p.server, p.problems.join("; ")),
                    &details,
                ));
            }
            SmtpState::Down => {
                status = status.worst(Status::Red);
                conditions.push(condition(
                    "smtp",
                    Subject::SmtpServer(p.server.clone()),
                    &p.server,
                    "down",
                    Severity::Critical,
                    format!("SMTP {} is down: {}", p.server, p.problems.join("; ")),
                    &details,
                ));
            }
        }
    }
    Ok(AreaOutcome { status, data: probes, conditions })
}
