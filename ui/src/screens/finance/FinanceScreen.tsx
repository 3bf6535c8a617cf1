// Finance: Stripe's money joined to PenguinMails tenants. The header says how fresh the
// Stripe copy is and syncs it (with progress, cancellable); the tabs are the finance
// team's jobs: revenue, payments, invoices, failed payments, subscriptions, month-end.
import { useState } from "react";
import { Button, Group, Stack, Tabs, Text, Title } from "@mantine/core";
import { IconCreditCard, IconRefresh } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Channel } from "@tauri-apps/api/core";

import { commands, type Progress } from "../../bindings";
import { unwrap, errorMessage } from "../../backend/call";
import { ProgressLine } from "../../components/ProgressReport";
import { EmptyView, ErrorState, LoadingState } from "../../components/StateViews";
import { formatAge } from "../../format/time";
import { useSession } from "../../shell/session";
import { FailedPaymentsTab } from "./FailedPaymentsTab";
import { InvoicesTab } from "./InvoicesTab";
import { OverviewTab } from "./OverviewTab";
import { PaymentsTab } from "./PaymentsTab";
import { ReconciliationTab } from "./ReconciliationTab";
import { SubscriptionsTab } from "./SubscriptionsTab";

export function FinanceScreen() {
  const { can, actionsBlockedReason } = useSession();
  const queryClient = useQueryClient();
  const status = useQuery({ queryKey: ["finance-status"], queryFn: () => unwrap(commands.financeStatus()) });
  const [progress, setProgress] = useState<Progress | null>(null);
  const [syncing, setSyncing] = useState(false);
  const [syncError, setSyncError] = useState<string | null>(null);

  const syncStripe = async () => {
    setSyncing(true);
    setSyncError(null);
    setProgress(null);
    try {
      const channel = new Channel<Progress>();
      channel.onmessage = setProgress;
      await unwrap(commands.syncStripe(channel));
      await queryClient.invalidateQueries({ predicate: (q) => String(q.queryKey[0]).startsWith("finance") });
    } catch (error) {
      setSyncError(errorMessage(error));
    } finally {
      setSyncing(false);
    }
  };

  if (status.isPending) return <LoadingState label="Loading finance…" />;
  if (status.isError) return <ErrorState title="Could not open Finance" error={status.error} onRetry={() => void status.refetch()} />;
  if (!status.data.configured)
    return (
      <EmptyView
        icon={<IconCreditCard size={28} />}
        title="No Stripe account in this profile"
        description={'Add [stripe] api_base = "https://api.stripe.com" to the profile file and store the secret key with `penguin-admin finance set-key`; then sync Stripe here.'}
      />
    );

  const synced = Boolean(status.data.as_of);
  return (
    <Stack gap={0} h="100%" data-testid="finance-screen">
      <Group justify="space-between" align="flex-end" px="lg" pt="md" pb="xs" wrap="nowrap">
        <div>
          <Title order={2}>Finance</Title>
          <Text size="xs" c="dimmed" data-testid="stripe-as-of">
            Stripe data as of {formatAge(status.data.as_of)}
          </Text>
        </div>
        <Group gap="sm" wrap="nowrap">
          {syncing && (
            <div style={{ width: 260 }}>
              <ProgressLine report={progress} label="Syncing Stripe" />
            </div>
          )}
          {syncing ? (
            <Button variant="default" onClick={() => void commands.cancelSync()}>
              Cancel
            </Button>
          ) : (
            <Button
              leftSection={<IconRefresh size={16} />}
              variant={synced ? "default" : "filled"}
              onClick={() => void syncStripe()}
              disabled={Boolean(actionsBlockedReason) || !can("sync.run")}
              title={actionsBlockedReason ?? undefined}
              data-testid="sync-stripe"
            >
              Sync Stripe
            </Button>
          )}
        </Group>
      </Group>
      {syncError && (
        <Text c="red" size="sm" px="lg" pb="xs" data-testid="stripe-sync-error">
          {syncError}
        </Text>
      )}
      {!synced ? (
        <EmptyView
          icon={<IconCreditCard size={28} />}
          title="Stripe has not been synced yet"
          description="Sync Stripe to copy customers, subscriptions, invoices, charges, refunds, disputes, balance transactions and payouts into the local cache; they stay readable offline afterwards."
        />
      ) : (
        <Tabs defaultValue="overview" keepMounted={false} style={{ flex: 1, display: "flex", flexDirection: "column", minHeight: 0 }}>
          <Tabs.List px="lg">
            <Tabs.Tab value="overview">Revenue</Tabs.Tab>
            <Tabs.Tab value="payments" data-testid="tab-payments">Payments</Tabs.Tab>
            <Tabs.Tab value="invoices" data-testid="tab-invoices">Invoices</Tabs.Tab>
            <Tabs.Tab value="failed" data-testid="tab-failed">Failed payments</Tabs.Tab>
            <Tabs.Tab value="subscriptions" data-testid="tab-subscriptions">Subscriptions</Tabs.Tab>
            {can("finance.reconcile") && <Tabs.Tab value="reconcile" data-testid="tab-reconcile">Reconciliation</Tabs.Tab>}
          </Tabs.List>
          <div style={{ flex: 1, minHeight: 0, overflow: "auto" }}>
            <Tabs.Panel value="overview" h="100%">
              <OverviewTab />
            </Tabs.Panel>
            <Tabs.Panel value="payments" h="100%">
              <PaymentsTab />
            </Tabs.Panel>
            <Tabs.Panel value="invoices" h="100%">
              <InvoicesTab />
            </Tabs.Panel>
            <Tabs.Panel value="failed" h="100%">
              <FailedPaymentsTab />
            </Tabs.Panel>
            <Tabs.Panel value="subscriptions" h="100%">
              <SubscriptionsTab />
            </Tabs.Panel>
            <Tabs.Panel value="reconcile" h="100%">
              <ReconciliationTab />
            </Tabs.Panel>
          </div>
        </Tabs>
      )}
    </Stack>
  );
}
