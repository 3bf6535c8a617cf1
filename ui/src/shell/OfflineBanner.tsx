import { Alert } from "@mantine/core";
import { IconCloudOff } from "@tabler/icons-react";

import type { AppStatus } from "../bindings";
import { formatAge, formatDateTime } from "../format/time";

/** Shown while central is unreachable: the screens keep working from the cache. */
export function OfflineBanner({ status }: { status: AppStatus }) {
  const asOf = status.data_as_of ?? status.last_sync;
  return (
    <Alert color="orange" variant="light" radius={0} icon={<IconCloudOff size={18} />} title="Offline — showing cached data" data-testid="offline-banner">
      {status.offline_reason ?? "The platform's database cannot be reached."}{" "}
      {asOf ? `The data is from ${formatDateTime(asOf)} (${formatAge(asOf)}).` : "Nothing has been synced yet."} Actions
      that change data are unavailable until the connection is back.
    </Alert>
  );
}
