// A progress bar for long work reported by the backend as `{ table, done, total }`.
import { Group, Progress, Stack, Text } from "@mantine/core";

import type { Progress as ProgressReport } from "../bindings";
import { numbers } from "../format/locale";


export function progressPercent(report: ProgressReport | null): number {
  if (!report || report.total <= 0) return 0;
  return Math.min(100, Math.round((report.done / report.total) * 100));
}

export function ProgressLine({ report, label }: { report: ProgressReport | null; label: string }) {
  const percent = progressPercent(report);
  return (
    <Stack gap={4} data-testid="progress">
      <Group justify="space-between" gap="xs" wrap="nowrap">
        <Text size="sm" truncate>
          {report ? `${label}: ${report.table}` : label}
        </Text>
        {report && report.total > 0 && (
          <Text size="xs" c="dimmed" className="tabular">
            {numbers.format(report.done)} / {numbers.format(report.total)}
          </Text>
        )}
      </Group>
      <Progress value={report ? percent : 100} animated={!report || report.total <= 0} striped={!report} size="sm" />
    </Stack>
  );
}
