import { Badge, Button, Group, Stack, Text, UnstyledButton } from "@mantine/core";
import { IconDatabase } from "@tabler/icons-react";

import type { ProfileSummary } from "../../bindings";
import { formatAge } from "../../format/time";

function hosts(profile: ProfileSummary): string {
  const unique = [...new Set(profile.databases.map((d) => `${d.host}:${d.port}`))];
  return unique.join(", ");
}

export function ProfileList({
  profiles,
  opening,
  onOpen,
}: {
  profiles: ProfileSummary[];
  opening: string | null;
  onOpen: (profile: ProfileSummary) => void;
}) {
  return (
    <Stack gap="xs" data-testid="profile-list">
      {profiles.map((profile) => (
        <UnstyledButton
          key={profile.name}
          onClick={() => onOpen(profile)}
          disabled={opening !== null}
          p="sm"
          style={{ border: "1px solid var(--mantine-color-default-border)", borderRadius: "var(--mantine-radius-md)" }}
          data-testid={`profile-${profile.name}`}
        >
          <Group justify="space-between" wrap="nowrap">
            <Group gap="sm" wrap="nowrap" miw={0}>
              <IconDatabase size={22} color="var(--mantine-color-blue-6)" />
              <div style={{ minWidth: 0 }}>
                <Group gap={6}>
                  <Text fw={600}>{profile.name}</Text>
                  {profile.is_demo && (
                    <Badge size="xs" variant="light" color="grape">
                      Demo
                    </Badge>
                  )}
                </Group>
                <Text size="xs" c="dimmed" truncate>
                  {hosts(profile)} · synced {formatAge(profile.last_sync)}
                </Text>
              </div>
            </Group>
            <Button component="span" size="xs" variant="light" loading={opening === profile.name}>
              Open
            </Button>
          </Group>
        </UnstyledButton>
      ))}
    </Stack>
  );
}
