//! IP blocklists: each sending IP of OLTP `smtp_ip_addresses` looked up in every zone with
//! the standard reversed-octet query (`7.113.0.203.zen.spamhaus.org A`), through the
//! profile's nameserver.
//!
//! Answers: NXDOMAIN (or no A record) is clean. Spamhaus ZEN's codes: 127.0.0.2 SBL,
//! .3 SBL CSS, .4–.7 XBL, .9 DROP, .10–.11 PBL. Spamhaus' 127.255.255.252/254/255 mean the
//! query was refused (typo, public resolver, over the limit): a lookup error, never a
//! listing. Any other 127.0.0.x answer is "listed"; an answer outside 127/8 is a lookup
//! error (a resolver that rewrites NXDOMAIN).
//!
//! Severity of a listing condition (`dnsbl:{ip}:{zone}`): critical for SBL, SBL CSS, XBL,
//! DROP and Barracuda (receivers reject outright on them); warning for PBL (a policy list of
//! end-user address space: a configuration problem, not a reputation one) and for listings
//! in the configured extra zones (their policy is unknown to us). Delisting is the absence of
//! the condition. When a lookup fails, the last definitive result stored for that IP and zone
//! still counts: a listed IP whose check errored keeps its condition, so a DNS hiccup never
//! resolves an alert.
//!
//! Results are recorded per zone in `provider_blacklist_status` (other keys kept), with
//! `last_reputation_check` and a `reputation_state` derived from the listings, by the OLTP
//! database's `penguin_console.dnsbl_record` under the row's lock (see
//! `src/central/sql/api/monitoring.sql`): the check owns the state while the stored state is
//! the one it derived last time (kept under `dnsbl_reputation_state`) or empty, and only
//! ever makes worse a state someone else set. The watcher (the service identity) records
//! every run; from a desktop, only a staff member with `alerts.manage` records, through an
//! audited function; for everyone else (support, qa) the results are shown, not stored.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::{Resolver, TokioResolver};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use uuid::Uuid;

use super::{condition, AreaOutcome, MonitorError, Reader, Status};
use crate::alerts::{Condition, Severity, Subject};
use crate::audit::after_action;
use crate::auth::permissions;
use crate::central::DbKind;

/// Spamhaus ZEN (SBL + CSS + XBL + DROP + PBL).
pub const SPAMHAUS_ZEN: &str = "zen.spamhaus.org";
/// Barracuda Reputation Block List.
pub const BARRACUDA: &str = "b.barracudacentral.org";

/// The outcome of one lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Listing {
    /// Not listed (NXDOMAIN).
    Clean,
    /// Listed.
    Listed,
    /// The lookup failed or was refused; says nothing about the listing.
    Error,
}

/// One IP in one zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ZoneResult {
    /// The zone.
    pub zone: String,
    /// Clean, listed or error.
    pub status: Listing,
    /// The A records answered (`127.0.0.4`).
    pub codes: Vec<String>,
    /// What they mean: `SBL`, `SBL CSS`, `XBL`, `DROP`, `PBL`, `listed`, or the refusal.
    pub meanings: Vec<String>,
    /// Why the lookup failed.
    pub error: Option<String>,
    /// When this answer was obtained.
    pub checked_at: DateTime<Utc>,
    /// For an error: the last definitive result stored for this IP and zone, if any.
    pub previous: Option<Listing>,
}

/// One sending IP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct IpResult {
    /// `smtp_ip_addresses.id`.
    pub id: Uuid,
    /// The address.
    pub ip: String,
    /// `smtp_ip_addresses.status`.
    pub ip_status: Option<String>,
    /// One per zone, in the zones' order.
    pub zones: Vec<ZoneResult>,
    /// The `reputation_state` after this check (as stored: unchanged when the results were
    /// not recorded).
    pub reputation_state: Option<String>,
}

/// Every sending IP against every zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DnsblReport {
    /// The nameserver used.
    pub resolver: String,
    /// The zones checked.
    pub zones: Vec<String>,
    /// One per IP, by address.
    pub ips: Vec<IpResult>,
}

/// Parses the `dns_resolver` setting: `ip:port`, `ip` (port 53), `[v6]:port`, or `system`.
pub fn parse_resolver(s: &str) -> Result<SocketAddr, MonitorError> {
    let s = s.trim();
    if s == "system" {
        let text = std::fs::read_to_string("/etc/resolv.conf")
            .map_err(|e| MonitorError::Config(format!("[monitor] dns_resolver = \"system\": /etc/resolv.conf: {e}")))?;
        return text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("nameserver"))
            .find_map(|ip| ip.trim().parse::<IpAddr>().ok())
            .map(|ip| SocketAddr::new(ip, 53))
            .ok_or_else(|| {
                MonitorError::Config("[monitor] dns_resolver = \"system\": no nameserver in /etc/resolv.conf".into())
            });
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(sa);
    }
    s.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)).map_err(|_| {
        MonitorError::Config(format!(
            "[monitor] dns_resolver {s:?} is not an address: use ip, ip:port, [ipv6]:port or \"system\""
        ))
    })
}

/// A resolver asking only `server` (UDP, then TCP), without cache or hosts file.
pub fn resolver(server: SocketAddr, timeout: Duration) -> TokioResolver {
    let mut config = ResolverConfig::new();
    config.add_name_server(NameServerConfig::new(server, Protocol::Udp));
    config.add_name_server(NameServerConfig::new(server, Protocol::Tcp));
    let mut opts = ResolverOpts::default();
    opts.timeout = timeout;
    opts.attempts = 1;
    opts.cache_size = 0;
    opts.use_hosts_file = ResolveHosts::Never;
    opts.ndots = 0;
    opts.edns0 = false;
    Resolver::builder_with_config(config, TokioConnectionProvider::default()).with_options(opts).build()
}

/// The query name of `ip` in `zone`: reversed octets (IPv4) or nibbles (IPv6).
pub fn query_name(ip: &str, zone: &str) -> Result<String, MonitorError> {
    let addr: IpAddr = ip.trim().parse().map_err(|_| MonitorError::BadInput(format!("{ip:?} is not an IP address")))?;
    let reversed = match addr {
        IpAddr::V4(v4) => v4.octets().iter().rev().map(|o| o.to_string()).collect::<Vec<_>>().join("."),
        IpAddr::V6(v6) => v6
            .octets()
            .iter()
            .rev()
            .flat_map(|b| [b & 0x0f, b >> 4])
            .map(|n| format!("{n:x}"))
            .collect::<Vec<_>>()
            .join("."),
    };
    Ok(format!("{reversed}.{zone}."))
}

fn is_spamhaus(zone: &str) -> bool {
    zone.ends_with("spamhaus.org") || zone.ends_with("spamhaus.net")
}

/// What an answer means in `zone`: `Ok(meaning)` for a listing, `Err(reason)` for a refusal or
/// an answer that is no blocklist code.
pub fn interpret(zone: &str, code: std::net::Ipv4Addr) -> Result<String, String> {
    let [a, b, c, d] = code.octets();
    if is_spamhaus(zone) && [a, b, c] == [127, 255, 255] {
        return Err(match d {
            252 => "refused by Spamhaus (127.255.255.252: typo in the zone name)".into(),
            254 => "refused by Spamhaus (127.255.255.254: query through a public or open resolver)".into(),
            255 => "refused by Spamhaus (127.255.255.255: too many queries)".into(),
            _ => format!("refused by Spamhaus ({code})"),
        });
    }
    if a != 127 {
        return Err(format!("answer {code} is not a blocklist code (a resolver rewriting NXDOMAIN?)"));
    }
    if zone == SPAMHAUS_ZEN && [b, c] == [0, 0] {
        return Ok(match d {
            2 => "SBL",
            3 => "SBL CSS",
            4..=7 => "XBL",
            9 => "DROP",
            10 | 11 => "PBL",
            _ => "listed",
        }
        .into());
    }
    Ok("listed".into())
}

/// Looks `ip` up in `zone`.
pub async fn lookup(resolver: &TokioResolver, ip: &str, zone: &str) -> ZoneResult {
    let checked_at = Utc::now();
    let result = |status, codes, meanings, error| ZoneResult {
        zone: zone.to_string(),
        status,
        codes,
        meanings,
        error,
        checked_at,
        previous: None,
    };
    let name = match query_name(ip, zone) {
        Ok(n) => n,
        Err(e) => return result(Listing::Error, vec![], vec![], Some(e.to_string())),
    };
    match resolver.lookup(name.as_str(), RecordType::A).await {
        Ok(answer) => {
            let codes: Vec<std::net::Ipv4Addr> = answer
                .iter()
                .filter_map(|r| match r {
                    RData::A(a) => Some(a.0),
                    _ => None,
                })
                .collect();
            if codes.is_empty() {
                return result(Listing::Clean, vec![], vec![], None);
            }
            let mut meanings = Vec::new();
            let mut refusals = Vec::new();
            for c in &codes {
                match interpret(zone, *c) {
                    Ok(m) => meanings.push(m),
                    Err(r) => refusals.push(r),
                }
            }
            let codes_s = codes.iter().map(|c| c.to_string()).collect();
            if meanings.is_empty() {
                result(Listing::Error, codes_s, refusals.clone(), Some(refusals.join("; ")))
            } else {
                meanings.dedup();
                result(Listing::Listed, codes_s, meanings, None)
            }
        }
        Err(e) if is_clean_answer(&e) => result(Listing::Clean, vec![], vec![], None),
        Err(e) => result(Listing::Error, vec![], vec![], Some(format!("lookup of {name} failed: {e}"))),
    }
}

/// NXDOMAIN, or NOERROR without an A record: not listed. A REFUSED or SERVFAIL answer also
/// comes back as "no records" and must stay a lookup error.
fn is_clean_answer(e: &hickory_resolver::ResolveError) -> bool {
    match e.proto().map(|p| p.kind()) {
        Some(ProtoErrorKind::NoRecordsFound { response_code, .. }) => {
            matches!(*response_code, ResponseCode::NXDomain | ResponseCode::NoError)
        }
        _ => false,
    }
}

/// The severity of a listing (see the module docs).
pub fn severity(zone: &str, meanings: &[String]) -> Severity {
    let pbl_only = !meanings.is_empty() && meanings.iter().all(|m| m == "PBL");
    match zone {
        SPAMHAUS_ZEN if pbl_only => Severity::Warning,
        SPAMHAUS_ZEN | BARRACUDA => Severity::Critical,
        _ => Severity::Warning,
    }
}

/// The DNSBL area: looks every IP up in every zone, records the results, and reports the
/// listings. Fails (area `error`) when every lookup failed: the resolver is unusable.
pub(crate) async fn check(
    reader: Reader<'_>,
    resolver_setting: &str,
    zones: &[String],
    budget: Duration,
) -> Result<AreaOutcome<DnsblReport>, MonitorError> {
    let (data, conditions) = run(reader, resolver_setting, zones, budget).await?;
    let lookups: Vec<&ZoneResult> = data.ips.iter().flat_map(|i| &i.zones).collect();
    if !lookups.is_empty() && lookups.iter().all(|z| z.status == Listing::Error) {
        let first = lookups.first().and_then(|z| z.error.clone()).unwrap_or_default();
        return Err(MonitorError::Dns(format!("every lookup through {} failed, e.g. {first}", data.resolver)));
    }
    let status = if conditions.iter().any(|c| c.severity == Severity::Critical) {
        Status::Red
    } else if !conditions.is_empty() || lookups.iter().any(|z| z.status == Listing::Error) {
        Status::Yellow
    } else {
        Status::Green
    };
    Ok(AreaOutcome { status, data, conditions })
}

/// Whether a run by `reader` records its results: the service always; a staff member
/// when the role has `alerts.manage` (the database checks it again).
pub fn records(reader: Reader<'_>) -> bool {
    match reader {
        Reader::Service(..) => true,
        Reader::Staff(s) => s.staff().can(permissions::ALERTS_MANAGE),
    }
}

/// Checks every sending IP the reader sees against `zones` through `resolver_setting`, and
/// returns the results with the listing conditions. Records the definitive answers in
/// central OLTP when [`records`] says so (the service: an automated check, not audited; a
/// staff member with `alerts.manage`: audited). Needs `monitoring.read`.
pub async fn run(
    reader: Reader<'_>,
    resolver_setting: &str,
    zones: &[String],
    budget: Duration,
) -> Result<(DnsblReport, Vec<Condition>), MonitorError> {
    reader.staff().require(permissions::MONITORING_READ)?;
    let server = parse_resolver(resolver_setting)?;
    let per_lookup = (budget / 2).clamp(Duration::from_millis(50), Duration::from_secs(5));
    let res = resolver(server, per_lookup);
    let mut tx = reader.begin(DbKind::Oltp).await?;
    let rows = sqlx::query(&format!(
        "SELECT id, ip_address, status, reputation_state, provider_blacklist_status FROM {}",
        reader.call("smtp_ips", "")
    ))
    .fetch_all(&mut *tx)
    .await
    .map_err(MonitorError::sql("reading smtp_ip_addresses"))?;
    drop(tx);

    let pairs: Vec<(usize, String, String)> = rows
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            let ip: String = r.get("ip_address");
            zones.iter().map(move |z| (i, ip.clone(), z.clone()))
        })
        .collect();
    let res = &res;
    let answers: Vec<(usize, ZoneResult)> = futures_util::stream::iter(pairs)
        .map(|(i, ip, zone)| async move { (i, lookup(res, &ip, &zone).await) })
        .buffered(32)
        .collect()
        .await;
    let mut by_ip: BTreeMap<usize, Vec<ZoneResult>> = BTreeMap::new();
    for (i, z) in answers {
        by_ip.entry(i).or_default().push(z);
    }

    let mut ips = Vec::new();
    let mut conditions = Vec::new();
    let mut to_record = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let id: Uuid = r.get("id");
        let ip: String = r.get("ip_address");
        let stored: serde_json::Value =
            r.get::<Option<serde_json::Value>, _>("provider_blacklist_status").unwrap_or(serde_json::json!({}));
        let mut results = by_ip.remove(&i).unwrap_or_default();
        let mut definitive = serde_json::Map::new();
        for z in &mut results {
            let (listed_now, meanings) = match z.status {
                Listing::Listed => (true, z.meanings.clone()),
                Listing::Clean => (false, vec![]),
                Listing::Error => {
                    let prev = &stored[&z.zone];
                    z.previous = match prev["status"].as_str() {
                        Some("listed") => Some(Listing::Listed),
                        Some("clean") => Some(Listing::Clean),
                        _ => None,
                    };
                    let meanings = prev["meanings"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|m| m.as_str().map(str::to_string)).collect())
                        .unwrap_or_default();
                    (z.previous == Some(Listing::Listed), meanings)
                }
            };
            if z.status != Listing::Error {
                definitive.insert(
                    z.zone.clone(),
                    serde_json::json!({
                        "status": if listed_now { "listed" } else { "clean" },
                        "codes": z.codes,
                        "meanings": z.meanings,
                        "checked_at": z.checked_at,
                    }),
                );
            }
            if listed_now {
                let sev = severity(&z.zone, &meanings);
                let mut details = vec![
                    ("zone", z.zone.clone()),
                    ("meaning", meanings.join(", ")),
                    ("codes", z.codes.join(", ")),
                    ("checked_at", z.checked_at.to_rfc3339()),
                ];
                if z.status == Listing::Error {
                    details.push(("lookup_error", z.error.clone().unwrap_or_default()));
                }
                conditions.push(condition(
                    "dnsbl",
                    Subject::Ip(ip.clone()),
                    &ip,
                    &z.zone,
                    sev,
                    format!("{ip} is listed in {} ({})", z.zone, meanings.join(", ")),
                    &details,
                ));
            }
        }
        if !definitive.is_empty() {
            to_record.push(serde_json::json!({ "id": id, "results": definitive }));
        }
        ips.push(IpResult {
            id,
            ip,
            ip_status: r.get("status"),
            zones: results,
            reputation_state: r.get("reputation_state"),
        });
    }
    if records(reader) && !to_record.is_empty() {
        let states = record(reader, zones, to_record).await?;
        for i in &mut ips {
            if let Some(s) = states.get(&i.id) {
                i.reputation_state = s.clone();
            }
        }
    }
    Ok((DnsblReport { resolver: server.to_string(), zones: zones.to_vec(), ips }, conditions))
}

/// Records the definitive answers (`penguin_console.dnsbl_record` for the service, the
/// audited `monitoring_dnsbl_record` for a staff member); the reputation state of each IP
/// recorded.
async fn record(
    reader: Reader<'_>,
    zones: &[String],
    ips: Vec<serde_json::Value>,
) -> Result<BTreeMap<Uuid, Option<String>>, MonitorError> {
    let results = serde_json::json!({ "zones": zones, "ips": ips });
    let sql = match reader {
        Reader::Staff(_) => "SELECT penguin_console_api.monitoring_dnsbl_record($1)",
        Reader::Service(..) => "SELECT penguin_console.dnsbl_record($1)",
    };
    let mut tx = reader.begin(DbKind::Oltp).await?;
    let recorded: serde_json::Value = sqlx::query_scalar(sql)
        .bind(&results)
        .fetch_one(&mut *tx)
        .await
        .map_err(MonitorError::sql("recording the blocklist results"))?;
    tx.commit().await.map_err(MonitorError::sql("recording the blocklist results"))?;
    if let Reader::Staff(session) = reader {
        after_action(session).await;
    }
    Ok(recorded
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| {
                    let id = r.get("id")?.as_str()?.parse::<Uuid>().ok()?;
                    Some((id, r.get("reputation_state").and_then(|s| s.as_str()).map(str::to_string)))
                })
                .collect()
        })
        .unwrap_or_default())
}
