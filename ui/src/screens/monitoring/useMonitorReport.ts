// The live report behind the Monitoring screen: every area on open, then the cheap areas
// every 5 s while the screen is mounted and the blocklists only every 5 minutes (DNSBLs
// rate-limit, and each run writes the IPs' reputation fields). The backend merges each
// partial report into the last full one, so every tile stays on screen.
import { useRef } from "react";
import { useQuery } from "@tanstack/react-query";

import { commands, type Area } from "../../bindings";
import { unwrap } from "../../backend/call";

export const REFRESH_MS = 5_000;
export const DNSBL_EVERY_MS = 5 * 60_000;
const CHEAP: Area[] = ["queue", "sending", "smtp", "postgres", "redis", "hosts"];

export function useMonitorReport() {
  const lastDnsbl = useRef<number>(0);
  return useQuery({
    queryKey: ["monitor-report"],
    queryFn: async () => {
      const now = Date.now();
      const withDnsbl = now - lastDnsbl.current >= DNSBL_EVERY_MS;
      const snapshot = await unwrap(commands.monitorReport(withDnsbl ? [] : CHEAP));
      if (withDnsbl && !snapshot.stale_reason) lastDnsbl.current = now;
      return snapshot;
    },
    refetchInterval: REFRESH_MS,
    refetchIntervalInBackground: false,
    retry: false,
  });
}
