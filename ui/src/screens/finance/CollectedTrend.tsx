// Cash collected per day (last 30 days), week (last 12) or month (last 12), net of
// refunds: bar charts drawn by the library with plotters, one per currency.
import { useState } from "react";
import { Card, Group, SegmentedControl, Stack, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";

import { commands, type Period } from "../../bindings";
import { unwrap } from "../../backend/call";
import { ErrorState, LoadingState } from "../../components/StateViews";
import { svgSource } from "../../format/svg";

const SPAN_DAYS: Record<Period, number> = { day: 30, week: 84, month: 365 };

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function CollectedTrend() {
  const [period, setPeriod] = useState<Period>("week");
  // The window ends tomorrow (exclusive) as of when the query runs.
  const data = useQuery({
    queryKey: ["finance-collected", period],
    queryFn: () => {
      const now = Date.now();
      return unwrap(commands.collected(period, isoDay(now - SPAN_DAYS[period] * 86_400_000), isoDay(now + 86_400_000)));
    },
  });
  return (
    <Card withBorder padding="sm" data-testid="collected-trend">
      <Group justify="space-between" mb="xs">
        <Title order={5}>Collected</Title>
        <SegmentedControl<Period> size="xs" value={period} onChange={setPeriod} data={[{ value: "day", label: "Daily" }, { value: "week", label: "Weekly" }, { value: "month", label: "Monthly" }]} />
      </Group>
      {data.isPending ? (
        <LoadingState label="Summing payments…" />
      ) : data.isError ? (
        <ErrorState title="Could not sum the payments" error={data.error} />
      ) : data.data[1].length === 0 ? (
        <Text size="sm" c="dimmed">No payments in this period.</Text>
      ) : (
        <Stack gap="xs">
          {data.data[1].map((c) => (
            <img key={c.currency} src={svgSource(c.svg)} alt={`Collected per ${period} in ${c.currency.toUpperCase()}`} style={{ width: "100%", maxWidth: 900 }} data-testid="collected-chart" />
          ))}
        </Stack>
      )}
    </Card>
  );
}
