// Exports the filtered audit log (all pages) to a new file in Downloads.
import { useState } from "react";
import { Button, Group } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconDownload } from "@tabler/icons-react";

import { commands, type AuditFilter, type ExportFormat } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";

export function AuditExport({ filter, disabled }: { filter: Omit<AuditFilter, "limit" | "offset">; disabled: boolean }) {
  const [running, setRunning] = useState<ExportFormat | null>(null);

  const run = async (format: ExportFormat) => {
    setRunning(format);
    try {
      const file = await unwrap(commands.exportAudit({ ...filter, limit: null, offset: null }, format));
      notifications.show({ color: "green", title: `Exported ${file.rows} entries`, message: file.path, autoClose: 8000 });
    } catch (error) {
      notifications.show({ color: "red", title: "The export failed", message: errorMessage(error) });
    } finally {
      setRunning(null);
    }
  };

  return (
    <Group gap="xs">
      {(["csv", "json"] as const).map((format) => (
        <Button
          key={format}
          variant="default"
          size="xs"
          leftSection={<IconDownload size={14} />}
          loading={running === format}
          disabled={disabled || (running !== null && running !== format)}
          onClick={() => void run(format)}
          data-testid={`export-${format}`}
        >
          Export {format.toUpperCase()}
        </Button>
      ))}
    </Group>
  );
}
