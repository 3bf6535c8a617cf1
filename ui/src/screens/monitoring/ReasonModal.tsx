// Confirms an audited action and asks why: the reason goes into the audit log, so the
// button stays disabled until one is given.
import { useState, type ReactNode } from "react";
import { Button, Group, Modal, Stack, Text, Textarea } from "@mantine/core";

import { errorMessage } from "../../backend/call";

export type ReasonRequest = {
  title: string;
  body: ReactNode;
  confirm: string;
  color?: string;
  /** Resolves when done; a rejection is shown in the modal and keeps it open. */
  run: (reason: string) => Promise<void>;
};

export function ReasonModal({ request, onClose }: { request: ReasonRequest | null; onClose: () => void }) {
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const close = () => {
    setReason("");
    setError(null);
    onClose();
  };
  const submit = async () => {
    if (!request) return;
    setBusy(true);
    setError(null);
    try {
      await request.run(reason.trim());
      close();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal opened={request !== null} onClose={close} title={request?.title} centered data-testid="reason-modal">
      <Stack gap="sm">
        <div data-testid="reason-modal-body">{request?.body}</div>
        <Textarea
          label="Reason"
          description="Recorded in the audit log"
          placeholder="e.g. SMTP relay fixed, ticket OPS-123"
          value={reason}
          onChange={(e) => setReason(e.currentTarget.value)}
          autosize
          minRows={2}
          data-autofocus
          data-testid="reason-input"
        />
        {error && (
          <Text c="red" size="sm" data-testid="reason-error">
            {error}
          </Text>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={close}>
            Cancel
          </Button>
          <Button color={request?.color} loading={busy} disabled={!reason.trim()} onClick={() => void submit()} data-testid="reason-confirm">
            {request?.confirm}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
