// A long list as fixed-size pages fetched on demand: the table is virtualised, so only
// the pages under the visible rows are asked for (filtering, sorting and paging run in
// SQL). Pages are cached by React Query, keyed by the query and the page number.
import { useMemo } from "react";
import { keepPreviousData, useQueries } from "@tanstack/react-query";

export type Page<Row> = { rows: Row[]; total: number; as_of: string | null };

export type Pages<Row> = {
  /** Matching rows in all, once the first page has arrived. */
  total: number | undefined;
  asOf: string | null;
  rowAt: (index: number) => Row | undefined;
  isPending: boolean;
  isFetching: boolean;
  error: unknown;
  refetch: () => void;
};

export function usePages<Row>(
  key: readonly unknown[],
  fetchPage: (offset: number, limit: number) => Promise<Page<Row>>,
  visible: { start: number; end: number },
  pageSize: number,
): Pages<Row> {
  const pageNumbers = useMemo(() => {
    const first = Math.floor(visible.start / pageSize);
    const last = Math.floor(Math.max(visible.start, visible.end) / pageSize);
    const pages = new Set([0]);
    for (let page = first; page <= last; page++) pages.add(page);
    return [...pages];
  }, [visible.start, visible.end, pageSize]);

  const results = useQueries({
    queries: pageNumbers.map((page) => ({
      queryKey: [...key, page],
      queryFn: () => fetchPage(page * pageSize, pageSize),
      placeholderData: page === 0 ? keepPreviousData : undefined,
    })),
  });

  return useMemo(() => {
    const pages = new Map<number, Page<Row>>();
    results.forEach((result, i) => {
      const page = pageNumbers[i];
      if (result.data && page !== undefined) pages.set(page, result.data);
    });
    const first = results[0];
    return {
      total: first?.data?.total,
      asOf: first?.data?.as_of ?? null,
      rowAt: (index: number) => pages.get(Math.floor(index / pageSize))?.rows[index % pageSize],
      isPending: first?.isPending ?? true,
      isFetching: results.some((r) => r.isFetching),
      error: results.find((r) => r.error)?.error ?? null,
      refetch: () => {
        for (const r of results) void r.refetch();
      },
    };
  }, [results, pageNumbers, pageSize]);
}
