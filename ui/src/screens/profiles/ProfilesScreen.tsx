// First run and profile choice: connect to the platform, try the demo, or open one of
// the saved connection profiles.
import { useState } from "react";
import { Alert, Container, Paper, ScrollArea, Stack, Text, Title } from "@mantine/core";
import { IconAlertTriangle } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";

import { commands, type ProfileSummary } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { Brand } from "../../components/Brand";
import { ErrorState, LoadingState } from "../../components/StateViews";
import { ConnectForm } from "./ConnectForm";
import { DemoStart } from "./DemoStart";
import { ProfileList } from "./ProfileList";
import { StartChoices } from "./StartChoices";

type Mode = "choose" | "connect" | "demo";

export function ProfilesScreen({ startupError, onSelected }: { startupError?: string | undefined; onSelected: (profile: string) => void }) {
  const profiles = useQuery({ queryKey: ["profiles"], queryFn: () => unwrap(commands.profiles()) });
  const queryClient = useQueryClient();
  const [mode, setMode] = useState<Mode>("choose");
  const [opening, setOpening] = useState<string | null>(null);
  const [openError, setOpenError] = useState<string | null>(startupError ?? null);

  const open = async (profile: ProfileSummary | string) => {
    const name = typeof profile === "string" ? profile : profile.name;
    setOpening(name);
    setOpenError(null);
    try {
      await unwrap(commands.selectProfile(name));
      // A profile created here (the demo, a new connection) is not in the list this
      // screen read: read it again, so the sign-in screen knows what it opens (the demo
      // accounts helper shows for a demo profile only).
      await queryClient.invalidateQueries({ queryKey: ["profiles"] });
      onSelected(name);
    } catch (error) {
      setOpenError(errorMessage(error));
      setMode("choose");
      void profiles.refetch();
    } finally {
      setOpening(null);
    }
  };

  const list = profiles.data ?? [];
  let body;
  if (profiles.isPending) body = <LoadingState label="Reading connection profiles…" />;
  else if (profiles.isError) body = <ErrorState title="Could not read the connection profiles" error={profiles.error} onRetry={() => void profiles.refetch()} />;
  else if (mode === "connect")
    body = (
      <Section title="Connect to the platform" subtitle="The four PostgreSQL databases of the PenguinMails platform.">
        <ConnectForm existing={list.map((p) => p.name)} onCreated={(p) => void open(p)} onCancel={() => setMode("choose")} />
      </Section>
    );
  else if (mode === "demo")
    body = (
      <Section title="Try with demo data" subtitle="A throwaway platform on this computer.">
        <DemoStart onCreated={(p) => void open(p)} onCancel={() => setMode("choose")} />
      </Section>
    );
  else
    body = (
      <Stack gap="lg">
        {list.length > 0 && (
          <Section title="Connection profiles" subtitle="Pick the platform to work on.">
            <ProfileList profiles={list} opening={opening} onOpen={(p) => void open(p)} />
          </Section>
        )}
        <StartChoices firstRun={list.length === 0} onConnect={() => setMode("connect")} onDemo={() => setMode("demo")} />
      </Stack>
    );

  return (
    <ScrollArea h="100vh" data-testid="profiles-screen">
      <Container size={760} py={48}>
        <Stack gap="xl">
          <Brand size={40} />
          {openError && (
            <Alert color="red" icon={<IconAlertTriangle size={18} />} title="The profile could not be opened" withCloseButton onClose={() => setOpenError(null)}>
              {openError}
            </Alert>
          )}
          {body}
        </Stack>
      </Container>
    </ScrollArea>
  );
}

function Section({ title, subtitle, children }: { title: string; subtitle: string; children: React.ReactNode }) {
  return (
    <Paper withBorder p="lg">
      <Stack gap="md">
        <div>
          <Title order={3}>{title}</Title>
          <Text size="sm" c="dimmed">
            {subtitle}
          </Text>
        </div>
        {children}
      </Stack>
    </Paper>
  );
}
