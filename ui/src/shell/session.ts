// What every screen may ask of the signed-in session: who is signed in, what the role
// may do, and whether central is reachable (actions need it; reads use the cache).
import { createContext, useContext } from "react";

import type { AppStatus, StaffInfo } from "../bindings";

export type Session = {
  staff: StaffInfo;
  status: AppStatus | undefined;
  /** Why actions are unavailable right now (offline), or null when they may run. */
  actionsBlockedReason: string | null;
  can: (permission: string) => boolean;
};

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside the signed-in shell");
  return session;
}

export function makeCan(staff: StaffInfo): (permission: string) => boolean {
  const granted = new Set(staff.permissions);
  return (permission) => granted.has(permission);
}
