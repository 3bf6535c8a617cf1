// Audit log: every action taken through the console, filtered by who, action,
// target, time range and free text, exportable as CSV or JSON.
import { useState } from "react";
import { Group, Loader, Pagination, Stack, Text, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { IconListDetails } from "@tabler/icons-react";

import { commands, type AuditRow } from "../../bindings";
import { unwrap } from "../../backend/call";
import { EmptyView, ErrorState, LoadingState } from "../../components/StateViews";
import { AuditEntryDrawer } from "./AuditEntryDrawer";
import { AuditExport } from "./AuditExport";
import { AuditFilters, EMPTY_FILTERS, toBackendFilter, type AuditFilterValues } from "./AuditFilters";
import { AuditTable } from "./AuditTable";
import { numbers } from "../../format/locale";

const PAGE_SIZE = 100;

export function AuditScreen() {
  const [filters, setFilters] = useState<AuditFilterValues>(EMPTY_FILTERS);
  const [debounced] = useDebouncedValue(filters, 250);
  const [page, setPage] = useState(1);
  const [selected, setSelected] = useState<AuditRow | null>(null);
  const filter = toBackendFilter(debounced);

  const audit = useQuery({
    queryKey: ["audit", filter, page],
    queryFn: () => unwrap(commands.audit({ ...filter, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE })),
    placeholderData: keepPreviousData,
  });
  const total = audit.data?.total ?? 0;
  const filtered = Object.values(debounced).some((v) => (Array.isArray(v) ? v.some(Boolean) : Boolean(v)));

  let body;
  if (audit.isPending) body = <LoadingState label="Loading the audit log…" />;
  else if (audit.isError) body = <ErrorState title="Could not load the audit log" error={audit.error} onRetry={() => void audit.refetch()} />;
  else if (audit.data.rows.length === 0)
    body = filtered ? (
      <EmptyView title="No entries match these filters" description="Widen the time range or clear a filter." />
    ) : (
      <EmptyView icon={<IconListDetails size={28} />} title="No audit entries yet" description="Every sign-in and action taken through the console is recorded here." />
    );
  else body = <AuditTable entries={audit.data.rows} onOpen={setSelected} />;

  return (
    <Stack gap={0} h="100%" data-testid="audit-screen">
      <Stack gap="md" px="lg" pt="lg" pb="md">
        <Group justify="space-between" wrap="nowrap">
          <Group gap="xs" align="baseline">
            <Title order={2}>Audit log</Title>
            {audit.data && (
              <Text c="dimmed" className="tabular">
                {numbers.format(total)}
              </Text>
            )}
            {audit.isFetching && !audit.isPending && <Loader size={14} />}
          </Group>
          <AuditExport filter={filter} disabled={total === 0} />
        </Group>
        <AuditFilters
          value={filters}
          onChange={(next) => {
            setFilters(next);
            setPage(1);
          }}
        />
      </Stack>
      <div style={{ flex: 1, minHeight: 0, overflow: "auto", borderTop: "1px solid var(--mantine-color-default-border)" }}>{body}</div>
      {total > PAGE_SIZE && (
        <Group justify="center" py="sm" style={{ borderTop: "1px solid var(--mantine-color-default-border)" }}>
          <Pagination total={Math.ceil(total / PAGE_SIZE)} value={page} onChange={setPage} size="sm" />
        </Group>
      )}
      <AuditEntryDrawer entry={selected} onClose={() => setSelected(null)} />
    </Stack>
  );
}
