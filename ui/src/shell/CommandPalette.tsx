// Ctrl+K: jump to any tenant, user or workspace by name, email or id; each result opens
// itself (the shell picks the screen and drawer). The search runs in the backend
// (masked and permission-checked like every read).
import { useState } from "react";
import { Badge, Group, Loader, Text } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { Spotlight } from "@mantine/spotlight";
import { IconBuildingSkyscraper, IconFolder, IconSearch, IconUser } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";

import { commands, type PaletteHit } from "../bindings";
import { errorMessage, unwrap } from "../backend/call";

const ICONS: Record<string, React.ReactNode> = {
  tenant: <IconBuildingSkyscraper size={18} />,
  user: <IconUser size={18} />,
  workspace: <IconFolder size={18} />,
};

/** The palette searches from this many characters (a trigram index). */
const MIN_CHARS = 3;

export function CommandPalette({ onJump }: { onJump: (hit: PaletteHit) => void }) {
  const [query, setQuery] = useState("");
  const [debounced] = useDebouncedValue(query.trim(), 120);
  const hits = useQuery({
    queryKey: ["palette", debounced],
    queryFn: () => unwrap(commands.palette(debounced)),
    enabled: debounced.length >= MIN_CHARS,
    placeholderData: (previous) => previous,
  });

  let body;
  if (debounced.length < MIN_CHARS)
    body = <Spotlight.Empty>Type at least {MIN_CHARS} characters of a name, email or id.</Spotlight.Empty>;
  else if (hits.isError) body = <Spotlight.Empty>{errorMessage(hits.error)}</Spotlight.Empty>;
  else if (hits.data?.length === 0) body = <Spotlight.Empty>Nothing matches “{debounced}”.</Spotlight.Empty>;
  else
    body = hits.data?.map((hit) => (
      <Spotlight.Action
        key={`${hit.kind}:${hit.id}`}
        onClick={() => onJump(hit)}
        disabled={hit.kind === "tenant" && !hit.tenant_id}
        data-testid="palette-hit"
        data-kind={hit.kind}
        data-id={hit.id}
      >
        <Group wrap="nowrap" gap="sm" w="100%">
          {ICONS[hit.kind]}
          <Text size="sm" truncate style={{ flex: 1, minWidth: 0 }}>
            {hit.label}
          </Text>
          <Badge size="xs" variant="light" color="gray">
            {hit.kind}
          </Badge>
        </Group>
      </Spotlight.Action>
    ));

  return (
    <Spotlight.Root query={query} onQueryChange={setQuery} shortcut="mod + K" tagsToIgnore={[]} scrollable maxHeight={420}>
      <Spotlight.Search
        placeholder="Jump to a tenant, person or workspace…"
        leftSection={<IconSearch size={18} />}
        rightSection={hits.isFetching ? <Loader size={14} /> : null}
        data-testid="palette-input"
      />
      <Spotlight.ActionsList>{body}</Spotlight.ActionsList>
    </Spotlight.Root>
  );
}
