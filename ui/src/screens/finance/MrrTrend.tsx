// Month-end MRR over a year, per currency, as a table beside the chart.
import { Card, Table, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";

import { commands } from "../../bindings";
import { unwrap } from "../../backend/call";
import { ErrorState } from "../../components/StateViews";
import { formatCents } from "../../format/money";

export function MrrTrend({ from, to }: { from: string; to: string }) {
  const history = useQuery({ queryKey: ["finance-mrr-history", from, to], queryFn: () => unwrap(commands.mrrHistory(from, to)) });
  if (history.isError) return <ErrorState title="Could not load the MRR trend" error={history.error} />;
  if (!history.data) return null;
  return (
    <Card withBorder padding="sm" data-testid="mrr-trend">
      <Title order={5} mb="xs">
        MRR, month end
      </Title>
      <Table verticalSpacing={2}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Month</Table.Th>
            <Table.Th ta="right">MRR</Table.Th>
            <Table.Th ta="right">New</Table.Th>
            <Table.Th ta="right">Churned</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {history.data.map((p) => (
            <Table.Tr key={`${p.month}-${p.currency}`}>
              <Table.Td className="tabular">{p.month}</Table.Td>
              <Table.Td ta="right" className="tabular">{formatCents(p.mrr, p.currency)}</Table.Td>
              <Table.Td ta="right" className="tabular">{formatCents(p.movements.new, p.currency)}</Table.Td>
              <Table.Td ta="right" className="tabular">{formatCents(-p.movements.churned, p.currency)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}
