// Sync status in the sidebar: last sync, a progress bar with Cancel while syncing,
// and "Sync now" (or "Reconnect" while offline) for roles that may sync.
import { Button, Stack, Text, Tooltip } from "@mantine/core";
import { IconPlayerStop, IconRefresh } from "@tabler/icons-react";

import type { AppStatus } from "../bindings";
import { ProgressLine } from "../components/ProgressReport";
import { formatAge, formatDateTime } from "../format/time";
import type { SyncState } from "./useSync";

export function StatusArea({ status, sync, canSync }: { status: AppStatus | undefined; sync: SyncState; canSync: boolean }) {
  const offline = status ? !status.online : false;
  if (sync.running) {
    return (
      <Stack gap="xs" data-testid="sync-running">
        <ProgressLine report={sync.progress} label="Syncing" />
        <Button size="xs" variant="default" leftSection={<IconPlayerStop size={14} />} onClick={sync.cancel} data-testid="sync-cancel">
          Cancel
        </Button>
      </Stack>
    );
  }
  return (
    <Stack gap={6} data-testid="sync-status">
      <Text size="xs" c="dimmed" truncate data-testid="profile-name">
        Profile <b>{status?.profile ?? "—"}</b>
      </Text>
      <Tooltip label={formatDateTime(status?.last_sync, "Never synced")} disabled={!status?.last_sync}>
        <Text size="xs" c="dimmed">
          Last sync: <span data-testid="last-sync">{status?.last_sync ? formatAge(status.last_sync) : "never"}</span>
        </Text>
      </Tooltip>
      {sync.error && (
        <Text size="xs" c="red" data-testid="sync-error">
          {sync.error}
        </Text>
      )}
      {canSync && (
        <Button size="xs" variant="light" leftSection={<IconRefresh size={14} />} onClick={sync.start} data-testid="sync-now">
          {offline ? "Reconnect" : "Sync now"}
        </Button>
      )}
    </Stack>
  );
}
