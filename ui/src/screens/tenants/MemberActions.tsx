// A member's account actions, in a menu on their row: password reset, invitation resend
// and revoke, unlock, suspend and reactivate (tenants.members.manage), removal with
// reassignment (tenants.members.remove) and GDPR deletion (users.gdpr_delete). Each
// offers only what applies to the member's status; destructive ones ask for the
// member's email typed out. The library checks everything again and audits it.
import { useState, type ReactNode } from "react";
import { Alert, Button, Group, List, Menu, Modal, Select, Stack, Text, Textarea, TextInput, Tooltip } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconDots } from "@tabler/icons-react";
import { useQueryClient } from "@tanstack/react-query";

import { commands, type TeamMember } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { DialogFooter } from "../../components/DialogFooter";
import { useSession } from "../../shell/session";
import { workspaceSummary } from "./detailSections";

type Dialog = "suspend" | "remove" | "gdpr" | "revoke-invitation" | null;

export function MemberActions({ tenantId, member, team }: { tenantId: string; member: TeamMember; team: TeamMember[] }) {
  const { can, actionsBlockedReason } = useSession();
  const queryClient = useQueryClient();
  const [dialog, setDialog] = useState<Dialog>(null);
  const [busy, setBusy] = useState(false);
  const who = member.name ?? member.email ?? member.user_id;
  const manage = can("tenants.members.manage");
  const status = member.status;

  /** Runs one action; shows its outcome; refreshes every view of the team. */
  const run = async (title: string, action: () => Promise<string>) => {
    setBusy(true);
    try {
      const message = await action();
      notifications.show({ color: "green", title, message, autoClose: 8000 });
      await queryClient.invalidateQueries();
      setDialog(null);
    } catch (error) {
      notifications.show({ color: "red", title: `${title}: not done`, message: errorMessage(error) });
    } finally {
      setBusy(false);
    }
  };
  const email = (kind: "password_reset" | "invitation") =>
    run(kind === "invitation" ? "Invitation sent again" : "Password reset sent", async () => {
      await unwrap(commands.sendMemberEmail(tenantId, member.user_id, kind));
      return `${who} will receive the email from the platform's mail service.`;
    });

  const items: ReactNode[] = [];
  if (manage && (status === "active" || status === "locked"))
    items.push(<Menu.Item key="reset" onClick={() => void email("password_reset")} data-testid="member-password-reset">Send password reset</Menu.Item>);
  if (manage && status === "locked")
    items.push(
      <Menu.Item key="unlock" data-testid="member-unlock" onClick={() => void run("Account unlocked", async () => `${who} can sign in again (${await unwrap(commands.unlockMember(member.user_id))} lockout resolved).`)}>
        Unlock account
      </Menu.Item>,
    );
  if (manage && status === "invited")
    items.push(
      <Menu.Item key="resend" onClick={() => void email("invitation")} data-testid="member-resend-invitation">Resend invitation</Menu.Item>,
      <Menu.Item key="revoke" color="red" onClick={() => setDialog("revoke-invitation")} data-testid="member-revoke-invitation">Revoke invitation…</Menu.Item>,
    );
  if (manage && (status === "active" || status === "locked"))
    items.push(<Menu.Item key="suspend" color="orange" onClick={() => setDialog("suspend")} data-testid="member-suspend">Suspend account…</Menu.Item>);
  if (manage && status === "suspended")
    items.push(
      <Menu.Item key="reactivate" data-testid="member-reactivate" onClick={() => void run("Account reactivated", async () => `${who} can sign in again (${await unwrap(commands.reactivateMember(member.user_id))} credentials restored).`)}>
        Reactivate account
      </Menu.Item>,
    );
  const danger: ReactNode[] = [];
  if (can("tenants.members.remove") && status !== "invited" && status !== "removed" && status !== "deleted")
    danger.push(<Menu.Item key="remove" color="red" onClick={() => setDialog("remove")} data-testid="member-remove">Remove from tenant…</Menu.Item>);
  if (can("users.gdpr_delete") && status !== "deleted")
    danger.push(<Menu.Item key="gdpr" color="red" onClick={() => setDialog("gdpr")} data-testid="member-gdpr-delete">Erase personal data (GDPR)…</Menu.Item>);
  if (items.length + danger.length === 0) return null;

  return (
    <>
      <Menu position="bottom-end" withinPortal>
        <Menu.Target>
          <Tooltip label={actionsBlockedReason} disabled={!actionsBlockedReason}>
            <Button size="compact-xs" variant="subtle" disabled={actionsBlockedReason !== null || busy} aria-label={`Actions for ${who}`} data-testid="member-actions">
              <IconDots size={14} />
            </Button>
          </Tooltip>
        </Menu.Target>
        <Menu.Dropdown>
          <Menu.Label>{who}</Menu.Label>
          {items}
          {items.length > 0 && danger.length > 0 && <Menu.Divider />}
          {danger}
        </Menu.Dropdown>
      </Menu>
      {dialog === "suspend" && <SuspendDialog who={who} busy={busy} onClose={() => setDialog(null)} onConfirm={(reason) => void run("Account suspended", async () => {
        const s = await unwrap(commands.suspendMember(member.user_id, reason));
        return `${who}: ${s.credentials_disabled} sign-in methods disabled. ${s.revocation.message}`;
      })} />}
      {dialog === "revoke-invitation" && (
        <Modal opened onClose={() => setDialog(null)} title="Revoke invitation" centered>
          <Stack>
            <Text size="sm">The invitation to <b>{who}</b> stops working and any workspace access prepared for them is dropped. The change is audited.</Text>
            <Group justify="flex-end">
              <Button variant="default" onClick={() => setDialog(null)}>Keep it</Button>
              <Button color="red" loading={busy} data-testid="confirm-revoke-invitation" onClick={() => void run("Invitation revoked", async () => `${who}: ${await unwrap(commands.revokeInvitation(tenantId, member.user_id))} workspace memberships dropped.`)}>
                Revoke invitation
              </Button>
            </Group>
          </Stack>
        </Modal>
      )}
      {dialog === "remove" && <RemoveDialog tenantId={tenantId} member={member} team={team} busy={busy} onClose={() => setDialog(null)} run={run} />}
      {dialog === "gdpr" && <GdprDialog member={member} busy={busy} onClose={() => setDialog(null)} run={run} />}
    </>
  );
}

function SuspendDialog({ who, busy, onClose, onConfirm }: { who: string; busy: boolean; onClose: () => void; onConfirm: (reason: string) => void }) {
  const [reason, setReason] = useState("");
  return (
    <Modal opened onClose={onClose} title="Suspend account" centered>
      <Stack>
        <Text size="sm">
          <b>{who}</b> can no longer sign in to any tenant: their sign-in methods are disabled and their sessions revoked. Reactivating restores them.
        </Text>
        <Textarea label="Reason (for the audit log)" required autosize minRows={2} value={reason} onChange={(e) => setReason(e.currentTarget.value)} data-testid="suspend-reason" />
        <DialogFooter onCancel={onClose} onSubmit={() => onConfirm(reason.trim())} submitLabel="Suspend" submitTestId="confirm-suspend" busy={busy} disabled={!reason.trim()} color="orange" />
      </Stack>
    </Modal>
  );
}

type Run = (title: string, action: () => Promise<string>) => Promise<void>;

/** The ex-employee workflow: type the email, pick who takes over, see what moves. */
function RemoveDialog({ tenantId, member, team, busy, onClose, run }: { tenantId: string; member: TeamMember; team: TeamMember[]; busy: boolean; onClose: () => void; run: Run }) {
  const [typed, setTyped] = useState("");
  const [heir, setHeir] = useState<string | null>(null);
  const who = member.name ?? member.email ?? member.user_id;
  // Invited, removed and deleted people cannot take anything over.
  const heirs = team
    .filter((m) => m.user_id !== member.user_id && (m.status === "active" || m.status === "locked" || m.status === "suspended"))
    .map((m) => ({ value: m.user_id, label: `${m.name ?? "—"} · ${m.email ?? m.user_id} (${m.roles.join(", ")})` }));
  const matches = member.email !== null && typed.trim().toLowerCase() === member.email.trim().toLowerCase();
  const remove = () =>
    run("Member removed", async () => {
      const r = await unwrap(commands.removeMember({ tenant_id: tenantId, user_id: member.user_id, confirm_email: typed.trim(), reassign_to: heir ?? "" }));
      const moved = r.reassigned.map((x) => `${x.rows} ${x.what === "workspace_members" ? "workspace memberships" : x.what}`).join(", ") || "nothing to reassign";
      return `${who} is removed. ${r.revocation.message} Reassigned: ${moved}. A removal notice is queued.`;
    });
  return (
    <Modal opened onClose={onClose} title={`Remove ${who} from the tenant`} centered size="lg">
      <Stack>
        <List size="sm" spacing={2}>
          <List.Item>All of their sessions are revoked at once, in the same change as the removal.</List.Item>
          <List.Item>
            Their workspace access ({member.workspaces.length ? workspaceSummary(member.workspaces) : "none"}) and any campaigns or leads they own pass to
            the member you choose (who keeps the higher of the two roles).
          </List.Item>
          <List.Item>The platform emails them a removal notice. One audit entry records everything that changed.</List.Item>
        </List>
        {heirs.length === 0 ? (
          <Alert color="yellow">No other active member can take over. Invite or activate someone first.</Alert>
        ) : (
          <Select label="Reassign their work to" placeholder="Choose a member of this tenant" data={heirs} value={heir} onChange={setHeir} searchable required comboboxProps={{ withinPortal: true }} data-testid="removal-heir" />
        )}
        <TextInput label={`Type their email (${member.email ?? "unknown"}) to confirm`} value={typed} onChange={(e) => setTyped(e.currentTarget.value)} error={typed && !matches ? "Does not match the member's email" : null} data-testid="removal-confirm-email" />
        <DialogFooter onCancel={onClose} onSubmit={() => void remove()} submitLabel="Remove member" submitTestId="confirm-removal" busy={busy} disabled={!matches || !heir} color="red" />
      </Stack>
    </Modal>
  );
}

function GdprDialog({ member, busy, onClose, run }: { member: TeamMember; busy: boolean; onClose: () => void; run: Run }) {
  const [typed, setTyped] = useState("");
  const matches = member.email !== null && typed.trim().toLowerCase() === member.email.trim().toLowerCase();
  const erase = () =>
    run("Personal data erased", async () => {
      const r = await unwrap(commands.gdprDeleteUser(member.user_id, typed.trim()));
      return `Deleted ${r.memberships} memberships, ${r.sessions} sessions, ${r.credentials} sign-in methods, ${r.notifications_deleted} notifications; ${r.events_scrubbed} events scrubbed. The audit entry keeps counts only.`;
    });
  return (
    <Modal opened onClose={onClose} title="Erase personal data (GDPR)" centered size="lg">
      <Stack>
        <Alert color="red" title="This cannot be undone">
          The account is deleted in every tenant, with its memberships, sessions, sign-in methods and notifications; other records that point at it are cleared. The audit log keeps an
          entry with counts only, no name or email.
        </Alert>
        <TextInput label={`Type the account's email (${member.email ?? "unknown"}) to confirm`} value={typed} onChange={(e) => setTyped(e.currentTarget.value)} data-testid="gdpr-confirm-email" />
        <DialogFooter onCancel={onClose} onSubmit={() => void erase()} submitLabel="Erase for good" submitTestId="confirm-gdpr-delete" busy={busy} disabled={!matches} color="red" />
      </Stack>
    </Modal>
  );
}
