// One payment: what Stripe holds about it, and (for finance and super_admin) a refund,
// full or partial, with a required reason. The refund is previewed first — what is
// still refundable and the MRR impact — and refused before anything is sent when it
// cannot be done; Stripe gets an idempotency key, so a retried refund never pays twice.
import { useState } from "react";
import { Alert, Button, Drawer, Group, Select, Stack, Table, Text, Textarea, TextInput, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQueryClient } from "@tanstack/react-query";

import { commands, type PaymentRow, type RefundPreview, type RefundRequest } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { formatCents, parseMajor } from "../../format/money";
import { formatDateTime } from "../../format/time";
import { useSession } from "../../shell/session";
import { PaymentStatusBadge } from "./badges";

export function PaymentDrawer({ payment, onClose }: { payment: PaymentRow | null; onClose: () => void }) {
  return (
    <Drawer opened={payment !== null} onClose={onClose} position="right" size={560} padding="lg" title={<Title order={3}>Payment</Title>} data-testid="payment-drawer">
      {payment && <PaymentDetail payment={payment} onDone={onClose} />}
    </Drawer>
  );
}

function PaymentDetail({ payment, onDone }: { payment: PaymentRow; onDone: () => void }) {
  const { can } = useSession();
  const fields: [string, string][] = [
    ["Amount", formatCents(payment.amount, payment.currency)],
    ["Refunded", formatCents(payment.amount_refunded, payment.currency)],
    ["Date", formatDateTime(payment.created)],
    ["Tenant", payment.tenant_name ?? "Not linked to a tenant"],
    ["Customer", `${payment.customer_email ?? "—"} (${payment.customer_id ?? "no customer"})`],
    ["Invoice", payment.invoice_number ?? payment.invoice_id ?? "—"],
    ["Payment method", payment.card_brand ? `${payment.card_brand} •••• ${payment.card_last4 ?? ""}` : "—"],
    ["Stripe charge", payment.id],
    ["Payment intent", payment.payment_intent_id ?? "—"],
  ];
  if (payment.failure_code || payment.failure_message) fields.push(["Failure", `${payment.failure_code ?? ""} ${payment.failure_message ?? ""}`.trim()]);
  const refundable = payment.amount - payment.amount_refunded;
  const canRefund = can("payments.refund") && ["succeeded", "partially_refunded"].includes(payment.status) && refundable > 0;
  return (
    <Stack>
      <Group>
        <PaymentStatusBadge status={payment.status} />
      </Group>
      <Table withRowBorders={false} verticalSpacing={4}>
        <Table.Tbody>
          {fields.map(([k, v]) => (
            <Table.Tr key={k}>
              <Table.Td c="dimmed" w={150}>{k}</Table.Td>
              <Table.Td className="tabular" style={{ wordBreak: "break-all" }}>{v}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {canRefund && <RefundForm payment={payment} onDone={onDone} />}
    </Stack>
  );
}

function RefundForm({ payment, onDone }: { payment: PaymentRow; onDone: () => void }) {
  const { actionsBlockedReason } = useSession();
  const queryClient = useQueryClient();
  const [amount, setAmount] = useState("");
  const [reason, setReason] = useState("");
  const [code, setCode] = useState<string | null>("requested_by_customer");
  const [preview, setPreview] = useState<RefundPreview | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** Any edit invalidates the preview: the confirmation must show what will be sent. */
  const edit =
    <T,>(set: (v: T) => void) =>
    (v: T) => {
      set(v);
      setPreview(null);
    };

  const minor = amount.trim() ? parseMajor(amount, payment.currency) : null;
  const request = (): RefundRequest => ({ charge_id: payment.id, amount: minor, reason: reason.trim(), stripe_reason: code });

  const check = async () => {
    setProblem(null);
    if (amount.trim() && minor === null) {
      setProblem("Type the amount in major units, e.g. 25.00, or leave it empty for a full refund.");
      return;
    }
    try {
      setPreview(await unwrap(commands.previewRefund(request())));
    } catch (error) {
      setProblem(errorMessage(error));
    }
  };
  const confirm = async () => {
    setBusy(true);
    try {
      const outcome = await unwrap(commands.refund(request()));
      notifications.show({ color: "green", title: "Refund sent", message: `Stripe refund ${outcome.result_id ?? ""} for ${payment.id}.` });
      await queryClient.invalidateQueries();
      onDone();
    } catch (error) {
      setProblem(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Stack gap="xs" mt="md" data-testid="refund-form">
      <Title order={4}>Refund</Title>
      <Group grow align="flex-start">
        <TextInput label={`Amount (${payment.currency.toUpperCase()})`} placeholder={`All ${formatCents(payment.amount - payment.amount_refunded, payment.currency)}`} value={amount} onChange={(e) => edit(setAmount)(e.currentTarget.value)} data-testid="refund-amount" />
        <Select label="Stripe reason" data={[{ value: "requested_by_customer", label: "Requested by customer" }, { value: "duplicate", label: "Duplicate" }, { value: "fraudulent", label: "Fraudulent" }]} value={code} onChange={edit(setCode)} />
      </Group>
      <Textarea label="Reason (for the audit log)" required autosize minRows={2} value={reason} onChange={(e) => edit(setReason)(e.currentTarget.value)} data-testid="refund-reason" />
      {problem && (
        <Alert color="red" data-testid="refund-problem">
          {problem}
        </Alert>
      )}
      {preview && (
        <Alert color="yellow" title="Confirm the refund" data-testid="refund-preview">
          <Text size="sm">
            Refund {formatCents(preview.refund_amount, preview.currency)} of {formatCents(preview.charge_amount, preview.currency)} ({preview.full ? "full" : "partial"}; {formatCents(preview.refundable, preview.currency)} refundable).
          </Text>
          <Text size="sm">
            MRR impact: {formatCents(preview.mrr_impact, preview.currency)} (customer MRR now {formatCents(preview.customer_mrr, preview.currency)}).
          </Text>
        </Alert>
      )}
      <Group justify="flex-end">
        {preview ? (
          <Button color="red" onClick={() => void confirm()} loading={busy} disabled={Boolean(actionsBlockedReason)} title={actionsBlockedReason ?? undefined} data-testid="refund-confirm">
            Refund {formatCents(preview.refund_amount, preview.currency)}
          </Button>
        ) : (
          <Button variant="default" onClick={() => void check()} disabled={!reason.trim()} data-testid="refund-check">
            Review refund
          </Button>
        )}
      </Group>
    </Stack>
  );
}
