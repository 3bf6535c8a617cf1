// The virtualised tenant grid: TanStack Table for columns and sort state, TanStack
// Virtual so only the rows on screen exist in the DOM (thousands of tenants stay fast).
import { useEffect, useMemo, useRef } from "react";
import { Skeleton, Text, UnstyledButton } from "@mantine/core";
import { IconArrowDown, IconArrowUp, IconSelector } from "@tabler/icons-react";
import { flexRender, getCoreRowModel, useReactTable, type OnChangeFn, type SortingState } from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";

import { columns, GRID_TEMPLATE, type Slot } from "./columns";
import type { TenantPages } from "./useTenantPages";
import classes from "./TenantTable.module.css";

const ROW_HEIGHT = 42;
const HEADER_HEIGHT = 36;

export function TenantTable({
  pages,
  total,
  sorting,
  onSortingChange,
  activeIndex,
  onActivate,
  onOpen,
  onVisibleRangeChange,
}: {
  pages: TenantPages;
  total: number;
  sorting: SortingState;
  onSortingChange: OnChangeFn<SortingState>;
  activeIndex: number;
  onActivate: (index: number) => void;
  onOpen: (index: number) => void;
  onVisibleRangeChange: (start: number, end: number) => void;
}) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const { rowAt } = pages;
  const data = useMemo<Slot[]>(() => Array.from({ length: total }, (_, i) => rowAt(i) ?? null), [total, rowAt]);

  const table = useReactTable({
    data,
    columns,
    state: { sorting },
    onSortingChange,
    manualSorting: true,
    enableMultiSort: false,
    enableSortingRemoval: false,
    getCoreRowModel: getCoreRowModel(),
  });
  const rows = table.getRowModel().rows;

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    // The sticky header covers the top of the scroll area.
    scrollPaddingStart: HEADER_HEIGHT,
  });
  const items = virtualizer.getVirtualItems();
  const firstVisible = items[0]?.index ?? 0;
  const lastVisible = items[items.length - 1]?.index ?? 0;

  useEffect(() => {
    onVisibleRangeChange(firstVisible, lastVisible);
  }, [firstVisible, lastVisible, onVisibleRangeChange]);

  useEffect(() => {
    if (activeIndex >= 0) virtualizer.scrollToIndex(activeIndex, { align: "auto" });
  }, [activeIndex, virtualizer]);

  return (
    <div ref={scrollRef} className={classes.frame} role="grid" aria-rowcount={total} data-testid="tenant-table">
      <div className={classes.header} style={{ gridTemplateColumns: GRID_TEMPLATE, height: HEADER_HEIGHT }} role="row">
        {table.getFlatHeaders().map((header) => {
          const sorted = header.column.getIsSorted();
          const numeric = header.column.columnDef.meta?.numeric ?? false;
          return (
            <UnstyledButton
              key={header.id}
              role="columnheader"
              aria-sort={sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : "none"}
              className={classes.headerCell}
              data-numeric={numeric || undefined}
              onClick={header.column.getToggleSortingHandler()}
              data-testid={`sort-${header.id}`}
            >
              <Text size="xs" fw={700} c={sorted ? undefined : "dimmed"} tt="uppercase">
                {flexRender(header.column.columnDef.header, header.getContext())}
              </Text>
              {sorted === "asc" ? <IconArrowUp size={13} /> : sorted === "desc" ? <IconArrowDown size={13} /> : <IconSelector size={13} opacity={0.4} />}
            </UnstyledButton>
          );
        })}
      </div>
      <div className={classes.body} style={{ height: virtualizer.getTotalSize() }}>
          {items.map((item) => {
            const row = rows[item.index];
            if (!row) return null;
            const loaded = row.original !== null;
            return (
              <div
                key={item.key}
                role="row"
                aria-rowindex={item.index + 1}
                aria-selected={item.index === activeIndex}
                className={classes.row}
                data-active={item.index === activeIndex || undefined}
                data-testid={loaded ? "tenant-row" : "tenant-row-loading"}
                data-tenant-id={row.original?.id}
                style={{ gridTemplateColumns: GRID_TEMPLATE, height: ROW_HEIGHT, transform: `translateY(${item.start}px)` }}
                onClick={() => {
                  onActivate(item.index);
                  if (loaded) onOpen(item.index);
                }}
              >
                {row.getVisibleCells().map((cell) => (
                  <div key={cell.id} role="gridcell" className={classes.cell} data-numeric={cell.column.columnDef.meta?.numeric || undefined}>
                    {loaded ? flexRender(cell.column.columnDef.cell, cell.getContext()) : <Skeleton height={12} radius="sm" />}
                  </div>
                ))}
              </div>
            );
          })}
      </div>
    </div>
  );
}
