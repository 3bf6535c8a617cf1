// One user, in a drawer (Esc closes it): profile, tenants with roles, workspaces,
// active sessions (revocable by roles with `users.sessions.revoke`, online only),
// the last sign-ins with the lockout state per tenant, and the audit trail.
import { useState } from "react";
import { Alert, Badge, Button, Drawer, Group, Stack, Table, Tabs, Text, Title, Tooltip } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconInfoCircle, IconLogout } from "@tabler/icons-react";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";

import { commands, type SessionRow, type UserDetail } from "../../bindings";
import { errorCode, errorMessage, unwrap } from "../../backend/call";
import { EmptyView, ErrorState, LoadingState } from "../../components/StateViews";
import { formatDateTime } from "../../format/time";
import { useSession } from "../../shell/session";
import { StatusBadge } from "../tenants/StatusBadge";

export function UserDetailDrawer({ userId, onClose }: { userId: string | null; onClose: () => void }) {
  const detail = useQuery({
    queryKey: ["user", userId],
    queryFn: () => unwrap(commands.userDetail(userId ?? "")),
    enabled: userId !== null,
    placeholderData: keepPreviousData,
  });

  let body;
  if (detail.isPending) body = <LoadingState label="Loading the user…" />;
  else if (detail.isError)
    body =
      errorCode(detail.error) === "not_found" ? (
        <EmptyView title="This user is not in the cache" description="They may have been deleted on the platform since the last sync." />
      ) : (
        <ErrorState title="Could not load the user" error={detail.error} onRetry={() => void detail.refetch()} />
      );
  else body = <DetailBody detail={detail.data} />;

  return (
    <Drawer
      opened={userId !== null}
      onClose={onClose}
      position="right"
      size="min(920px, 80%)"
      padding="lg"
      title={<Text fw={600}>User</Text>}
      closeButtonProps={{ "aria-label": "Close user detail" }}
      data-testid="user-detail"
    >
      {body}
    </Drawer>
  );
}

function DetailBody({ detail }: { detail: UserDetail }) {
  const { profile } = detail;
  return (
    <Stack gap="lg" data-testid="user-detail-body" data-user-id={profile.id}>
      <div>
        <Group gap="sm">
          <Title order={2}>{profile.name ?? profile.email ?? profile.id}</Title>
          <StatusBadge status={profile.status} />
          {profile.is_staff && <Badge variant="outline">staff</Badge>}
        </Group>
        <Text c="dimmed" size="sm" data-testid="user-detail-email">
          {profile.email ?? "—"}
        </Text>
        <Text c="dimmed" size="xs" ff="monospace">
          {profile.id} · created {formatDateTime(profile.created, "—")} · email {profile.email_verified ? "verified" : "not verified (invitation pending)"}
        </Text>
      </div>
      <Tabs defaultValue="tenants" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="tenants">Tenants ({detail.tenants.length})</Tabs.Tab>
          <Tabs.Tab value="workspaces">Workspaces ({detail.workspaces.length})</Tabs.Tab>
          <Tabs.Tab value="sessions" data-testid="tab-sessions">
            Sessions ({detail.sessions.active.length})
          </Tabs.Tab>
          <Tabs.Tab value="sign-ins">Sign-ins</Tabs.Tab>
          <Tabs.Tab value="audit" data-testid="tab-audit">
            Audit ({detail.audit.length})
          </Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="tenants" pt="md">
          <Table striped verticalSpacing="xs">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Tenant</Table.Th>
                <Table.Th>Roles</Table.Th>
                <Table.Th>Plan</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Joined</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {detail.tenants.map((t) => (
                <Table.Tr key={t.tenant_id}>
                  <Table.Td>
                    {t.tenant_name ?? t.tenant_id} {t.sandbox && <Badge size="xs">sandbox</Badge>}
                  </Table.Td>
                  <Table.Td>{t.roles.join(", ") || "—"}</Table.Td>
                  <Table.Td>{t.plan ?? "—"}</Table.Td>
                  <Table.Td>
                    <StatusBadge status={t.status} />
                  </Table.Td>
                  <Table.Td className="tabular">{formatDateTime(t.joined, "—")}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Tabs.Panel>
        <Tabs.Panel value="workspaces" pt="md">
          {detail.workspaces.length === 0 ? (
            <EmptyView title="In no workspace" />
          ) : (
            <Table striped verticalSpacing="xs">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Workspace</Table.Th>
                  <Table.Th>Role</Table.Th>
                  <Table.Th>Status</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {detail.workspaces.map((w) => (
                  <Table.Tr key={w.workspace_id}>
                    <Table.Td>{w.name}</Table.Td>
                    <Table.Td>{w.role}</Table.Td>
                    <Table.Td>{w.status ?? "—"}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </Tabs.Panel>
        <Tabs.Panel value="sessions" pt="md">
          <Sessions userId={profile.id} sessions={detail.sessions.active} deviceInfoRecorded={detail.sessions.device_info_recorded} />
        </Tabs.Panel>
        <Tabs.Panel value="sign-ins" pt="md">
          <SignIns detail={detail} />
        </Tabs.Panel>
        <Tabs.Panel value="audit" pt="md">
          {detail.audit.length === 0 ? (
            <EmptyView title="No audit entries about this user" />
          ) : (
            <Table striped verticalSpacing="xs">
              <Table.Tbody>
                {detail.audit.map((a) => (
                  <Table.Tr key={a.id}>
                    <Table.Td className="tabular">{formatDateTime(a.at, "—")}</Table.Td>
                    <Table.Td>{a.action}</Table.Td>
                    <Table.Td>{a.actor}</Table.Td>
                    <Table.Td>{a.notes ?? ""}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

function Sessions({ userId, sessions, deviceInfoRecorded }: { userId: string; sessions: SessionRow[]; deviceInfoRecorded: boolean }) {
  const { can, actionsBlockedReason } = useSession();
  const queryClient = useQueryClient();
  const [busy, setBusy] = useState<string | null>(null);
  const mayRevoke = can("users.sessions.revoke");

  const revoke = async (sessionId: string | null) => {
    setBusy(sessionId ?? "all");
    try {
      const result = await unwrap(commands.revokeSessions(userId, sessionId));
      notifications.show({ color: "green", title: "Sessions revoked", message: result.message });
      await queryClient.invalidateQueries();
    } catch (error) {
      notifications.show({ color: "red", title: "Could not revoke", message: errorMessage(error) });
    } finally {
      setBusy(null);
    }
  };

  const action = (label: string, sessionId: string | null, testId: string) =>
    mayRevoke && (
      <Tooltip label={actionsBlockedReason} disabled={!actionsBlockedReason}>
        <Button
          size="xs"
          variant="light"
          color="red"
          leftSection={<IconLogout size={14} />}
          disabled={actionsBlockedReason !== null}
          loading={busy === (sessionId ?? "all")}
          onClick={() => void revoke(sessionId)}
          data-testid={testId}
        >
          {label}
        </Button>
      </Tooltip>
    );

  if (sessions.length === 0) return <EmptyView title="No active sessions" />;
  return (
    <Stack gap="sm">
      <Group justify="space-between">
        <Text size="sm" c="dimmed">
          {deviceInfoRecorded ? "" : "The platform records no device or IP for sessions. "}
          Revoking ends a database session now; a JWT session stays valid until it expires.
        </Text>
        {action("Revoke all", null, "revoke-all-sessions")}
      </Group>
      <Table striped verticalSpacing="xs" data-testid="sessions-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Device</Table.Th>
            <Table.Th>IP</Table.Th>
            <Table.Th>Signed in</Table.Th>
            <Table.Th>Last active</Table.Th>
            <Table.Th>Expires</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {sessions.map((s) => (
            <Table.Tr key={s.id} data-testid="session-row">
              <Table.Td>{[s.device, s.browser].filter(Boolean).join(" · ") || "—"}</Table.Td>
              <Table.Td>{s.ip ?? "—"}</Table.Td>
              <Table.Td className="tabular">{formatDateTime(s.created, "—")}</Table.Td>
              <Table.Td className="tabular">{formatDateTime(s.last_active, "—")}</Table.Td>
              <Table.Td className="tabular">{formatDateTime(s.expires, "—")}</Table.Td>
              <Table.Td>
                {s.note ? (
                  <Tooltip label={s.note} multiline w={260}>
                    <Badge variant="light" color={s.revoked ? "orange" : "gray"} leftSection={<IconInfoCircle size={12} />}>
                      {s.revoked ? "revoked, valid until expiry" : "JWT"}
                    </Badge>
                  </Tooltip>
                ) : (
                  !s.revoked && action("Revoke", s.id, "revoke-session")
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

function SignIns({ detail }: { detail: UserDetail }) {
  const { recent, lockouts } = detail.sign_ins;
  return (
    <Stack gap="md">
      {lockouts.map((l) => (
        <Alert
          key={l.tenant_id}
          color={l.locked ? "orange" : "gray"}
          variant="light"
          title={l.locked ? `Locked until ${formatDateTime(l.locked_until, "—")}` : `${l.failed_attempts} of ${l.max_login_attempts} failed attempts`}
        >
          {detail.tenants.find((t) => t.tenant_id === l.tenant_id)?.tenant_name ?? l.tenant_id}: {l.attempts_left} attempts left before a lock (tenant policy:{" "}
          {l.max_login_attempts}).
        </Alert>
      ))}
      {recent.length === 0 ? (
        <EmptyView title="No sign-ins recorded" />
      ) : (
        <Table striped verticalSpacing="xs">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>When</Table.Th>
              <Table.Th>Outcome</Table.Th>
              <Table.Th>IP</Table.Th>
              <Table.Th>Device</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {recent.map((r, i) => (
              <Table.Tr key={`${r.at}-${i}`}>
                <Table.Td className="tabular">{formatDateTime(r.at, "—")}</Table.Td>
                <Table.Td>
                  <Badge size="sm" variant="light" color={r.outcome === "succeeded" ? "green" : r.outcome === "locked" ? "orange" : "red"}>
                    {r.outcome}
                  </Badge>
                </Table.Td>
                <Table.Td>{r.ip ?? "—"}</Table.Td>
                <Table.Td>{[r.device, r.browser].filter(Boolean).join(" · ") || "—"}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
