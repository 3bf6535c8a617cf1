import { Badge } from "@mantine/core";

const COLORS: Record<string, string> = {
  active: "green",
  trialing: "cyan",
  past_due: "orange",
  unpaid: "red",
  canceled: "gray",
  incomplete: "yellow",
  paused: "yellow",
  no_subscription: "gray",
  deleted: "dark",
  suspended: "red",
  invited: "blue",
  removed: "gray",
  locked: "orange",
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <Badge size="sm" variant="light" color={COLORS[status] ?? "gray"} style={{ textTransform: "none" }}>
      {status.replace(/_/g, " ")}
    </Badge>
  );
}
