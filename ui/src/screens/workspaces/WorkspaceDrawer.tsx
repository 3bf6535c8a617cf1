// One workspace: its health trend (a plotters chart drawn by the library), its members
// and, for roles with workspaces.delete, the danger zone — an export (JSON + CSV) offered
// first, soft delete after typing the name (30 days to restore, then purged), showing what
// it pauses and the billing effect first; restore.
import { useState } from "react";
import { Alert, Button, Drawer, Group, List, Modal, Stack, Text, Textarea, TextInput, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconDownload } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";

import { commands, type DeletionPreview, type WorkspaceHealthRow } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { EmptyView, ErrorState, LoadingState } from "../../components/StateViews";
import { numbers } from "../../format/locale";
import { svgSource } from "../../format/svg";
import { formatDate } from "../../format/time";
import { useSession } from "../../shell/session";
import { WorkspaceMembers } from "./WorkspaceMembers";
import { HealthBadge } from "./WorkspacesScreen";

/** The workspace drawer; `workspace` is null while a workspace opened by id (Ctrl+K) is
 *  being read, `lookup` says how that read went. */
export function WorkspaceDrawer({
  opened,
  workspace,
  lookup,
  onClose,
}: {
  opened: boolean;
  workspace: WorkspaceHealthRow | null;
  lookup: { pending: boolean; error: unknown };
  onClose: () => void;
}) {
  let body;
  if (workspace) body = <WorkspaceBody workspace={workspace} onClose={onClose} />;
  else if (lookup.pending) body = <LoadingState label="Loading the workspace…" />;
  else if (lookup.error) body = <ErrorState title="Could not load the workspace" error={lookup.error} />;
  else body = <EmptyView title="This workspace is not in the cache" description="It may have been deleted on the platform since the last sync." />;
  return (
    <Drawer opened={opened} onClose={onClose} position="right" size={780} padding="lg" title={<Title order={3}>{workspace?.name ?? "Workspace"}</Title>} data-testid="workspace-drawer">
      {opened && body}
    </Drawer>
  );
}

function WorkspaceBody({ workspace, onClose }: { workspace: WorkspaceHealthRow; onClose: () => void }) {
  const { can } = useSession();
  const health = useQuery({ queryKey: ["workspace-health", workspace.id], queryFn: () => unwrap(commands.workspaceHealth(workspace.id, workspace.name)) });
  return (
    <Stack data-testid="workspace-drawer-body" data-workspace-id={workspace.id}>
      <Group gap="lg">
        <Group gap={6}>
          <Text size="sm" c="dimmed">Health</Text>
          <HealthBadge score={workspace.score} colour={workspace.colour} />
        </Group>
        <Text size="sm" c="dimmed">Tenant {workspace.tenant_name ?? workspace.tenant_id}</Text>
        <Text size="sm" c="dimmed">{numbers.format(workspace.members)} members · {numbers.format(workspace.campaigns)} campaigns · {numbers.format(workspace.sending_volume)} sent in 7 days</Text>
      </Group>
      {health.isPending ? (
        <LoadingState label="Loading the health trend…" />
      ) : health.isError ? (
        <ErrorState title="Could not load the health trend" error={health.error} />
      ) : (
        <img src={svgSource(health.data.chart_svg)} alt={`Health score of ${workspace.name} per day: ${health.data.history.map((p) => `${p.day} ${p.score}`).join(", ") || "no scores yet"}`} style={{ width: "100%" }} data-testid="health-chart" />
      )}
      <Text size="xs" c="dimmed">
        Score 0–100 from deliverability (30), engagement (20), bounces (20), complaints (20) and volume (10) over 7 days; green 80–100, yellow 60–79, red below 60.
      </Text>
      <WorkspaceMembers workspace={workspace} />
      {can("workspaces.delete") && <DangerZone workspace={workspace} onDone={onClose} />}
    </Stack>
  );
}

function DangerZone({ workspace, onDone }: { workspace: WorkspaceHealthRow; onDone: () => void }) {
  const { actionsBlockedReason } = useSession();
  const queryClient = useQueryClient();
  const [preview, setPreview] = useState<DeletionPreview | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const deleted = workspace.status === "deleted";

  const start = async () => {
    setBusy(true);
    setProblem(null);
    try {
      setPreview(await unwrap(commands.workspaceDeletionPreview(workspace.id)));
    } catch (error) {
      setProblem(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };
  const restore = async () => {
    setBusy(true);
    try {
      const resumed = await unwrap(commands.restoreWorkspace(workspace.id));
      notifications.show({ color: "green", title: "Workspace restored", message: `${workspace.name} is back; ${resumed} campaigns resumed.` });
      await queryClient.invalidateQueries();
      onDone();
    } catch (error) {
      setProblem(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Stack gap="xs" mt="md" p="md" style={{ border: "1px solid var(--mantine-color-red-3)", borderRadius: 8 }} data-testid="danger-zone">
      <Title order={4} c="red">Danger zone</Title>
      {deleted ? (
        <>
          <Text size="sm">This workspace is deleted. It can be restored until it is purged (30 days after deletion).</Text>
          <Group>
            <Button variant="default" onClick={() => void restore()} loading={busy} disabled={Boolean(actionsBlockedReason)} title={actionsBlockedReason ?? undefined} data-testid="restore-workspace">Restore workspace</Button>
          </Group>
        </>
      ) : (
        <>
          <Text size="sm">Deleting pauses its campaigns and hides it from the tenant. It can be restored for 30 days, then its campaigns, leads, domains and email accounts are purged. Export it first to keep a copy.</Text>
          <Group>
            <ExportButton workspaceId={workspace.id} />
            <Button color="red" variant="light" onClick={() => void start()} loading={busy} disabled={Boolean(actionsBlockedReason)} title={actionsBlockedReason ?? undefined} data-testid="delete-workspace">Delete workspace…</Button>
          </Group>
        </>
      )}
      {problem && <Alert color="red">{problem}</Alert>}
      {preview && <DeleteModal preview={preview} onClose={() => setPreview(null)} onDone={onDone} />}
    </Stack>
  );
}

function DeleteModal({ preview, onClose, onDone }: { preview: DeletionPreview; onClose: () => void; onDone: () => void }) {
  const queryClient = useQueryClient();
  const [typed, setTyped] = useState("");
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const b = preview.billing;
  const remove = async () => {
    setBusy(true);
    setProblem(null);
    try {
      const done = await unwrap(commands.deleteWorkspace(preview.workspace_id, typed, reason.trim()));
      notifications.show({ color: "green", title: "Workspace deleted", message: `${preview.name}: ${done.campaigns_paused} ${done.campaigns_paused === 1 ? "campaign" : "campaigns"} paused; purged after ${formatDate(done.purge_after)} unless restored.` });
      await queryClient.invalidateQueries();
      onClose();
      onDone();
    } catch (error) {
      setProblem(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal opened onClose={onClose} title={`Delete ${preview.name}`} centered size="lg">
      <Stack>
        <List size="sm" spacing={2}>
          <List.Item>{numbers.format(preview.campaigns)} campaigns ({numbers.format(preview.active_campaigns)} sending or scheduled will be paused)</List.Item>
          <List.Item>{numbers.format(preview.domains)} domains and {numbers.format(preview.email_accounts)} email accounts</List.Item>
          <List.Item>{numbers.format(preview.members)} workspace members lose access</List.Item>
          <List.Item>Purged after {formatDate(preview.purge_after)} unless restored</List.Item>
        </List>
        <Alert color="yellow" title="Billing effect">
          <Text size="sm">
            Plan {b.plan ?? "none"}: domains {b.domains_used} → {b.domains_after}
            {b.max_domains !== null ? ` of ${b.max_domains}` : ""}, email accounts {b.email_accounts_used} → {b.email_accounts_after}
            {b.max_email_accounts !== null ? ` of ${b.max_email_accounts}` : ""}. {b.note}
          </Text>
        </Alert>
        <TextInput label={`Type the workspace name (${preview.name}) to confirm`} value={typed} onChange={(e) => setTyped(e.currentTarget.value)} data-testid="confirm-name" />
        <Textarea label="Reason (for the audit log)" required autosize minRows={2} value={reason} onChange={(e) => setReason(e.currentTarget.value)} data-testid="delete-reason" />
        {problem && <Alert color="red">{problem}</Alert>}
        <Group justify="space-between">
          <ExportButton workspaceId={preview.workspace_id} />
          <Group>
          <Button variant="default" onClick={onClose}>Keep it</Button>
          <Button color="red" onClick={() => void remove()} loading={busy} disabled={typed !== preview.name || !reason.trim()} data-testid="confirm-delete">Delete workspace</Button>
          </Group>
        </Group>
      </Stack>
    </Modal>
  );
}

/** Writes the workspace (JSON with everything, one CSV per part) to a new folder in Downloads. */
function ExportButton({ workspaceId }: { workspaceId: string }) {
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    try {
      const files = await unwrap(commands.exportWorkspace(workspaceId));
      const rows = files.rows.reduce((a, b) => a + b, 0);
      notifications.show({ color: "green", title: `Exported ${numbers.format(rows)} rows`, message: files.json.replace(/[^/\\]*$/, ""), autoClose: 10000 });
    } catch (error) {
      notifications.show({ color: "red", title: "The export failed", message: errorMessage(error) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <Button variant="default" leftSection={<IconDownload size={14} />} loading={busy} onClick={() => void run()} data-testid="export-workspace">
      Export JSON + CSV
    </Button>
  );
}
