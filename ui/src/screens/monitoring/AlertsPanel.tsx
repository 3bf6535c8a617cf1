// The alert feed: the last 24 hours plus every open alert, filterable by severity, state,
// source and text, each with what it puts at risk. Acknowledge / resolve need alerts.manage
// and the platform; the feed itself reads the cache, so it works offline.
import { useState } from "react";
import { Badge, Button, Drawer, Group, Select, Stack, Table, Text, Textarea, TextInput, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { IconBellOff, IconSearch } from "@tabler/icons-react";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";

import { commands, type AlertRow, type AtRisk, type FeedFilter, type Severity } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { EmptyView, ErrorState, LoadingState } from "../../components/StateViews";
import { formatCents } from "../../format/money";
import { numbers } from "../../format/locale";
import { formatDateTime } from "../../format/time";
import { useSession } from "../../shell/session";
import { WordBadge } from "./status";

const SOURCES = ["queue", "sending", "smtp", "dnsbl", "postgres", "redis", "host", "api"];

export function AlertsPanel() {
  const [severity, setSeverity] = useState<Severity | null>(null);
  const [state, setState] = useState<string | null>(null);
  const [source, setSource] = useState<string | null>(null);
  const [text, setText] = useState("");
  const [debounced] = useDebouncedValue(text.trim(), 200);
  const [open, setOpen] = useState<string | null>(null);
  const filter: FeedFilter = { severity, state, source, text: debounced || null, since: null, limit: null };
  const feed = useQuery({
    queryKey: ["monitor-alerts", filter],
    queryFn: () => unwrap(commands.alertFeed(filter)),
    placeholderData: keepPreviousData,
    refetchInterval: 30_000,
  });
  const filtered = Boolean(severity || state || source || debounced);

  let body;
  if (feed.isPending) body = <LoadingState label="Loading alerts…" />;
  else if (feed.isError) body = <ErrorState title="Could not load the alerts" error={feed.error} onRetry={() => void feed.refetch()} />;
  else if (feed.data.length === 0)
    body = (
      <EmptyView
        icon={<IconBellOff size={28} />}
        title={filtered ? "No alert matches" : "No alerts in the last 24 hours"}
        description={
          filtered
            ? "Text looks at the summary, fingerprint and subject."
            : "Alerts are raised by `penguin-admin watch` and appear here after a sync; open alerts stay listed until resolved."
        }
      />
    );
  else body = <AlertTable rows={feed.data} onOpen={setOpen} />;

  return (
    <Stack gap="xs" p="lg" h="100%" data-testid="alerts-panel">
      <Group justify="space-between" align="flex-end" wrap="nowrap">
        <div>
          <Group gap="xs" align="baseline">
            <Title order={4}>Alerts</Title>
            <Text c="dimmed" size="sm" data-testid="alert-count">
              {feed.data ? numbers.format(feed.data.length) : ""}
            </Text>
          </Group>
          <Text size="xs" c="dimmed">
            The last 24 hours and every open alert, from the cache
          </Text>
        </div>
        <Group gap="sm" wrap="nowrap">
          <Select placeholder="Any severity" data={["critical", "warning", "info"]} value={severity} onChange={(v) => setSeverity(v)} clearable w={140} aria-label="Severity" />
          <Select placeholder="Any state" data={["firing", "acknowledged", "resolved"]} value={state} onChange={setState} clearable w={150} aria-label="State" />
          <Select placeholder="Any source" data={SOURCES} value={source} onChange={setSource} clearable w={130} aria-label="Source" />
          <TextInput w={240} placeholder="Summary, subject…" leftSection={<IconSearch size={16} />} value={text} onChange={(e) => setText(e.currentTarget.value)} aria-label="Alert text" />
        </Group>
      </Group>
      <div style={{ flex: 1, minHeight: 0, border: "1px solid var(--mantine-color-gray-3)", borderRadius: 4 }}>{body}</div>
      <Silences />
      <AlertDrawer alertId={open} onClose={() => setOpen(null)} />
    </Stack>
  );
}

function atRiskLine(r: AtRisk | null): string | null {
  if (!r) return null;
  const parts = [];
  if (r.tenants.length > 0) parts.push(`${r.tenants.length} tenants · ${formatCents(r.total_mrr_cents)} MRR`);
  if (r.campaigns.length > 0) parts.push(`${r.campaigns.length} campaigns waiting`);
  return parts.length ? parts.join(" · ") : null;
}

function useAlertActions() {
  const queryClient = useQueryClient();
  const [busy, setBusy] = useState<string | null>(null);
  const run = async (key: string, label: string, call: () => Promise<unknown>) => {
    setBusy(key);
    try {
      await call();
      notifications.show({ color: "green", title: label, message: "Saved and synced." });
      await queryClient.invalidateQueries({ predicate: (q) => String(q.queryKey[0]).startsWith("monitor-alert") });
    } catch (error) {
      notifications.show({ color: "red", title: `${label}: failed`, message: errorMessage(error) });
    } finally {
      setBusy(null);
    }
  };
  return { busy, run };
}

function AlertButtons({ alert }: { alert: AlertRow }) {
  const { can, actionsBlockedReason } = useSession();
  const { busy, run } = useAlertActions();
  if (!can("alerts.manage") || alert.state === "resolved") return null;
  return (
    <Group gap={6} wrap="nowrap">
      {alert.state === "firing" && (
        <Button
          size="xs"
          variant="default"
          loading={busy === `ack-${alert.id}`}
          disabled={Boolean(actionsBlockedReason)}
          title={actionsBlockedReason ?? undefined}
          onClick={() => void run(`ack-${alert.id}`, "Alert acknowledged", () => unwrap(commands.acknowledgeAlert(alert.id)))}
          data-testid="alert-ack"
        >
          Acknowledge
        </Button>
      )}
      <Button
        size="xs"
        variant="default"
        loading={busy === `res-${alert.id}`}
        disabled={Boolean(actionsBlockedReason)}
        title={actionsBlockedReason ?? undefined}
        onClick={() => void run(`res-${alert.id}`, "Alert resolved", () => unwrap(commands.resolveAlert(alert.id, null)))}
        data-testid="alert-resolve"
      >
        Resolve
      </Button>
    </Group>
  );
}

function AlertTable({ rows, onOpen }: { rows: AlertRow[]; onOpen: (id: string) => void }) {
  return (
    <Table highlightOnHover verticalSpacing="xs" horizontalSpacing="md" stickyHeader data-testid="alert-table">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Severity</Table.Th>
          <Table.Th>Alert</Table.Th>
          <Table.Th>State</Table.Th>
          <Table.Th>At risk</Table.Th>
          <Table.Th>Last seen</Table.Th>
          <Table.Th />
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((a) => (
          <Table.Tr key={a.id} data-testid="alert-row" style={{ cursor: "pointer" }} onClick={() => onOpen(a.id)}>
            <Table.Td>
              <WordBadge word={a.severity} />
            </Table.Td>
            <Table.Td>
              <Text size="sm">{a.summary}</Text>
              <Text size="xs" c="dimmed">
                {a.source} · {a.subject}
                {a.silenced_by ? " · silenced" : ""}
              </Text>
            </Table.Td>
            <Table.Td>
              <WordBadge word={a.state} />
              {a.acknowledged_by && (
                <Text size="xs" c="dimmed">
                  by {a.acknowledged_by}
                </Text>
              )}
            </Table.Td>
            <Table.Td>
              <Text size="xs">{atRiskLine(a.at_risk) ?? "—"}</Text>
            </Table.Td>
            <Table.Td className="tabular">{formatDateTime(a.last_seen)}</Table.Td>
            <Table.Td onClick={(e) => e.stopPropagation()}>
              <AlertButtons alert={a} />
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function AlertDrawer({ alertId, onClose }: { alertId: string | null; onClose: () => void }) {
  const { can, actionsBlockedReason } = useSession();
  const { busy, run } = useAlertActions();
  const [note, setNote] = useState("");
  const detail = useQuery({
    queryKey: ["monitor-alert", alertId],
    queryFn: () => unwrap(commands.alertDetail(alertId ?? "")),
    enabled: alertId !== null,
  });
  let body;
  if (detail.isPending) body = <LoadingState label="Loading the alert…" />;
  else if (detail.isError) body = <ErrorState title="Could not load the alert" error={detail.error} />;
  else {
    const { alert: a, notes, notifications: sent } = detail.data;
    const risk = a.at_risk;
    body = (
      <Stack gap="md" data-testid="alert-detail">
        <Group gap="xs">
          <WordBadge word={a.severity} />
          <WordBadge word={a.state} />
          {a.paged && <Badge variant="outline">paged</Badge>}
        </Group>
        <Text size="sm" c="dimmed">
          {a.source} · {a.subject_kind} {a.subject} · first seen {formatDateTime(a.first_seen)} · last seen {formatDateTime(a.last_seen)}
          {a.resolved_at ? ` · resolved ${formatDateTime(a.resolved_at)}${a.resolved_by ? ` by ${a.resolved_by}` : " automatically"}` : ""}
        </Text>
        <AlertButtons alert={a} />
        {Object.keys(a.details).length > 0 && (
          <Table verticalSpacing={4}>
            <Table.Tbody>
              {Object.entries(a.details).map(([k, v]) => (
                <Table.Tr key={k}>
                  <Table.Td c="dimmed">{k}</Table.Td>
                  <Table.Td>{v}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        {risk && (risk.tenants.length > 0 || risk.campaigns.length > 0) && (
          <Stack gap={4}>
            <Title order={5}>At risk · {formatCents(risk.total_mrr_cents)} MRR</Title>
            {risk.tenants.map((t) => (
              <Text size="sm" key={t.id}>
                {t.name} · {formatCents(t.mrr_cents)} MRR · {t.workspaces.map((w) => w.name).join(", ") || "no workspace named"}
              </Text>
            ))}
            {risk.campaigns.map((c) => (
              <Text size="sm" key={c.id}>
                Campaign {c.name ?? c.id}: {numbers.format(c.waiting_jobs)} emails waiting
              </Text>
            ))}
          </Stack>
        )}
        <Stack gap={4}>
          <Title order={5}>Notes</Title>
          {notes.length === 0 && (
            <Text size="sm" c="dimmed">
              No notes yet.
            </Text>
          )}
          {notes.map((n) => (
            <div key={n.id}>
              <Text size="xs" c="dimmed">
                {n.author} · {formatDateTime(n.created)}
              </Text>
              <Text size="sm">{n.body}</Text>
            </div>
          ))}
          {can("alerts.manage") && (
            <Group align="flex-end" wrap="nowrap">
              <Textarea style={{ flex: 1 }} placeholder="What you found or did" value={note} onChange={(e) => setNote(e.currentTarget.value)} autosize minRows={1} />
              <Button
                variant="default"
                disabled={!note.trim() || Boolean(actionsBlockedReason)}
                loading={busy === "note"}
                onClick={() =>
                  void run("note", "Note added", async () => {
                    await unwrap(commands.addAlertNote(a.id, note));
                    setNote("");
                  })
                }
              >
                Add note
              </Button>
            </Group>
          )}
        </Stack>
        {sent.length > 0 && (
          <Stack gap={4}>
            <Title order={5}>Notifications</Title>
            {sent.map((n, i) => (
              <Text size="xs" key={i}>
                {n.channel} {n.event}: {n.status} after {n.attempts} attempts{n.last_error ? ` (${n.last_error})` : ""}
              </Text>
            ))}
          </Stack>
        )}
      </Stack>
    );
  }
  return (
    <Drawer opened={alertId !== null} onClose={onClose} position="right" size="lg" padding="lg" title={<Text fw={600}>{detail.data?.alert.summary ?? "Alert"}</Text>}>
      {body}
    </Drawer>
  );
}

function Silences() {
  const { can, actionsBlockedReason } = useSession();
  const { busy, run } = useAlertActions();
  const silences = useQuery({ queryKey: ["monitor-alert-silences"], queryFn: () => unwrap(commands.alertSilences()) });
  const active = silences.data?.filter((s) => s.active) ?? [];
  if (active.length === 0) return null;
  return (
    <Stack gap={4}>
      <Title order={5}>Active silences</Title>
      {active.map((s) => (
        <Group key={s.id} justify="space-between" wrap="nowrap">
          <Text size="sm">
            {[s.source && `source ${s.source}`, s.fingerprint && `fingerprint ${s.fingerprint}`, s.subject && `subject ${s.subject}`].filter(Boolean).join(" · ")} until{" "}
            {formatDateTime(s.ends_at)} — {s.reason} ({s.created_by})
          </Text>
          {can("alerts.manage") && (
            <Button size="xs" variant="subtle" loading={busy === s.id} disabled={Boolean(actionsBlockedReason)} onClick={() => void run(s.id, "Silence ended", () => unwrap(commands.expireSilence(s.id)))}>
              End now
            </Button>
          )}
        </Group>
      ))}
    </Stack>
  );
}
