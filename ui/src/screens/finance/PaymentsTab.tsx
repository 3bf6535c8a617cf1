// Every Stripe payment with its tenant: filters (status, currency, dates, amounts,
// failure code), free-text search (customer email, invoice number, Stripe id), sorting
// in SQL, a virtualised list that stays fast at a million rows, and a CSV export of
// exactly the filtered rows with a progress bar. A row opens the payment.
import { useCallback, useMemo, useState } from "react";
import { Badge, Button, Group, MultiSelect, Stack, Text, TextInput } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { IconDownload, IconSearch } from "@tabler/icons-react";
import { createColumnHelper, type SortingState } from "@tanstack/react-table";
import { Channel } from "@tauri-apps/api/core";

import { commands, type PaymentQuery, type PaymentRow, type PaymentSort, type PaymentStatus, type Progress } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { ProgressLine } from "../../components/ProgressReport";
import { EmptyView, ErrorState, LoadingState } from "../../components/StateViews";
import { usePages } from "../../components/usePages";
import { VirtualTable } from "../../components/VirtualTable";
import { numbers } from "../../format/locale";
import { formatCents, parseMajor } from "../../format/money";
import { formatDateTime } from "../../format/time";
import { PaymentDrawer } from "./PaymentDrawer";
import { PaymentStatusBadge } from "./badges";

const PAGE_SIZE = 200;
const STATUSES: PaymentStatus[] = ["succeeded", "failed", "pending", "refunded", "partially_refunded", "disputed"];
const column = createColumnHelper<PaymentRow | null>();

const columns = [
  column.accessor((r) => r?.created ?? "", { id: "created" satisfies PaymentSort, header: "Date", sortDescFirst: true, cell: (c) => formatDateTime(c.getValue()) }),
  column.accessor((r) => r?.tenant_name ?? r?.customer_email ?? "", {
    id: "who",
    header: "Tenant / customer",
    enableSorting: false,
    cell: (c) => (
      <Stack gap={0}>
        <Text size="sm" truncate>{c.row.original?.tenant_name ?? "Not linked to a tenant"}</Text>
        <Text size="xs" c="dimmed" truncate>{c.row.original?.customer_email ?? c.row.original?.customer_id ?? "—"}</Text>
      </Stack>
    ),
  }),
  column.accessor((r) => r?.status ?? "", { id: "status" satisfies PaymentSort, header: "Status", cell: (c) => <PaymentStatusBadge status={c.getValue()} /> }),
  column.accessor((r) => r?.invoice_number ?? "", { id: "invoice", header: "Invoice", enableSorting: false, cell: (c) => c.getValue() || "—" }),
  column.accessor((r) => (r?.card_brand ? `${r.card_brand} •••• ${r.card_last4 ?? ""}` : ""), { id: "method", header: "Method", enableSorting: false, cell: (c) => c.getValue() || "—" }),
  column.accessor((r) => r?.amount ?? 0, {
    id: "amount" satisfies PaymentSort,
    header: "Amount",
    sortDescFirst: true,
    meta: { numeric: true },
    cell: (c) => (c.row.original ? formatCents(c.getValue(), c.row.original.currency) : ""),
  }),
];
const GRID = "170px minmax(200px, 2fr) 180px 130px 140px 120px";

export function PaymentsTab() {
  const [search, setSearch] = useState("");
  const [debounced] = useDebouncedValue(search.trim(), 200);
  const [statuses, setStatuses] = useState<string[]>([]);
  const [currency, setCurrency] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [minAmount, setMinAmount] = useState("");
  const [maxAmount, setMaxAmount] = useState("");
  const [failureCode, setFailureCode] = useState("");
  const [sorting, setSorting] = useState<SortingState>([{ id: "created", desc: true }]);
  const [visible, setVisible] = useState({ start: 0, end: 0 });
  const [open, setOpen] = useState<PaymentRow | null>(null);
  const [exporting, setExporting] = useState<Progress | null | "starting">(null);
  const [exportResult, setExportResult] = useState<{ ok: boolean; text: string } | null>(null);

  const badAmount = (minAmount && parseMajor(minAmount) === null) || (maxAmount && parseMajor(maxAmount) === null);
  const query: PaymentQuery = useMemo(
    () => ({
      tenant_id: null,
      from: from || null,
      to: to || null,
      statuses: statuses as PaymentStatus[],
      min_amount: minAmount ? parseMajor(minAmount) : null,
      max_amount: maxAmount ? parseMajor(maxAmount) : null,
      currency: currency.trim() || null,
      failure_code: failureCode.trim() || null,
      search: debounced || null,
      sort: (sorting[0]?.id ?? "created") as PaymentSort,
      descending: sorting[0]?.desc ?? true,
      limit: null,
      offset: null,
    }),
    [from, to, statuses, minAmount, maxAmount, currency, failureCode, debounced, sorting],
  );
  const fetchPage = useCallback((offset: number, limit: number) => unwrap(commands.payments({ ...query, limit, offset })), [query]);
  const pages = usePages(["finance-payments", query], fetchPage, visible, PAGE_SIZE);
  const onVisible = useCallback((start: number, end: number) => setVisible({ start, end }), []);

  const exportCsv = async () => {
    setExporting("starting");
    setExportResult(null);
    try {
      const channel = new Channel<Progress>();
      channel.onmessage = setExporting;
      const file = await unwrap(commands.exportPayments({ ...query, limit: null, offset: null }, channel));
      setExportResult({ ok: true, text: `${numbers.format(file.rows)} payments written to ${file.path}` });
    } catch (error) {
      setExportResult({ ok: false, text: errorMessage(error) });
    } finally {
      setExporting(null);
    }
  };

  let body;
  if (badAmount) body = <EmptyView title="Amounts must be numbers" description="Type amounts in major units, e.g. 49.99." />;
  else if (pages.isPending) body = <LoadingState label="Loading payments…" />;
  else if (pages.error && pages.total === undefined) body = <ErrorState title="Could not load payments" error={pages.error} onRetry={pages.refetch} />;
  else if (!pages.total) body = <EmptyView title="No payment matches" description="Search looks at customer emails and names, tenant names, invoice numbers and Stripe ids (ch_, pi_, in_, cus_)." />;
  else
    body = (
      <VirtualTable
        columns={columns}
        gridTemplate={GRID}
        total={pages.total}
        rowAt={pages.rowAt}
        rowId={(r) => r.id}
        sorting={sorting}
        onSortingChange={setSorting}
        onOpen={(row) => setOpen(row)}
        onVisibleRangeChange={onVisible}
        testId="payment"
      />
    );

  return (
    <Stack gap={0} h="100%">
      <Group gap="sm" px="lg" py="sm" wrap="wrap" align="flex-end">
        <TextInput w={260} placeholder="Email, invoice number or Stripe id" leftSection={<IconSearch size={16} />} value={search} onChange={(e) => setSearch(e.currentTarget.value)} aria-label="Search payments" data-testid="payment-search" />
        <MultiSelect w={230} placeholder={statuses.length ? undefined : "Any status"} data={STATUSES.map((s) => ({ value: s, label: s.replace("_", " ") }))} value={statuses} onChange={setStatuses} clearable aria-label="Status" />
        <TextInput w={80} placeholder="USD" value={currency} onChange={(e) => setCurrency(e.currentTarget.value)} aria-label="Currency" />
        <DateFilter label="From" title="From (inclusive)" value={from} onChange={setFrom} />
        <DateFilter label="To" title="To (exclusive)" value={to} onChange={setTo} />
        <TextInput w={90} placeholder="Min" value={minAmount} onChange={(e) => setMinAmount(e.currentTarget.value)} aria-label="Minimum amount" error={minAmount && parseMajor(minAmount) === null ? " " : undefined} />
        <TextInput w={90} placeholder="Max" value={maxAmount} onChange={(e) => setMaxAmount(e.currentTarget.value)} aria-label="Maximum amount" error={maxAmount && parseMajor(maxAmount) === null ? " " : undefined} />
        <TextInput w={150} placeholder="Failure code" value={failureCode} onChange={(e) => setFailureCode(e.currentTarget.value)} aria-label="Failure code" />
        <Group gap="xs" ml="auto" wrap="nowrap">
          <Text size="sm" c="dimmed" className="tabular" data-testid="payment-total">
            {pages.total !== undefined ? `${numbers.format(pages.total)} payments` : ""}
          </Text>
          <Button leftSection={<IconDownload size={16} />} variant="default" onClick={() => void exportCsv()} loading={exporting !== null} disabled={!pages.total} data-testid="export-payments">
            Export CSV
          </Button>
        </Group>
      </Group>
      {exporting !== null && (
        <div style={{ padding: "0 var(--mantine-spacing-lg) var(--mantine-spacing-xs)" }}>
          <ProgressLine report={exporting === "starting" ? null : exporting} label="Exporting" />
        </div>
      )}
      {exportResult && (
        <Badge variant="light" color={exportResult.ok ? "green" : "red"} mx="lg" mb="xs" tt="none" size="lg" style={{ alignSelf: "flex-start", maxWidth: "calc(100% - 48px)" }} data-testid="export-result">
          {exportResult.text}
        </Badge>
      )}
      <div style={{ flex: 1, minHeight: 0 }}>{body}</div>
      <PaymentDrawer payment={open} onClose={() => setOpen(null)} />
    </Stack>
  );
}

/** A date filter that says what it filters ("From", "To") and reads as empty when empty
 *  (WebKit draws today's date in an empty one, like a value; app.css hides it). */
function DateFilter({ label, title, value, onChange }: { label: string; title: string; value: string; onChange: (v: string) => void }) {
  return (
    <TextInput
      w={176}
      type="date"
      value={value}
      onChange={(e) => onChange(e.currentTarget.value)}
      aria-label={label}
      title={title}
      leftSection={<Text size="sm" c="dimmed" lh={1}>{label}</Text>}
      leftSectionWidth={44}
      data-empty={value ? undefined : true}
      data-testid={`payment-${label.toLowerCase()}`}
    />
  );
}
