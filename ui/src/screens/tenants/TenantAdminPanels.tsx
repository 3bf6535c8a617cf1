// The tenant drawer's admin tabs. Settings: the organization as the tenant sees it
// (branding, regional settings, billing contact, security policies) and the plan that
// applies after overrides. Flags: every platform flag as it applies to this tenant,
// with who set a tenant override and why; tenants.manage may change it (reason required).
import { useState } from "react";
import { Badge, Button, Group, Modal, Select, SimpleGrid, Stack, Table, Text, Textarea, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";

import { commands, type TenantFlag, type TenantSettings } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { ErrorState, LoadingState } from "../../components/StateViews";
import { formatCents } from "../../format/money";
import { formatDateTime } from "../../format/time";
import { useSession } from "../../shell/session";
import { formatEnd, OverridesPanel } from "./OverridesPanel";
import { LIMITS, limit } from "./planLimits";

function Field({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <Text size="xs" c="dimmed">{label}</Text>
      <Text size="sm">{value}</Text>
    </div>
  );
}

const yesNo = (v: boolean) => (v ? "Yes" : "No");

export function TenantSettingsPanel({ tenantId }: { tenantId: string }) {
  const view = useQuery({ queryKey: ["tenant-admin", tenantId], queryFn: () => unwrap(commands.tenantAdmin(tenantId)) });
  if (view.isPending) return <LoadingState label="Loading settings…" />;
  if (view.isError) return <ErrorState title="Could not load the settings" error={view.error} onRetry={() => void view.refetch()} />;
  const { settings, plan } = view.data;
  return (
    <Stack gap="lg" data-testid="tenant-settings">
      <Stack gap="xs">
        <Title order={5}>Plan</Title>
        <Group gap="xs">
          <Text size="sm">{plan.base.name ?? "No plan"}</Text>
          <Text size="sm" className="tabular" data-testid="effective-price">{plan.price_monthly_cents === null ? "" : `${formatCents(plan.price_monthly_cents)} / month`}</Text>
          {plan.base.price_monthly_cents !== null && plan.price_monthly_cents !== plan.base.price_monthly_cents && (
            <Text size="xs" c="dimmed" td="line-through" className="tabular">{formatCents(plan.base.price_monthly_cents)}</Text>
          )}
          {plan.comped_until && <Badge color="violet" variant="light">Comped through {formatEnd(plan.comped_until)}</Badge>}
          {plan.trial_until && <Badge color="cyan" variant="light">Trial through {formatEnd(plan.trial_until)}</Badge>}
          {plan.applied.length > 0 && <Badge variant="outline">{plan.applied.length} override{plan.applied.length > 1 ? "s" : ""}</Badge>}
        </Group>
        <SimpleGrid cols={4} spacing="xs">
          {LIMITS.map(([key, label]) => (
            <Field key={key} label={label} value={limit(plan.limits[key])} />
          ))}
        </SimpleGrid>
      </Stack>
      <OverridesPanel tenantId={tenantId} appliedIds={plan.applied.map((o) => o.id)} planLimits={plan.base.limits} />
      <SettingsSections settings={settings} />
    </Stack>
  );
}

/** Branding, region, billing contact and security, as the tenant sees them (already masked for support). */
export function SettingsSections({ settings }: { settings: TenantSettings | null }) {
  if (settings === null) return <Text size="sm" c="dimmed">This tenant has no settings row yet.</Text>;
  return (
    <>
      <Stack gap="xs">
        <Title order={5}>Branding and region</Title>
        <SimpleGrid cols={4} spacing="xs">
          <Field label="Primary colour" value={settings.branding.primary_color ?? "Default"} />
          <Field label="Logo" value={settings.branding.logo_url ? "Custom" : "Default"} />
          <Field label="Timezone" value={settings.regional.timezone ?? "—"} />
          <Field label="Date format" value={settings.regional.date_format ?? "—"} />
        </SimpleGrid>
      </Stack>
      <Stack gap="xs">
        <Title order={5}>Billing contact</Title>
        <SimpleGrid cols={3} spacing="xs">
          <Field label="Billing email" value={settings.billing.billing_email ?? "—"} />
          <Field label="Contact" value={`${settings.billing.contact_name ?? "—"} ${settings.billing.contact_email ? `(${settings.billing.contact_email})` : ""}`} />
          <Field label="Address" value={settings.billing.billing_address ?? "—"} />
        </SimpleGrid>
      </Stack>
      <Stack gap="xs">
        <Title order={5}>Security policies{settings.security.defaults ? " (platform defaults)" : ""}</Title>
        <SimpleGrid cols={4} spacing="xs">
          <Field label="Password length" value={`${settings.security.password_min_length}+`} />
          <Field label="Two-factor required" value={yesNo(settings.security.two_factor_required)} />
          <Field label="Session timeout" value={`${settings.security.session_timeout_hours} h`} />
          <Field label="Lock after" value={`${settings.security.max_login_attempts} failed sign-ins`} />
        </SimpleGrid>
      </Stack>
    </>
  );
}

export function TenantFlagsPanel({ tenantId }: { tenantId: string }) {
  const { can } = useSession();
  const [editing, setEditing] = useState<TenantFlag | null>(null);
  const flags = useQuery({ queryKey: ["tenant-flags", tenantId], queryFn: () => unwrap(commands.tenantFlags(tenantId)) });
  if (flags.isPending) return <LoadingState label="Loading flags…" />;
  if (flags.isError) return <ErrorState title="Could not load the flags" error={flags.error} onRetry={() => void flags.refetch()} />;
  return (
    <>
      <Table verticalSpacing={6} data-testid="tenant-flags">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Flag</Table.Th>
            <Table.Th>Platform</Table.Th>
            <Table.Th>This tenant</Table.Th>
            <Table.Th>Set by</Table.Th>
            {can("tenants.manage") && <Table.Th />}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {flags.data.map((f) => (
            <Table.Tr key={f.key} data-testid="flag-row" data-flag={f.key}>
              <Table.Td>
                <Text size="sm" fw={500}>{f.key}</Text>
                {f.description && <Text size="xs" c="dimmed">{f.description}</Text>}
              </Table.Td>
              <Table.Td style={{ whiteSpace: "nowrap" }}>{f.platform_enabled ? `on (${f.rollout_percentage} %)` : "off"}</Table.Td>
              <Table.Td>
                <Badge variant={f.tenant_setting === null ? "outline" : "light"} color={f.enabled ? "green" : "gray"}>
                  {f.enabled ? "on" : "off"}{f.tenant_setting === null ? " (platform)" : ""}
                </Badge>
              </Table.Td>
              <Table.Td>
                {f.changed_by ? (
                  <Text size="xs" title={f.reason ?? undefined}>{f.changed_by} · {formatDateTime(f.changed_at)}</Text>
                ) : (
                  <Text size="xs" c="dimmed">—</Text>
                )}
              </Table.Td>
              {can("tenants.manage") && (
                <Table.Td>
                  <Button size="xs" variant="default" onClick={() => setEditing(f)} data-testid="flag-change">Change</Button>
                </Table.Td>
              )}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {editing && <FlagModal tenantId={tenantId} flag={editing} onClose={() => setEditing(null)} />}
    </>
  );
}

function FlagModal({ tenantId, flag, onClose }: { tenantId: string; flag: TenantFlag; onClose: () => void }) {
  const { actionsBlockedReason } = useSession();
  const queryClient = useQueryClient();
  const [value, setValue] = useState<string>(flag.tenant_setting === null ? "platform" : flag.tenant_setting ? "on" : "off");
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const save = async () => {
    setBusy(true);
    setProblem(null);
    try {
      await unwrap(commands.setTenantFlag(tenantId, flag.key, value === "platform" ? null : value === "on", reason.trim()));
      notifications.show({ color: "green", title: "Flag changed", message: `${flag.key}: ${value}` });
      await queryClient.invalidateQueries();
      onClose();
    } catch (error) {
      setProblem(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal opened onClose={onClose} title={`Feature flag ${flag.key}`} centered>
      <Stack>
        <Select label="For this tenant" data={[{ value: "platform", label: `Platform value (${flag.platform_enabled ? "on" : "off"})` }, { value: "on", label: "On" }, { value: "off", label: "Off" }]} value={value} onChange={(v) => setValue(v ?? "platform")} allowDeselect={false} data-testid="flag-value" />
        <Textarea label="Reason (for the audit log)" required autosize minRows={2} value={reason} onChange={(e) => setReason(e.currentTarget.value)} data-testid="flag-reason" />
        {problem && <Text c="red" size="sm">{problem}</Text>}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>Cancel</Button>
          <Button onClick={() => void save()} loading={busy} disabled={!reason.trim() || Boolean(actionsBlockedReason)} title={actionsBlockedReason ?? undefined} data-testid="flag-save">Save</Button>
        </Group>
      </Stack>
    </Modal>
  );
}
