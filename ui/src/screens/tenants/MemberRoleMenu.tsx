// A member's tenant-role change, for roles with `tenants.members.manage`: pick the new
// role, confirm (the member's sessions are revoked so it applies at once), then the
// library changes it, audits it and syncs. Disabled with the reason while offline.
import { useState } from "react";
import { Button, Group, Menu, Modal, Stack, Text, Tooltip } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconChevronDown } from "@tabler/icons-react";
import { useQueryClient } from "@tanstack/react-query";

import { commands, type TeamMember, type TenantRole } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { useSession } from "../../shell/session";

const ROLES: TenantRole[] = ["owner", "admin", "member"];

export function MemberRoleMenu({ tenantId, member }: { tenantId: string; member: Pick<TeamMember, "user_id" | "name" | "email" | "roles"> }) {
  const { actionsBlockedReason } = useSession();
  const queryClient = useQueryClient();
  const [target, setTarget] = useState<TenantRole | null>(null);
  const [busy, setBusy] = useState(false);
  const who = member.name ?? member.email ?? member.user_id;

  const apply = async (role: TenantRole) => {
    setBusy(true);
    try {
      const change = await unwrap(commands.changeMemberRole(tenantId, member.user_id, role));
      notifications.show({
        color: "green",
        title: "Role changed",
        message: `${who}: ${change.old_roles.join(", ") || "—"} → ${change.new_roles.join(", ")}. ${change.revocation.message}`,
      });
      await queryClient.invalidateQueries();
      setTarget(null);
    } catch (error) {
      notifications.show({ color: "red", title: "Role not changed", message: errorMessage(error) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <Menu position="bottom-end" withinPortal>
        <Menu.Target>
          <Tooltip label={actionsBlockedReason} disabled={!actionsBlockedReason}>
            <Button size="compact-xs" variant="subtle" rightSection={<IconChevronDown size={12} />} disabled={actionsBlockedReason !== null} data-testid="member-role-menu">
              Role
            </Button>
          </Tooltip>
        </Menu.Target>
        <Menu.Dropdown>
          <Menu.Label>Change tenant role to</Menu.Label>
          {ROLES.map((role) => (
            <Menu.Item key={role} disabled={member.roles.includes(role)} onClick={() => setTarget(role)} data-testid={`member-role-${role}`}>
              {role}
            </Menu.Item>
          ))}
        </Menu.Dropdown>
      </Menu>
      <Modal opened={target !== null} onClose={() => setTarget(null)} title="Change tenant role" centered>
        <Stack>
          <Text size="sm">
            Make <b>{who}</b> {target === "admin" ? "an" : "a"} <b>{target}</b> of this tenant? Their sessions are revoked so the new role applies at once. The
            change is audited.
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setTarget(null)}>
              Cancel
            </Button>
            <Button loading={busy} onClick={() => target && void apply(target)} data-testid="confirm-role-change">
              Change role
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
