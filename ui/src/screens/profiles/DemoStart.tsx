// "Try with demo data": starts the throwaway demo database on this machine, seeded at
// the chosen scale, and reports progress while it seeds.
import { useState } from "react";
import { Alert, Button, Group, SegmentedControl, Stack, Text } from "@mantine/core";
import { IconAlertTriangle } from "@tabler/icons-react";
import { Channel } from "@tauri-apps/api/core";

import { commands, type Progress, type ProfileSummary } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { ProgressLine } from "../../components/ProgressReport";

const SCALES = [
  { value: "1", label: "Small · 200 tenants" },
  { value: "3", label: "Medium · 600 tenants" },
  { value: "10", label: "Large · 2,000 tenants" },
];

export function DemoStart({ onCreated, onCancel }: { onCreated: (profile: ProfileSummary) => void; onCancel?: () => void }) {
  const [scale, setScale] = useState("1");
  const [running, setRunning] = useState(false);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [failure, setFailure] = useState<unknown>(null);

  const start = async () => {
    setRunning(true);
    setFailure(null);
    setProgress(null);
    const channel = new Channel<Progress>();
    channel.onmessage = setProgress;
    try {
      onCreated(await unwrap(commands.startDemo(Number(scale), channel)));
    } catch (error) {
      setFailure(error);
      setRunning(false);
    }
  };

  return (
    <Stack gap="md" data-testid="demo-start">
      <Text size="sm" c="dimmed">
        Starts a private PostgreSQL database on this computer with realistic, generated data: tenants, members,
        workspaces, subscriptions and payments, plus one staff account per role. Nothing leaves this machine.
      </Text>
      <SegmentedControl value={scale} onChange={setScale} data={SCALES} disabled={running} fullWidth />
      {running && <ProgressLine report={progress} label="Preparing the demo" />}
      {failure !== null && (
        <Alert color="red" icon={<IconAlertTriangle size={18} />} title="The demo could not start">
          {errorMessage(failure)}
        </Alert>
      )}
      <Group justify="flex-end">
        {onCancel && (
          <Button variant="default" onClick={onCancel} disabled={running}>
            Cancel
          </Button>
        )}
        <Button onClick={() => void start()} loading={running} data-testid="start-demo">
          Start the demo
        </Button>
      </Group>
    </Stack>
  );
}
