// A virtualised, server-sorted grid: TanStack Table for columns and sort state,
// TanStack Virtual so only the rows on screen exist in the DOM (a million rows stay
// fast). Rows not fetched yet render as skeletons.
import { useEffect, useMemo, useRef, type CSSProperties } from "react";
import { Skeleton, Text, UnstyledButton } from "@mantine/core";
import { IconArrowDown, IconArrowUp, IconSelector } from "@tabler/icons-react";
import {
  flexRender,
  getCoreRowModel,
  useReactTable,
  type ColumnDef,
  type OnChangeFn,
  type SortingState,
} from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";

import classes from "./VirtualTable.module.css";

const ROW_HEIGHT = 42;
const HEADER_HEIGHT = 36;

export function VirtualTable<Row>({
  columns,
  gridTemplate,
  minWidth = 900,
  total,
  rowAt,
  rowId,
  sorting,
  onSortingChange,
  activeIndex = -1,
  onOpen,
  onVisibleRangeChange,
  testId,
}: {
  // Each column has its own value type; TanStack's own examples type the list with `any`.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  columns: ColumnDef<Row | null, any>[];
  gridTemplate: string;
  minWidth?: number;
  total: number;
  rowAt: (index: number) => Row | undefined;
  rowId: (row: Row) => string;
  sorting: SortingState;
  onSortingChange: OnChangeFn<SortingState>;
  activeIndex?: number;
  onOpen: (row: Row, index: number) => void;
  onVisibleRangeChange: (start: number, end: number) => void;
  testId: string;
}) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const data = useMemo(() => Array.from({ length: total }, (_, i) => rowAt(i) ?? null), [total, rowAt]);
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
    scrollPaddingStart: HEADER_HEIGHT,
  });
  const items = virtualizer.getVirtualItems();
  const firstVisible = items[0]?.index ?? 0;
  const lastVisible = items[items.length - 1]?.index ?? 0;
  useEffect(() => onVisibleRangeChange(firstVisible, lastVisible), [firstVisible, lastVisible, onVisibleRangeChange]);
  useEffect(() => {
    if (activeIndex >= 0) virtualizer.scrollToIndex(activeIndex, { align: "auto" });
  }, [activeIndex, virtualizer]);

  const frameStyle = { "--table-min-width": `${minWidth}px` } as CSSProperties;
  return (
    <div ref={scrollRef} className={classes.frame} style={frameStyle} role="grid" aria-rowcount={total} data-testid={testId}>
      <div className={classes.header} style={{ gridTemplateColumns: gridTemplate, height: HEADER_HEIGHT }} role="row">
        {table.getFlatHeaders().map((header) => {
          const sorted = header.column.getIsSorted();
          const sortable = header.column.getCanSort();
          const numeric = header.column.columnDef.meta?.numeric ?? false;
          const label = (
            <Text size="xs" fw={700} c={sorted ? undefined : "dimmed"} tt="uppercase">
              {flexRender(header.column.columnDef.header, header.getContext())}
            </Text>
          );
          if (!sortable)
            return (
              <div key={header.id} role="columnheader" className={classes.headerCell} data-numeric={numeric || undefined}>
                {label}
              </div>
            );
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
              {label}
              {sorted === "asc" ? <IconArrowUp size={13} /> : sorted === "desc" ? <IconArrowDown size={13} /> : <IconSelector size={13} opacity={0.4} />}
            </UnstyledButton>
          );
        })}
      </div>
      <div className={classes.body} style={{ height: virtualizer.getTotalSize() }}>
        {items.map((item) => {
          const row = rows[item.index];
          if (!row) return null;
          const original = row.original;
          return (
            <div
              key={item.key}
              role="row"
              aria-rowindex={item.index + 1}
              aria-selected={item.index === activeIndex}
              className={classes.row}
              data-active={item.index === activeIndex || undefined}
              data-testid={original ? `${testId}-row` : `${testId}-row-loading`}
              data-row-id={original ? rowId(original) : undefined}
              style={{ gridTemplateColumns: gridTemplate, height: ROW_HEIGHT, transform: `translateY(${item.start}px)` }}
              onClick={() => original && onOpen(original, item.index)}
            >
              {row.getVisibleCells().map((cell) => (
                <div key={cell.id} role="gridcell" className={classes.cell} data-numeric={cell.column.columnDef.meta?.numeric || undefined}>
                  {original ? flexRender(cell.column.columnDef.cell, cell.getContext()) : <Skeleton height={12} radius="sm" />}
                </div>
              ))}
            </div>
          );
        })}
      </div>
    </div>
  );
}
