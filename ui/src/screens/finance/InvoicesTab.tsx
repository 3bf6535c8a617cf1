// Invoices by state — paid, open, overdue (open and past due: Stripe has no such
// status), draft, void, uncollectible — searchable by number, customer or tenant.
// A row opens the invoice with its lines, taxes, discounts, payments and refunds.
import { useState } from "react";
import { Button, Group, MultiSelect, Pagination, Stack, Table, Text, TextInput } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { IconPlus, IconSearch } from "@tabler/icons-react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { commands, type InvoiceState } from "../../bindings";
import { unwrap } from "../../backend/call";
import { EmptyView, ErrorState, LoadingState } from "../../components/StateViews";
import { numbers } from "../../format/locale";
import { formatCents } from "../../format/money";
import { formatDate } from "../../format/time";
import { InvoiceStateBadge } from "./badges";
import { InvoiceDrawer } from "./InvoiceDrawer";
import { NewInvoiceModal } from "./NewInvoiceModal";
import { useSession } from "../../shell/session";

const PAGE = 100;
const STATES: InvoiceState[] = ["open", "overdue", "paid", "draft", "void", "uncollectible"];

export function InvoicesTab() {
  const [search, setSearch] = useState("");
  const [debounced] = useDebouncedValue(search.trim(), 200);
  const [states, setStates] = useState<string[]>([]);
  const [page, setPage] = useState(1);
  const [open, setOpen] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const { can } = useSession();
  const invoices = useQuery({
    queryKey: ["finance-invoices", debounced, states, page],
    queryFn: () => unwrap(commands.invoices({ states: states as InvoiceState[], tenant_id: null, search: debounced || null, limit: PAGE, offset: (page - 1) * PAGE })),
    placeholderData: keepPreviousData,
  });

  let body;
  if (invoices.isPending) body = <LoadingState label="Loading invoices…" />;
  else if (invoices.isError) body = <ErrorState title="Could not load invoices" error={invoices.error} onRetry={() => void invoices.refetch()} />;
  else if (invoices.data.rows.length === 0) body = <EmptyView title="No invoice matches" description="Search looks at invoice numbers and ids, customer emails and tenant names." />;
  else
    body = (
      <Table highlightOnHover stickyHeader verticalSpacing="xs" horizontalSpacing="lg">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Number</Table.Th>
            <Table.Th>Tenant / customer</Table.Th>
            <Table.Th>State</Table.Th>
            <Table.Th>Created</Table.Th>
            <Table.Th>Due</Table.Th>
            <Table.Th ta="right">Total</Table.Th>
            <Table.Th ta="right">Remaining</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {invoices.data.rows.map((i) => (
            <Table.Tr key={i.id} onClick={() => setOpen(i.id)} style={{ cursor: "pointer" }} data-testid="invoice-row">
              <Table.Td className="tabular">{i.number ?? i.id}</Table.Td>
              <Table.Td>
                <Text size="sm" truncate>{i.tenant_name ?? "Not linked to a tenant"}</Text>
                <Text size="xs" c="dimmed" truncate>{i.customer_email ?? i.customer_id}</Text>
              </Table.Td>
              <Table.Td><InvoiceStateBadge state={i.state} /></Table.Td>
              <Table.Td className="tabular">{formatDate(i.created)}</Table.Td>
              <Table.Td className="tabular">{formatDate(i.due_date)}</Table.Td>
              <Table.Td ta="right" className="tabular">{formatCents(i.total, i.currency)}</Table.Td>
              <Table.Td ta="right" className="tabular">{formatCents(i.amount_remaining, i.currency)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    );

  const total = invoices.data?.total ?? 0;
  return (
    <Stack gap={0} h="100%">
      <Group gap="sm" px="lg" py="sm">
        <TextInput w={300} placeholder="Number, customer email or tenant" leftSection={<IconSearch size={16} />} value={search} onChange={(e) => { setSearch(e.currentTarget.value); setPage(1); }} aria-label="Search invoices" data-testid="invoice-search" />
        <MultiSelect w={280} placeholder={states.length ? undefined : "Any state"} data={STATES} value={states} onChange={(v) => { setStates(v); setPage(1); }} clearable aria-label="State" data-testid="invoice-states" />
        <Text size="sm" c="dimmed" ml="auto">{numbers.format(total)} invoices</Text>
        {can("invoices.manage") && (
          <Button leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)} data-testid="new-invoice">
            New invoice
          </Button>
        )}
      </Group>
      <div style={{ flex: 1, overflow: "auto", borderTop: "1px solid var(--mantine-color-gray-3)" }}>{body}</div>
      {total > PAGE && (
        <Group justify="center" p="sm" style={{ borderTop: "1px solid var(--mantine-color-gray-3)" }}>
          <Pagination total={Math.ceil(total / PAGE)} value={page} onChange={setPage} size="sm" />
        </Group>
      )}
      <InvoiceDrawer invoiceId={open} onClose={() => setOpen(null)} />
      {creating && <NewInvoiceModal onClose={() => setCreating(false)} />}
    </Stack>
  );
}
