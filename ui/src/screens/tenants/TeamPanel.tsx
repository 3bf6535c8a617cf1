// The tenant drawer's Members tab: the team with status, workspace roles and last
// login; for roles that may act, a role menu and the account actions on each row; the
// CSV import (tenants.members.import) and the team export (masked for support).
import { useState } from "react";
import { Button, Group, Stack, Text } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconDownload, IconUpload } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";

import { commands, type UserStatus } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { ErrorState, LoadingState } from "../../components/StateViews";
import { numbers } from "../../format/locale";
import { useSession } from "../../shell/session";
import { MembersTable } from "./detailSections";
import { ImportMembersModal } from "./ImportMembersModal";
import { MemberActions } from "./MemberActions";
import { MemberRoleMenu } from "./MemberRoleMenu";

const STATUS_ORDER: UserStatus[] = ["active", "invited", "locked", "suspended", "removed", "deleted"];

export function TeamPanel({ tenantId, tenantName }: { tenantId: string; tenantName: string }) {
  const { can, actionsBlockedReason } = useSession();
  const team = useQuery({ queryKey: ["team", tenantId], queryFn: () => unwrap(commands.team(tenantId)) });
  const [importing, setImporting] = useState(false);
  const [exporting, setExporting] = useState(false);
  const manage = can("tenants.members.manage");
  const acts = manage || can("tenants.members.remove") || can("users.gdpr_delete");

  const exportTeam = async () => {
    setExporting(true);
    try {
      const file = await unwrap(commands.exportMembers(tenantId));
      notifications.show({ color: "green", title: `Exported ${numbers.format(file.rows)} members`, message: file.path, autoClose: 8000 });
    } catch (error) {
      notifications.show({ color: "red", title: "The export failed", message: errorMessage(error) });
    } finally {
      setExporting(false);
    }
  };

  if (team.isPending) return <LoadingState label="Loading the team…" />;
  if (team.isError) return <ErrorState title="Could not load the team" error={team.error} onRetry={() => void team.refetch()} />;
  const members = team.data;
  const table = (
    <MembersTable
      members={members}
      actions={
        acts
          ? (m) => (
              <>
                {manage && m.status !== "removed" && m.status !== "deleted" && <MemberRoleMenu tenantId={tenantId} member={m} />}
                <MemberActions tenantId={tenantId} member={m} team={members} />
              </>
            )
          : undefined
      }
    />
  );
  return (
    <Stack gap="sm">
      <Group justify="space-between">
        <Text size="sm" c="dimmed">
          {STATUS_ORDER.filter((status) => members.some((m) => m.status === status))
            .map((status) => `${numbers.format(members.filter((m) => m.status === status).length)} ${status}`)
            .join(" · ")}
        </Text>
        <Group gap="xs">
          {can("tenants.members.import") && (
            <Button size="xs" variant="default" leftSection={<IconUpload size={14} />} onClick={() => setImporting(true)} disabled={actionsBlockedReason !== null} title={actionsBlockedReason ?? undefined} data-testid="import-members">
              Import CSV…
            </Button>
          )}
          <Button size="xs" variant="default" leftSection={<IconDownload size={14} />} loading={exporting} onClick={() => void exportTeam()} disabled={members.length === 0} title={members.length === 0 ? "No members to export" : undefined} data-testid="export-members">
            Export CSV
          </Button>
        </Group>
      </Group>
      {/* The wrapper marks the rows that carry actions (the e2e checks who sees it). */}
      {acts ? <div data-testid="tenant-actions">{table}</div> : table}
      {importing && <ImportMembersModal tenantId={tenantId} tenantName={tenantName} onClose={() => setImporting(false)} />}
    </Stack>
  );
}
