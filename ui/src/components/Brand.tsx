import { Group, Image, Text } from "@mantine/core";

import logo from "../assets/logo.png";

/** The app's logo and name; `compact` stacks the name for the sidebar. */
export function Brand({ size = 32, compact = false }: { size?: number; compact?: boolean }) {
  return (
    <Group gap="xs" wrap="nowrap">
      <Image src={logo} w={size} h={size} alt="" />
      {compact ? (
        <div>
          <Text fw={700} size="sm" lh={1.2}>
            PenguinMails
          </Text>
          <Text size="xs" c="dimmed" lh={1.2}>
            Admin console
          </Text>
        </div>
      ) : (
        <Text fw={700} size={size > 32 ? "xl" : "md"}>
          PenguinMails Admin
        </Text>
      )}
    </Group>
  );
}
