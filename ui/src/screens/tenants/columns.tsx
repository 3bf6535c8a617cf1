// The tenant list's columns. Sorting is done in SQL, so each column names the
// backend sort key it stands for.
import { Text } from "@mantine/core";
import { createColumnHelper } from "@tanstack/react-table";

import type { TenantRow, TenantSort } from "../../bindings";
import { formatCents } from "../../format/money";
import { formatDate } from "../../format/time";
import { StatusBadge } from "./StatusBadge";
import { numbers } from "../../format/locale";

/** A row of the list, or `null` while its page is still loading. */
export type Slot = TenantRow | null;

const column = createColumnHelper<Slot>();

export const GRID_TEMPLATE = "minmax(200px, 3fr) minmax(100px, 1fr) 130px 84px 100px 110px 116px";

export const columns = [
  column.accessor((row) => row?.name ?? "", {
    id: "name" satisfies TenantSort,
    header: "Name",
    cell: (c) => (
      <Text size="sm" fw={500} truncate>
        {c.getValue()}
      </Text>
    ),
  }),
  column.accessor((row) => row?.plan ?? null, {
    id: "plan" satisfies TenantSort,
    header: "Plan",
    cell: (c) => (
      <Text size="sm" c={c.getValue() ? undefined : "dimmed"} truncate>
        {c.getValue() ?? "—"}
      </Text>
    ),
  }),
  column.accessor((row) => row?.status ?? "", {
    id: "status" satisfies TenantSort,
    header: "Status",
    cell: (c) => <StatusBadge status={c.getValue()} />,
  }),
  column.accessor((row) => row?.members ?? 0, {
    id: "members" satisfies TenantSort,
    header: "Members",
    sortDescFirst: true,
    meta: { numeric: true },
    cell: (c) => numbers.format(c.getValue()),
  }),
  column.accessor((row) => row?.workspaces ?? 0, {
    id: "workspaces" satisfies TenantSort,
    header: "Workspaces",
    sortDescFirst: true,
    meta: { numeric: true },
    cell: (c) => numbers.format(c.getValue()),
  }),
  column.accessor((row) => row?.mrr_cents ?? 0, {
    id: "mrr" satisfies TenantSort,
    header: "MRR",
    sortDescFirst: true,
    meta: { numeric: true },
    cell: (c) => formatCents(c.getValue()),
  }),
  column.accessor((row) => row?.created ?? null, {
    id: "created" satisfies TenantSort,
    header: "Created",
    sortDescFirst: true,
    meta: { numeric: true },
    cell: (c) => formatDate(c.getValue()),
  }),
];
