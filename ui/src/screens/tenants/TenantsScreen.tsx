// Tenants: a searchable, sortable, virtualised list of every tenant, and the tenant
// detail. Keyboard: type to search, arrows move, Enter opens, Esc closes.
import { useCallback, useEffect, useRef, useState, type KeyboardEvent } from "react";
import { Button, Group, Loader, Stack, Text, TextInput, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { IconBuildingSkyscraper, IconPlus, IconSearch } from "@tabler/icons-react";
import type { SortingState } from "@tanstack/react-table";

import type { TenantSort } from "../../bindings";
import { EmptyView, ErrorState, LoadingState } from "../../components/StateViews";
import { formatAge } from "../../format/time";
import { useSession } from "../../shell/session";
import { NewSandboxTenantModal, useCanProvision } from "./NewSandboxTenantModal";
import { TenantDetailDrawer } from "./TenantDetailDrawer";
import { TenantTable } from "./TenantTable";
import { useTenantPages } from "./useTenantPages";
import { numbers } from "../../format/locale";

/** The backend searches at most this many characters (tenants::MAX_SEARCH_CHARS). */
const SEARCH_LIMIT = 200;

export function TenantsScreen({
  openTenantId,
  onOpenTenant,
  onCloseTenant,
}: {
  openTenantId: string | null;
  onOpenTenant: (id: string) => void;
  onCloseTenant: () => void;
}) {
  const { staff } = useSession();
  const searchRef = useRef<HTMLInputElement>(null);
  const canProvision = useCanProvision();
  const [provisioning, setProvisioning] = useState(false);
  const [search, setSearch] = useState("");
  const [debounced] = useDebouncedValue(search.trim(), 150);
  const [sorting, setSorting] = useState<SortingState>([{ id: "name", desc: false }]);
  // The keyboard cursor belongs to one query: a new search or sort starts it afresh.
  const [cursor, setCursor] = useState({ query: "", index: -1 });
  const [range, setRange] = useState({ start: 0, end: 0 });
  const sort = sorting[0];
  const pages = useTenantPages(
    { search: debounced, sort: (sort?.id ?? "name") as TenantSort, descending: sort?.desc ?? false, sandboxOnly: staff.sandbox_only },
    range,
  );
  const total = pages.total ?? 0;
  const queryId = JSON.stringify([debounced, sorting]);
  const activeIndex = cursor.query === queryId ? cursor.index : -1;
  const setActiveIndex = useCallback((index: number) => {
    setCursor({ query: queryId, index });
  }, [queryId]);

  // Type to search: printable keys typed outside a field go to the search box.
  useEffect(() => {
    const onKey = (event: globalThis.KeyboardEvent) => {
      if (openTenantId || event.ctrlKey || event.metaKey || event.altKey || event.key.length !== 1) return;
      const target = event.target as HTMLElement | null;
      if (target?.closest("input, textarea, select, [contenteditable=true], [role=dialog]")) return;
      searchRef.current?.focus();
    };
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("keydown", onKey);
    };
  }, [openTenantId]);

  const openAt = useCallback(
    (index: number) => {
      const row = pages.rowAt(index);
      if (row) onOpenTenant(row.id);
    },
    [pages, onOpenTenant],
  );

  const onListKey = (event: KeyboardEvent) => {
    const last = total - 1;
    const move = (to: number) => {
      event.preventDefault();
      setActiveIndex(Math.max(0, Math.min(last, to)));
    };
    if (event.key === "ArrowDown") move(activeIndex + 1);
    else if (event.key === "ArrowUp") move(activeIndex - 1);
    else if (event.key === "PageDown") move(activeIndex + 10);
    else if (event.key === "PageUp") move(activeIndex - 10);
    else if (event.key === "Enter" && total > 0) {
      event.preventDefault();
      const index = activeIndex >= 0 ? activeIndex : 0;
      setActiveIndex(index);
      openAt(index);
    } else if (event.key === "Escape" && search) {
      event.preventDefault();
      setSearch("");
    }
  };

  const onRange = useCallback((start: number, end: number) => {
    setRange((old) => (old.start === start && old.end === end ? old : { start, end }));
  }, []);

  let body;
  if (pages.isPending) body = <LoadingState label="Loading tenants…" />;
  else if (pages.error && pages.total === undefined)
    body = <ErrorState title="Could not load the tenants" error={pages.error} onRetry={pages.refetch} />;
  else if (total === 0)
    body = debounced ? (
      <EmptyView icon={<IconSearch size={28} />} title={`No tenant matches “${debounced.slice(0, 60)}”`} description="Search looks at names, ids, billing emails and members' names and emails." />
    ) : (
      <EmptyView
        icon={<IconBuildingSkyscraper size={28} />}
        title={staff.sandbox_only ? "No sandbox tenants" : "No tenants yet"}
        description={pages.asOf ? "The platform has no tenants your role may see." : "The cache is empty: tenants appear here after the first sync."}
      />
    );
  else
    body = (
      <TenantTable
        pages={pages}
        total={total}
        sorting={sorting}
        onSortingChange={setSorting}
        activeIndex={activeIndex}
        onActivate={setActiveIndex}
        onOpen={openAt}
        onVisibleRangeChange={onRange}
      />
    );

  return (
    <Stack gap={0} h="100%" data-testid="tenants-screen" onKeyDown={onListKey}>
      <Group justify="space-between" px="lg" pt="lg" pb="md" wrap="nowrap" gap="md">
        <div>
          <Group gap="xs" align="baseline">
            <Title order={2}>Tenants</Title>
            {pages.total !== undefined && (
              <Text c="dimmed" className="tabular" data-testid="tenant-total">
                {numbers.format(total)}
              </Text>
            )}
            {pages.isFetching && !pages.isPending && <Loader size={14} />}
          </Group>
          <Text size="xs" c="dimmed">
            {staff.sandbox_only ? "Sandbox tenants only · " : ""}Data as of {formatAge(pages.asOf)} · ↑↓ to move, Enter to open
          </Text>
        </div>
        <Group gap="sm" wrap="nowrap">
          {canProvision && (
            <Button variant="light" leftSection={<IconPlus size={16} />} onClick={() => setProvisioning(true)} data-testid="provision-open">
              New sandbox tenant
            </Button>
          )}
          <TextInput
            ref={searchRef}
            value={search}
            onChange={(e) => setSearch(e.currentTarget.value)}
            placeholder="Search name, id, email…"
            leftSection={<IconSearch size={16} />}
            w={340}
            autoFocus
            aria-label="Search tenants"
            data-testid="tenant-search"
            error={search.length > SEARCH_LIMIT ? `Only the first ${SEARCH_LIMIT} characters are searched` : undefined}
          />
        </Group>
      </Group>
      <div style={{ flex: 1, minHeight: 0 }}>{body}</div>
      {provisioning && (
        <NewSandboxTenantModal
          onClose={() => setProvisioning(false)}
          onCreated={(id) => {
            setProvisioning(false);
            onOpenTenant(id);
          }}
        />
      )}
      <TenantDetailDrawer
        tenantId={openTenantId}
        onClose={() => {
          onCloseTenant();
          searchRef.current?.focus();
        }}
      />
    </Stack>
  );
}
