// The screens of the shell and the permission each needs; the sidebar shows only
// those the role may open (the backend refuses the rest anyway).
import type { ReactNode } from "react";
import { IconActivityHeartbeat, IconBriefcase, IconBuildingSkyscraper, IconCreditCard, IconListDetails, IconUsers } from "@tabler/icons-react";

export type ScreenId = "tenants" | "users" | "workspaces" | "finance" | "monitoring" | "audit";

export type ScreenInfo = { id: ScreenId; label: string; icon: ReactNode; anyOf: string[] };

export const SCREENS: ScreenInfo[] = [
  { id: "tenants", label: "Tenants", icon: <IconBuildingSkyscraper size={18} />, anyOf: ["tenants.read", "tenants.read_sandbox"] },
  { id: "users", label: "Users", icon: <IconUsers size={18} />, anyOf: ["tenants.read", "tenants.read_sandbox"] },
  { id: "workspaces", label: "Workspaces", icon: <IconBriefcase size={18} />, anyOf: ["tenants.read", "tenants.read_sandbox"] },
  { id: "finance", label: "Finance", icon: <IconCreditCard size={18} />, anyOf: ["finance.read"] },
  { id: "monitoring", label: "Monitoring", icon: <IconActivityHeartbeat size={18} />, anyOf: ["monitoring.read"] },
  { id: "audit", label: "Audit log", icon: <IconListDetails size={18} />, anyOf: ["audit.read"] },
];

export function visibleScreens(can: (permission: string) => boolean): ScreenInfo[] {
  return SCREENS.filter((screen) => screen.anyOf.some(can));
}
