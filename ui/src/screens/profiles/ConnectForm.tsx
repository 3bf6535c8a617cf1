// "Connect to the platform": one profile naming the four platform databases.
// Passwords go to the OS keyring (the backend's job); when no keyring is available the
// form offers to keep them for this session only.
import { useState } from "react";
import { Alert, Button, Group, NumberInput, PasswordInput, Select, SimpleGrid, Stack, Tabs, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";
import { IconAlertTriangle, IconCopy, IconKey } from "@tabler/icons-react";

import { commands, type DbEndpointInput, type ProfileSummary } from "../../bindings";
import { errorCode, errorMessage, unwrap } from "../../backend/call";
import { hostError, portError, profileNameError, requiredError } from "./validation";

const DATABASES = [
  { db: "oltp", label: "OLTP" },
  { db: "queue", label: "Queue" },
  { db: "olap", label: "OLAP" },
  { db: "notifications", label: "Notifications" },
] as const;

const TLS_MODES = [
  { value: "verify-full", label: "Verify full (certificate and host name)" },
  { value: "require", label: "Require (encrypted, certificate not checked)" },
  { value: "prefer", label: "Prefer (encrypt when the server offers it)" },
  { value: "disable", label: "Disable (unencrypted)" },
];

type FormValues = { name: string; databases: DbEndpointInput[] };

function blankEndpoint(db: string): DbEndpointInput {
  return { db, host: "", port: 5432, database: db, user: "", password: "", tls: "require" };
}

export function ConnectForm({
  existing,
  onCreated,
  onCancel,
}: {
  existing: readonly string[];
  onCreated: (profile: ProfileSummary) => void;
  onCancel: () => void;
}) {
  const [saving, setSaving] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [keyringMissing, setKeyringMissing] = useState(false);
  const [tab, setTab] = useState<string | null>("oltp");
  const form = useForm<FormValues>({
    mode: "controlled",
    initialValues: { name: "", databases: DATABASES.map((d) => blankEndpoint(d.db)) },
    validate: {
      name: (value) => profileNameError(value, existing),
      databases: {
        host: hostError,
        port: portError,
        database: requiredError("database name"),
        user: requiredError("user name"),
      },
    },
  });

  const save = async (values: FormValues, sessionOnly: boolean) => {
    setSaving(true);
    setFailure(null);
    try {
      const input = {
        name: values.name.trim(),
        databases: values.databases.map((d) => ({ ...d, host: d.host.trim(), database: d.database.trim(), user: d.user.trim() })),
        session_only_secrets: sessionOnly,
      };
      onCreated(await unwrap(commands.createProfile(input)));
    } catch (error) {
      const code = errorCode(error);
      if (code === "keyring_unavailable") setKeyringMissing(true);
      else if (code === "conflict") form.setFieldError("name", errorMessage(error));
      else setFailure(errorMessage(error));
    } finally {
      setSaving(false);
    }
  };

  const tabHasError = (index: number) => Object.keys(form.errors).some((key) => key.startsWith(`databases.${index}.`));

  const copyFromOltp = (index: number) => {
    const oltp = form.getValues().databases[0];
    if (!oltp) return;
    for (const field of ["host", "port", "user", "password", "tls"] as const) {
      form.setFieldValue(`databases.${index}.${field}`, oltp[field]);
    }
  };

  return (
    <form
      data-testid="connect-form"
      onSubmit={form.onSubmit(
        (values) => void save(values, false),
        (errors) => {
          const first = DATABASES.findIndex((_, i) => Object.keys(errors).some((k) => k.startsWith(`databases.${i}.`)));
          if (first >= 0 && !errors.name) setTab(DATABASES[first]?.db ?? "oltp");
        },
      )}
    >
      <Stack gap="md">
        <TextInput
          label="Profile name"
          description="How this connection appears in the profile list, e.g. production"
          data-autofocus
          {...form.getInputProps("name")}
        />
        <Tabs value={tab} onChange={setTab} keepMounted={false}>
          <Tabs.List>
            {DATABASES.map((d, i) => (
              <Tabs.Tab key={d.db} value={d.db} color={tabHasError(i) ? "red" : undefined} rightSection={tabHasError(i) ? <IconAlertTriangle size={14} color="var(--mantine-color-red-6)" /> : null}>
                {d.label}
              </Tabs.Tab>
            ))}
          </Tabs.List>
          {DATABASES.map((d, i) => (
            <Tabs.Panel key={d.db} value={d.db} pt="md">
              <Stack gap="sm">
                {i > 0 && (
                  <Group justify="flex-end">
                    <Button variant="subtle" size="xs" leftSection={<IconCopy size={14} />} onClick={() => copyFromOltp(i)}>
                      Same server as OLTP
                    </Button>
                  </Group>
                )}
                <SimpleGrid cols={{ base: 1, sm: 3 }} spacing="sm">
                  <TextInput label="Host" placeholder="db.internal" style={{ gridColumn: "span 2" }} {...form.getInputProps(`databases.${i}.host`)} />
                  <NumberInput label="Port" min={1} max={65535} allowDecimal={false} {...form.getInputProps(`databases.${i}.port`)} />
                  <TextInput label="Database" {...form.getInputProps(`databases.${i}.database`)} />
                  <TextInput label="User" autoComplete="off" {...form.getInputProps(`databases.${i}.user`)} />
                  <PasswordInput label="Password" autoComplete="new-password" {...form.getInputProps(`databases.${i}.password`)} />
                </SimpleGrid>
                <Select label="TLS" data={TLS_MODES} allowDeselect={false} {...form.getInputProps(`databases.${i}.tls`)} />
              </Stack>
            </Tabs.Panel>
          ))}
        </Tabs>
        {keyringMissing && (
          <Alert color="yellow" icon={<IconKey size={18} />} title="No keyring available" data-testid="keyring-missing">
            This computer has no working OS keyring, so the passwords cannot be stored safely. You can keep them in
            memory for this session only; you will enter them again next time.
            <Group mt="sm">
              <Button size="xs" color="yellow" loading={saving} onClick={() => void save(form.getValues(), true)}>
                Keep the secrets for this session only
              </Button>
            </Group>
          </Alert>
        )}
        {failure && (
          <Alert color="red" icon={<IconAlertTriangle size={18} />} title="The profile was not saved">
            {failure}
          </Alert>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onCancel}>
            Cancel
          </Button>
          <Button type="submit" loading={saving}>
            Save profile
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
