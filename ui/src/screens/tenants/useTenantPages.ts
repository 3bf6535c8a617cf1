// The tenant list as fixed-size pages fetched on demand: the table is virtualised, so
// only the pages under the visible rows are asked for (search, sort and paging all
// run in SQL). Pages are cached by React Query, keyed by the query and page number.
import { useMemo } from "react";
import { keepPreviousData, useQueries } from "@tanstack/react-query";

import { commands, type TenantPage, type TenantRow, type TenantSort } from "../../bindings";
import { unwrap } from "../../backend/call";

export const PAGE_SIZE = 200;

export type TenantListQuery = { search: string; sort: TenantSort; descending: boolean; sandboxOnly: boolean };

export type TenantPages = {
  /** Matching tenants in all, once the first page has arrived. */
  total: number | undefined;
  asOf: string | null;
  rowAt: (index: number) => TenantRow | undefined;
  isPending: boolean;
  isFetching: boolean;
  error: unknown;
  refetch: () => void;
};

export function useTenantPages(query: TenantListQuery, visible: { start: number; end: number }): TenantPages {
  const pageNumbers = useMemo(() => {
    const first = Math.floor(visible.start / PAGE_SIZE);
    const last = Math.floor(Math.max(visible.start, visible.end) / PAGE_SIZE);
    const pages = new Set([0]);
    for (let page = first; page <= last; page++) pages.add(page);
    return [...pages];
  }, [visible.start, visible.end]);

  const results = useQueries({
    queries: pageNumbers.map((page) => ({
      queryKey: ["tenants", query.search, query.sort, query.descending, query.sandboxOnly, page],
      queryFn: () =>
        unwrap(
          commands.tenants({
            search: query.search || null,
            sort: query.sort,
            descending: query.descending,
            limit: PAGE_SIZE,
            offset: page * PAGE_SIZE,
            sandbox_only: query.sandboxOnly,
          }),
        ),
      placeholderData: page === 0 ? keepPreviousData : undefined,
    })),
  });

  return useMemo(() => {
    const pages = new Map<number, TenantPage>();
    results.forEach((result, i) => {
      const page = pageNumbers[i];
      if (result.data && page !== undefined) pages.set(page, result.data);
    });
    const first = results[0];
    return {
      total: first?.data?.total,
      asOf: first?.data?.as_of ?? null,
      rowAt: (index: number) => pages.get(Math.floor(index / PAGE_SIZE))?.rows[index % PAGE_SIZE],
      isPending: first?.isPending ?? true,
      isFetching: results.some((r) => r.isFetching),
      error: results.find((r) => r.error)?.error ?? null,
      refetch: () => {
        for (const r of results) void r.refetch();
      },
    };
  }, [results, pageNumbers]);
}
