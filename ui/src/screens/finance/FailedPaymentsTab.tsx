// Payments that failed and are still owed: the decline code and message, how many
// attempts Stripe made, its next automatic retry, whether the platform told the
// customer — and a manual retry for finance.
import { useState } from "react";
import { Badge, Button, Table, Text } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconCircleCheck } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";

import { commands } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { EmptyView, ErrorState, LoadingState } from "../../components/StateViews";
import { formatCents } from "../../format/money";
import { formatClock, formatDate, formatDateTime } from "../../format/time";
import { useSession } from "../../shell/session";

/** A timestamp as its day over its time, each unbroken: narrow, and never cut mid-date. */
function DateTime({ iso, empty = "—", testId }: { iso: string | null; empty?: string; testId: string }) {
  if (!iso) return <Text size="sm" c="dimmed" style={{ whiteSpace: "nowrap" }} data-testid={testId}>{empty}</Text>;
  return (
    <div title={formatDateTime(iso)} data-testid={testId}>
      <Text size="sm" className="tabular" style={{ whiteSpace: "nowrap" }}>{formatDate(iso)}</Text>
      <Text size="xs" c="dimmed" className="tabular" style={{ whiteSpace: "nowrap" }}>{formatClock(iso)}</Text>
    </div>
  );
}

export function FailedPaymentsTab() {
  const { can, actionsBlockedReason } = useSession();
  const queryClient = useQueryClient();
  const [busy, setBusy] = useState<string | null>(null);
  const failed = useQuery({ queryKey: ["finance-failed"], queryFn: () => unwrap(commands.failedPayments(null)) });
  if (failed.isPending) return <LoadingState label="Loading failed payments…" />;
  if (failed.isError) return <ErrorState title="Could not load failed payments" error={failed.error} onRetry={() => void failed.refetch()} />;
  if (failed.data.length === 0) return <EmptyView icon={<IconCircleCheck size={28} />} title="No failed payments outstanding" description="Open invoices whose latest charge failed appear here." />;

  const retry = async (invoiceId: string) => {
    setBusy(invoiceId);
    try {
      await unwrap(commands.retryPayment(invoiceId));
      notifications.show({ color: "green", title: "Payment retried", message: "Stripe accepted the retry; the list shows the outcome after the sync." });
      await queryClient.invalidateQueries();
    } catch (error) {
      notifications.show({ color: "red", title: "Payment not retried", message: errorMessage(error) });
    } finally {
      setBusy(null);
    }
  };

  return (
    <Table highlightOnHover stickyHeader verticalSpacing="xs" horizontalSpacing="sm" data-testid="failed-payments">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Tenant / invoice</Table.Th>
          <Table.Th>Failure</Table.Th>
          <Table.Th ta="right">Attempts</Table.Th>
          <Table.Th>Failed</Table.Th>
          <Table.Th>Next retry</Table.Th>
          <Table.Th>Notified</Table.Th>
          <Table.Th ta="right">Owed</Table.Th>
          {can("payments.refund") && <Table.Th />}
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {failed.data.map((f) => (
          <Table.Tr key={f.invoice.id} data-testid="failed-row">
            <Table.Td>
              <Text size="sm">{f.invoice.tenant_name ?? f.invoice.customer_email ?? f.invoice.customer_id}</Text>
              <Text size="xs" c="dimmed">{f.invoice.number ?? f.invoice.id}</Text>
            </Table.Td>
            <Table.Td>
              <Text size="sm">{f.failure_code ?? "—"}</Text>
              <Text size="xs" c="dimmed" lineClamp={2} style={{ overflowWrap: "anywhere" }}>{f.failure_message ?? ""}</Text>
            </Table.Td>
            <Table.Td ta="right" className="tabular">{f.invoice.attempt_count}</Table.Td>
            <Table.Td><DateTime iso={f.failed_at} testId="failed-at" /></Table.Td>
            <Table.Td><DateTime iso={f.next_retry} empty="None scheduled" testId="next-retry" /></Table.Td>
            <Table.Td>{f.customer_notified ? <Badge color="green" variant="light">yes</Badge> : <Badge color="gray" variant="light">no</Badge>}</Table.Td>
            <Table.Td ta="right" className="tabular">{formatCents(f.invoice.amount_remaining, f.invoice.currency)}</Table.Td>
            {can("payments.refund") && (
              <Table.Td>
                <Button size="xs" variant="default" loading={busy === f.invoice.id} disabled={Boolean(actionsBlockedReason)} title={actionsBlockedReason ?? undefined} onClick={() => void retry(f.invoice.id)}>
                  Retry now
                </Button>
              </Table.Td>
            )}
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
