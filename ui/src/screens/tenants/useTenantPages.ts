// The tenant list as fixed-size pages fetched on demand (see components/usePages).
import { useCallback } from "react";

import { commands, type TenantRow, type TenantSort } from "../../bindings";
import { unwrap } from "../../backend/call";
import { usePages, type Pages } from "../../components/usePages";

export const PAGE_SIZE = 200;

export type TenantListQuery = { search: string; sort: TenantSort; descending: boolean; sandboxOnly: boolean };

export type TenantPages = Pages<TenantRow>;

export function useTenantPages(query: TenantListQuery, visible: { start: number; end: number }): TenantPages {
  const { search, sort, descending, sandboxOnly } = query;
  const fetchPage = useCallback(
    (offset: number, limit: number) =>
      unwrap(commands.tenants({ search: search || null, sort, descending, limit, offset, sandbox_only: sandboxOnly })),
    [search, sort, descending, sandboxOnly],
  );
  return usePages(["tenants", search, sort, descending, sandboxOnly], fetchPage, visible, PAGE_SIZE);
}
