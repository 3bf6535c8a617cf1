-- Aggregates, OLTP only: per-tenant figures every role that lists tenants may read,
-- even where the rows they count are outside its scope (support without a grant sees
-- how many members and workspaces a tenant has, not who or which). Synced like a table
-- keyed by tenant_id, reloaded when a table it counts changes (src/sync/tables.rs).
CREATE VIEW penguin_console_api.tenant_stats AS
SELECT t.id AS tenant_id,
       (SELECT count(*) FROM public.tenant_users tu WHERE tu.tenant_id = t.id AND tu.deleted IS NULL) AS members,
       (SELECT count(*) FROM public.companies c WHERE c.tenant_id = t.id) AS workspaces,
       (SELECT count(*) FROM public.campaigns c WHERE c.tenant_id = t.id) AS campaigns,
       (SELECT count(*) FROM public.leads l WHERE l.tenant_id = t.id) AS leads
FROM public.tenants t
WHERE (SELECT penguin_console_api.can('sync.run'))
  AND ((SELECT penguin_console_api.list_scope()) IS NULL OR t.id = ANY((SELECT penguin_console_api.list_scope())::uuid[]));
