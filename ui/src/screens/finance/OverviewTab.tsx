// Revenue for a month: MRR per currency with its movement (new, expansion,
// contraction, churned, reactivation), customer and revenue churn, ARPA, LTV, payment
// success, MRR by plan, the trend of the last twelve months, and webhook health.
import { useMemo, useState } from "react";
import { Badge, Card, Group, Select, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";

import { commands, type CurrencyRevenue, type WebhookHealth } from "../../bindings";
import { unwrap } from "../../backend/call";
import { EmptyView, ErrorState, LoadingState } from "../../components/StateViews";
import { numbers } from "../../format/locale";
import { formatBp, formatCents } from "../../format/money";
import { formatDateTime } from "../../format/time";
import { CollectedTrend } from "./CollectedTrend";
import { MrrTrend } from "./MrrTrend";

function monthsBack(n: number): string[] {
  const now = new Date();
  return Array.from({ length: n }, (_, i) => {
    const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 1));
    return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
  });
}

export function OverviewTab() {
  const months = useMemo(() => monthsBack(24), []);
  const [month, setMonth] = useState(months[0] ?? "");
  const report = useQuery({ queryKey: ["finance-revenue", month], queryFn: () => unwrap(commands.revenue(month)) });
  const webhooks = useQuery({ queryKey: ["finance-webhooks"], queryFn: () => unwrap(commands.webhookHealth()) });

  let body;
  if (report.isPending) body = <LoadingState label="Computing revenue…" />;
  else if (report.isError) body = <ErrorState title="Could not compute revenue" error={report.error} onRetry={() => void report.refetch()} />;
  else if (report.data.currencies.length === 0) body = <EmptyView title="No recurring revenue in this month" description="MRR counts active, paid subscriptions; trials and unpaid ones are excluded." />;
  else
    body = (
      <Stack>
        {report.data.currencies.map((c) => (
          <CurrencyBlock key={c.currency} c={c} />
        ))}
        <Text size="sm" c="dimmed" data-testid="payment-success">
          Payment success this month: {formatBp(report.data.payment_success_bp)} ({numbers.format(report.data.payments_succeeded)} succeeded, {numbers.format(report.data.payments_failed)} failed)
        </Text>
      </Stack>
    );

  return (
    <Stack p="lg" gap="lg" data-testid="revenue">
      <Group justify="space-between">
        <Select w={160} data={months} value={month} onChange={(v) => v && setMonth(v)} aria-label="Month" allowDeselect={false} />
        {webhooks.data && <WebhookCard health={webhooks.data} />}
      </Group>
      {body}
      <MrrTrend from={months[11] ?? month} to={months[0] ?? month} />
      <CollectedTrend />
    </Stack>
  );
}

function Kpi({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <Card withBorder padding="sm">
      <Text size="xs" c="dimmed" tt="uppercase" fw={700}>
        {label}
      </Text>
      <Text size="xl" fw={700} className="tabular">
        {value}
      </Text>
      {hint && (
        <Text size="xs" c="dimmed">
          {hint}
        </Text>
      )}
    </Card>
  );
}

function CurrencyBlock({ c }: { c: CurrencyRevenue }) {
  const money = (v: number | null) => (v === null ? "—" : formatCents(v, c.currency));
  const delta = c.mrr - c.mrr_previous;
  const m = c.movements;
  return (
    <Stack gap="sm" data-testid={`revenue-${c.currency}`}>
      <SimpleGrid cols={{ base: 2, md: 5 }}>
        <Kpi label={`MRR (${c.currency.toUpperCase()})`} value={money(c.mrr)} hint={`${delta >= 0 ? "+" : ""}${money(delta)} on last month`} />
        <Kpi label="Paying customers" value={numbers.format(c.paying_customers)} hint={`${numbers.format(c.churned_customers)} churned`} />
        <Kpi label="ARPA" value={money(c.arpa)} />
        <Kpi label="Customer / revenue churn" value={`${formatBp(c.customer_churn_bp)} / ${formatBp(c.revenue_churn_bp)}`} />
        <Kpi label="LTV" value={money(c.ltv)} hint="ARPA ÷ customer churn" />
      </SimpleGrid>
      <Group align="flex-start" grow>
        <Card withBorder padding="sm">
          <Title order={5} mb="xs">MRR movement</Title>
          <Table verticalSpacing={2}>
            <Table.Tbody>
              {[
                ["New", m.new],
                ["Expansion", m.expansion],
                ["Reactivation", m.reactivation],
                ["Contraction", -m.contraction],
                ["Churned", -m.churned],
              ].map(([k, v]) => (
                <Table.Tr key={k as string}>
                  <Table.Td>{k}</Table.Td>
                  <Table.Td ta="right" className="tabular" c={(v as number) < 0 ? "red" : (v as number) > 0 ? "green" : undefined}>
                    {money(v as number)}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Card>
        <Card withBorder padding="sm">
          <Title order={5} mb="xs">MRR by plan</Title>
          <Table verticalSpacing={2}>
            <Table.Tbody>
              {c.by_plan.map((p) => (
                <Table.Tr key={p.plan}>
                  <Table.Td>{p.plan}</Table.Td>
                  <Table.Td ta="right" c="dimmed" className="tabular">{numbers.format(p.customers)}</Table.Td>
                  <Table.Td ta="right" className="tabular">{money(p.mrr)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Card>
      </Group>
    </Stack>
  );
}

const WEBHOOK_COLOR: Record<string, string> = { healthy: "green", delayed: "yellow", error: "red", unknown: "gray" };

function WebhookCard({ health }: { health: WebhookHealth }) {
  return (
    <Group gap="xs" data-testid="webhook-health">
      <Text size="sm" c="dimmed">
        Stripe webhooks
      </Text>
      <Badge color={WEBHOOK_COLOR[health.status] ?? "gray"} variant="light">
        {health.status}
      </Badge>
      <Text size="xs" c="dimmed">
        last {health.last_event_type ?? "event"} {formatDateTime(health.last_success_at, "never")} · {numbers.format(health.failed_last_24h)} failed in 24 h
      </Text>
    </Group>
  );
}
