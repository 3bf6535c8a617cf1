// Month-end MRR over a year: a plotters chart per currency (drawn by the library as
// SVG, saved as PNG for reports) above the figures it plots.
import { Button, Card, Group, Stack, Table, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconPhoto } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";

import { commands } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { ErrorState } from "../../components/StateViews";
import { formatCents } from "../../format/money";
import { svgSource } from "../../format/svg";

export function MrrTrend({ from, to }: { from: string; to: string }) {
  const history = useQuery({ queryKey: ["finance-mrr-history", from, to], queryFn: () => unwrap(commands.mrrHistory(from, to)) });
  const charts = useQuery({ queryKey: ["finance-mrr-charts", from, to], queryFn: () => unwrap(commands.mrrCharts(from, to)) });
  if (history.isError) return <ErrorState title="Could not load the MRR trend" error={history.error} />;
  if (!history.data) return null;

  const savePng = async (currency: string) => {
    try {
      const path = await unwrap(commands.exportMrrChart(from, to, currency));
      notifications.show({ color: "green", title: "Chart saved", message: path });
    } catch (error) {
      notifications.show({ color: "red", title: "Chart not saved", message: errorMessage(error) });
    }
  };

  return (
    <Card withBorder padding="sm" data-testid="mrr-trend">
      <Title order={5} mb="xs">
        MRR, month end
      </Title>
      <Stack gap="xs">
        {charts.data?.map((c) => (
          <Stack key={c.currency} gap={4}>
            <img src={svgSource(c.svg)} alt={`MRR trend in ${c.currency.toUpperCase()}`} style={{ width: "100%", maxWidth: 900 }} data-testid="mrr-chart" />
            <Group justify="flex-end">
              <Button size="xs" variant="default" leftSection={<IconPhoto size={14} />} onClick={() => void savePng(c.currency)}>
                Save as PNG
              </Button>
            </Group>
          </Stack>
        ))}
        <Table verticalSpacing={2}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Month</Table.Th>
              <Table.Th ta="right">MRR</Table.Th>
              <Table.Th ta="right">New</Table.Th>
              <Table.Th ta="right">Expansion</Table.Th>
              <Table.Th ta="right">Contraction</Table.Th>
              <Table.Th ta="right">Churned</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {history.data.map((p) => (
              <Table.Tr key={`${p.month}-${p.currency}`}>
                <Table.Td className="tabular">{p.month}</Table.Td>
                <Table.Td ta="right" className="tabular">{formatCents(p.mrr, p.currency)}</Table.Td>
                <Table.Td ta="right" className="tabular">{formatCents(p.movements.new, p.currency)}</Table.Td>
                <Table.Td ta="right" className="tabular">{formatCents(p.movements.expansion, p.currency)}</Table.Td>
                <Table.Td ta="right" className="tabular">{formatCents(-p.movements.contraction, p.currency)}</Table.Td>
                <Table.Td ta="right" className="tabular">{formatCents(-p.movements.churned, p.currency)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Stack>
    </Card>
  );
}
