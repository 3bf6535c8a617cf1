// Subscriptions with plan, interval, status, next renewal and discount; for
// subscriptions.manage: cancel (now or at the period end), pause collection, apply a
// coupon or change the plan — each with a required reason, audited, then synced.
import { useState } from "react";
import { Button, Group, Menu, Modal, Select, Stack, Table, Text, Textarea, TextInput } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { IconChevronDown, IconSearch } from "@tabler/icons-react";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";

import { commands, type SubscriptionChange, type SubscriptionRow } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { EmptyView, ErrorState, LoadingState } from "../../components/StateViews";
import { formatCents } from "../../format/money";
import { formatDate } from "../../format/time";
import { useSession } from "../../shell/session";
import { SubscriptionStatusBadge } from "./badges";

type ChangeKind = SubscriptionChange["kind"];
const LABELS: Record<ChangeKind, string> = {
  cancel_now: "Cancel now",
  cancel_at_period_end: "Cancel at period end",
  pause: "Pause collection",
  apply_coupon: "Apply a coupon",
  change_plan: "Change plan",
};

export function SubscriptionsTab() {
  const { can } = useSession();
  const [search, setSearch] = useState("");
  const [debounced] = useDebouncedValue(search.trim(), 200);
  const [status, setStatus] = useState<string | null>(null);
  const [change, setChange] = useState<{ sub: SubscriptionRow; kind: ChangeKind } | null>(null);
  const subs = useQuery({
    queryKey: ["finance-subscriptions", debounced, status],
    queryFn: () => unwrap(commands.subscriptions(status, null, debounced || null)),
    placeholderData: keepPreviousData,
  });
  const manage = can("subscriptions.manage");

  let body;
  if (subs.isPending) body = <LoadingState label="Loading subscriptions…" />;
  else if (subs.isError) body = <ErrorState title="Could not load subscriptions" error={subs.error} onRetry={() => void subs.refetch()} />;
  else if (subs.data.length === 0) body = <EmptyView title="No subscription matches" />;
  else
    body = (
      <Table highlightOnHover stickyHeader verticalSpacing="xs" horizontalSpacing="lg" data-testid="subscriptions">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Tenant / customer</Table.Th>
            <Table.Th>Plan</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th ta="right">Price</Table.Th>
            <Table.Th>Renews</Table.Th>
            <Table.Th>Discount</Table.Th>
            {manage && <Table.Th />}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {subs.data.map((s) => (
            <Table.Tr key={s.id} data-testid="subscription-row">
              <Table.Td>
                <Text size="sm">{s.tenant_name ?? "Not linked to a tenant"}</Text>
                <Text size="xs" c="dimmed">{s.customer_email ?? s.customer_id}</Text>
              </Table.Td>
              <Table.Td>{s.plan || "—"}</Table.Td>
              <Table.Td>
                <Group gap={4}>
                  <SubscriptionStatusBadge status={s.status} />
                  {s.paused && <SubscriptionStatusBadge status="paused" />}
                </Group>
              </Table.Td>
              <Table.Td ta="right" className="tabular">
                {formatCents(s.amount, s.currency ?? "usd")}
                {s.interval ? ` / ${s.interval}` : ""}
              </Table.Td>
              <Table.Td className="tabular">{s.cancel_at_period_end ? "Cancels at period end" : formatDate(s.renews_at)}</Table.Td>
              <Table.Td>{s.discount ?? "—"}</Table.Td>
              {manage && (
                <Table.Td>
                  {s.status !== "canceled" && (
                    <Menu position="bottom-end">
                      <Menu.Target>
                        <Button size="xs" variant="default" rightSection={<IconChevronDown size={14} />} data-testid="subscription-actions">
                          Change
                        </Button>
                      </Menu.Target>
                      <Menu.Dropdown>
                        {(Object.keys(LABELS) as ChangeKind[]).map((kind) => (
                          <Menu.Item key={kind} color={kind === "cancel_now" ? "red" : undefined} onClick={() => setChange({ sub: s, kind })}>
                            {LABELS[kind]}
                          </Menu.Item>
                        ))}
                      </Menu.Dropdown>
                    </Menu>
                  )}
                </Table.Td>
              )}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    );

  return (
    <Stack gap={0} h="100%">
      <Group gap="sm" px="lg" py="sm">
        <TextInput w={300} placeholder="Customer email, tenant or sub_ id" leftSection={<IconSearch size={16} />} value={search} onChange={(e) => setSearch(e.currentTarget.value)} aria-label="Search subscriptions" />
        <Select w={180} placeholder="Any status" data={["active", "trialing", "past_due", "unpaid", "canceled", "incomplete"]} value={status} onChange={setStatus} clearable aria-label="Status" />
      </Group>
      <div style={{ flex: 1, overflow: "auto", borderTop: "1px solid var(--mantine-color-gray-3)" }}>{body}</div>
      {change && <ChangeModal sub={change.sub} kind={change.kind} onClose={() => setChange(null)} />}
    </Stack>
  );
}

function ChangeModal({ sub, kind, onClose }: { sub: SubscriptionRow; kind: ChangeKind; onClose: () => void }) {
  const { actionsBlockedReason } = useSession();
  const queryClient = useQueryClient();
  const [reason, setReason] = useState("");
  const [value, setValue] = useState(kind === "pause" ? "keep_as_draft" : "");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  const body = (): SubscriptionChange | null => {
    switch (kind) {
      case "cancel_now":
      case "cancel_at_period_end":
        return { kind };
      case "pause":
        return { kind, behavior: value };
      case "apply_coupon":
        return value.trim() ? { kind, coupon: value.trim() } : null;
      case "change_plan":
        return value.trim() ? { kind, price: value.trim() } : null;
    }
  };
  const apply = async () => {
    const change = body();
    if (!change) {
      setProblem(kind === "apply_coupon" ? "Enter the coupon id." : "Enter the new price id (price_…).");
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      await unwrap(commands.changeSubscription(sub.id, change, reason.trim()));
      notifications.show({ color: "green", title: LABELS[kind], message: `${sub.tenant_name ?? sub.id}: Stripe accepted the change.` });
      await queryClient.invalidateQueries();
      onClose();
    } catch (error) {
      setProblem(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal opened onClose={onClose} title={`${LABELS[kind]} — ${sub.tenant_name ?? sub.id}`} centered>
      <Stack>
        <Text size="sm" c="dimmed">
          {sub.plan} · {formatCents(sub.amount, sub.currency ?? "usd")}
          {sub.interval ? ` / ${sub.interval}` : ""} · {sub.status}
        </Text>
        {kind === "pause" && (
          <Select label="While paused, invoices are" data={[{ value: "keep_as_draft", label: "kept as drafts" }, { value: "mark_uncollectible", label: "marked uncollectible" }, { value: "void", label: "voided" }]} value={value} onChange={(v) => setValue(v ?? "keep_as_draft")} />
        )}
        {kind === "apply_coupon" && <TextInput label="Coupon id" value={value} onChange={(e) => setValue(e.currentTarget.value)} />}
        {kind === "change_plan" && <TextInput label="New price id" placeholder="price_…" value={value} onChange={(e) => setValue(e.currentTarget.value)} description="Prorated from today." />}
        <Textarea label="Reason (for the audit log)" required autosize minRows={2} value={reason} onChange={(e) => setReason(e.currentTarget.value)} data-testid="change-reason" />
        {problem && <Text c="red" size="sm">{problem}</Text>}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>Keep as is</Button>
          <Button color={kind === "cancel_now" ? "red" : undefined} onClick={() => void apply()} loading={busy} disabled={!reason.trim() || Boolean(actionsBlockedReason)} title={actionsBlockedReason ?? undefined} data-testid="change-confirm">
            {LABELS[kind]}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
