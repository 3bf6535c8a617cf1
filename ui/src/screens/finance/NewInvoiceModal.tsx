// A manual invoice for a custom deal: the customer, a due date, line items and a
// reason. Checked here for obvious mistakes and in the library before anything is sent;
// Stripe then emails it to the customer.
import { useState } from "react";
import { ActionIcon, Button, Group, Modal, NumberInput, Select, Stack, Text, Textarea, TextInput } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { IconPlus, IconTrash } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";

import { commands } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { formatCents, parseMajor } from "../../format/money";
import { useSession } from "../../shell/session";

type Line = { description: string; quantity: number; price: string };

function inDays(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

export function NewInvoiceModal({ onClose }: { onClose: () => void }) {
  const { actionsBlockedReason } = useSession();
  const queryClient = useQueryClient();
  const [search, setSearch] = useState("");
  const [debounced] = useDebouncedValue(search.trim(), 200);
  const [customer, setCustomer] = useState<string | null>(null);
  const [currency, setCurrency] = useState("usd");
  const [due, setDue] = useState(inDays(30));
  const [lines, setLines] = useState<Line[]>([{ description: "", quantity: 1, price: "" }]);
  const [memo, setMemo] = useState("");
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const customers = useQuery({ queryKey: ["finance-customers", debounced], queryFn: () => unwrap(commands.customers(debounced)) });

  const priced = lines.map((l) => parseMajor(l.price, currency));
  const total = priced.reduce<number>((sum, p, i) => sum + (p ?? 0) * (lines[i]?.quantity ?? 0), 0);
  const ready = customer && due && reason.trim() && lines.every((l, i) => l.description.trim() && (priced[i] ?? 0) > 0 && l.quantity > 0);
  const setLine = (i: number, patch: Partial<Line>) => setLines(lines.map((l, j) => (j === i ? { ...l, ...patch } : l)));

  const create = async () => {
    if (!customer) return;
    setBusy(true);
    setProblem(null);
    try {
      const outcome = await unwrap(
        commands.createInvoice({
          customer_id: customer,
          currency,
          due_date: due,
          lines: lines.map((l, i) => ({ description: l.description.trim(), quantity: l.quantity, unit_amount: priced[i] ?? 0 })),
          memo: memo.trim() || null,
          reason: reason.trim(),
        }),
      );
      notifications.show({ color: "green", title: "Invoice created", message: `${outcome.result_id ?? ""} was finalised and emailed to the customer.` });
      await queryClient.invalidateQueries();
      onClose();
    } catch (error) {
      setProblem(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  const options = (customers.data ?? []).map((c) => ({ value: c.id, label: `${c.tenant_name ?? "No tenant"} · ${c.email ?? c.id}` }));
  return (
    <Modal opened onClose={onClose} title="New invoice" size="lg" centered>
      <Stack>
        <Select
          label="Customer"
          searchable
          searchValue={search}
          onSearchChange={setSearch}
          filter={({ options: o }) => o}
          data={options}
          value={customer}
          onChange={(v) => {
            setCustomer(v);
            const chosen = customers.data?.find((c) => c.id === v);
            if (chosen?.currency) setCurrency(chosen.currency);
          }}
          placeholder="Tenant, email or cus_ id"
          nothingFoundMessage={customers.isFetching ? "Searching…" : "No customer matches"}
          data-testid="invoice-customer"
        />
        <Group grow>
          <TextInput label="Currency" value={currency.toUpperCase()} onChange={(e) => setCurrency(e.currentTarget.value.toLowerCase())} maxLength={3} />
          <TextInput label="Due date" type="date" value={due} onChange={(e) => setDue(e.currentTarget.value)} />
        </Group>
        <Stack gap={6}>
          <Text size="sm" fw={500}>
            Lines
          </Text>
          {lines.map((l, i) => (
            <Group key={i} gap="xs" wrap="nowrap" align="flex-start">
              <TextInput style={{ flex: 1 }} placeholder="Description" value={l.description} onChange={(e) => setLine(i, { description: e.currentTarget.value })} aria-label={`Line ${i + 1} description`} />
              <NumberInput w={80} min={1} max={100000} value={l.quantity} onChange={(v) => setLine(i, { quantity: typeof v === "number" ? v : 1 })} aria-label={`Line ${i + 1} quantity`} />
              <TextInput w={120} placeholder="Unit price" value={l.price} onChange={(e) => setLine(i, { price: e.currentTarget.value })} error={l.price && priced[i] === null ? " " : undefined} aria-label={`Line ${i + 1} unit price`} />
              <ActionIcon variant="subtle" color="gray" size="lg" disabled={lines.length === 1} onClick={() => setLines(lines.filter((_, j) => j !== i))} aria-label={`Remove line ${i + 1}`}>
                <IconTrash size={16} />
              </ActionIcon>
            </Group>
          ))}
          <Group justify="space-between">
            <Button variant="subtle" size="xs" leftSection={<IconPlus size={14} />} onClick={() => setLines([...lines, { description: "", quantity: 1, price: "" }])} disabled={lines.length >= 50}>
              Add line
            </Button>
            <Text fw={600} className="tabular">
              Total {formatCents(total, currency.length === 3 ? currency : "usd")}
            </Text>
          </Group>
        </Stack>
        <TextInput label="Memo on the invoice" value={memo} onChange={(e) => setMemo(e.currentTarget.value)} />
        <Textarea label="Reason (for the audit log)" required autosize minRows={2} value={reason} onChange={(e) => setReason(e.currentTarget.value)} />
        {problem && (
          <Text c="red" size="sm">
            {problem}
          </Text>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button onClick={() => void create()} loading={busy} disabled={!ready || Boolean(actionsBlockedReason)} title={actionsBlockedReason ?? undefined}>
            Create and send
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
