// On a demo profile, the generated staff accounts (one per role) and their shared
// password, so a first-time user can sign in without reading the README.
import { Button, Code, Group, Paper, Stack, Text } from "@mantine/core";

const ROLES = ["super_admin", "admin", "finance", "ops", "support", "qa"];
export const DEMO_PASSWORD = "penguin-demo-2026";

export function DemoAccounts({ onPick }: { onPick: (email: string) => void }) {
  return (
    <Paper withBorder p="md" data-testid="demo-accounts">
      <Stack gap="xs">
        <Text size="sm" fw={600}>
          Demo accounts
        </Text>
        <Text size="xs" c="dimmed">
          Pick a role to fill in its email; every demo account's password is <Code>{DEMO_PASSWORD}</Code>.
        </Text>
        <Group gap={6}>
          {ROLES.map((role) => (
            <Button key={role} size="compact-xs" variant="light" color="gray" onClick={() => onPick(`${role}@penguinmails.demo`)}>
              {role}
            </Button>
          ))}
        </Group>
      </Stack>
    </Paper>
  );
}
