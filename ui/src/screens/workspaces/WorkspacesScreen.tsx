// Workspaces across all tenants, worst health first: score and colour, members,
// campaigns and sending volume; a row opens the workspace (health trend, danger zone).
// The second tab is the RBAC matrix, generated from the rules the platform enforces.
import { useMemo, useState } from "react";
import { Badge, Button, Group, Stack, Table, Tabs, Text, TextInput, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { IconBriefcase, IconSearch } from "@tabler/icons-react";
import { keepPreviousData, useInfiniteQuery, useQuery } from "@tanstack/react-query";

import { commands } from "../../bindings";
import { unwrap } from "../../backend/call";
import { EmptyView, ErrorState, LoadingState } from "../../components/StateViews";
import { numbers } from "../../format/locale";
import { formatDate } from "../../format/time";
import { RbacMatrix } from "./RbacMatrix";
import { WorkspaceDrawer } from "./WorkspaceDrawer";

export const HEALTH_COLOUR: Record<string, string> = { green: "green", yellow: "yellow", red: "red" };

export function HealthBadge({ score, colour }: { score: number | null; colour: string | null }) {
  if (score === null) return <Text size="sm" c="dimmed">Not scored</Text>;
  return (
    <Badge variant="light" color={HEALTH_COLOUR[colour ?? ""] ?? "gray"} className="tabular">
      {score}
    </Badge>
  );
}

const PAGE_SIZE = 50;

/** A workspace to open: its id, and its tenant when known (narrows the lookup). */
export type WorkspaceTarget = { id: string; tenantId: string | null };

export function WorkspacesScreen({
  openWorkspace,
  onOpenWorkspace,
  onCloseWorkspace,
}: {
  /** The workspace whose drawer is open (the shell keeps it, so Ctrl+K can open one). */
  openWorkspace: WorkspaceTarget | null;
  onOpenWorkspace: (target: WorkspaceTarget) => void;
  onCloseWorkspace: () => void;
}) {
  const [search, setSearch] = useState("");
  const [debounced] = useDebouncedValue(search.trim(), 150);
  // Paged and searched in SQL, worst health first; "Show more" asks for the next page.
  const list = useInfiniteQuery({
    queryKey: ["workspaces", debounced],
    queryFn: ({ pageParam }) => unwrap(commands.workspacePage({ tenant_id: null, search: debounced || null, limit: PAGE_SIZE, offset: pageParam })),
    initialPageParam: 0,
    getNextPageParam: (last, pages) => {
      const loaded = pages.reduce((n, p) => n + p.rows.length, 0);
      return loaded < last.total ? loaded : undefined;
    },
    placeholderData: keepPreviousData,
  });
  const rows = useMemo(() => list.data?.pages.flatMap((p) => p.rows) ?? [], [list.data]);
  const total = list.data?.pages[0]?.total ?? 0;
  // The open workspace from the list when it is there (so it follows the list's
  // updates), else read by its id (the search matches an exact workspace id).
  const listed = openWorkspace ? rows.find((w) => w.id === openWorkspace.id) : undefined;
  const lookup = useQuery({
    queryKey: ["workspace-by-id", openWorkspace?.id, openWorkspace?.tenantId],
    queryFn: async () => {
      const page = await unwrap(commands.workspacePage({ tenant_id: openWorkspace?.tenantId ?? null, search: openWorkspace?.id ?? null, limit: 1, offset: 0 }));
      return page.rows.find((w) => w.id === openWorkspace?.id) ?? null;
    },
    enabled: openWorkspace !== null && listed === undefined && !list.isPending,
  });
  const open = listed ?? lookup.data ?? null;

  let body;
  if (list.isPending) body = <LoadingState label="Loading workspaces…" />;
  else if (list.isError) body = <ErrorState title="Could not load workspaces" error={list.error} onRetry={() => void list.refetch()} />;
  else if (rows.length === 0) body = <EmptyView icon={<IconBriefcase size={28} />} title={debounced ? "No workspace matches" : "No workspaces yet"} description="Search looks at workspace and tenant names, or an exact workspace id." />;
  else
    body = (
      <Table highlightOnHover stickyHeader verticalSpacing="xs" horizontalSpacing="lg" data-testid="workspace-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Workspace</Table.Th>
            <Table.Th>Tenant</Table.Th>
            <Table.Th>Health</Table.Th>
            <Table.Th ta="right">Members</Table.Th>
            <Table.Th ta="right">Campaigns</Table.Th>
            <Table.Th ta="right">Sent (7 days)</Table.Th>
            <Table.Th>Scored</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((w) => (
            <Table.Tr key={w.id} onClick={() => onOpenWorkspace({ id: w.id, tenantId: w.tenant_id })} style={{ cursor: "pointer" }} data-testid="workspace-row" data-workspace-id={w.id}>
              <Table.Td>
                <Group gap="xs" wrap="nowrap">
                  <Text size="sm" fw={500}>{w.name}</Text>
                  {w.status === "deleted" && <Badge color="red" variant="outline" size="sm" style={{ flexShrink: 0 }}>deleted</Badge>}
                </Group>
              </Table.Td>
              <Table.Td>{w.tenant_name ?? "—"}</Table.Td>
              <Table.Td><HealthBadge score={w.score} colour={w.colour} /></Table.Td>
              <Table.Td ta="right" className="tabular">{numbers.format(w.members)}</Table.Td>
              <Table.Td ta="right" className="tabular">{numbers.format(w.campaigns)}</Table.Td>
              <Table.Td ta="right" className="tabular">{numbers.format(w.sending_volume)}</Table.Td>
              <Table.Td className="tabular">{formatDate(w.scored_on)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    );
  const more = rows.length > 0 && list.hasNextPage && (
    <Group justify="center" py="md">
      <Button variant="default" onClick={() => void list.fetchNextPage()} loading={list.isFetchingNextPage} data-testid="workspaces-more">
        Show {numbers.format(Math.min(PAGE_SIZE, total - rows.length))} more of {numbers.format(total - rows.length)}
      </Button>
    </Group>
  );

  return (
    <Stack gap={0} h="100%" data-testid="workspaces-screen">
      <Group justify="space-between" align="flex-end" px="lg" pt="md" pb="xs">
        <Group gap="xs" align="baseline">
          <Title order={2}>Workspaces</Title>
          <Text c="dimmed" data-testid="workspace-total">{numbers.format(total)}</Text>
        </Group>
        <TextInput w={320} placeholder="Workspace or tenant name" leftSection={<IconSearch size={16} />} value={search} onChange={(e) => setSearch(e.currentTarget.value)} aria-label="Search workspaces" data-testid="workspace-search" />
      </Group>
      <Tabs defaultValue="list" keepMounted={false} style={{ flex: 1, display: "flex", flexDirection: "column", minHeight: 0 }}>
        <Tabs.List px="lg">
          <Tabs.Tab value="list">Health</Tabs.Tab>
          <Tabs.Tab value="rbac" data-testid="tab-rbac">Permissions matrix</Tabs.Tab>
        </Tabs.List>
        <div style={{ flex: 1, minHeight: 0, overflow: "auto" }}>
          <Tabs.Panel value="list">
            {body}
            {more}
          </Tabs.Panel>
          <Tabs.Panel value="rbac">
            <RbacMatrix />
          </Tabs.Panel>
        </div>
      </Tabs>
      <WorkspaceDrawer
        opened={openWorkspace !== null}
        workspace={open}
        lookup={{ pending: listed === undefined && (list.isPending || lookup.isPending), error: lookup.error }}
        onClose={onCloseWorkspace}
      />
    </Stack>
  );
}
