// The bottom of a form dialog: what went wrong (if anything), Cancel, and the action,
// which is disabled with the reason while actions are blocked (offline).
import type { ReactNode } from "react";
import { Button, Group, Text } from "@mantine/core";

import { useSession } from "../shell/session";

export function DialogFooter({
  problem,
  problemTestId,
  onCancel,
  cancelLabel = "Cancel",
  onSubmit,
  submitLabel,
  submitTestId,
  busy,
  disabled = false,
  color,
}: {
  problem?: string | null;
  problemTestId?: string;
  onCancel: () => void;
  cancelLabel?: string;
  onSubmit: () => void;
  submitLabel: ReactNode;
  submitTestId?: string;
  busy: boolean;
  disabled?: boolean;
  color?: string;
}) {
  const { actionsBlockedReason } = useSession();
  return (
    <>
      {problem && (
        <Text c="red" size="sm" data-testid={problemTestId}>
          {problem}
        </Text>
      )}
      <Group justify="flex-end">
        <Button variant="default" onClick={onCancel} data-testid="dialog-cancel">
          {cancelLabel}
        </Button>
        <Button color={color} onClick={onSubmit} loading={busy} disabled={disabled || actionsBlockedReason !== null} title={actionsBlockedReason ?? undefined} data-testid={submitTestId}>
          {submitLabel}
        </Button>
      </Group>
    </>
  );
}
