// The queue drill-down: every queue with the docs' colour, its waiting jobs in PostgreSQL
// and Redis, rates, failed and stuck counts, and pause / resume; below, the failed and
// stuck jobs, searchable by payload or error, with retry / delete one by one or for every
// job matching the filter (after showing how many that touches).
import { useState } from "react";
import { Badge, Button, Group, Pagination, Select, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { IconListCheck, IconSearch } from "@tabler/icons-react";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";

import { commands, type JobAction, type JobFilter, type JobRow, type JobState, type MonitorReport, type QueueStats } from "../../bindings";
import { unwrap } from "../../backend/call";
import { EmptyView, ErrorState, LoadingState } from "../../components/StateViews";
import { numbers } from "../../format/locale";
import { formatDateTime } from "../../format/time";
import { useSession } from "../../shell/session";
import { JobDrawer } from "./JobDrawer";
import { ReasonModal, type ReasonRequest } from "./ReasonModal";
import { StatusBadge, WordBadge, decimal } from "./status";

const PAGE_SIZE = 50;
const STATES: { value: JobState; label: string }[] = [
  { value: "failed", label: "Failed" },
  { value: "stuck", label: "Stuck" },
  { value: "queued", label: "Queued" },
  { value: "running", label: "Running" },
  { value: "migrated_to_redis", label: "In Redis" },
  { value: "completed", label: "Completed" },
];

export function QueuePanel({ report }: { report: MonitorReport }) {
  const { can, actionsBlockedReason } = useSession();
  const queryClient = useQueryClient();
  const [request, setRequest] = useState<ReasonRequest | null>(null);
  const manage = can("queue.manage");
  const overview = report.queue;
  const tile = report.areas.find((a) => a.area === "queue");

  const refresh = () => queryClient.invalidateQueries({ predicate: (q) => String(q.queryKey[0]).startsWith("monitor") });

  const pauseResume = (q: QueueStats) =>
    setRequest({
      title: `${q.is_active ? "Pause" : "Resume"} ${q.name}`,
      body: (
        <Text size="sm">
          {q.is_active
            ? `Workers stop taking jobs from ${q.name}; ${numbers.format(q.waiting)} waiting jobs stay queued.`
            : `Workers take jobs from ${q.name} again (${numbers.format(q.waiting)} waiting).`}
        </Text>
      ),
      confirm: q.is_active ? "Pause queue" : "Resume queue",
      color: q.is_active ? "orange" : undefined,
      run: async (reason) => {
        await unwrap(commands.setQueueActive(q.name, !q.is_active, reason));
        notifications.show({ color: "green", title: q.is_active ? "Queue paused" : "Queue resumed", message: q.name });
        await refresh();
      },
    });

  return (
    <Stack gap="md" p="lg" data-testid="queue-panel">
      {!overview ? (
        <ErrorState title="The queue check did not run" error={tile?.reason ?? "No queue figures yet."} />
      ) : (
        <>
          {overview.redis_error && (
            <Text size="sm" c="orange">
              Redis could not be read ({overview.redis_error}); jobs PostgreSQL marks as handed to Redis are counted instead.
            </Text>
          )}
          <Table.ScrollContainer minWidth={820} type="native">
            <Table withTableBorder verticalSpacing="xs" horizontalSpacing="xs" data-testid="queue-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Queue</Table.Th>
                  <Table.Th>Health</Table.Th>
                  <Table.Th ta="right">Active</Table.Th>
                  <Table.Th ta="right" title="Waiting in PostgreSQL plus in the Redis list">Waiting (PG + Redis)</Table.Th>
                  <Table.Th ta="right">Done 1 h</Table.Th>
                  <Table.Th ta="right" title="Completed jobs per minute over the last hour and the last 24 hours">Jobs/min 1 h / 24 h</Table.Th>
                  <Table.Th ta="right">Failed</Table.Th>
                  <Table.Th ta="right">Stuck</Table.Th>
                  {manage && <Table.Th />}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody style={{ whiteSpace: "nowrap" }}>
                {overview.queues.map((q) => (
                  <Table.Tr key={q.name} data-testid="queue-row" data-queue={q.name} data-colour={q.colour} data-waiting={q.waiting} data-failed={q.failed}>
                    <Table.Td>
                      <Group gap={6} wrap="nowrap">
                        <Text size="sm" fw={500} title={`Redis list ${q.redis_key}`}>
                          {q.name}
                        </Text>
                        {!q.is_active && (
                          <Badge size="xs" color="gray" variant="outline" style={{ minWidth: "max-content" }}>
                            paused
                          </Badge>
                        )}
                      </Group>
                    </Table.Td>
                    <Table.Td>
                      <StatusBadge status={q.colour} />
                    </Table.Td>
                    <Table.Td ta="right" className="tabular">{numbers.format(q.active)}</Table.Td>
                    <Table.Td ta="right" className="tabular">
                      <Text size="sm" fw={500}>
                        {numbers.format(q.waiting)}
                      </Text>
                      <Text size="xs" c="dimmed" title={q.waiting_redis === null ? "Redis not read: jobs PostgreSQL marks as handed to Redis" : undefined}>
                        {numbers.format(q.waiting_postgres)} + {numbers.format(q.waiting_redis ?? q.migrated_to_redis)}
                        {q.waiting_redis === null ? "*" : ""}
                      </Text>
                    </Table.Td>
                    <Table.Td ta="right" className="tabular">{numbers.format(q.completed_last_hour)}</Table.Td>
                    <Table.Td ta="right" className="tabular">
                      {decimal(q.rate_per_minute_1h, 2)} / {decimal(q.rate_per_minute_24h, 2)}
                    </Table.Td>
                    <Table.Td ta="right" className="tabular" c={q.failed > 0 ? "red" : undefined}>{numbers.format(q.failed)}</Table.Td>
                    <Table.Td ta="right" className="tabular" c={q.stuck > 0 ? "orange" : undefined}>{numbers.format(q.stuck)}</Table.Td>
                    {manage && (
                      <Table.Td>
                        <Button
                          size="xs"
                          variant="default"
                          disabled={Boolean(actionsBlockedReason)}
                          title={actionsBlockedReason ?? undefined}
                          onClick={() => pauseResume(q)}
                          data-testid="queue-pause-resume"
                        >
                          {q.is_active ? "Pause" : "Resume"}
                        </Button>
                      </Table.Td>
                    )}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {overview.queues.some((q) => q.waiting_redis === null) && (
            <Text size="xs" c="dimmed">
              * Redis is not configured for this profile: the count is the jobs PostgreSQL marks as handed to Redis.
            </Text>
          )}
        </>
      )}
      <JobList queues={overview?.queues.map((q) => q.name) ?? []} onRequest={setRequest} onChanged={refresh} />
      <ReasonModal request={request} onClose={() => setRequest(null)} />
    </Stack>
  );
}

function JobList({
  queues,
  onRequest,
  onChanged,
}: {
  queues: string[];
  onRequest: (r: ReasonRequest) => void;
  onChanged: () => Promise<void>;
}) {
  const { can, actionsBlockedReason } = useSession();
  const manage = can("queue.manage");
  const [queue, setQueue] = useState<string | null>(null);
  const [state, setState] = useState<JobState | null>("failed");
  const [search, setSearch] = useState("");
  const [debounced] = useDebouncedValue(search.trim(), 250);
  const [page, setPage] = useState(1);
  const [openJob, setOpenJob] = useState<string | null>(null);
  const filter: JobFilter = { queue, state, search: debounced || null };

  const jobs = useQuery({
    queryKey: ["monitor-jobs", filter, page],
    queryFn: () => unwrap(commands.queueJobs(filter, PAGE_SIZE, (page - 1) * PAGE_SIZE)),
    placeholderData: keepPreviousData,
  });

  const reset = <T,>(set: (v: T) => void) => (v: T) => {
    set(v);
    setPage(1);
  };

  const single = (job: JobRow, action: JobAction) =>
    onRequest({
      title: action === "retry" ? "Retry this job" : "Delete this job",
      body: (
        <Text size="sm">
          {action === "retry"
            ? `Job ${job.id} goes back to queued in ${job.queue_name} with its attempts reset.`
            : `Job ${job.id} and its logs are removed from ${job.queue_name} for good.`}
        </Text>
      ),
      confirm: action === "retry" ? "Retry job" : "Delete job",
      color: action === "delete" ? "red" : undefined,
      run: async (reason) => {
        await unwrap(commands.queueJobAction(job.id, action, reason));
        notifications.show({ color: "green", title: action === "retry" ? "Job retried" : "Job deleted", message: job.id });
        await onChanged();
      },
    });

  const bulk = async (action: JobAction) => {
    try {
      const preview = await unwrap(commands.queueBulkPreview(filter, action));
      onRequest({
        title: action === "retry" ? "Retry every matching job" : "Delete every matching job",
        body: (
          <Stack gap={4}>
            <Text size="sm" fw={600} data-testid="bulk-count">
              This will touch {numbers.format(preview.count)} {preview.count === 1 ? "job" : "jobs"}.
            </Text>
            <Text size="xs" c="dimmed">
              {action === "retry"
                ? "Only failed or stuck jobs are retried. "
                : "Jobs a worker holds (running and not stuck, or in Redis) are left alone. "}
              If the matching jobs change before you confirm, nothing is done and you are asked to look again.
            </Text>
          </Stack>
        ),
        confirm: action === "retry" ? `Retry ${numbers.format(preview.count)}` : `Delete ${numbers.format(preview.count)}`,
        color: action === "delete" ? "red" : undefined,
        run: async (reason) => {
          if (preview.count === 0) return;
          const touched = await unwrap(commands.queueBulkApply(filter, preview, reason));
          notifications.show({ color: "green", title: action === "retry" ? "Jobs retried" : "Jobs deleted", message: `${numbers.format(touched)} jobs` });
          await onChanged();
        },
      });
    } catch (error) {
      notifications.show({ color: "red", title: "Could not count the jobs", message: error instanceof Error ? error.message : String(error) });
    }
  };

  let body;
  if (jobs.isPending) body = <LoadingState label="Loading jobs…" />;
  else if (jobs.isError) body = <ErrorState title="Could not load the jobs" error={jobs.error} onRetry={() => void jobs.refetch()} />;
  else if (jobs.data.rows.length === 0)
    body = (
      <EmptyView
        icon={<IconListCheck size={28} />}
        title="No job matches"
        description="Search looks at the payload and the last error; the filters narrow it further."
      />
    );
  else
    body = (
      <Table highlightOnHover verticalSpacing="xs" horizontalSpacing="md" data-testid="job-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Job</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th ta="right">Attempts</Table.Th>
            <Table.Th>When</Table.Th>
            <Table.Th>Last error</Table.Th>
            {manage && <Table.Th />}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {jobs.data.rows.map((j) => (
            <Table.Tr key={j.id} data-testid="job-row" data-job-id={j.id} style={{ cursor: "pointer" }} onClick={() => setOpenJob(j.id)}>
              <Table.Td>
                <Text size="sm" ff="monospace">{j.id.slice(0, 8)}</Text>
                <Text size="xs" c="dimmed">{j.queue_name}</Text>
              </Table.Td>
              <Table.Td style={{ whiteSpace: "nowrap" }}>
                <WordBadge word={j.stuck ? "stuck" : j.status} />
              </Table.Td>
              <Table.Td ta="right" className="tabular" style={{ whiteSpace: "nowrap" }}>
                {j.attempt_count} / {j.max_attempts}
              </Table.Td>
              <Table.Td className="tabular" style={{ whiteSpace: "nowrap" }}>
                {formatDateTime(j.failed ?? j.started ?? j.created)}
              </Table.Td>
              <Table.Td>
                <Text size="xs" lineClamp={2} style={{ overflowWrap: "anywhere" }} data-testid="job-error">{j.last_error_message ?? "—"}</Text>
              </Table.Td>
              {manage && (
                <Table.Td onClick={(e) => e.stopPropagation()}>
                  <Group gap={6} wrap="nowrap">
                    {(j.status === "failed" || j.stuck) && (
                      <Button size="xs" variant="default" disabled={Boolean(actionsBlockedReason)} onClick={() => single(j, "retry")} data-testid="job-retry">
                        Retry
                      </Button>
                    )}
                    {j.status !== "migrated_to_redis" && (j.status !== "running" || j.stuck) && (
                      <Button size="xs" variant="subtle" color="red" disabled={Boolean(actionsBlockedReason)} onClick={() => single(j, "delete")} data-testid="job-delete">
                        Delete
                      </Button>
                    )}
                  </Group>
                </Table.Td>
              )}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    );

  const total = jobs.data?.total ?? 0;
  return (
    <Stack gap="xs" data-testid="job-list">
      <Group justify="space-between" align="flex-end" wrap="nowrap">
        <Group gap="xs" align="baseline">
          <Title order={4}>Jobs</Title>
          <Text c="dimmed" size="sm" data-testid="job-total">
            {numbers.format(total)}
          </Text>
        </Group>
        {manage && (
          <Group gap="sm" wrap="nowrap">
            <Button size="xs" variant="default" disabled={Boolean(actionsBlockedReason) || total === 0} title={actionsBlockedReason ?? undefined} onClick={() => void bulk("retry")} data-testid="bulk-retry">
              Retry all matching
            </Button>
            <Button size="xs" variant="default" color="red" disabled={Boolean(actionsBlockedReason) || total === 0} title={actionsBlockedReason ?? undefined} onClick={() => void bulk("delete")} data-testid="bulk-delete">
              Delete all matching
            </Button>
          </Group>
        )}
      </Group>
      <Group gap="sm">
        <Select placeholder="Any queue" data={queues} value={queue} onChange={reset(setQueue)} clearable w={240} aria-label="Queue" />
        <Select
          placeholder="Any state"
          data={STATES}
          value={state}
          onChange={(v) => reset(setState)(v)}
          clearable
          w={160}
          aria-label="State"
          data-testid="job-state"
        />
        <TextInput
          style={{ flex: 1 }}
          miw={240}
          placeholder="Search the payload or the last error"
          leftSection={<IconSearch size={16} />}
          value={search}
          onChange={(e) => reset(setSearch)(e.currentTarget.value)}
          data-testid="job-search"
        />
      </Group>
      <div style={{ border: "1px solid var(--mantine-color-gray-3)", borderRadius: 4 }}>{body}</div>
      {total > PAGE_SIZE && (
        <Group justify="center">
          <Pagination total={Math.ceil(total / PAGE_SIZE)} value={page} onChange={setPage} size="sm" />
        </Group>
      )}
      <JobDrawer jobId={openJob} onClose={() => setOpenJob(null)} />
    </Stack>
  );
}
