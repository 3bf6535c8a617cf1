// Month-end reconciliation: the platform's payments and subscriptions against Stripe's
// charges, refunds, invoices, balance transactions and payouts for a period; every
// discrepancy with the totals, and a CSV export for the accountants.
import { useMemo, useState } from "react";
import { Badge, Button, Card, Group, SimpleGrid, Stack, Table, Text, TextInput } from "@mantine/core";
import { IconCircleCheck, IconDownload } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";

import { commands } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { EmptyView, ErrorState, LoadingState } from "../../components/StateViews";
import { numbers } from "../../format/locale";
import { formatCents } from "../../format/money";
import { formatDate } from "../../format/time";

function lastMonth(): [string, string] {
  const now = new Date();
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  return [start.toISOString().slice(0, 10), end.toISOString().slice(0, 10)];
}

export function ReconciliationTab() {
  const initial = useMemo(() => lastMonth(), []);
  const [from, setFrom] = useState(initial[0]);
  const [to, setTo] = useState(initial[1]);
  const [period, setPeriod] = useState<[string, string]>(initial);
  const [exported, setExported] = useState<{ ok: boolean; text: string } | null>(null);
  const result = useQuery({ queryKey: ["finance-reconcile", ...period], queryFn: () => unwrap(commands.reconcile(period[0], period[1])) });

  const exportCsv = async () => {
    try {
      const file = await unwrap(commands.exportReconciliation(period[0], period[1]));
      setExported({ ok: true, text: `${numbers.format(file.rows)} discrepancies written to ${file.path}` });
    } catch (error) {
      setExported({ ok: false, text: errorMessage(error) });
    }
  };

  let body;
  if (result.isPending) body = <LoadingState label="Reconciling…" />;
  else if (result.isError) body = <ErrorState title="Could not reconcile" error={result.error} onRetry={() => void result.refetch()} />;
  else {
    const r = result.data;
    body = (
      <Stack>
        <SimpleGrid cols={{ base: 1, md: Math.max(1, r.totals.length) }}>
          {r.totals.map((t) => (
            <Card withBorder padding="sm" key={t.currency}>
              <Text size="xs" c="dimmed" tt="uppercase" fw={700}>{t.currency}</Text>
              <Table verticalSpacing={2}>
                <Table.Tbody>
                  {[
                    ["Platform collected", t.platform_collected],
                    ["Stripe charged", t.stripe_charged],
                    ["Stripe refunded", -t.stripe_refunded],
                    ["Stripe net", t.stripe_net],
                    ["Paid out", t.payouts],
                  ].map(([k, v]) => (
                    <Table.Tr key={k as string}>
                      <Table.Td>{k}</Table.Td>
                      <Table.Td ta="right" className="tabular">{formatCents(v as number, t.currency)}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Card>
          ))}
        </SimpleGrid>
        {r.discrepancies.length === 0 ? (
          <EmptyView icon={<IconCircleCheck size={28} />} title="Everything matches" description={`No discrepancy between ${formatDate(r.from)} and ${formatDate(r.to)}.`} />
        ) : (
          <>
            <Group gap="xs">
              {Object.entries(r.counts).map(([kind, n]) => (
                <Badge key={kind} variant="light" color="orange" tt="none">
                  {kind.replaceAll("_", " ")}: {numbers.format(n)}
                </Badge>
              ))}
            </Group>
            <Table stickyHeader verticalSpacing={4} data-testid="discrepancies">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Date</Table.Th>
                  <Table.Th>Kind</Table.Th>
                  <Table.Th>Platform</Table.Th>
                  <Table.Th>Stripe</Table.Th>
                  <Table.Th ta="right">Platform amount</Table.Th>
                  <Table.Th ta="right">Stripe amount</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {r.discrepancies.slice(0, 1000).map((d, i) => {
                  const money = (v: number | null) => (v === null ? "—" : formatCents(v, d.currency ?? "usd"));
                  return (
                    <Table.Tr key={i} data-testid="discrepancy-row">
                      <Table.Td className="tabular">{formatDate(d.date)}</Table.Td>
                      <Table.Td>{d.kind.replaceAll("_", " ")}</Table.Td>
                      <Table.Td className="tabular">{d.platform_id ?? "—"}{d.platform_value ? ` (${d.platform_value})` : ""}</Table.Td>
                      <Table.Td className="tabular">{d.stripe_id ?? "—"}{d.stripe_value ? ` (${d.stripe_value})` : ""}</Table.Td>
                      <Table.Td ta="right" className="tabular">{money(d.platform_amount)}</Table.Td>
                      <Table.Td ta="right" className="tabular">{money(d.stripe_amount)}</Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
            {r.discrepancies.length > 1000 && <Text size="sm" c="dimmed">The first 1,000 of {numbers.format(r.discrepancies.length)} are shown; the export has them all.</Text>}
          </>
        )}
      </Stack>
    );
  }

  return (
    <Stack p="lg" data-testid="reconciliation">
      <Group align="flex-end">
        <TextInput type="date" label="From" value={from} onChange={(e) => setFrom(e.currentTarget.value)} />
        <TextInput type="date" label="To (exclusive)" value={to} onChange={(e) => setTo(e.currentTarget.value)} />
        <Button onClick={() => setPeriod([from, to])} disabled={!from || !to} data-testid="reconcile-run">
          Reconcile
        </Button>
        <Button variant="default" leftSection={<IconDownload size={16} />} onClick={() => void exportCsv()} disabled={!result.data} data-testid="reconcile-export">
          Export CSV
        </Button>
        {exported && (
          <Text size="sm" c={exported.ok ? "green" : "red"}>
            {exported.text}
          </Text>
        )}
      </Group>
      {body}
    </Stack>
  );
}
