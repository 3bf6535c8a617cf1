// Staff sign-in on the selected profile. A wrong password and an unknown email get the
// same answer (the database's); a locked account shows until when, in local time.
import { useState } from "react";
import { Alert, Anchor, Button, Center, Group, Paper, PasswordInput, Stack, Text, TextInput, Title } from "@mantine/core";
import { useForm } from "@mantine/form";
import { IconAlertTriangle, IconLock } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";

import { commands, type StaffInfo } from "../../bindings";
import { errorCode, errorMessage, errorUntil, unwrap } from "../../backend/call";
import { Brand } from "../../components/Brand";
import { DemoAccounts } from "./DemoAccounts";
import { localizeTimes } from "./localizeTimes";
import { formatClock } from "../../format/time";

type Failure = { locked: boolean; title: string; message: string };

export function SignInScreen({
  profile,
  onSignedIn,
  onSwitchProfile,
}: {
  profile: string;
  onSignedIn: (staff: StaffInfo) => void;
  onSwitchProfile: () => void;
}) {
  const profiles = useQuery({ queryKey: ["profiles"], queryFn: () => unwrap(commands.profiles()) });
  const isDemo = profiles.data?.find((p) => p.name === profile)?.is_demo ?? false;
  const [failure, setFailure] = useState<Failure | null>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm({
    mode: "controlled",
    initialValues: { email: "", password: "" },
    validate: {
      email: (v) => (/^\S+@\S+$/.test(v.trim()) ? null : "Enter your staff email address"),
      password: (v) => (v ? null : "Enter your password"),
    },
  });

  const submit = async ({ email, password }: { email: string; password: string }) => {
    setBusy(true);
    setFailure(null);
    try {
      performance.mark("sign-in-start");
      const staff = await unwrap(commands.signIn(email.trim(), password));
      performance.mark("sign-in-done");
      onSignedIn(staff);
    } catch (error) {
      form.setFieldValue("password", "");
      const message = errorMessage(error);
      if (errorCode(error) === "locked") {
        const until = errorUntil(error);
        setFailure({ locked: true, title: until ? `Locked until ${formatClock(until)}` : "Account locked", message: localizeTimes(message) });
      } else {
        setFailure({ locked: false, title: "Not signed in", message: localizeTimes(message) });
      }
      setBusy(false);
    }
  };

  return (
    <Center h="100vh" bg="var(--mantine-color-gray-0)" data-testid="signin-screen">
      <Stack w={400} gap="lg">
        <Center>
          <Brand size={40} />
        </Center>
        <Paper withBorder shadow="sm" p="xl">
          <form onSubmit={form.onSubmit((values) => void submit(values))}>
            <Stack gap="md">
              <div>
                <Title order={3}>Sign in</Title>
                <Group gap={6}>
                  <Text size="sm" c="dimmed">
                    Profile <b>{profile}</b>
                  </Text>
                  <Anchor component="button" type="button" size="sm" onClick={onSwitchProfile} data-testid="switch-profile">
                    Switch
                  </Anchor>
                </Group>
              </div>
              <TextInput label="Email" autoComplete="username" data-autofocus autoFocus data-testid="email" {...form.getInputProps("email")} />
              <PasswordInput label="Password" autoComplete="current-password" data-testid="password" {...form.getInputProps("password")} />
              {failure && (
                <Alert
                  color={failure.locked ? "orange" : "red"}
                  icon={failure.locked ? <IconLock size={18} /> : <IconAlertTriangle size={18} />}
                  title={failure.title}
                  data-testid={failure.locked ? "signin-locked" : "signin-error"}
                >
                  {failure.message}
                </Alert>
              )}
              <Button type="submit" loading={busy} fullWidth data-testid="sign-in">
                Sign in
              </Button>
            </Stack>
          </form>
        </Paper>
        {isDemo && <DemoAccounts onPick={(email) => form.setFieldValue("email", email)} />}
      </Stack>
    </Center>
  );
}
