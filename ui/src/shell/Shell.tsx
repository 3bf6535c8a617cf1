// The signed-in shell: sidebar with the screens the role may see, sync status,
// offline banner, the Ctrl+K palette, and the current screen.
import { useEffect, useMemo, useState } from "react";
import { AppShell, Box, Divider, Kbd, NavLink, Stack, Text, UnstyledButton } from "@mantine/core";
import { spotlight } from "@mantine/spotlight";
import { IconSearch } from "@tabler/icons-react";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";

import { commands, type AppStatus, type PaletteHit, type StaffInfo } from "../bindings";
import { Brand } from "../components/Brand";
import { EmptyView } from "../components/StateViews";
import { AuditScreen } from "../screens/audit/AuditScreen";
import { TenantsScreen } from "../screens/tenants/TenantsScreen";
import { UsersScreen } from "../screens/users/UsersScreen";
import { FinanceScreen } from "../screens/finance/FinanceScreen";
import { MonitoringScreen } from "../screens/monitoring/MonitoringScreen";
import { WorkspacesScreen, type WorkspaceTarget } from "../screens/workspaces/WorkspacesScreen";
import { CommandPalette } from "./CommandPalette";
import { homeScreen, rememberScreen } from "./homeScreen";
import { OfflineBanner } from "./OfflineBanner";
import { SessionExpiredModal } from "./SessionExpiredModal";
import { visibleScreens, type ScreenId } from "./screens";
import { makeCan, SessionContext, type Session } from "./session";
import { StatusArea } from "./StatusArea";
import { UserCard } from "./UserCard";
import { useSync } from "./useSync";

/** Background sync while the app is open. */
const SYNC_EVERY_MS = 10 * 60_000;
/** With a filled cache, the first sync waits until the screen has drawn from it, so the
 *  sync does not compete with the first render for the CPU. */
const FIRST_SYNC_DELAY_MS = 2_000;

export function Shell({
  staff,
  profile,
  onSignedOut,
  onSignedInAgain,
}: {
  staff: StaffInfo;
  /** The profile signed in on: the last screen is remembered per profile and staff member. */
  profile: string;
  onSignedOut: (profile: string | null) => void;
  onSignedInAgain: (staff: StaffInfo) => void;
}) {
  const can = useMemo(() => makeCan(staff), [staff]);
  const screens = useMemo(() => visibleScreens(can), [can]);
  const [screen, setScreenState] = useState<ScreenId | null>(() => homeScreen(profile, staff, screens));
  const setScreen = (id: ScreenId) => {
    setScreenState(id);
    rememberScreen(profile, staff, id);
  };
  // What the Ctrl+K palette (or a screen) asked to open, per screen.
  const [openTenant, setOpenTenant] = useState<string | null>(null);
  const [openUser, setOpenUser] = useState<string | null>(null);
  const [openWorkspace, setOpenWorkspace] = useState<WorkspaceTarget | null>(null);
  const status = useQuery({ queryKey: ["status"], queryFn: () => commands.status(), refetchInterval: 15_000 });
  const sync = useSync();
  const queryClient = useQueryClient();
  const canSync = can("sync.run");
  const startSync = sync.start;

  const statusLoaded = status.data !== undefined;
  useEffect(() => {
    if (!canSync || !statusLoaded) return;
    const cacheFilled = Boolean(queryClient.getQueryData<AppStatus>(["status"])?.last_sync);
    const first = setTimeout(startSync, cacheFilled ? FIRST_SYNC_DELAY_MS : 0);
    const timer = setInterval(startSync, SYNC_EVERY_MS);
    return () => {
      clearTimeout(first);
      clearInterval(timer);
    };
  }, [canSync, startSync, statusLoaded, queryClient]);

  // What the staff member should read once: their cache was wiped (role changed) or
  // expired, or its key lives for this session only.
  const notice = status.data?.notice ?? null;
  useEffect(() => {
    if (notice) notifications.show({ color: "blue", title: "About your local data", message: notice, autoClose: 12_000 });
  }, [notice]);

  const offline = status.data ? !status.data.online : false;
  const session: Session = useMemo(
    () => ({
      staff,
      status: status.data,
      can,
      actionsBlockedReason: offline ? `Offline: ${status.data?.offline_reason ?? "the platform cannot be reached"}` : null,
    }),
    [staff, status.data, can, offline],
  );

  const signOut = async () => {
    await commands.signOut();
    onSignedOut(status.data?.profile ?? null);
  };

  // Each palette result opens itself: a tenant its drawer, a user the user's drawer, a
  // workspace the workspace's drawer, each on its own screen.
  const jump = (hit: PaletteHit) => {
    // Only the result's drawer is open afterwards (not one left open on another screen).
    setOpenTenant(null);
    setOpenUser(null);
    setOpenWorkspace(null);
    if (hit.kind === "user") {
      setScreen("users");
      setOpenUser(hit.id);
    } else if (hit.kind === "workspace") {
      setScreen("workspaces");
      setOpenWorkspace({ id: hit.id, tenantId: hit.tenant_id });
    } else if (hit.tenant_id) {
      setScreen("tenants");
      setOpenTenant(hit.tenant_id);
    }
  };

  const hasTenants = screens.some((s) => s.id === "tenants");

  return (
    <SessionContext value={session}>
      <AppShell navbar={{ width: 232, breakpoint: 0 }} padding={0}>
        <AppShell.Navbar p="md">
          <AppShell.Section>
            <Brand compact />
          </AppShell.Section>
          {hasTenants && (
            <AppShell.Section mt="md">
              <UnstyledButton onClick={() => spotlight.open()} w="100%" data-testid="open-palette" className="palette-trigger">
                <IconSearch size={14} />
                <Text size="sm" c="dimmed" style={{ flex: 1 }}>
                  Jump to…
                </Text>
                <Kbd size="xs">Ctrl K</Kbd>
              </UnstyledButton>
            </AppShell.Section>
          )}
          <AppShell.Section grow mt="md">
            <Stack gap={2} data-testid="sidebar">
              {screens.map((s) => (
                <NavLink
                  key={s.id}
                  label={s.label}
                  leftSection={s.icon}
                  active={screen === s.id}
                  onClick={() => setScreen(s.id)}
                  data-testid={`nav-${s.id}`}
                />
              ))}
            </Stack>
          </AppShell.Section>
          <AppShell.Section>
            <StatusArea status={status.data} sync={sync} canSync={canSync} />
            <Divider my="sm" />
            <UserCard staff={staff} onSignOut={() => void signOut()} />
          </AppShell.Section>
        </AppShell.Navbar>
        <AppShell.Main h="100vh" style={{ display: "flex", flexDirection: "column" }}>
          {offline && status.data && <OfflineBanner status={status.data} />}
          <Box style={{ flex: 1, minHeight: 0 }}>
            {screen === "tenants" && (
              <TenantsScreen openTenantId={openTenant} onOpenTenant={setOpenTenant} onCloseTenant={() => setOpenTenant(null)} />
            )}
            {screen === "users" && <UsersScreen openUserId={openUser} onOpenUser={setOpenUser} onCloseUser={() => setOpenUser(null)} />}
            {screen === "workspaces" && (
              <WorkspacesScreen openWorkspace={openWorkspace} onOpenWorkspace={setOpenWorkspace} onCloseWorkspace={() => setOpenWorkspace(null)} />
            )}
            {screen === "finance" && <FinanceScreen />}
            {screen === "monitoring" && <MonitoringScreen />}
            {screen === "audit" && <AuditScreen />}
            {screen === null && (
              <EmptyView title="Nothing to show for your role" description="Your staff role grants none of this console's screens. Ask a super admin for access." />
            )}
          </Box>
        </AppShell.Main>
      </AppShell>
      {hasTenants && <CommandPalette onJump={jump} />}
      <SessionExpiredModal staff={staff} onSignedIn={onSignedInAgain} onSignOut={() => void signOut()} />
    </SessionContext>
  );
}
