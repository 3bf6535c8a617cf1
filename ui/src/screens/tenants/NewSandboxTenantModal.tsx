// A test tenant for QA (tenant_admin::provision): the tenant, a new owner account, one
// workspace and a subscription to an active plan, created in one transaction. qa makes
// sandbox tenants only; tenants.manage may also make one that is not a sandbox (a sales
// demo that should look like a customer). After the sync the new tenant opens.
import { useState } from "react";
import { Group, Modal, Select, Stack, Switch, Text, TextInput } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";

import { commands } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { formatCents } from "../../format/money";
import { DialogFooter } from "../../components/DialogFooter";
import { useSession } from "../../shell/session";

/** Whether the signed-in role may provision at all (tenants.provision_sandbox or tenants.manage). */
export function useCanProvision(): boolean {
  const { can } = useSession();
  return can("tenants.provision_sandbox") || can("tenants.manage");
}

/** As the library checks it: something@domain.tld, no spaces. */
function emailError(email: string): string | null {
  const e = email.trim();
  const [local, domain, extra] = e.split("@");
  const ok = extra === undefined && local && domain && domain.includes(".") && !domain.startsWith(".") && !domain.endsWith(".") && !/\s/.test(e);
  return ok ? null : `"${e}" is not an email address`;
}

function required(what: string, value: string, max: number): string | null {
  const v = value.trim();
  if (!v) return `Give the ${what}`;
  if (Array.from(v).length > max) return `At most ${max} characters`;
  return null;
}

export function NewSandboxTenantModal({ onClose, onCreated }: { onClose: () => void; onCreated: (tenantId: string) => void }) {
  const { can } = useSession();
  const queryClient = useQueryClient();
  const [tenantName, setTenantName] = useState("");
  const [ownerName, setOwnerName] = useState("");
  const [ownerEmail, setOwnerEmail] = useState("");
  const [workspaceName, setWorkspaceName] = useState("Main workspace");
  const [plan, setPlan] = useState<string | null>(null);
  const [sandbox, setSandbox] = useState(true);
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const plans = useQuery({ queryKey: ["provision-plans"], queryFn: () => unwrap(commands.provisionPlans()) });

  const errors = {
    tenantName: required("tenant's name", tenantName, 200),
    ownerName: required("owner's name", ownerName, 200),
    ownerEmail: ownerEmail.trim() ? emailError(ownerEmail) : "Give the owner's email (a new address)",
    workspaceName: required("workspace's name", workspaceName, 100),
    plan: plan ? null : "Choose a plan",
  };
  const shown = (key: keyof typeof errors) => (tried ? errors[key] : null);
  const invalid = Object.values(errors).some(Boolean);

  const create = async () => {
    setTried(true);
    if (invalid || !plan) return;
    setBusy(true);
    setProblem(null);
    try {
      const made = await unwrap(
        commands.provisionTenant({
          tenant_name: tenantName.trim(),
          owner_email: ownerEmail.trim(),
          owner_name: ownerName.trim(),
          workspace_name: workspaceName.trim(),
          plan_slug: plan,
          sandbox,
        }),
      );
      notifications.show({ color: "green", title: sandbox ? "Sandbox tenant created" : "Test tenant created", message: `${tenantName.trim()} on ${made.plan}` });
      await queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] !== "view-as" });
      onCreated(made.tenant_id);
    } catch (error) {
      setProblem(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal opened onClose={onClose} title={sandbox ? "New sandbox tenant" : "New test tenant"} centered>
      <Stack data-testid="provision-form">
        <Text size="sm" c="dimmed">
          Creates the tenant, a new owner account, one workspace and a monthly subscription, recorded in the audit log. The owner's email must not belong to anyone yet.
        </Text>
        <TextInput label="Tenant name" placeholder="QA Sandbox Checkout" required value={tenantName} onChange={(e) => setTenantName(e.currentTarget.value)} error={shown("tenantName")} data-testid="provision-name" />
        <Group grow align="flex-start">
          <TextInput label="Owner's name" required value={ownerName} onChange={(e) => setOwnerName(e.currentTarget.value)} error={shown("ownerName")} data-testid="provision-owner-name" />
          <TextInput label="Owner's email" placeholder="qa+checkout@example.com" required value={ownerEmail} onChange={(e) => setOwnerEmail(e.currentTarget.value)} error={shown("ownerEmail")} data-testid="provision-owner-email" />
        </Group>
        <Group grow align="flex-start">
          <TextInput label="Workspace" required value={workspaceName} onChange={(e) => setWorkspaceName(e.currentTarget.value)} error={shown("workspaceName")} data-testid="provision-workspace" />
          <Select
            label="Plan"
            required
            placeholder={plans.isPending ? "Loading plans…" : "Choose a plan"}
            data={(plans.data ?? []).map((p) => ({ value: p.slug, label: `${p.name}${p.price_monthly_cents === null ? "" : ` · ${formatCents(p.price_monthly_cents)} / month`}` }))}
            value={plan}
            onChange={setPlan}
            allowDeselect={false}
            error={shown("plan") ?? (plans.isError ? errorMessage(plans.error) : null)}
            data-testid="provision-plan"
          />
        </Group>
        {can("tenants.manage") && (
          <Switch
            label="Sandbox (QA) tenant"
            description="The qa role sees sandbox tenants only. Turn this off only for a sales demo that should look like a customer."
            checked={sandbox}
            onChange={(e) => setSandbox(e.currentTarget.checked)}
            data-testid="provision-sandbox"
          />
        )}
        <DialogFooter problem={problem} problemTestId="provision-problem" onCancel={onClose} onSubmit={() => void create()} submitLabel="Create tenant" submitTestId="provision-submit" busy={busy} />
      </Stack>
    </Modal>
  );
}
