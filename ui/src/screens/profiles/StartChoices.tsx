import { Button, Card, SimpleGrid, Stack, Text, ThemeIcon, Title } from "@mantine/core";
import { IconPlugConnected, IconSparkles } from "@tabler/icons-react";

export function StartChoices({ firstRun, onConnect, onDemo }: { firstRun: boolean; onConnect: () => void; onDemo: () => void }) {
  return (
    <Stack gap="md">
      {firstRun && (
        <div>
          <Title order={2}>Welcome</Title>
          <Text c="dimmed">Connect to your platform's databases, or look around with generated demo data first.</Text>
        </div>
      )}
      <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="md">
        <Choice
          icon={<IconPlugConnected size={22} />}
          title="Connect to the platform"
          text="Enter the OLTP, queue, OLAP and notifications databases. Passwords are kept in the OS keyring."
          action="Connect"
          onClick={onConnect}
          testId="choose-connect"
        />
        <Choice
          icon={<IconSparkles size={22} />}
          title="Try with demo data"
          text="Start a throwaway platform on this computer with realistic tenants, members and payments."
          action="Use demo data"
          onClick={onDemo}
          testId="choose-demo"
          color="grape"
        />
      </SimpleGrid>
    </Stack>
  );
}

function Choice(props: { icon: React.ReactNode; title: string; text: string; action: string; onClick: () => void; testId: string; color?: string }) {
  return (
    <Card withBorder padding="lg">
      <Stack gap="sm" h="100%" justify="space-between">
        <Stack gap="xs">
          <ThemeIcon variant="light" size={40} color={props.color}>
            {props.icon}
          </ThemeIcon>
          <Text fw={600}>{props.title}</Text>
          <Text size="sm" c="dimmed">
            {props.text}
          </Text>
        </Stack>
        <Button variant="light" color={props.color} onClick={props.onClick} data-testid={props.testId}>
          {props.action}
        </Button>
      </Stack>
    </Card>
  );
}
