// One job: its payload, last error and every attempt from job_logs.
import { Code, Drawer, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";

import { commands } from "../../bindings";
import { unwrap } from "../../backend/call";
import { ErrorState, LoadingState } from "../../components/StateViews";
import { numbers } from "../../format/locale";
import { formatDateTime } from "../../format/time";
import { WordBadge } from "./status";

export function JobDrawer({ jobId, onClose }: { jobId: string | null; onClose: () => void }) {
  const job = useQuery({
    queryKey: ["monitor-job", jobId],
    queryFn: () => unwrap(commands.queueJob(jobId ?? "")),
    enabled: jobId !== null,
  });
  let body;
  if (job.isPending) body = <LoadingState label="Loading the job…" />;
  else if (job.isError) body = <ErrorState title="Could not load the job" error={job.error} onRetry={() => void job.refetch()} />;
  else {
    const j = job.data.job;
    body = (
      <Stack gap="md" data-testid="job-detail">
        <div>
          <Text size="sm" c="dimmed">
            {j.queue_name} · attempt {j.attempt_count} of {j.max_attempts} · priority {j.priority ?? "—"}
          </Text>
          <WordBadge word={j.stuck ? "stuck" : j.status} />
        </div>
        <Stack gap={4}>
          <Title order={5}>Last error</Title>
          <Text size="sm">{j.last_error_message ?? "None"}</Text>
        </Stack>
        <Stack gap={4}>
          <Title order={5}>Payload</Title>
          <Code block>{j.payload === null ? "—" : JSON.stringify(j.payload, null, 2)}</Code>
        </Stack>
        <Stack gap={4}>
          <Title order={5}>Attempts</Title>
          {job.data.logs.length === 0 ? (
            <Text size="sm" c="dimmed">No attempts logged.</Text>
          ) : (
            <Table verticalSpacing={4} data-testid="job-logs">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>#</Table.Th>
                  <Table.Th>Outcome</Table.Th>
                  <Table.Th>Started</Table.Th>
                  <Table.Th ta="right">ms</Table.Th>
                  <Table.Th>Log</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {job.data.logs.map((l, i) => (
                  <Table.Tr key={i}>
                    <Table.Td>{l.attempt_number ?? "—"}</Table.Td>
                    <Table.Td>
                      <WordBadge word={l.status} />
                    </Table.Td>
                    <Table.Td className="tabular">{formatDateTime(l.started)}</Table.Td>
                    <Table.Td ta="right" className="tabular">{l.duration_ms === null ? "—" : numbers.format(Math.round(l.duration_ms))}</Table.Td>
                    <Table.Td>
                      <Text size="xs">{l.log_message ?? ""}</Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </Stack>
      </Stack>
    );
  }
  return (
    <Drawer opened={jobId !== null} onClose={onClose} position="right" size="lg" padding="lg" title={<Text fw={600} ff="monospace">Job {jobId}</Text>}>
      {body}
    </Drawer>
  );
}
