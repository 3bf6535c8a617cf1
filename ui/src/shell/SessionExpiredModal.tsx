// When the database ends the console session (idle or absolute timeout, revoked, the
// staff member suspended, removed or given another role), every command answers
// `session_expired`. This asks for the password again over the current screen, which
// keeps what it shows; signing in as someone else or failing goes to the sign-in screen.
import { useEffect, useState } from "react";
import { Alert, Anchor, Button, Group, Modal, PasswordInput, Stack, Text } from "@mantine/core";
import { IconClockOff } from "@tabler/icons-react";
import { useQueryClient } from "@tanstack/react-query";

import { commands, type StaffInfo } from "../bindings";
import { errorMessage, SESSION_EXPIRED_EVENT, unwrap } from "../backend/call";

export function SessionExpiredModal({
  staff,
  onSignedIn,
  onSignOut,
}: {
  staff: StaffInfo;
  onSignedIn: (staff: StaffInfo) => void;
  onSignOut: () => void;
}) {
  const [reason, setReason] = useState<string | null>(null);
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const queryClient = useQueryClient();

  useEffect(() => {
    const onExpired = (event: Event) => setReason((event as CustomEvent<string>).detail);
    window.addEventListener(SESSION_EXPIRED_EVENT, onExpired);
    return () => window.removeEventListener(SESSION_EXPIRED_EVENT, onExpired);
  }, []);

  const submit = async () => {
    if (!password) return;
    setBusy(true);
    setError(null);
    try {
      const again = await unwrap(commands.signIn(staff.email, password));
      setPassword("");
      setReason(null);
      if (again.role !== staff.role) {
        // Another role means another cache: start over from the sign-in result.
        onSignedIn(again);
      } else {
        await queryClient.invalidateQueries();
      }
    } catch (e) {
      setPassword("");
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      opened={reason !== null}
      onClose={() => undefined}
      withCloseButton={false}
      closeOnEscape={false}
      closeOnClickOutside={false}
      title="Sign in again"
      data-testid="session-expired"
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <Stack gap="md">
          <Alert color="orange" icon={<IconClockOff size={18} />}>
            {reason}
          </Alert>
          <Text size="sm">
            What is on screen stays as it is. Enter the password of <b>{staff.email}</b> to go on.
          </Text>
          <PasswordInput
            label="Password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
            data-autofocus
            data-testid="reauth-password"
          />
          {error && (
            <Text size="sm" c="red" data-testid="reauth-error">
              {error}
            </Text>
          )}
          <Group justify="space-between">
            <Anchor component="button" type="button" size="sm" onClick={onSignOut}>
              Sign out instead
            </Anchor>
            <Button type="submit" loading={busy} disabled={!password} data-testid="reauth-submit">
              Sign in
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
