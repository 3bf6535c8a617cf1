// The tabs of the tenant detail. Personal data arrives already masked for roles that
// may not see it; these tables show what they are given.
import { Badge, Group, SimpleGrid, Table, Text, Tooltip } from "@mantine/core";
import { IconFolder, IconReceipt, IconUsers } from "@tabler/icons-react";

import type { ReactNode } from "react";

import type { MemberRow, SubscriptionInfo, WorkspaceRoleRef, WorkspaceRow } from "../../bindings";
import { EmptyView } from "../../components/StateViews";
import { formatCents } from "../../format/money";
import { formatDate, formatDateTime } from "../../format/time";
import { useSession } from "../../shell/session";
import { StatusBadge } from "./StatusBadge";

/** Why a tenant's members or workspaces are missing for a role that sees them only
 *  through support access (the database gives them only while a grant is open). */
function OutsideScope({ what, icon }: { what: string; icon: ReactNode }) {
  const { can } = useSession();
  if (can("tenants.details") || can("tenants.read_sandbox")) return <EmptyView icon={icon} title={`No ${what}`} />;
  return (
    <EmptyView
      icon={icon}
      title={`This tenant's ${what} are not in your cache`}
      description={
        can("tenants.view_as")
          ? `Your role sees a tenant's ${what} only while support access is open: use “View as tenant” with a reason and a ticket.`
          : `Your role does not see tenants' ${what}.`
      }
    />
  );
}

/** A member as the tables show it: a tenant detail's row, or a team member with workspaces. */
type MemberLike = Pick<MemberRow, "user_id" | "name" | "email" | "roles" | "last_login"> & { status: string; workspaces?: WorkspaceRoleRef[] };

/** With `actions` (for roles that may manage members) each row ends with what it returns. */
export function MembersTable<M extends MemberLike>({ members, actions }: { members: M[]; actions?: (member: M) => ReactNode }) {
  if (members.length === 0) return <OutsideScope what="members" icon={<IconUsers size={28} />} />;
  const withWorkspaces = members.some((m) => m.workspaces !== undefined);
  return (
    // Only the table scrolls sideways when a tenant's emails are long, not the whole drawer.
    <Table.ScrollContainer minWidth={actions ? 860 : 700}>
    <Table striped highlightOnHover verticalSpacing="xs" data-testid="members-table">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Name</Table.Th>
          <Table.Th>Email</Table.Th>
          <Table.Th miw={90}>Roles</Table.Th>
          <Table.Th miw={100}>Status</Table.Th>
          {withWorkspaces && <Table.Th>Workspaces</Table.Th>}
          <Table.Th>Last login</Table.Th>
          {actions && <Table.Th />}
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {members.map((m) => (
          <Table.Tr key={m.user_id} data-testid="member-row">
            <Table.Td>{m.name ?? "—"}</Table.Td>
            <Table.Td data-testid="member-email">{m.email ?? "—"}</Table.Td>
            <Table.Td data-testid="member-roles">
              <Group gap={4}>
                {m.roles.map((role) => (
                  <Badge key={role} size="xs" variant="outline" style={{ textTransform: "none" }}>
                    {role}
                  </Badge>
                ))}
              </Group>
            </Table.Td>
            <Table.Td data-testid="member-status">
              <StatusBadge status={m.status} />
            </Table.Td>
            {withWorkspaces && (
              <Table.Td>
                <WorkspaceRoles workspaces={m.workspaces ?? []} />
              </Table.Td>
            )}
            <Table.Td className="tabular" style={{ whiteSpace: "nowrap" }} title={m.last_login ? formatDateTime(m.last_login) : undefined}>
              {m.last_login ? formatDate(m.last_login) : "Never"}
            </Table.Td>
            {actions && (
              <Table.Td>
                <Group gap={2} wrap="nowrap">
                  {actions(m)}
                </Group>
              </Table.Td>
            )}
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
    </Table.ScrollContainer>
  );
}

/** "Name: role" for a few workspaces; for many, counts per role with the list on hover. */
export function workspaceSummary(workspaces: WorkspaceRoleRef[]): string {
  if (workspaces.length <= 3) return workspaces.map((w) => `${w.name}: ${w.role}`).join(", ");
  const perRole = new Map<string, number>();
  for (const w of workspaces) perRole.set(w.role, (perRole.get(w.role) ?? 0) + 1);
  return `${workspaces.length} workspaces (${[...perRole].map(([role, n]) => `${n} ${role}`).join(", ")})`;
}

function WorkspaceRoles({ workspaces }: { workspaces: WorkspaceRoleRef[] }) {
  if (workspaces.length === 0) return <Text size="xs">—</Text>;
  const summary = <Text size="xs">{workspaceSummary(workspaces)}</Text>;
  if (workspaces.length <= 3) return summary;
  return (
    <Tooltip multiline w={380} withinPortal label={workspaces.map((w) => `${w.name}: ${w.role}`).join(", ")}>
      {summary}
    </Tooltip>
  );
}

export function WorkspacesTable({ workspaces }: { workspaces: WorkspaceRow[] }) {
  if (workspaces.length === 0) return <OutsideScope what="workspaces" icon={<IconFolder size={28} />} />;
  return (
    <Table striped highlightOnHover verticalSpacing="xs" data-testid="workspaces-table">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Workspace</Table.Th>
          <Table.Th>Status</Table.Th>
          <Table.Th ta="right">Campaigns</Table.Th>
          <Table.Th ta="right">Sending domains</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {workspaces.map((w) => (
          <Table.Tr key={w.id}>
            <Table.Td>{w.name}</Table.Td>
            <Table.Td>{w.status ? <StatusBadge status={w.status} /> : "—"}</Table.Td>
            <Table.Td ta="right" className="tabular">
              {w.campaigns}
            </Table.Td>
            <Table.Td ta="right" className="tabular">
              {w.domains}
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

export function SubscriptionPanel({ subscription, mrrCents }: { subscription: SubscriptionInfo | null; mrrCents: number }) {
  if (!subscription) return <EmptyView icon={<IconReceipt size={28} />} title="No subscription" description="This tenant has never subscribed to a plan." />;
  return (
    <SimpleGrid cols={3} spacing="lg" data-testid="subscription">
      <Field label="Plan" value={subscription.plan ?? "—"} />
      <Field label="Status" value={subscription.status ? <StatusBadge status={subscription.status} /> : "—"} />
      <Field label="Billing" value={subscription.interval === "annual" ? "Annual" : "Monthly"} />
      <Field label="MRR" value={formatCents(mrrCents)} />
      <Field
        label={subscription.cancel_at_period_end ? "Cancels on" : "Renews on"}
        value={formatDate(subscription.current_period_end)}
      />
      <Field
        label="Stripe subscription"
        value={
          <Text size="sm" ff="monospace">
            {subscription.stripe_subscription_id ?? "—"}
          </Text>
        }
      />
    </SimpleGrid>
  );
}

function Field({ label, value }: { label: string; value: React.ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      {typeof value === "string" ? <Text size="sm">{value}</Text> : value}
    </div>
  );
}
