// Bulk team import from CSV: pick a file, see every row validated (errors with their
// line numbers, nothing written) or a preview of exactly what will change, then apply
// it all-or-nothing. The preview is a dry run of the same import the apply runs.
import { useState } from "react";
import { Alert, Badge, Button, FileInput, Group, Modal, ScrollArea, Stack, Table, Text } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconFileTypeCsv } from "@tabler/icons-react";
import { useQueryClient } from "@tanstack/react-query";

import { commands, type ImportReport, type RowAction } from "../../bindings";
import { errorMessage, unwrap } from "../../backend/call";
import { numbers } from "../../format/locale";

/** The library reads at most this much (members::import::MAX_FILE_BYTES). */
const MAX_FILE_BYTES = 32 * 1024 * 1024;

const ACTION_LABEL: Record<RowAction, { label: string; color: string }> = {
  invite: { label: "invite new account", color: "blue" },
  add: { label: "add existing account", color: "teal" },
  update: { label: "change", color: "orange" },
  unchanged: { label: "no change", color: "gray" },
};

export function ImportMembersModal({ tenantId, tenantName, onClose }: { tenantId: string; tenantName: string; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [bytes, setBytes] = useState<number[] | null>(null);
  const [report, setReport] = useState<ImportReport | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const choose = async (picked: File | null) => {
    setFile(picked);
    setReport(null);
    setBytes(null);
    setProblem(null);
    if (!picked) return;
    if (picked.size > MAX_FILE_BYTES) {
      setProblem(`${picked.name} is ${Math.round(picked.size / 1048576)} MB, too large for a team import (at most 10,000 rows); split the file.`);
      return;
    }
    setBusy(true);
    try {
      const content = Array.from(new Uint8Array(await picked.arrayBuffer()));
      setBytes(content);
      setReport(await unwrap(commands.importMembers(tenantId, picked.name, content, true)));
    } catch (error) {
      setProblem(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  const apply = async () => {
    if (!file || !bytes) return;
    setBusy(true);
    setProblem(null);
    try {
      const done = await unwrap(commands.importMembers(tenantId, file.name, bytes, false));
      if (!done.applied) {
        // The team changed since the preview: show what the file now runs into.
        setReport(done);
        return;
      }
      const changed = done.plan.filter((p) => p.action !== "unchanged").length;
      notifications.show({ color: "green", title: "Team imported", message: `${tenantName}: ${changed} members changed, invitations queued for new accounts.` });
      await queryClient.invalidateQueries();
      onClose();
    } catch (error) {
      setProblem(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  const changes = report?.plan.filter((p) => p.action !== "unchanged") ?? [];
  const count = (a: RowAction) => report?.plan.filter((p) => p.action === a).length ?? 0;

  return (
    <Modal opened onClose={onClose} title={`Import team members into ${tenantName}`} centered size="xl">
      <Stack>
        <Text size="sm" c="dimmed">
          A CSV with the header <code>email,name,tenant role,workspaces</code>; tenant role is owner, admin or member; workspaces as <code>Name:role;Name:role</code> with admin, member
          or viewer. Every row is checked before anything is written; nothing changes until you apply the preview. A team export can be edited and imported back.
        </Text>
        <FileInput label="CSV file" placeholder="Choose a .csv file" accept=".csv,text/csv" value={file} onChange={(f) => void choose(f)} leftSection={<IconFileTypeCsv size={16} />} clearable disabled={busy} data-testid="import-file" />
        {problem && <Alert color="red" title="The file cannot be imported">{problem}</Alert>}
        {busy && !report && <Text size="sm">Checking every row…</Text>}
        {report && report.errors.length > 0 && (
          <Alert color="red" title={`${numbers.format(report.errors.length)} problems in ${numbers.format(report.rows)} rows — nothing was written`} data-testid="import-errors">
            <Text size="sm" mb="xs">Fix these lines and choose the file again.</Text>
            <ScrollArea.Autosize mah={260}>
              <Table verticalSpacing={2} fz="sm">
                <Table.Tbody>
                  {report.errors.map((e, i) => (
                    <Table.Tr key={i}>
                      <Table.Td className="tabular" w={80}>line {e.line}</Table.Td>
                      <Table.Td>{e.message}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </ScrollArea.Autosize>
          </Alert>
        )}
        {report && report.errors.length === 0 && (
          <Stack gap="xs" data-testid="import-preview">
            <Group gap="xs">
              {(["invite", "add", "update", "unchanged"] as const).filter((a) => count(a) > 0).map((a) => (
                <Badge key={a} color={ACTION_LABEL[a].color} variant="light" style={{ textTransform: "none" }}>
                  {count(a)} {ACTION_LABEL[a].label}
                </Badge>
              ))}
            </Group>
            {changes.length === 0 ? (
              <Text size="sm">The file matches the team as it is: nothing to change.</Text>
            ) : (
              <ScrollArea.Autosize mah={320}>
                <Table striped verticalSpacing={4} fz="sm">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Line</Table.Th>
                      <Table.Th>Email</Table.Th>
                      <Table.Th>What happens</Table.Th>
                      <Table.Th>Tenant role</Table.Th>
                      <Table.Th>Workspaces</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {changes.map((p) => (
                      <Table.Tr key={p.line} data-testid="import-row">
                        <Table.Td className="tabular">{p.line}</Table.Td>
                        <Table.Td>{p.email}</Table.Td>
                        <Table.Td>
                          <Badge size="sm" color={ACTION_LABEL[p.action].color} variant="light" style={{ textTransform: "none" }}>
                            {ACTION_LABEL[p.action].label}
                          </Badge>
                        </Table.Td>
                        <Table.Td>{p.old_role && p.old_role !== p.new_role ? `${p.old_role} → ${p.new_role}` : p.new_role}</Table.Td>
                        <Table.Td>{p.workspaces.map((w) => `${w.workspace}: ${w.old_role ? `${w.old_role} → ` : ""}${w.new_role}`).join("; ") || "—"}</Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </ScrollArea.Autosize>
            )}
            {changes.some((p) => p.action === "update" && p.old_role !== p.new_role) && (
              <Text size="xs" c="dimmed">Members whose tenant role changes are signed out so the new role applies at once.</Text>
            )}
          </Stack>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>Cancel</Button>
          <Button loading={busy && report !== null} disabled={!report || report.errors.length > 0 || changes.length === 0} onClick={() => void apply()} data-testid="import-apply">
            Apply {changes.length ? `${changes.length} changes` : ""}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
