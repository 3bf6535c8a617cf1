// The tenant detail, in a drawer over the list (Esc closes it): the team (with the member
// actions), workspaces, subscription, feature flags and settings.
import { Badge, CopyButton, Drawer, Group, SimpleGrid, Stack, Tabs, Text, Title, Tooltip, UnstyledButton } from "@mantine/core";
import { IconCheck, IconCopy } from "@tabler/icons-react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { commands, type TenantDetail } from "../../bindings";
import { errorCode, unwrap } from "../../backend/call";
import { EmptyView, ErrorState, LoadingState } from "../../components/StateViews";
import { formatCents } from "../../format/money";
import { formatDate } from "../../format/time";
import { SubscriptionPanel, WorkspacesTable } from "./detailSections";
import { TenantFlagsPanel, TenantSettingsPanel } from "./TenantAdminPanels";
import { StatusBadge } from "./StatusBadge";
import { SupportAccessButton } from "./SupportAccess";
import { TeamPanel } from "./TeamPanel";

export function TenantDetailDrawer({ tenantId, onClose }: { tenantId: string | null; onClose: () => void }) {
  const detail = useQuery({
    queryKey: ["tenant", tenantId],
    queryFn: () => unwrap(commands.tenantDetail(tenantId ?? "")),
    enabled: tenantId !== null,
    // Keeps the last tenant on screen while the drawer slides shut.
    placeholderData: keepPreviousData,
  });

  let body;
  if (detail.isPending) body = <LoadingState label="Loading the tenant…" />;
  else if (detail.isError)
    body =
      errorCode(detail.error) === "not_found" ? (
        <EmptyView title="This tenant is not in the cache" description="It may have been deleted on the platform since the last sync." />
      ) : (
        <ErrorState title="Could not load the tenant" error={detail.error} onRetry={() => void detail.refetch()} />
      );
  else body = <DetailBody detail={detail.data} />;

  return (
    <Drawer
      opened={tenantId !== null}
      onClose={onClose}
      position="right"
      size="min(920px, 80%)"
      padding="lg"
      title={<Text fw={600}>Tenant</Text>}
      closeButtonProps={{ "aria-label": "Close tenant detail" }}
      data-testid="tenant-detail"
    >
      {body}
    </Drawer>
  );
}

function DetailBody({ detail }: { detail: TenantDetail }) {
  const { tenant } = detail;
  return (
    <Stack gap="lg" data-testid="tenant-detail-body" data-tenant-id={tenant.id}>
      <Stack gap={4}>
        <Group gap="sm">
          <Title order={2} data-testid="tenant-name">
            {tenant.name}
          </Title>
          <StatusBadge status={tenant.status} />
          {detail.sandbox && (
            <Badge size="sm" variant="outline" color="grape">
              sandbox
            </Badge>
          )}
          <Group ml="auto">
            <SupportAccessButton tenantId={tenant.id} tenantName={tenant.name} />
          </Group>
        </Group>
        <CopyButton value={tenant.id}>
          {({ copied, copy }) => (
            <Tooltip label={copied ? "Copied" : "Copy the tenant id"}>
              <UnstyledButton onClick={copy}>
                <Group gap={4}>
                  <Text size="xs" c="dimmed" ff="monospace">
                    {tenant.id}
                  </Text>
                  {copied ? <IconCheck size={12} /> : <IconCopy size={12} opacity={0.6} />}
                </Group>
              </UnstyledButton>
            </Tooltip>
          )}
        </CopyButton>
      </Stack>
      <SimpleGrid cols={4} spacing="md">
        <Fact label="Plan" value={tenant.plan ?? "None"} />
        <Fact label="MRR" value={formatCents(tenant.mrr_cents)} />
        <Fact label="Active members" value={String(tenant.members)} />
        <Fact label="Created" value={formatDate(tenant.created)} />
      </SimpleGrid>
      <Tabs defaultValue="members" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="members" rightSection={<Count n={detail.members.length} />} data-testid="tab-members">
            Members
          </Tabs.Tab>
          <Tabs.Tab value="workspaces" rightSection={<Count n={detail.workspaces.length} />} data-testid="tab-workspaces">
            Workspaces
          </Tabs.Tab>
          <Tabs.Tab value="subscription" data-testid="tab-subscription">
            Subscription
          </Tabs.Tab>
          <Tabs.Tab value="flags" rightSection={<Count n={detail.feature_flags.length} />} data-testid="tab-flags">
            Feature flags
          </Tabs.Tab>
          <Tabs.Tab value="settings" data-testid="tab-settings">
            Settings
          </Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="members" pt="md">
          <TeamPanel tenantId={tenant.id} tenantName={tenant.name} />
        </Tabs.Panel>
        <Tabs.Panel value="workspaces" pt="md">
          <WorkspacesTable workspaces={detail.workspaces} />
        </Tabs.Panel>
        <Tabs.Panel value="subscription" pt="md">
          <SubscriptionPanel subscription={detail.subscription} mrrCents={tenant.mrr_cents} />
        </Tabs.Panel>
        <Tabs.Panel value="flags" pt="md">
          <TenantFlagsPanel tenantId={tenant.id} />
        </Tabs.Panel>
        <Tabs.Panel value="settings" pt="md">
          <TenantSettingsPanel tenantId={tenant.id} />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

function Fact({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text size="sm" className="tabular">
        {value}
      </Text>
    </div>
  );
}

function Count({ n }: { n: number }) {
  return (
    <Badge size="xs" variant="light" color="gray" circle={n < 10}>
      {n}
    </Badge>
  );
}
