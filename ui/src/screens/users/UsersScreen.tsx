// Users across every tenant: search by email, name or id (as you type), filter by
// status and tenant role, page through the matches; Enter or a click opens the user.
import { useState } from "react";
import { Group, Pagination, Select, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { IconSearch, IconUsers } from "@tabler/icons-react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { commands, type UserRow, type UserStatus } from "../../bindings";
import { unwrap } from "../../backend/call";
import { EmptyView, ErrorState, LoadingState } from "../../components/StateViews";
import { numbers } from "../../format/locale";
import { formatAge, formatDateTime } from "../../format/time";
import { useSession } from "../../shell/session";
import { StatusBadge } from "../tenants/StatusBadge";
import { UserDetailDrawer } from "./UserDetailDrawer";

const PAGE_SIZE = 50;
const STATUSES: UserStatus[] = ["active", "invited", "locked", "suspended", "removed", "deleted"];

export function UsersScreen({
  openUserId,
  onOpenUser,
  onCloseUser,
}: {
  /** The user whose drawer is open (the shell keeps it, so Ctrl+K can open one). */
  openUserId: string | null;
  onOpenUser: (id: string) => void;
  onCloseUser: () => void;
}) {
  const { staff } = useSession();
  const [search, setSearch] = useState("");
  const [debounced] = useDebouncedValue(search.trim(), 150);
  const [status, setStatus] = useState<UserStatus | null>(null);
  const [role, setRole] = useState<string | null>(null);
  const [page, setPage] = useState(1);

  const users = useQuery({
    queryKey: ["users", debounced, status, role, page],
    queryFn: () =>
      unwrap(
        commands.users({
          search: debounced || null,
          status,
          tenant_role: role,
          plan: null,
          tenant_id: null,
          limit: PAGE_SIZE,
          offset: (page - 1) * PAGE_SIZE,
        }),
      ),
    placeholderData: keepPreviousData,
  });

  const resetPage = <T,>(set: (v: T) => void) => (v: T) => {
    set(v);
    setPage(1);
  };

  let body;
  if (users.isPending) body = <LoadingState label="Loading users…" />;
  else if (users.isError) body = <ErrorState title="Could not load the users" error={users.error} onRetry={() => void users.refetch()} />;
  else if (users.data.rows.length === 0)
    body = (
      <EmptyView
        icon={<IconUsers size={28} />}
        title={debounced || status || role ? "No user matches" : "No users yet"}
        description={debounced || status || role ? "Search looks at emails, names and ids; filters narrow it further." : "Users appear here after the first sync."}
      />
    );
  else body = <UserTable rows={users.data.rows} onOpen={onOpenUser} />;

  const total = users.data?.total ?? 0;
  return (
    <Stack gap={0} h="100%" data-testid="users-screen">
      <Group justify="space-between" align="flex-end" px="lg" pt="md" pb="sm" wrap="nowrap">
        <div>
          <Group gap="xs" align="baseline">
            <Title order={2}>Users</Title>
            <Text c="dimmed">{numbers.format(total)}</Text>
          </Group>
          <Text size="xs" c="dimmed">
            {staff.sandbox_only ? "Sandbox tenants only · " : ""}All tenants · data as of {formatAge(users.data?.as_of)}
          </Text>
        </div>
        <Group gap="sm" wrap="nowrap">
          <Select
            placeholder="Any status"
            data={STATUSES.map((s) => ({ value: s, label: s }))}
            value={status}
            onChange={resetPage(setStatus)}
            clearable
            w={150}
            aria-label="Status"
          />
          <Select
            placeholder="Any tenant role"
            data={["owner", "admin", "member"]}
            value={role}
            onChange={resetPage(setRole)}
            clearable
            w={160}
            aria-label="Tenant role"
          />
          <TextInput
            autoFocus
            w={320}
            placeholder="Email, name or id · Enter opens"
            leftSection={<IconSearch size={16} />}
            value={search}
            onChange={(e) => resetPage(setSearch)(e.currentTarget.value)}
            onKeyDown={(e) => {
              const first = users.data?.rows[0];
              if (e.key === "Enter" && first) onOpenUser(first.id);
            }}
            data-testid="user-search"
          />
        </Group>
      </Group>
      <div style={{ flex: 1, overflow: "auto", borderTop: "1px solid var(--mantine-color-gray-3)" }}>{body}</div>
      {total > PAGE_SIZE && (
        <Group justify="center" p="sm" style={{ borderTop: "1px solid var(--mantine-color-gray-3)" }}>
          <Pagination total={Math.ceil(total / PAGE_SIZE)} value={page} onChange={setPage} size="sm" />
        </Group>
      )}
      <UserDetailDrawer userId={openUserId} onClose={onCloseUser} />
    </Stack>
  );
}

function UserTable({ rows, onOpen }: { rows: UserRow[]; onOpen: (id: string) => void }) {
  return (
    <Table highlightOnHover verticalSpacing="xs" horizontalSpacing="lg" stickyHeader>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Name</Table.Th>
          <Table.Th>Email</Table.Th>
          <Table.Th>Status</Table.Th>
          <Table.Th>Tenants</Table.Th>
          <Table.Th>Last login</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((u) => (
          <Table.Tr key={u.id} onClick={() => onOpen(u.id)} style={{ cursor: "pointer" }} data-testid="user-row" data-user-id={u.id}>
            <Table.Td>{u.name ?? "—"}</Table.Td>
            <Table.Td data-testid="user-email">{u.email ?? "—"}</Table.Td>
            <Table.Td>
              <StatusBadge status={u.status} />
            </Table.Td>
            <Table.Td>
              <Text size="sm" lineClamp={1}>
                {u.tenants.map((t) => `${t.tenant_name ?? t.tenant_id} (${t.roles.join(", ") || "—"})`).join(" · ") || "—"}
              </Text>
            </Table.Td>
            <Table.Td className="tabular" style={{ whiteSpace: "nowrap" }}>{formatDateTime(u.last_login, "Never")}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
