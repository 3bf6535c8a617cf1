import { ActionIcon, Badge, Group, Text, Tooltip } from "@mantine/core";
import { IconEyeOff, IconLogout } from "@tabler/icons-react";

import type { StaffInfo } from "../bindings";

export function UserCard({ staff, onSignOut }: { staff: StaffInfo; onSignOut: () => void }) {
  return (
    <Group justify="space-between" wrap="nowrap" gap="xs" data-testid="user-card">
      <div style={{ minWidth: 0 }}>
        <Text size="sm" fw={600} truncate>
          {staff.name}
        </Text>
        <Group gap={4} wrap="nowrap">
          <Badge size="xs" variant="light" data-testid="user-role">
            {staff.role}
          </Badge>
          {staff.masked && (
            <Tooltip label="Names, emails and addresses are masked for your role">
              <Badge size="xs" variant="light" color="gray" leftSection={<IconEyeOff size={10} />}>
                masked
              </Badge>
            </Tooltip>
          )}
        </Group>
      </div>
      <Tooltip label="Sign out">
        <ActionIcon variant="subtle" color="gray" onClick={onSignOut} aria-label="Sign out" data-testid="sign-out">
          <IconLogout size={18} />
        </ActionIcon>
      </Tooltip>
    </Group>
  );
}
