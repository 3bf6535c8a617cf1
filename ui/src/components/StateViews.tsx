// The loading, error and empty states every screen shows, so they look the same
// everywhere.
import type { ReactNode } from "react";
import { Button, Center, EmptyState, Loader, Stack, Text } from "@mantine/core";
import { IconAlertTriangle, IconInbox } from "@tabler/icons-react";

import { errorMessage } from "../backend/call";

export function LoadingState({ label, fullScreen = false }: { label: string; fullScreen?: boolean }) {
  return (
    <Center h={fullScreen ? "100vh" : "100%"} mih={160} data-testid="loading-state">
      <Stack align="center" gap="xs">
        <Loader size="md" />
        <Text size="sm" c="dimmed">
          {label}
        </Text>
      </Stack>
    </Center>
  );
}

export function ErrorState({ title, error, onRetry }: { title: string; error: unknown; onRetry?: () => void }) {
  return (
    <Center h="100%" mih={200} data-testid="error-state">
      <EmptyState
        variant="light"
        color="red"
        icon={<IconAlertTriangle size={28} />}
        title={title}
        description={errorMessage(error)}
        maw={480}
      >
        {onRetry && (
          <EmptyState.Actions>
            <Button variant="light" onClick={onRetry}>
              Try again
            </Button>
          </EmptyState.Actions>
        )}
      </EmptyState>
    </Center>
  );
}

export function EmptyView({ title, description, icon }: { title: string; description?: ReactNode; icon?: ReactNode }) {
  return (
    <Center h="100%" mih={200} data-testid="empty-state">
      <EmptyState
        withIndicatorBackground
        icon={icon ?? <IconInbox size={28} />}
        title={title}
        description={description}
        maw={480}
      />
    </Center>
  );
}
