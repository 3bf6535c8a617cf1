// One invoice: lines with taxes and discounts, totals, the payments that tried to pay
// it and their refunds; "Resend" mails an open invoice to the customer again
// (invoices.manage), "Retry payment" charges it now (payments.refund).
import { Button, Drawer, Group, Stack, Table, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { commands } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { ErrorState, LoadingState } from "../../components/StateViews";
import { formatCents } from "../../format/money";
import { formatDate, formatDateTime } from "../../format/time";
import { useSession } from "../../shell/session";
import { InvoiceStateBadge, PaymentStatusBadge } from "./badges";

export function InvoiceDrawer({ invoiceId, onClose }: { invoiceId: string | null; onClose: () => void }) {
  return (
    <Drawer opened={invoiceId !== null} onClose={onClose} position="right" size={720} padding="lg" title={<Title order={3}>Invoice</Title>} data-testid="invoice-drawer">
      {invoiceId && <InvoiceBody id={invoiceId} />}
    </Drawer>
  );
}

function InvoiceBody({ id }: { id: string }) {
  const { can, actionsBlockedReason } = useSession();
  const queryClient = useQueryClient();
  const [busy, setBusy] = useState<string | null>(null);
  const detail = useQuery({ queryKey: ["finance-invoice", id], queryFn: () => unwrap(commands.invoice(id)) });
  if (detail.isPending) return <LoadingState label="Loading the invoice…" />;
  if (detail.isError) return <ErrorState title="Could not load the invoice" error={detail.error} onRetry={() => void detail.refetch()} />;
  const d = detail.data;
  const inv = d.invoice;
  const money = (v: number) => formatCents(v, inv.currency);
  const open = inv.state === "open" || inv.state === "overdue";

  const act = async (kind: "resend" | "retry") => {
    setBusy(kind);
    try {
      await unwrap(kind === "resend" ? commands.resendInvoice(id) : commands.retryPayment(id));
      notifications.show({ color: "green", title: kind === "resend" ? "Invoice sent again" : "Payment retried", message: `${inv.number ?? id}: Stripe accepted the request.` });
      await queryClient.invalidateQueries();
    } catch (error) {
      notifications.show({ color: "red", title: kind === "resend" ? "Invoice not sent" : "Payment not retried", message: errorMessage(error) });
    } finally {
      setBusy(null);
    }
  };

  const downloadPdf = async () => {
    setBusy("pdf");
    try {
      const path = await unwrap(commands.downloadInvoicePdf(id));
      notifications.show({ color: "green", title: "PDF downloaded", message: path });
    } catch (error) {
      notifications.show({ color: "red", title: "PDF not downloaded", message: errorMessage(error) });
    } finally {
      setBusy(null);
    }
  };

  return (
    <Stack>
      <Group justify="space-between">
        <Group gap="sm">
          <Text fw={600} className="tabular">{inv.number ?? inv.id}</Text>
          <InvoiceStateBadge state={inv.state} />
        </Group>
        <Group gap="xs">
          {d.invoice_pdf && (
            <Button size="xs" variant="default" loading={busy === "pdf"} onClick={() => void downloadPdf()} data-testid="invoice-pdf">
              Download PDF
            </Button>
          )}
          {open && can("invoices.manage") && (
            <Button size="xs" variant="default" loading={busy === "resend"} disabled={Boolean(actionsBlockedReason)} title={actionsBlockedReason ?? undefined} onClick={() => void act("resend")}>
              Resend
            </Button>
          )}
          {open && can("payments.refund") && (
            <Button size="xs" loading={busy === "retry"} disabled={Boolean(actionsBlockedReason)} title={actionsBlockedReason ?? undefined} onClick={() => void act("retry")}>
              Retry payment
            </Button>
          )}
        </Group>
      </Group>
      <Text size="sm" c="dimmed">
        {inv.tenant_name ?? "Not linked to a tenant"} · {inv.customer_email ?? inv.customer_id} · created {formatDate(inv.created)} · due {formatDate(inv.due_date)}
        {d.paid_at ? ` · paid ${formatDateTime(d.paid_at)}` : ""}
        {d.next_payment_attempt ? ` · next attempt ${formatDateTime(d.next_payment_attempt)}` : ""}
      </Text>
      <Table verticalSpacing={4} data-testid="invoice-lines">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Description</Table.Th>
            <Table.Th>Period</Table.Th>
            <Table.Th ta="right">Qty</Table.Th>
            <Table.Th ta="right">Discount</Table.Th>
            <Table.Th ta="right">Tax</Table.Th>
            <Table.Th ta="right">Amount</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {d.lines.map((l, i) => (
            <Table.Tr key={i}>
              <Table.Td>{l.description ?? "—"}{l.proration ? " (proration)" : ""}</Table.Td>
              <Table.Td className="tabular">{l.period_start ? `${formatDate(l.period_start)} – ${formatDate(l.period_end)}` : "—"}</Table.Td>
              <Table.Td ta="right" className="tabular">{l.quantity ?? "—"}</Table.Td>
              <Table.Td ta="right" className="tabular">{l.discount ? money(-l.discount) : "—"}</Table.Td>
              <Table.Td ta="right" className="tabular">{l.tax ? money(l.tax) : "—"}</Table.Td>
              <Table.Td ta="right" className="tabular">{money(l.amount)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
        <Table.Tfoot>
          {[
            ["Subtotal", d.subtotal],
            ["Discount", -d.discount],
            ["Tax", d.tax],
            ["Total", inv.total],
            ["Paid", d.amount_paid],
            ["Remaining", inv.amount_remaining],
          ].map(([k, v]) => (
            <Table.Tr key={k as string}>
              <Table.Td colSpan={5} ta="right" c="dimmed">{k}</Table.Td>
              <Table.Td ta="right" className="tabular" fw={k === "Total" ? 700 : undefined}>{money(v as number)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tfoot>
      </Table>
      <Title order={4}>Payments</Title>
      {d.payments.length === 0 ? (
        <Text size="sm" c="dimmed">No payment attempt yet.</Text>
      ) : (
        <Table verticalSpacing={4}>
          <Table.Tbody>
            {d.payments.map((p) => (
              <Table.Tr key={p.id}>
                <Table.Td className="tabular">{formatDateTime(p.created)}</Table.Td>
                <Table.Td><PaymentStatusBadge status={p.status} /></Table.Td>
                <Table.Td>{p.failure_message ?? (p.card_brand ? `${p.card_brand} •••• ${p.card_last4 ?? ""}` : "")}</Table.Td>
                <Table.Td ta="right" className="tabular">{formatCents(p.amount, p.currency)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {d.refunds.length > 0 && (
        <>
          <Title order={4}>Refunds</Title>
          <Table verticalSpacing={4} data-testid="invoice-refunds">
            <Table.Tbody>
              {d.refunds.map((r) => (
                <Table.Tr key={r.id}>
                  <Table.Td className="tabular">{formatDateTime(r.created)}</Table.Td>
                  <Table.Td>{r.reason?.replaceAll("_", " ") ?? "—"}</Table.Td>
                  <Table.Td>{r.status ?? ""}</Table.Td>
                  <Table.Td ta="right" className="tabular">{formatCents(r.amount, r.currency)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </>
      )}
    </Stack>
  );
}
