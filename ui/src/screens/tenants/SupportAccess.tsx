// Support access, "view as tenant": for roles with tenants.view_as, a grant opened with
// a reason, a ticket and a duration (tenant_admin::support), then the tenant's data
// read-only under it with a banner saying whose data this is, which ticket and how long
// is left. Every load of the view is audited, so it loads once per open (and on
// "Reload"), never on a background refresh. When the grant expires the data goes away.
import { useEffect, useRef, useState } from "react";
import { Alert, Badge, Button, Group, Modal, NumberInput, Stack, Tabs, Text, Textarea, TextInput, Tooltip } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconClockOff, IconEye } from "@tabler/icons-react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { commands, type SupportGrant } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { ErrorState, LoadingState } from "../../components/StateViews";
import { formatClock } from "../../format/time";
import { DialogFooter } from "../../components/DialogFooter";
import { useSession } from "../../shell/session";
import { MembersTable, SubscriptionPanel, WorkspacesTable } from "./detailSections";
import { SettingsSections } from "./TenantAdminPanels";
import { useNow } from "./useNow";

/** As in tenant_admin::support: MIN_REASON_CHARS, DEFAULT_MINUTES, MAX_MINUTES. */
const MIN_REASON = 10;
const DEFAULT_MINUTES = 60;
const MAX_MINUTES = 8 * 60;
/** PROJECT-123 (2–10 letters or digits starting with a letter) or #123. */
const TICKET = /^(#\d{1,12}|[A-Z][A-Z0-9]{1,9}-\d{1,12})$/;

function ticketError(ticket: string): string | null {
  return TICKET.test(ticket.trim().toUpperCase()) ? null : "Give the ticket as PROJECT-123 or #123";
}

/** Milliseconds until a grant ends (≤ 0: it has). */
function msLeft(grant: SupportGrant, now: number): number {
  return Date.parse(grant.expires) - now;
}

/** The drawer's "View as tenant" button: resumes the viewer's open grant, or asks for one. */
export function SupportAccessButton({ tenantId, tenantName }: { tenantId: string; tenantName: string }) {
  const { can, actionsBlockedReason } = useSession();
  const allowed = can("tenants.view_as");
  const [asking, setAsking] = useState(false);
  const [viewing, setViewing] = useState<SupportGrant | null>(null);
  const now = useNow(10_000);
  const grants = useQuery({
    queryKey: ["support-grants", tenantId],
    queryFn: () => unwrap(commands.mySupportGrants(tenantId)),
    enabled: allowed,
  });
  if (!allowed) return null;
  const open = (grants.data ?? []).find((g) => g.closed === null && msLeft(g, now) > 0);
  const blocked = actionsBlockedReason ?? (grants.isPending ? "Loading your grants…" : null);
  return (
    <>
      <Tooltip label={blocked ?? (open ? `Ticket ${open.ticket}, ${Math.ceil(msLeft(open, now) / 60_000)} min left` : "Read-only, audited, time-limited")}>
        <Button
          size="xs"
          variant="light"
          color="orange"
          leftSection={<IconEye size={14} />}
          onClick={() => (open ? setViewing(open) : setAsking(true))}
          disabled={Boolean(blocked)}
          data-testid="view-as-open"
        >
          {open ? "Resume view as tenant" : "View as tenant"}
        </Button>
      </Tooltip>
      {asking && (
        <OpenAccessModal
          tenantId={tenantId}
          tenantName={tenantName}
          onClose={() => setAsking(false)}
          onOpened={(g) => {
            setAsking(false);
            setViewing(g);
          }}
        />
      )}
      {viewing && <TenantViewModal grant={viewing} tenantName={tenantName} onClose={() => setViewing(null)} />}
    </>
  );
}

function OpenAccessModal({
  tenantId,
  tenantName,
  onClose,
  onOpened,
}: {
  tenantId: string;
  tenantName: string;
  onClose: () => void;
  onOpened: (grant: SupportGrant) => void;
}) {
  const queryClient = useQueryClient();
  const [reason, setReason] = useState("");
  const [ticket, setTicket] = useState("");
  const [minutes, setMinutes] = useState<string | number>(DEFAULT_MINUTES);
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const reasonLength = reason.trim().length;
  const errors = {
    reason: tried && reasonLength < MIN_REASON ? `At least ${MIN_REASON} characters: what the customer asked, what you will check` : null,
    ticket: tried || ticket ? (ticket.trim() ? ticketError(ticket) : tried ? "Give the ticket this access is for" : null) : null,
    minutes: typeof minutes !== "number" || !Number.isInteger(minutes) || minutes < 1 || minutes > MAX_MINUTES ? `From 1 minute to ${MAX_MINUTES} (8 hours)` : null,
  };
  const invalid = reasonLength < MIN_REASON || ticketError(ticket) !== null || errors.minutes !== null;

  const submit = async () => {
    setTried(true);
    if (invalid) return;
    setBusy(true);
    setProblem(null);
    try {
      const grant = await unwrap(commands.openSupportAccess(tenantId, reason.trim(), ticket.trim(), Number(minutes)));
      // Opening or closing a grant synced the cache: the tenant's members and workspaces
      // arrived (or left), so every screen reads it again.
      await queryClient.invalidateQueries();
      onOpened(grant);
    } catch (error) {
      setProblem(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal opened onClose={onClose} title={`View ${tenantName} as the tenant`} centered>
      <Stack data-testid="view-as-form">
        <Text size="sm" c="dimmed">
          You will see this tenant's members, workspaces, subscription and settings read-only, as your role may see them. Opening the access and every view are recorded in the audit log with the reason and ticket.
        </Text>
        <Textarea
          label="Reason"
          placeholder="What the customer asked, what you will check"
          required
          autosize
          minRows={2}
          value={reason}
          onChange={(e) => setReason(e.currentTarget.value)}
          error={errors.reason}
          description={`${reasonLength} / ${MIN_REASON} characters at least`}
          data-testid="view-as-reason"
        />
        <Group grow align="flex-start">
          <TextInput label="Ticket" placeholder="SUP-123 or #123" required value={ticket} onChange={(e) => setTicket(e.currentTarget.value)} error={errors.ticket} data-testid="view-as-ticket" />
          <NumberInput
            label="Duration"
            suffix=" min"
            min={1}
            max={MAX_MINUTES}
            step={15}
            allowDecimal={false}
            allowNegative={false}
            value={minutes}
            onChange={setMinutes}
            error={errors.minutes}
            description="At most 8 hours"
            data-testid="view-as-minutes"
          />
        </Group>
        <DialogFooter problem={problem} problemTestId="view-as-problem" onCancel={onClose} onSubmit={() => void submit()} submitLabel="Open access" submitTestId="view-as-submit" busy={busy} color="orange" />
      </Stack>
    </Modal>
  );
}

function TenantViewModal({ grant, tenantName, onClose }: { grant: SupportGrant; tenantName: string; onClose: () => void }) {
  const queryClient = useQueryClient();
  const now = useNow(5_000);
  const [closing, setClosing] = useState(false);
  // A mutation, not a query: each load is an audited view, so nothing may refetch it behind the viewer's back.
  const view = useMutation({ mutationFn: () => unwrap(commands.viewAsTenant(grant.id)) });
  const loaded = useRef(false);
  useEffect(() => {
    if (loaded.current) return;
    loaded.current = true;
    view.mutate();
  }, [view]);

  const current = view.data?.grant ?? grant;
  const left = msLeft(current, now);
  const expired = left <= 0;

  const closeAccess = async () => {
    setClosing(true);
    try {
      await unwrap(commands.closeSupportAccess(grant.id));
      notifications.show({ color: "green", title: "Support access closed", message: `${tenantName} — ticket ${grant.ticket}` });
      // Opening or closing a grant synced the cache: the tenant's members and workspaces
      // arrived (or left), so every screen reads it again.
      await queryClient.invalidateQueries();
      onClose();
    } catch (error) {
      notifications.show({ color: "red", title: "Could not close the access", message: errorMessage(error) });
    } finally {
      setClosing(false);
    }
  };

  let body;
  if (expired)
    body = (
      <Alert color="red" variant="light" icon={<IconClockOff size={18} />} title="Support access expired" data-testid="view-as-expired">
        Access to {tenantName} under ticket {current.ticket} ended at {formatClock(current.expires)}. The tenant's data is no longer shown; open a new access with a reason and ticket to keep looking.
      </Alert>
    );
  else if (view.isPending || view.isIdle) body = <LoadingState label="Opening the tenant's data…" />;
  else if (view.isError) body = <ErrorState title="The tenant's data could not be shown" error={view.error} onRetry={() => view.mutate()} />;
  else {
    const { detail, settings } = view.data;
    body = (
      <Tabs defaultValue="members" keepMounted={false} mih={320} data-testid="view-as-data">
        <Tabs.List>
          <Tabs.Tab value="members" data-testid="view-as-tab-members">Members ({detail.members.length})</Tabs.Tab>
          <Tabs.Tab value="workspaces" data-testid="view-as-tab-workspaces">Workspaces ({detail.workspaces.length})</Tabs.Tab>
          <Tabs.Tab value="subscription" data-testid="view-as-tab-subscription">Subscription</Tabs.Tab>
          <Tabs.Tab value="settings" data-testid="view-as-tab-settings">Settings</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="members" pt="md">
          <MembersTable members={detail.members} />
        </Tabs.Panel>
        <Tabs.Panel value="workspaces" pt="md">
          <WorkspacesTable workspaces={detail.workspaces} />
        </Tabs.Panel>
        <Tabs.Panel value="subscription" pt="md">
          <SubscriptionPanel subscription={detail.subscription} mrrCents={detail.tenant.mrr_cents} />
        </Tabs.Panel>
        <Tabs.Panel value="settings" pt="md">
          <Stack gap="lg">
            <SettingsSections settings={settings} />
          </Stack>
        </Tabs.Panel>
      </Tabs>
    );
  }

  const minutesLeft = Math.max(1, Math.ceil(left / 60_000));
  return (
    <Modal opened onClose={onClose} size="min(1000px, 92vw)" yOffset="6vh" withCloseButton={false} padding="lg" data-testid="view-as-modal">
      <Stack gap="md">
        <Alert
          color={expired ? "gray" : "orange"}
          variant="filled"
          icon={<IconEye size={18} />}
          data-testid="view-as-banner"
          styles={{ message: { width: "100%" } }}
        >
          <Group justify="space-between" wrap="nowrap" gap="md">
            <Text size="sm" fw={600} c="white">
              Viewing as {tenantName} — ticket {current.ticket} — {expired ? "expired" : `expires in ${minutesLeft} min`}
            </Text>
            <Group gap="xs" wrap="nowrap">
              {!expired && (
                <Button size="xs" variant="white" color="orange" onClick={() => view.mutate()} loading={view.isPending} data-testid="view-as-reload">
                  Reload
                </Button>
              )}
              {expired ? (
                <Button size="xs" variant="white" color="gray" onClick={onClose} data-testid="view-as-dismiss">
                  Done
                </Button>
              ) : (
                <Button size="xs" variant="white" color="red" onClick={() => void closeAccess()} loading={closing} data-testid="view-as-close">
                  Close access
                </Button>
              )}
            </Group>
          </Group>
        </Alert>
        <Group gap="xs" wrap="nowrap">
          <Badge variant="outline" color="gray" style={{ flexShrink: 0 }}>
            Read-only
          </Badge>
          <Text size="xs" c="dimmed" style={{ flex: 1 }} lineClamp={2}>
            Opened {formatClock(current.opened)} by {current.staff_email} · {current.views} view{current.views === 1 ? "" : "s"} recorded · {current.reason}
          </Text>
          {!expired && (
            <Tooltip label="The access stays open until it expires; the drawer's button resumes it">
              <Button size="compact-xs" variant="subtle" color="gray" onClick={onClose} data-testid="view-as-hide">
                Hide
              </Button>
            </Tooltip>
          )}
        </Group>
        {body}
      </Stack>
    </Modal>
  );
}
