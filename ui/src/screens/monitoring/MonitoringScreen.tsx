// Monitoring: the operators' view of the platform's infrastructure. The overview has one
// tile per area (green / yellow / red, grey when the profile names no source, red "Error"
// with the reason when the check failed); a tile opens its area's drill-down. Checks are
// live and refresh every 5 s while this screen is open; the alert feed reads the cache.
import { useState, type ReactNode } from "react";
import { Alert, Group, Stack, Tabs, Text, Title } from "@mantine/core";
import { IconPlugConnectedX } from "@tabler/icons-react";

import type { Area } from "../../bindings";
import { ErrorState, LoadingState } from "../../components/StateViews";
import { LOCALE } from "../../format/locale";
import { AlertsPanel } from "./AlertsPanel";
import { AreaPanel } from "./AreaPanels";
import { OverviewTiles } from "./OverviewTiles";
import { QueuePanel } from "./QueuePanel";
import { AREA_LABEL } from "./status";
import { REFRESH_MS, useMonitorReport } from "./useMonitorReport";

type TabId = "overview" | "alerts" | Area;
const clock = new Intl.DateTimeFormat(LOCALE, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const formatClock = (iso: string) => clock.format(new Date(iso));
const AREAS: Area[] = ["queue", "sending", "smtp", "dnsbl", "postgres", "redis", "hosts"];

export function MonitoringScreen() {
  const [tab, setTab] = useState<TabId>("overview");
  const report = useMonitorReport();
  const snapshot = report.data;

  let live: ReactNode = null;
  if (report.isPending) live = <LoadingState label="Running the checks…" />;
  else if (report.isError && !snapshot)
    live = <ErrorState title="Could not run the checks" error={report.error} onRetry={() => void report.refetch()} />;

  const panel = (id: TabId) => {
    if (id === "alerts") return <AlertsPanel />;
    if (live || !snapshot) return live;
    if (id === "overview") return <OverviewTiles report={snapshot.report} onOpen={setTab} />;
    if (id === "queue") return <QueuePanel report={snapshot.report} />;
    return <AreaPanel area={id} report={snapshot.report} />;
  };

  return (
    <Stack gap={0} h="100%" data-testid="monitoring-screen">
      <Group justify="space-between" align="flex-end" px="lg" pt="md" pb="xs" wrap="nowrap">
        <div>
          <Title order={2}>Monitoring</Title>
          <Text size="xs" c="dimmed" data-testid="monitor-checked-at" data-at={snapshot?.report.run.at}>
            {snapshot
              ? `Checked ${formatClock(snapshot.report.run.at)} · live, every ${REFRESH_MS / 1000} s while this screen is open · blocklists every 5 min`
              : "Live checks against the platform"}
          </Text>
        </div>
      </Group>
      {snapshot?.stale_reason && (
        <Alert color="orange" icon={<IconPlugConnectedX size={18} />} mx="lg" mb="xs" py="xs" data-testid="monitor-stale">
          Showing the last checks from {formatClock(snapshot.report.run.at)}: {snapshot.stale_reason}
        </Alert>
      )}
      {report.isError && snapshot && !snapshot.stale_reason && (
        <Alert color="red" mx="lg" mb="xs" py="xs" data-testid="monitor-refresh-error">
          The last refresh failed: {report.error.message}
        </Alert>
      )}
      <Tabs
        value={tab}
        onChange={(v) => v && setTab(v as TabId)}
        keepMounted={false}
        style={{ flex: 1, display: "flex", flexDirection: "column", minHeight: 0 }}
      >
        <Tabs.List px="lg">
          <Tabs.Tab value="overview" data-testid="monitor-tab-overview">
            Overview
          </Tabs.Tab>
          {AREAS.map((a) => (
            <Tabs.Tab key={a} value={a} data-testid={`monitor-tab-${a}`}>
              {AREA_LABEL[a]}
            </Tabs.Tab>
          ))}
          <Tabs.Tab value="alerts" data-testid="monitor-tab-alerts">
            Alerts
          </Tabs.Tab>
        </Tabs.List>
        <div style={{ flex: 1, minHeight: 0, overflow: "auto" }}>
          <Tabs.Panel value={tab} h="100%">
            {panel(tab)}
          </Tabs.Panel>
        </div>
      </Tabs>
    </Stack>
  );
}
