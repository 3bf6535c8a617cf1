// Plan overrides (custom price and limits), comps (free until a date) and trial
// extensions of one tenant: what applies now, and the history (expired, revoked,
// superseded). tenants.manage may add one or revoke one, each with a reason for the
// audit log; other roles see the list read-only. The form checks what the library
// checks (tenant_admin::overrides::add) so mistakes show before anything is sent.
import { useState } from "react";
import {
  Alert,
  Badge,
  Button,
  Group,
  Modal,
  NumberInput,
  SegmentedControl,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
  Tooltip,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconAlertTriangle, IconPlus } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";

import { commands, type Override, type OverrideKind, type PlanLimits } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { ErrorState, LoadingState } from "../../components/StateViews";
import { LOCALE, numbers } from "../../format/locale";
import { formatCents, parseMajor } from "../../format/money";
import { formatDate, formatDateTime } from "../../format/time";
import { DialogFooter } from "../../components/DialogFooter";
import { useSession } from "../../shell/session";
import { LIMITS, limit } from "./planLimits";
import { useNow } from "./useNow";

/** The library stores prices and limits as PostgreSQL integers. */
const MAX_VALUE = 2_147_483_647;

/** A custom limit this many times the plan's is probably a typo (an extra zero or
 *  three): the form warns, and still lets it through. */
const FAR_ABOVE = 10;

/** Whether `value` is far above the plan's `planValue` (never for an unlimited plan). */
function farAbovePlan(value: number | null, planValue: number | null): boolean {
  if (value === null || planValue === null) return false;
  return value > FAR_ABOVE * Math.max(planValue, 1);
}

const KIND_LABEL: Record<OverrideKind, string> = { plan: "Plan override", comp: "Comp", trial: "Trial extension" };

type Status = { label: string; color: string; live: boolean; when?: string };

/** Where an override stands now; `applied` are the ones the effective plan uses (the
 *  newest of each kind in effect), so an older one of the same kind is superseded. */
function statusOf(o: Override, applied: Set<string>, now: number): Status {
  if (o.revoked) return { label: "Revoked", color: "gray", live: false, when: formatDate(o.revoked) };
  if (o.expires && Date.parse(o.expires) <= now) return { label: "Expired", color: "gray", live: false };
  if (applied.has(o.id)) return { label: "Applies", color: "green", live: true };
  return { label: "Superseded", color: "yellow", live: true };
}

const utcDay = new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium", timeZone: "UTC" });

/** An override's end as the day it was given for: an expiry at midnight UTC (what a
 *  day entered in the form becomes) reads as the day before, "through Dec 31, 2027". */
export function formatEnd(iso: string | null): string {
  if (!iso) return "No end";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "—";
  return new Date(t).getUTCHours() === 0 && new Date(t).getUTCMinutes() === 0 && new Date(t).getUTCSeconds() === 0
    ? utcDay.format(new Date(t - 1))
    : formatDateTime(iso);
}

/** "$49.00 / month · Domains 20 · Users 10", "Free", "Trial". */
function describe(o: Override): string {
  if (o.kind === "comp") return "Free of charge";
  if (o.kind === "trial") return "Trial";
  const parts = o.price_monthly_cents === null ? [] : [`${formatCents(o.price_monthly_cents)} / month`];
  for (const [key, label] of LIMITS) {
    const v = o.limits[key];
    if (v !== null) parts.push(`${label} ${numbers.format(v)}`);
  }
  return parts.join(" · ");
}

export function OverridesPanel({ tenantId, appliedIds, planLimits }: { tenantId: string; appliedIds: string[]; planLimits: PlanLimits }) {
  const { can, actionsBlockedReason } = useSession();
  const manage = can("tenants.manage");
  const [adding, setAdding] = useState(false);
  const [revoking, setRevoking] = useState<Override | null>(null);
  const [showHistory, setShowHistory] = useState(false);
  const now = useNow(60_000);
  const list = useQuery({ queryKey: ["tenant-overrides", tenantId], queryFn: () => unwrap(commands.tenantOverrides(tenantId)) });

  let body;
  if (list.isPending) body = <LoadingState label="Loading overrides…" />;
  else if (list.isError) body = <ErrorState title="Could not load the overrides" error={list.error} onRetry={() => void list.refetch()} />;
  else {
    const applied = new Set(appliedIds);
    const rows = list.data.map((o) => ({ o, status: statusOf(o, applied, now) }));
    const live = rows.filter((r) => r.status.live);
    const past = rows.filter((r) => !r.status.live);
    const shown = showHistory ? [...live, ...past] : live;
    body = (
      <Stack gap="xs">
        {shown.length === 0 ? (
          <Text size="sm" c="dimmed" data-testid="overrides-empty">
            No override in effect: the tenant has its plan's price and limits.
          </Text>
        ) : (
          <Table verticalSpacing={6} data-testid="overrides-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Kind</Table.Th>
                <Table.Th>Values</Table.Th>
                <Table.Th>Through</Table.Th>
                <Table.Th>Added by</Table.Th>
                <Table.Th miw={110}>Status</Table.Th>
                {manage && <Table.Th />}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {shown.map(({ o, status }) => (
                <Table.Tr key={o.id} data-testid="override-row" data-override-id={o.id} style={status.live ? undefined : { opacity: 0.65 }}>
                  <Table.Td style={{ whiteSpace: "nowrap" }}>{KIND_LABEL[o.kind]}</Table.Td>
                  <Table.Td>
                    <Text size="sm" className="tabular">{describe(o)}</Text>
                    <Text size="xs" c="dimmed" lineClamp={2} title={o.reason}>{o.reason}</Text>
                  </Table.Td>
                  <Table.Td className="tabular" style={{ whiteSpace: "nowrap" }}>{formatEnd(o.expires)}</Table.Td>
                  <Table.Td>
                    <Text size="xs">{o.created_by}</Text>
                    <Text size="xs" c="dimmed" className="tabular">{formatDateTime(o.created)}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Badge size="sm" variant="light" color={status.color} data-testid="override-status">{status.label}</Badge>
                    {status.when && <Text size="xs" c="dimmed" className="tabular" style={{ whiteSpace: "nowrap" }}>{status.when}</Text>}
                  </Table.Td>
                  {manage && (
                    <Table.Td ta="right">
                      {status.live && (
                        <Button size="xs" variant="subtle" color="red" onClick={() => setRevoking(o)} disabled={Boolean(actionsBlockedReason)} title={actionsBlockedReason ?? undefined} data-testid="override-revoke">
                          Revoke
                        </Button>
                      )}
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        {past.length > 0 && (
          <Button variant="subtle" size="compact-xs" color="gray" onClick={() => setShowHistory(!showHistory)} style={{ alignSelf: "flex-start" }} data-testid="overrides-history-toggle">
            {showHistory ? "Hide expired and revoked" : `Show ${past.length} expired or revoked`}
          </Button>
        )}
      </Stack>
    );
  }

  return (
    <Stack gap="xs" data-testid="tenant-overrides">
      <Group justify="space-between">
        <Title order={5}>Overrides</Title>
        {manage && (
          <Tooltip label={actionsBlockedReason} disabled={!actionsBlockedReason}>
            <Button size="xs" variant="light" leftSection={<IconPlus size={14} />} onClick={() => setAdding(true)} disabled={Boolean(actionsBlockedReason)} data-testid="override-add">
              Add override
            </Button>
          </Tooltip>
        )}
      </Group>
      {body}
      {adding && <AddOverrideModal tenantId={tenantId} planLimits={planLimits} onClose={() => setAdding(false)} />}
      {revoking && <RevokeOverrideModal override={revoking} onClose={() => setRevoking(null)} />}
    </Stack>
  );
}

/** Today as YYYY-MM-DD in UTC: an expiry day covers that whole UTC day. */
function todayUtc(): string {
  return new Date().toISOString().slice(0, 10);
}

type LimitText = Record<keyof PlanLimits, string | number>;
const NO_LIMITS = Object.fromEntries(LIMITS.map(([k]) => [k, ""])) as LimitText;

function AddOverrideModal({ tenantId, planLimits, onClose }: { tenantId: string; planLimits: PlanLimits; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [kind, setKind] = useState<OverrideKind>("plan");
  const [price, setPrice] = useState("");
  const [limits, setLimits] = useState<LimitText>(NO_LIMITS);
  const [expires, setExpires] = useState("");
  const [reason, setReason] = useState("");
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  const plan = kind === "plan";
  const cents = price.trim() ? parseMajor(price) : null;
  const limitValues = Object.fromEntries(LIMITS.map(([k]) => [k, plan && limits[k] !== "" ? Number(limits[k]) : null])) as PlanLimits;
  const anyLimit = LIMITS.some(([k]) => limitValues[k] !== null);
  const farAbove = LIMITS.filter(([k]) => farAbovePlan(limitValues[k], planLimits[k]));
  const errors = {
    price: plan && price.trim() && (cents === null || cents > MAX_VALUE) ? "Enter an amount such as 49 or 49.50" : null,
    values: plan && tried && cents === null && !price.trim() && !anyLimit ? "A plan override needs a custom price or at least one custom limit" : null,
    expires: !expires
      ? !plan && tried
        ? `A ${kind === "comp" ? "comp" : "trial extension"} needs an end date`
        : null
      : expires < todayUtc()
        ? "The end date is already past; give a future date"
        : null,
    reason: tried && !reason.trim() ? "Give a reason; it is recorded in the audit log" : null,
  };
  const invalid = Object.values(errors).some(Boolean) || (plan && !price.trim() && !anyLimit) || (!plan && !expires) || !reason.trim();

  const save = async () => {
    setTried(true);
    if (invalid) return;
    setBusy(true);
    setProblem(null);
    try {
      await unwrap(
        commands.addTenantOverride(tenantId, {
          kind,
          price_monthly_cents: plan ? cents : null,
          limits: limitValues,
          expires: expires || null,
          reason: reason.trim(),
        }),
      );
      notifications.show({ color: "green", title: "Override added", message: `${KIND_LABEL[kind]}${expires ? ` until ${expires}` : ""}` });
      await queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] !== "view-as" });
      onClose();
    } catch (error) {
      setProblem(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal opened onClose={onClose} title="Add override" size="lg" centered>
      <Stack data-testid="override-form">
        <SegmentedControl
          value={kind}
          onChange={setKind}
          data={[
            { value: "plan", label: "Plan override" },
            { value: "comp", label: "Comp" },
            { value: "trial", label: "Trial extension" },
          ]}
          data-testid="override-kind"
        />
        <Text size="xs" c="dimmed">
          {plan
            ? "A custom monthly price and/or custom limits. Limits left empty keep the plan's value."
            : kind === "comp"
              ? "Free of charge until the end date, whatever the plan's price."
              : "The trial runs until the end date."}
        </Text>
        {plan && (
          <>
            <TextInput label="Monthly price (USD)" placeholder="Plan's price" value={price} onChange={(e) => setPrice(e.currentTarget.value)} error={errors.price} w={200} data-testid="override-price" />
            <SimpleGrid cols={4} spacing="xs" verticalSpacing="xs">
              {LIMITS.map(([key, label]) => (
                <NumberInput
                  key={key}
                  label={label}
                  size="xs"
                  min={0}
                  max={MAX_VALUE}
                  allowDecimal={false}
                  allowNegative={false}
                  placeholder={limit(planLimits[key])}
                  description={`Plan: ${limit(planLimits[key])}`}
                  inputWrapperOrder={["label", "input", "description", "error"]}
                  styles={farAbovePlan(limitValues[key], planLimits[key]) ? { input: { borderColor: "var(--mantine-color-orange-6)" } } : undefined}
                  value={limits[key]}
                  onChange={(v) => setLimits({ ...limits, [key]: v })}
                  data-testid={`override-limit-${key}`}
                />
              ))}
            </SimpleGrid>
            {farAbove.length > 0 && (
              <Alert color="orange" variant="light" icon={<IconAlertTriangle size={16} />} p="xs" data-testid="override-far-above">
                <Text size="xs">
                  Over {FAR_ABOVE}× the plan:{" "}
                  {farAbove.map(([k, label]) => `${label} ${numbers.format(limitValues[k] ?? 0)} (plan ${limit(planLimits[k])})`).join(" · ")}. Check for a
                  typo before adding.
                </Text>
              </Alert>
            )}
            {errors.values && (
              <Text c="red" size="xs" data-testid="override-values-error">
                {errors.values}
              </Text>
            )}
          </>
        )}
        <TextInput
          label={plan ? "Ends (optional)" : "Ends"}
          description="Through the end of this day, UTC"
          type="date"
          min={todayUtc()}
          value={expires}
          onChange={(e) => setExpires(e.currentTarget.value)}
          error={errors.expires}
          required={!plan}
          w={240}
          data-testid="override-expires"
        />
        <Textarea label="Reason (for the audit log)" placeholder="The contract, partnership or POC this is for" required autosize minRows={2} value={reason} onChange={(e) => setReason(e.currentTarget.value)} error={errors.reason} data-testid="override-reason" />
        <DialogFooter problem={problem} problemTestId="override-problem" onCancel={onClose} onSubmit={() => void save()} submitLabel="Add override" submitTestId="override-save" busy={busy} />
      </Stack>
    </Modal>
  );
}

function RevokeOverrideModal({ override, onClose }: { override: Override; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const revoke = async () => {
    setBusy(true);
    setProblem(null);
    try {
      await unwrap(commands.revokeTenantOverride(override.id, reason.trim()));
      notifications.show({ color: "green", title: "Override revoked", message: `${KIND_LABEL[override.kind]} no longer applies.` });
      await queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] !== "view-as" });
      onClose();
    } catch (error) {
      setProblem(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal opened onClose={onClose} title={`Revoke ${KIND_LABEL[override.kind].toLowerCase()}`} centered>
      <Stack data-testid="override-revoke-form">
        <Text size="sm">
          {describe(override)}, {override.expires ? `through ${formatEnd(override.expires)}` : "no end date"}. It stops applying now; the history keeps it.
        </Text>
        <Textarea label="Reason (for the audit log)" required autosize minRows={2} value={reason} onChange={(e) => setReason(e.currentTarget.value)} data-testid="override-revoke-reason" />
        <DialogFooter problem={problem} onCancel={onClose} onSubmit={() => void revoke()} submitLabel="Revoke" submitTestId="override-revoke-confirm" busy={busy} disabled={!reason.trim()} color="red" />
      </Stack>
    </Modal>
  );
}
