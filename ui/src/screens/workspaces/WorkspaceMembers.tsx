// A workspace's members with their workspace role (admin / member / viewer); for roles
// with workspaces.manage: change a role, remove someone, or add a member of the same
// tenant (only they are offered; the library refuses anyone else).
import { useState } from "react";
import { Button, Group, Select, Stack, Table, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";

import { commands, type WorkspaceHealthRow, type WorkspaceRole } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { ErrorState, LoadingState } from "../../components/StateViews";
import { useSession } from "../../shell/session";

const ROLES: { value: WorkspaceRole; label: string }[] = [
  { value: "admin", label: "admin" },
  { value: "member", label: "member" },
  { value: "viewer", label: "viewer" },
];

export function WorkspaceMembers({ workspace }: { workspace: WorkspaceHealthRow }) {
  const { can, actionsBlockedReason } = useSession();
  const queryClient = useQueryClient();
  const team = useQuery({ queryKey: ["team", workspace.tenant_id], queryFn: () => unwrap(commands.team(workspace.tenant_id)) });
  const [adding, setAdding] = useState<string | null>(null);
  const [addRole, setAddRole] = useState<WorkspaceRole>("member");
  const [busy, setBusy] = useState<string | null>(null);
  const manage = can("workspaces.manage") && workspace.status !== "deleted";
  const blocked = actionsBlockedReason !== null;

  const act = async (key: string, title: string, action: () => Promise<string>) => {
    setBusy(key);
    try {
      notifications.show({ color: "green", title, message: await action() });
      await queryClient.invalidateQueries();
      setAdding(null);
    } catch (error) {
      notifications.show({ color: "red", title: `${title}: not done`, message: errorMessage(error) });
    } finally {
      setBusy(null);
    }
  };

  if (team.isPending) return <LoadingState label="Loading the members…" />;
  if (team.isError) return <ErrorState title="Could not load the members" error={team.error} />;
  const rows = team.data.flatMap((m) => {
    const ws = m.workspaces.find((w) => w.workspace_id === workspace.id);
    return ws ? [{ member: m, role: ws.role }] : [];
  });
  const candidates = team.data
    .filter((m) => m.status !== "removed" && m.status !== "deleted" && !m.workspaces.some((w) => w.workspace_id === workspace.id))
    .map((m) => ({ value: m.user_id, label: `${m.name ?? "—"} · ${m.email ?? m.user_id}` }));
  const who = (m: (typeof rows)[number]["member"]) => m.name ?? m.email ?? m.user_id;

  return (
    <Stack gap="xs" data-testid="workspace-members">
      <Title order={4}>Members</Title>
      {rows.length === 0 ? (
        <Text size="sm" c="dimmed" data-testid="workspace-members-empty">
          {team.data.length === 0 && !can("tenants.details") && !can("tenants.read_sandbox")
            ? "This tenant's members are not in your cache: your role sees them only while support access to the tenant is open (View as tenant, on the Tenants screen)."
            : "Nobody has a role in this workspace yet."}
        </Text>
      ) : (
        <Table verticalSpacing={4} striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Email</Table.Th>
              <Table.Th>Tenant role</Table.Th>
              <Table.Th w={150}>Workspace role</Table.Th>
              {manage && <Table.Th w={90} />}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map(({ member, role }) => (
              <Table.Tr key={member.user_id} data-testid="workspace-member-row">
                <Table.Td>{member.name ?? "—"}</Table.Td>
                <Table.Td>{member.email ?? "—"}</Table.Td>
                <Table.Td>{member.roles.join(", ")}</Table.Td>
                <Table.Td>
                  {manage ? (
                    <Select
                      size="xs"
                      data={ROLES}
                      value={role}
                      allowDeselect={false}
                      disabled={blocked || busy !== null}
                      aria-label={`Workspace role of ${who(member)}`}
                      onChange={(next) =>
                        next &&
                        next !== role &&
                        void act(member.user_id, "Workspace role changed", async () => {
                          await unwrap(commands.setWorkspaceMember(workspace.id, member.user_id, next as WorkspaceRole));
                          return `${who(member)} is now ${next} of ${workspace.name}.`;
                        })
                      }
                    />
                  ) : (
                    role
                  )}
                </Table.Td>
                {manage && (
                  <Table.Td>
                    <Button
                      size="compact-xs"
                      color="red"
                      variant="subtle"
                      loading={busy === member.user_id}
                      disabled={blocked}
                      onClick={() =>
                        void act(member.user_id, "Removed from the workspace", async () => {
                          const old = await unwrap(commands.removeWorkspaceMember(workspace.id, member.user_id));
                          return `${who(member)} (${old}) no longer has access to ${workspace.name}.`;
                        })
                      }
                      data-testid="workspace-member-remove"
                    >
                      Remove
                    </Button>
                  </Table.Td>
                )}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {manage && (
        <Group align="flex-end" gap="xs">
          <Select
            label="Add a member of this tenant"
            placeholder={candidates.length ? "Choose a member" : "Every member already has a role here"}
            data={candidates}
            value={adding}
            onChange={setAdding}
            searchable
            disabled={candidates.length === 0 || blocked}
            w={340}
            data-testid="workspace-member-add"
          />
          <Select label="Role" data={ROLES} value={addRole} onChange={(v) => v && setAddRole(v)} allowDeselect={false} w={120} />
          <Button
            disabled={!adding || blocked}
            title={actionsBlockedReason ?? undefined}
            loading={busy === "add"}
            onClick={() =>
              adding &&
              void act("add", "Added to the workspace", async () => {
                await unwrap(commands.setWorkspaceMember(workspace.id, adding, addRole));
                const m = team.data.find((t) => t.user_id === adding);
                return `${m?.name ?? m?.email ?? adding} is now ${addRole} of ${workspace.name}.`;
              })
            }
            data-testid="workspace-member-add-confirm"
          >
            Add
          </Button>
        </Group>
      )}
    </Stack>
  );
}
