// One tile per area: its colour, the figure that matters most, and for a grey or error
// tile the reason (which profile key to add, or what failed). A tile opens its area.
import { Card, Group, SimpleGrid, Stack, Text, UnstyledButton } from "@mantine/core";

import type { Area, AreaStatus, MonitorReport } from "../../bindings";
import { numbers } from "../../format/locale";
import { AREA_LABEL, StatusBadge, bytes, percent } from "./status";

export function OverviewTiles({ report, onOpen }: { report: MonitorReport; onOpen: (area: Area) => void }) {
  return (
    <SimpleGrid cols={{ base: 2, md: 3, xl: 4 }} spacing="md" p="lg" data-testid="monitor-tiles">
      {report.areas.map((tile) => (
        <UnstyledButton key={tile.area} onClick={() => onOpen(tile.area)} style={{ display: "block" }}>
          <Card
            withBorder
            padding="md"
            h="100%"
            data-testid="monitor-tile"
            data-area={tile.area}
            data-status={tile.status}
            style={{ borderLeft: `4px solid var(--mantine-color-${tileColour(tile)}-6)` }}
          >
            <Stack gap={6}>
              <Group justify="space-between" wrap="nowrap">
                <Text fw={600}>{AREA_LABEL[tile.area]}</Text>
                <StatusBadge status={tile.status} />
              </Group>
              {tile.reason ? (
                <Text size="sm" c={tile.status === "error" ? "red" : "dimmed"} data-testid="monitor-tile-reason">
                  {tile.status === "not_configured" ? notConfiguredHint(tile.reason) : tile.reason}
                </Text>
              ) : (
                <Text size="sm" c="dimmed" data-testid="monitor-tile-summary">
                  {summary(tile.area, report)}
                </Text>
              )}
              <Text size="xs" c="dimmed">
                {tile.status === "not_configured" ? "Not checked" : `Checked in ${numbers.format(tile.elapsed_ms)} ms`}
              </Text>
            </Stack>
          </Card>
        </UnstyledButton>
      ))}
    </SimpleGrid>
  );
}

function tileColour(tile: AreaStatus): string {
  switch (tile.status) {
    case "green":
      return "green";
    case "yellow":
      return "yellow";
    case "red":
    case "error":
      return "red";
    default:
      return "gray";
  }
}

/** "no redis_url in the profile's [monitor] section" → also say how to fix it. */
function notConfiguredHint(reason: string): string {
  const key = /no (\w+) in/.exec(reason)?.[1];
  return key ? `Add ${key} under [monitor] in the profile to check it.` : capitalise(reason);
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function summary(area: Area, r: MonitorReport): string {
  const n = (v: number) => numbers.format(v);
  switch (area) {
    case "queue": {
      const q = r.queue?.queues ?? [];
      const sum = (f: (x: (typeof q)[number]) => number) => q.reduce((acc, x) => acc + f(x), 0);
      const paused = q.filter((x) => !x.is_active).length;
      return `${n(sum((x) => x.waiting))} waiting · ${n(sum((x) => x.failed))} failed · ${n(sum((x) => x.stuck))} stuck${paused ? ` · ${paused} paused` : ""}`;
    }
    case "sending": {
      const s = r.sending;
      return s ? `${n(s.sent_last_hour)} sent last hour · ${percent(s.failure_percent_24h)} failed (24 h)` : "—";
    }
    case "smtp": {
      const p = r.smtp ?? [];
      return `${p.filter((x) => x.state === "running").length} of ${p.length} running`;
    }
    case "dnsbl": {
      const ips = r.dnsbl?.ips ?? [];
      const listed = ips.filter((ip) => ip.zones.some((z) => z.status === "listed")).length;
      return `${listed} of ${n(ips.length)} IPs listed`;
    }
    case "postgres": {
      const dbs = r.postgres ?? [];
      const worst = Math.max(0, ...dbs.map((d) => d.connections_percent ?? 0));
      return `${dbs.length} databases · connections up to ${percent(worst, 0)} of max`;
    }
    case "redis": {
      const x = r.redis;
      if (!x) return "—";
      const clients = x.connected_clients === null ? "clients unknown" : `${n(x.connected_clients)} ${x.connected_clients === 1 ? "client" : "clients"}`;
      const hits = x.hit_rate_percent === null ? "no lookups yet" : `hit rate ${percent(x.hit_rate_percent)}`;
      return `${bytes(x.used_memory)} used · ${clients} · ${hits}`;
    }
    case "hosts": {
      const h = r.hosts;
      return h ? `${h.hosts.length} hosts · ${h.targets.filter((t) => !t.up).length} targets down` : "—";
    }
  }
}
