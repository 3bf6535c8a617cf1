// The screen the shell opens on: the last one this staff member used on this profile,
// else their role's home (ops: Monitoring, finance: Finance, everyone else: Tenants),
// else the first screen the role may open. Kept in localStorage per profile and email
// (no secrets: a screen id), like the last profile (backend/lastProfile.ts).
import type { StaffInfo } from "../bindings";
import type { ScreenId, ScreenInfo } from "./screens";

const ROLE_HOME: Record<string, ScreenId> = { ops: "monitoring", finance: "finance" };
const DEFAULT_HOME: ScreenId = "tenants";

const key = (profile: string, staff: StaffInfo) => `penguin-admin.last-screen:${profile}:${staff.email.toLowerCase()}`;

/** The role's own home screen, before any remembered one. */
export function roleHome(staff: StaffInfo): ScreenId {
  return ROLE_HOME[staff.role] ?? DEFAULT_HOME;
}

export function homeScreen(profile: string, staff: StaffInfo, screens: ScreenInfo[]): ScreenId | null {
  const allowed = (id: string | null): id is ScreenId => screens.some((s) => s.id === id);
  let last: string | null = null;
  try {
    last = localStorage.getItem(key(profile, staff));
  } catch {
    // Storage unavailable: the role's home.
  }
  if (allowed(last)) return last;
  const home = roleHome(staff);
  if (allowed(home)) return home;
  return screens[0]?.id ?? null;
}

export function rememberScreen(profile: string, staff: StaffInfo, screen: ScreenId): void {
  try {
    localStorage.setItem(key(profile, staff), screen);
  } catch {
    // Storage unavailable: the next start opens the role's home.
  }
}
