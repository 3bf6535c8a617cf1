// The drill-downs of the areas other than the queue: what the last check measured, or
// why there is nothing (the profile names no source: which key to add; the check failed:
// the reason). Never a made-up value: a figure the source did not give shows "—".
import type { ReactNode } from "react";
import { Group, Paper, SimpleGrid, Stack, Table, Text, Title, Tooltip } from "@mantine/core";
import { IconPlugOff } from "@tabler/icons-react";

import type { Area, MonitorReport, SendPoint, SendingStats } from "../../bindings";
import { EmptyView, ErrorState } from "../../components/StateViews";
import { numbers } from "../../format/locale";
import { formatDate, formatDateTime } from "../../format/time";
import { AREA_LABEL, StatusBadge, WordBadge, bytes, decimal, percent } from "./status";

export function AreaPanel({ area, report }: { area: Exclude<Area, "queue">; report: MonitorReport }) {
  const tile = report.areas.find((a) => a.area === area);
  if (!tile) return <EmptyView title={`${AREA_LABEL[area]} has not been checked yet`} />;
  if (tile.status === "not_configured")
    return (
      <EmptyView
        icon={<IconPlugOff size={28} />}
        title={`${AREA_LABEL[area]}: not configured`}
        description={`This profile's [monitor] section names no source for this check (${tile.reason ?? ""}). Add it to the profile file to see it here.`}
      />
    );
  if (tile.status === "error") return <ErrorState title={`The ${AREA_LABEL[area]} check failed`} error={tile.reason ?? "No reason given."} />;
  const body = (() => {
    switch (area) {
      case "sending":
        return report.sending && <Sending s={report.sending} />;
      case "smtp":
        return report.smtp && <Smtp report={report} />;
      case "dnsbl":
        return report.dnsbl && <Dnsbl report={report} />;
      case "postgres":
        return report.postgres && <Postgres report={report} />;
      case "redis":
        return report.redis && <Redis report={report} />;
      case "hosts":
        return report.hosts && <Hosts report={report} />;
    }
  })();
  return (
    <Stack gap="md" p="lg" data-testid={`area-panel-${area}`}>
      <Group gap="sm">
        <Title order={4}>{AREA_LABEL[area]}</Title>
        <StatusBadge status={tile.status} />
      </Group>
      {body ?? <Text c="dimmed">No figures from the last check.</Text>}
    </Stack>
  );
}

function Figure({ label, value, hint }: { label: string; value: ReactNode; hint?: string }) {
  return (
    <Paper withBorder p="sm">
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text fw={600} size="lg" className="tabular">
        {value}
      </Text>
      {hint && (
        <Text size="xs" c="dimmed">
          {hint}
        </Text>
      )}
    </Paper>
  );
}

function Bars({ points, label }: { points: SendPoint[]; label: (p: SendPoint) => string }) {
  const max = Math.max(1, ...points.map((p) => p.sent + p.failed));
  return (
    <Group gap={2} align="flex-end" h={90} wrap="nowrap">
      {points.map((p) => (
        <Tooltip key={p.at} label={`${label(p)}: ${numbers.format(p.sent)} sent, ${numbers.format(p.failed)} failed`}>
          <Stack gap={0} style={{ flex: 1, minWidth: 4 }} justify="flex-end" h="100%">
            <div style={{ height: `${(p.failed / max) * 100}%`, background: "var(--mantine-color-red-5)" }} />
            <div style={{ height: `${(p.sent / max) * 100}%`, background: "var(--mantine-color-blue-5)" }} />
          </Stack>
        </Tooltip>
      ))}
    </Group>
  );
}

function Sending({ s }: { s: SendingStats }) {
  return (
    <Stack gap="md">
      <SimpleGrid cols={{ base: 2, md: 4 }}>
        <Figure label="Sent, last hour" value={numbers.format(s.sent_last_hour)} hint={`${numbers.format(s.failed_last_hour)} failed`} />
        <Figure label="Sent, last 24 h" value={numbers.format(s.sent_last_24h)} hint={`${numbers.format(s.failed_last_24h)} failed`} />
        <Figure label="Failures, 24 h" value={percent(s.failure_percent_24h)} />
        <Figure label="Bounces, campaigns 30 days" value={percent(s.campaigns_30d.bounce_percent)} hint={`${numbers.format(s.campaigns_30d.sent)} sent`} />
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, lg: 2 }}>
        <Paper withBorder p="sm">
          <Text size="sm" fw={500} mb="xs">
            Last 24 hours, per hour
          </Text>
          <Bars points={s.hourly} label={(p) => formatDateTime(p.at)} />
        </Paper>
        <Paper withBorder p="sm">
          <Text size="sm" fw={500} mb="xs">
            Last 30 days, per day
          </Text>
          <Bars points={s.daily} label={(p) => formatDate(p.at)} />
        </Paper>
      </SimpleGrid>
      <Table withTableBorder verticalSpacing="xs">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>SMTP server</Table.Th>
            <Table.Th>Region</Table.Th>
            <Table.Th ta="right">Last hour</Table.Th>
            <Table.Th ta="right">24 h</Table.Th>
            <Table.Th ta="right">Failed 24 h</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {s.per_server.map((x) => (
            <Table.Tr key={x.server}>
              <Table.Td>{x.server}</Table.Td>
              <Table.Td>{x.region ?? "—"}</Table.Td>
              <Table.Td ta="right" className="tabular">{numbers.format(x.sent_last_hour)}</Table.Td>
              <Table.Td ta="right" className="tabular">{numbers.format(x.sent_last_24h)}</Table.Td>
              <Table.Td ta="right" className="tabular">{percent(x.failure_percent)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Table withTableBorder verticalSpacing="xs">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Sending IP</Table.Th>
            <Table.Th>Server</Table.Th>
            <Table.Th ta="right">Last hour</Table.Th>
            <Table.Th ta="right">24 h</Table.Th>
            <Table.Th ta="right">Failed 24 h</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {s.per_ip.map((x) => (
            <Table.Tr key={`${x.ip}-${x.server ?? ""}`}>
              <Table.Td>{x.ip || "(none named)"}</Table.Td>
              <Table.Td>{x.server ?? "—"}</Table.Td>
              <Table.Td ta="right" className="tabular">{numbers.format(x.sent_last_hour)}</Table.Td>
              <Table.Td ta="right" className="tabular">{numbers.format(x.sent_last_24h)}</Table.Td>
              <Table.Td ta="right" className="tabular">{percent(x.failure_percent)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

function Smtp({ report }: { report: MonitorReport }) {
  return (
    <Table withTableBorder verticalSpacing="xs" data-testid="smtp-table">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Server</Table.Th>
          <Table.Th>State</Table.Th>
          <Table.Th ta="right">Connect ms</Table.Th>
          <Table.Th ta="right">Banner ms</Table.Th>
          <Table.Th ta="right">Total ms</Table.Th>
          <Table.Th>STARTTLS</Table.Th>
          <Table.Th>Problems</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {(report.smtp ?? []).map((p) => (
          <Table.Tr key={p.server}>
            <Table.Td>{p.server}</Table.Td>
            <Table.Td>
              <WordBadge word={p.state} />
            </Table.Td>
            <Table.Td ta="right" className="tabular">{p.connect_ms ?? "—"}</Table.Td>
            <Table.Td ta="right" className="tabular">{p.banner_ms ?? "—"}</Table.Td>
            <Table.Td ta="right" className="tabular">{numbers.format(p.total_ms)}</Table.Td>
            <Table.Td>
              {!p.starttls_offered ? "not offered" : p.tls?.handshake ? `${p.tls.version ?? "ok"}${p.tls.verified ? "" : " (unverified)"}` : `failed${p.tls?.error ? `: ${p.tls.error}` : ""}`}
            </Table.Td>
            <Table.Td>
              <Text size="xs">{p.problems.join("; ") || "—"}</Text>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function Dnsbl({ report }: { report: MonitorReport }) {
  const d = report.dnsbl;
  if (!d) return null;
  if (d.ips.length === 0) return <EmptyView title="No sending IPs" description="smtp_ip_addresses has no addresses to check." />;
  return (
    <Stack gap="xs">
      <Text size="xs" c="dimmed">
        Resolver {d.resolver} · zones {d.zones.join(", ")}
      </Text>
      <Table withTableBorder verticalSpacing="xs" data-testid="dnsbl-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>IP</Table.Th>
            <Table.Th>Reputation</Table.Th>
            {d.zones.map((z) => (
              <Table.Th key={z}>{z}</Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {d.ips.map((ip) => (
            <Table.Tr key={ip.id}>
              <Table.Td>{ip.ip}</Table.Td>
              <Table.Td>{ip.reputation_state ?? "—"}</Table.Td>
              {ip.zones.map((z) => (
                <Table.Td key={z.zone}>
                  <Tooltip label={z.error ?? (z.meanings.join(", ") || "not listed")}>
                    <span>
                      <WordBadge word={z.status} />
                    </span>
                  </Tooltip>
                  <Text size="xs" c="dimmed">
                    {z.meanings.length > 0 ? `${z.meanings.join(", ")} · ` : ""}
                    {formatDateTime(z.checked_at)}
                  </Text>
                </Table.Td>
              ))}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

function Postgres({ report }: { report: MonitorReport }) {
  return (
    <Stack gap="md">
      <Table withTableBorder verticalSpacing="xs" data-testid="postgres-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Database</Table.Th>
            <Table.Th>Health</Table.Th>
            <Table.Th ta="right">Connections (this db)</Table.Th>
            <Table.Th ta="right">In use / max</Table.Th>
            <Table.Th ta="right">Cache hit</Table.Th>
            <Table.Th ta="right">Slow queries</Table.Th>
            <Table.Th ta="right">Replica lag</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(report.postgres ?? []).map((db) => (
            <Table.Tr key={db.database} data-testid="postgres-row" data-status={db.status}>
              <Table.Td>{db.database}</Table.Td>
              <Table.Td>
                <StatusBadge status={db.status} />
                {db.error && (
                  <Text size="xs" c="red">
                    {db.error}
                  </Text>
                )}
              </Table.Td>
              <Table.Td ta="right" className="tabular">{db.connections_this_db ?? "—"}</Table.Td>
              <Table.Td ta="right" className="tabular">
                {db.connections ?? "—"} / {db.max_connections ?? "—"} ({percent(db.connections_percent)})
              </Table.Td>
              <Table.Td ta="right" className="tabular">{percent(db.cache_hit_percent)}</Table.Td>
              <Table.Td ta="right" className="tabular">{db.slow_queries.length}</Table.Td>
              <Table.Td ta="right" className="tabular">
                {db.replicas.length === 0 ? "no replicas" : db.replica_lag_seconds === null ? "—" : `${decimal(db.replica_lag_seconds)} s`}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {(report.postgres ?? []).some((db) => db.slow_queries.length > 0) && (
        <Table withTableBorder verticalSpacing="xs">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Database</Table.Th>
              <Table.Th ta="right">Seconds</Table.Th>
              <Table.Th>Query</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {(report.postgres ?? []).flatMap((db) =>
              db.slow_queries.map((q) => (
                <Table.Tr key={`${db.database}-${q.pid}`}>
                  <Table.Td>{db.database}</Table.Td>
                  <Table.Td ta="right" className="tabular">{decimal(q.seconds)}</Table.Td>
                  <Table.Td>
                    <Text size="xs" ff="monospace" lineClamp={2}>
                      {q.query}
                    </Text>
                  </Table.Td>
                </Table.Tr>
              )),
            )}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

function Redis({ report }: { report: MonitorReport }) {
  const r = report.redis;
  if (!r) return null;
  return (
    <Stack gap="xs" data-testid="redis-figures">
      <Text size="xs" c="dimmed">
        {r.address}
        {r.version ? ` · Redis ${r.version}` : ""}
        {r.uptime_seconds !== null ? ` · up ${decimal(r.uptime_seconds / 3600)} h` : ""}
      </Text>
      {r.error && <Text c="red">{r.error}</Text>}
      <SimpleGrid cols={{ base: 2, md: 4 }}>
        <Figure label="Memory used" value={bytes(r.used_memory)} hint={r.max_memory ? `of ${bytes(r.max_memory)} (${percent(r.memory_percent)})` : "no maxmemory set"} />
        <Figure label="Hit rate" value={percent(r.hit_rate_percent)} />
        <Figure label="Connected clients" value={r.connected_clients === null ? "—" : numbers.format(r.connected_clients)} />
      </SimpleGrid>
    </Stack>
  );
}

function Hosts({ report }: { report: MonitorReport }) {
  const h = report.hosts;
  if (!h) return null;
  return (
    <Stack gap="md">
      <Text size="xs" c="dimmed">
        Prometheus {h.prometheus}
      </Text>
      <Table withTableBorder verticalSpacing="xs">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Host</Table.Th>
            <Table.Th>Health</Table.Th>
            <Table.Th ta="right">Disk</Table.Th>
            <Table.Th ta="right">CPU</Table.Th>
            <Table.Th ta="right">Memory</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {h.hosts.map((x) => (
            <Table.Tr key={x.instance}>
              <Table.Td>{x.instance}</Table.Td>
              <Table.Td>
                <StatusBadge status={x.status} />
              </Table.Td>
              <Table.Td ta="right" className="tabular">{percent(x.disk_percent)}</Table.Td>
              <Table.Td ta="right" className="tabular">{percent(x.cpu_percent)}</Table.Td>
              <Table.Td ta="right" className="tabular">{percent(x.memory_percent)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Table withTableBorder verticalSpacing="xs">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Target</Table.Th>
            <Table.Th>Job</Table.Th>
            <Table.Th>Up</Table.Th>
            <Table.Th ta="right">Uptime 24 h</Table.Th>
            <Table.Th ta="right">API p95</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {h.targets.map((t) => {
            const api = h.api.find((a) => a.instance === t.instance);
            return (
              <Table.Tr key={`${t.job}-${t.instance}`}>
                <Table.Td>{t.instance}</Table.Td>
                <Table.Td>{t.job}</Table.Td>
                <Table.Td>
                  <WordBadge word={t.up ? "running" : "down"} />
                </Table.Td>
                <Table.Td ta="right" className="tabular">{percent(t.uptime_24h_percent)}</Table.Td>
                <Table.Td ta="right" className="tabular">{api ? `${decimal(api.p95_ms, 0)} ms` : "—"}</Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}
