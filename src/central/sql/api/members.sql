-- Member and session actions. Each function checks the permission and the tenant scope
-- of the asking staff member, applies the business rules under row locks, and writes its
-- audit entry in the same transaction. Refusals: 42501 (permission or scope), PM400 bad
-- input, PM404 not found, PM409 conflict, PM412 typed confirmation does not match,
-- PM422 last owner.
--
-- Applied to OLTP (members, workspaces, accounts) and to the notifications database
-- (lockouts, and the notifications part of a GDPR erasure); each defines what it needs.

DO $members$
BEGIN
IF penguin_console.this_db() = 'oltp' THEN

-- Revokes the user's live sessions (all, or only `only`); returns them as
-- [{id, jwt, valid_until}] (a JWT stays valid until it expires).
CREATE OR REPLACE FUNCTION penguin_console.revoke_user_sessions(uid uuid, just uuid) RETURNS jsonb
LANGUAGE sql VOLATILE SET search_path = pg_catalog, penguin_console, public AS $$
    WITH r AS (
        UPDATE auth.sessions SET deleted_at = now(), updated_at = now()
        WHERE user_id = uid AND (just IS NULL OR id = just) AND deleted_at IS NULL AND expires_at > now()
        RETURNING id, session_token LIKE 'eyJ%.%.%' AS jwt, expires_at)
    SELECT COALESCE(jsonb_agg(jsonb_build_object(
               'id', r.id, 'jwt', r.jwt,
               'valid_until', CASE WHEN r.jwt THEN to_char(r.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') END)
           ORDER BY r.id), '[]'::jsonb)
    FROM r
$$;

-- Refuses (42501) unless one of the user's tenants is within the staff member's scope;
-- returns the user's first active tenant (for the audit entry).
CREATE OR REPLACE FUNCTION penguin_console.require_user(c penguin_console.staff_ctx, uid uuid) RETURNS uuid
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    home uuid;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.users WHERE id = uid) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('no user %s', uid);
    END IF;
    IF EXISTS (SELECT 1 FROM public.staff_members s WHERE s.user_id = uid) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409',
            MESSAGE = 'this user is platform staff; staff accounts are managed with the staff tools, not as tenant members';
    END IF;
    IF NOT c.detail_all AND NOT EXISTS (SELECT 1 FROM public.tenant_users tu
                                        WHERE tu.user_id = uid AND tu.tenant_id = ANY(COALESCE(c.tenants, '{}'))) THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = format('your role (%s) cannot act on user %s (outside the tenants it may see)', c.role, uid);
    END IF;
    SELECT tenant_id INTO home FROM public.tenant_users WHERE user_id = uid AND deleted IS NULL
    ORDER BY created, tenant_id LIMIT 1;
    RETURN home;
END $$;

-- Locks every membership row of `tenant` (serialising owner checks) and returns the
-- member's row; refuses a staff account or a user who is not a member.
CREATE OR REPLACE FUNCTION penguin_console.lock_member(tenant uuid, uid uuid,
    OUT email text, OUT name text, OUT roles text[], OUT removed boolean, OUT verified boolean)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, penguin_console, public AS $$
BEGIN
    PERFORM 1 FROM public.tenant_users WHERE tenant_id = tenant FOR UPDATE;
    SELECT COALESCE(u.email, tu.email), u.name, COALESCE(tu.roles, '{}'),
           (tu.deleted IS NOT NULL OR u.deleted IS NOT NULL), u.email_verified IS NOT NULL
      INTO email, name, roles, removed, verified
      FROM public.tenant_users tu JOIN public.users u ON u.id = tu.user_id
     WHERE tu.tenant_id = tenant AND tu.user_id = uid;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('user %s is not a member of tenant %s', uid, tenant);
    END IF;
    IF EXISTS (SELECT 1 FROM public.staff_members s WHERE s.user_id = uid) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409',
            MESSAGE = 'this user is platform staff; staff accounts are managed with the staff tools, not as tenant members';
    END IF;
END $$;

-- Active owners of `tenant` other than `except_user`.
CREATE OR REPLACE FUNCTION penguin_console.other_owners(tenant uuid, except_user uuid) RETURNS bigint
LANGUAGE sql STABLE SET search_path = pg_catalog, penguin_console, public AS $$
    SELECT count(*) FROM public.tenant_users tu JOIN public.users u ON u.id = tu.user_id
    WHERE tu.tenant_id = tenant AND tu.user_id <> except_user AND tu.deleted IS NULL AND u.deleted IS NULL
      AND 'owner' = ANY(tu.roles)
$$;

-- Revokes one session of a user (`session_id`) or all of them (NULL).
CREATE OR REPLACE FUNCTION penguin_console_api.members_revoke_sessions(user_id uuid, session_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('users.sessions.revoke');
    home uuid := penguin_console.require_user(c, user_id);
    revoked jsonb;
BEGIN
    PERFORM 1 FROM public.users u WHERE u.id = user_id FOR UPDATE;
    revoked := penguin_console.revoke_user_sessions(user_id, session_id);
    IF jsonb_array_length(revoked) = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = CASE WHEN session_id IS NULL
            THEN format('user %s has no active session', user_id)
            ELSE format('session %s of user %s is not active (already revoked or expired)', session_id, user_id) END;
    END IF;
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'user.sessions.revoked', 'user', user_id::text, home::text, NULL,
        jsonb_build_object('revoked_sessions', (SELECT jsonb_agg(x->'id') FROM jsonb_array_elements(revoked) x),
                           'jwt_valid_until_expiry', (SELECT count(*) FROM jsonb_array_elements(revoked) x WHERE (x->>'jwt')::boolean)));
    RETURN revoked;
END $$;

-- Changes a member's tenant role (owner, admin or member); the tenant keeps an owner;
-- the member's sessions are revoked in the same transaction so the role applies at once.
CREATE OR REPLACE FUNCTION penguin_console_api.members_change_role(tenant_id uuid, user_id uuid, role text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('tenants.members.manage');
    m record;
    new_roles text[] := ARRAY[role];
    revoked jsonb;
BEGIN
    PERFORM penguin_console.require_tenant(c, tenant_id);
    IF role IS NULL OR role NOT IN ('owner', 'admin', 'member') THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = format('`%s` is not a tenant role (owner, admin or member)', role);
    END IF;
    m := penguin_console.lock_member(tenant_id, user_id);
    IF m.removed THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = 'this member was removed; invite them again instead';
    END IF;
    IF m.roles = new_roles THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = format('this member is already %s', role);
    END IF;
    IF 'owner' = ANY(m.roles) AND role <> 'owner' AND penguin_console.other_owners(tenant_id, user_id) = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM422', MESSAGE = 'this would leave the tenant without an owner; make another member owner first';
    END IF;
    UPDATE public.tenant_users tu SET roles = new_roles, updated = now() WHERE tu.tenant_id = $1 AND tu.user_id = $2;
    revoked := penguin_console.revoke_user_sessions(user_id, NULL);
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'tenant.member.role_changed', 'tenant_user', user_id::text, tenant_id::text,
        jsonb_build_object('roles', m.roles),
        jsonb_build_object('roles', new_roles, 'revoked_sessions', (SELECT COALESCE(jsonb_agg(x->'id'), '[]') FROM jsonb_array_elements(revoked) x)));
    RETURN jsonb_build_object('old_roles', m.roles, 'new_roles', new_roles, 'sessions', revoked);
END $$;

-- Locks a user's row for an account-wide action; refuses a staff account, a deleted
-- account or one outside the staff member's scope. Returns the user's first active
-- tenant (for the audit entry).
CREATE OR REPLACE FUNCTION penguin_console.lock_user(c penguin_console.staff_ctx, uid uuid) RETURNS uuid
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    home uuid := penguin_console.require_user(c, uid);
    gone boolean;
BEGIN
    SELECT u.deleted IS NOT NULL INTO gone FROM public.users u WHERE u.id = uid FOR UPDATE;
    IF gone THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = 'this account is deleted';
    END IF;
    RETURN home;
END $$;

-- Whether `typed` confirms `actual` (case and surrounding spaces ignored).
CREATE OR REPLACE FUNCTION penguin_console.email_confirms(typed text, actual text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT actual IS NOT NULL AND btrim(actual) <> '' AND lower(btrim(COALESCE(typed, ''))) = lower(btrim(actual))
$$;

-- The shape of an address the import accepts (same rule as the library's).
CREATE OR REPLACE FUNCTION penguin_console.email_ok(e text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT e IS NOT NULL AND length(e) <= 254 AND e ~ '^[^@\s,;<>]+@[^@\s,;<>]+$'
       AND position('.' IN split_part(e, '@', 2)) > 0 AND split_part(e, '@', 2) !~ '^\.|\.$'
$$;

-- Suspends an account: its credentials are disabled (the platform's sign-in then refuses
-- it), the ids remembered for reactivation, and its sessions revoked.
CREATE OR REPLACE FUNCTION penguin_console_api.members_suspend(account uuid, reason text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('tenants.members.manage');
    why text := btrim(COALESCE(reason, ''));
    home uuid;
    creds uuid[];
    revoked jsonb;
BEGIN
    IF why = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'give a reason for the suspension (it goes into the audit log)';
    END IF;
    IF length(why) > 2000 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'the reason is too long (2,000 characters at most)';
    END IF;
    home := penguin_console.lock_user(c, account);
    IF EXISTS (SELECT 1 FROM penguin_console.user_suspensions s WHERE s.user_id = account) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = 'this account is already suspended';
    END IF;
    WITH d AS (UPDATE auth.credentials cr SET deleted = now(), updated = now()
               WHERE cr.user_id = account AND cr.deleted IS NULL RETURNING cr.id)
    SELECT COALESCE(array_agg(d.id ORDER BY d.id), '{}') INTO creds FROM d;
    INSERT INTO penguin_console.user_suspensions (user_id, suspended_by, reason, credential_ids)
    VALUES (account, COALESCE(c.user_id::text, c.email), why, creds);
    revoked := penguin_console.revoke_user_sessions(account, NULL);
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'user.suspended', 'user', account::text, home::text,
        jsonb_build_object('status', 'active'),
        jsonb_build_object('status', 'suspended', 'credentials_disabled', cardinality(creds),
                           'revoked_sessions', (SELECT COALESCE(jsonb_agg(x->'id'), '[]') FROM jsonb_array_elements(revoked) x)),
        why);
    RETURN jsonb_build_object('credentials_disabled', cardinality(creds), 'sessions', revoked);
END $$;

-- Reactivates a suspended account: restores exactly the credentials the suspension
-- disabled. Returns how many.
CREATE OR REPLACE FUNCTION penguin_console_api.members_reactivate(account uuid) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('tenants.members.manage');
    home uuid := penguin_console.lock_user(c, account);
    creds uuid[];
    restored integer;
BEGIN
    DELETE FROM penguin_console.user_suspensions s WHERE s.user_id = account RETURNING s.credential_ids INTO creds;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = 'this account is not suspended';
    END IF;
    UPDATE auth.credentials cr SET deleted = NULL, updated = now() WHERE cr.user_id = account AND cr.id = ANY(creds);
    GET DIAGNOSTICS restored = ROW_COUNT;
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'user.reactivated', 'user', account::text, home::text,
        jsonb_build_object('status', 'suspended'),
        jsonb_build_object('status', 'active', 'credentials_restored', restored));
    RETURN restored;
END $$;

-- A password reset (`invitation` false) or the pending invitation again, queued for the
-- transactional-email service in the caller's transaction; returns the notification id.
CREATE OR REPLACE FUNCTION penguin_console.member_email(c penguin_console.staff_ctx, tenant uuid, account uuid,
                                                        invitation boolean) RETURNS uuid
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    m record;
    id uuid;
BEGIN
    PERFORM penguin_console.require_tenant(c, tenant);
    m := penguin_console.lock_member(tenant, account);
    IF m.removed THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = 'this member was removed from the tenant';
    END IF;
    IF invitation AND m.verified THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = 'this member has already accepted the invitation';
    END IF;
    IF NOT invitation AND NOT m.verified THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409',
            MESSAGE = 'this member has not accepted the invitation yet; resend the invitation instead';
    END IF;
    IF invitation THEN
        id := penguin_console.notify(c, account, tenant, 'invitation', 'You''re invited to PenguinMails',
            format('Hello %s, you have been invited to join a team on PenguinMails. Accept the invitation to sign in.',
                   COALESCE(m.name, '')));
    ELSE
        id := penguin_console.notify(c, account, tenant, 'password_reset', 'Reset your PenguinMails password',
            format('Hello %s, a password reset was requested for your account by PenguinMails support.', COALESCE(m.name, '')));
    END IF;
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c,
        CASE WHEN invitation THEN 'tenant.member.invitation_resent' ELSE 'user.password_reset_sent' END,
        'tenant_user', account::text, tenant::text, NULL,
        jsonb_build_object('notification_id', id, 'sent_to', m.email));
    RETURN id;
END $$;

-- Sends a password reset e-mail to an active member; returns the notification id.
CREATE OR REPLACE FUNCTION penguin_console_api.members_send_password_reset(tenant uuid, account uuid) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('tenants.members.manage');
BEGIN
    RETURN penguin_console.member_email(c, tenant, account, false);
END $$;

-- Sends a pending invitation again; returns the notification id.
CREATE OR REPLACE FUNCTION penguin_console_api.members_resend_invitation(tenant uuid, account uuid) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('tenants.members.manage');
BEGIN
    RETURN penguin_console.member_email(c, tenant, account, true);
END $$;

-- Revokes a pending invitation: the membership is soft-deleted and the invited member's
-- workspace memberships in the tenant dropped. Returns how many were dropped.
CREATE OR REPLACE FUNCTION penguin_console_api.members_revoke_invitation(tenant uuid, account uuid) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('tenants.members.manage');
    m record;
    dropped integer;
BEGIN
    PERFORM penguin_console.require_tenant(c, tenant);
    m := penguin_console.lock_member(tenant, account);
    IF m.removed OR m.verified THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409',
            MESSAGE = 'there is no pending invitation (the member accepted it or was removed); use removal instead';
    END IF;
    UPDATE public.tenant_users tu SET deleted = now(), updated = now() WHERE tu.tenant_id = tenant AND tu.user_id = account;
    DELETE FROM penguin_console.workspace_members w WHERE w.tenant_id = tenant AND w.user_id = account;
    GET DIAGNOSTICS dropped = ROW_COUNT;
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'tenant.member.invitation_revoked', 'tenant_user', account::text, tenant::text,
        jsonb_build_object('status', 'invited', 'roles', m.roles),
        jsonb_build_object('status', 'removed', 'workspace_memberships_dropped', dropped));
    RETURN dropped;
END $$;

-- Owner columns (uuid) of campaigns, leads and companies in the platform's schema, as it
-- is now: (table, column), in table then column order.
CREATE OR REPLACE FUNCTION penguin_console.owner_columns() RETURNS TABLE (tbl text, col text)
LANGUAGE sql STABLE SET search_path = pg_catalog, penguin_console AS $$
    SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c
    WHERE c.table_schema = 'public' AND c.table_name IN ('campaigns', 'leads', 'companies')
      AND c.column_name IN ('owner_id', 'owner_user_id', 'user_id', 'created_by', 'assigned_to') AND c.data_type = 'uuid'
    ORDER BY 1, 2
$$;

-- The member's workspace memberships among `companies` ([{workspace_id, role}]).
CREATE OR REPLACE FUNCTION penguin_console.workspaces_of(uid uuid, companies uuid[]) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, penguin_console AS $$
    SELECT COALESCE(jsonb_agg(jsonb_build_object('workspace_id', w.company_id, 'role', w.role) ORDER BY w.company_id), '[]')
    FROM penguin_console.workspace_members w WHERE w.user_id = uid AND w.company_id = ANY(companies)
$$;

-- Removes a member from a tenant (the ex-employee workflow), in one transaction: the
-- typed e-mail must match the member's; the membership is soft-deleted; every session of
-- the user is revoked; their workspace memberships in the tenant pass to `heir` (an
-- active member of the same tenant, who keeps the higher of the two roles) and any owner
-- column of campaigns, leads or companies pointing at them in this tenant is repointed;
-- a removal notice is queued; one audit entry records it all.
CREATE OR REPLACE FUNCTION penguin_console_api.members_remove(tenant uuid, account uuid, confirm_email text, heir uuid)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('tenants.members.remove');
    m record;
    h record;
    revoked jsonb;
    mine uuid[];
    before_ws jsonb;
    heir_before jsonb;
    moved integer;
    n integer;
    reassigned jsonb;
    oc record;
    unowned jsonb;
    nid uuid;
BEGIN
    PERFORM penguin_console.require_tenant(c, tenant);
    IF heir IS NULL OR heir = account THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'choose another member to take over; not the one being removed';
    END IF;
    m := penguin_console.lock_member(tenant, account);
    IF m.removed THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = 'this member was already removed';
    END IF;
    IF NOT penguin_console.email_confirms(confirm_email, m.email) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM412', MESSAGE = 'the confirmation does not match: type the member''s email address exactly';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public.tenant_users tu WHERE tu.tenant_id = tenant AND tu.user_id = heir) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'the member who takes over must belong to the same tenant';
    END IF;
    h := penguin_console.lock_member(tenant, heir);
    IF h.removed OR NOT h.verified THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400',
            MESSAGE = 'the member who takes over must be an active member (not removed, invitation accepted)';
    END IF;
    IF 'owner' = ANY(m.roles) AND penguin_console.other_owners(tenant, account) = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM422', MESSAGE = 'this would leave the tenant without an owner; make another member owner first';
    END IF;

    UPDATE public.tenant_users tu SET deleted = now(), updated = now() WHERE tu.tenant_id = tenant AND tu.user_id = account;
    revoked := penguin_console.revoke_user_sessions(account, NULL);

    mine := ARRAY(SELECT w.company_id FROM penguin_console.workspace_members w
                  WHERE w.tenant_id = tenant AND w.user_id = account ORDER BY w.company_id);
    before_ws := penguin_console.workspaces_of(account, mine);
    heir_before := penguin_console.workspaces_of(heir, mine);
    -- The heir keeps the higher of the two roles in each workspace.
    INSERT INTO penguin_console.workspace_members AS cur (company_id, user_id, tenant_id, role)
    SELECT w.company_id, heir, w.tenant_id, w.role FROM penguin_console.workspace_members w
    WHERE w.tenant_id = tenant AND w.user_id = account
    ON CONFLICT (company_id, user_id) DO UPDATE SET role = CASE
        WHEN array_position(ARRAY['viewer', 'member', 'admin'], EXCLUDED.role)
           > array_position(ARRAY['viewer', 'member', 'admin'], cur.role)
        THEN EXCLUDED.role ELSE cur.role END;
    GET DIAGNOSTICS moved = ROW_COUNT;
    DELETE FROM penguin_console.workspace_members w WHERE w.tenant_id = tenant AND w.user_id = account;
    reassigned := jsonb_build_array(jsonb_build_object('what', 'workspace_members', 'rows', moved));
    FOR oc IN SELECT * FROM penguin_console.owner_columns() LOOP
        -- All three owned tables carry tenant_id: never touch another tenant's rows.
        EXECUTE format('UPDATE public.%I SET %I = $1 WHERE %I = $2 AND tenant_id = $3', oc.tbl, oc.col, oc.col)
            USING heir, account, tenant;
        GET DIAGNOSTICS n = ROW_COUNT;
        reassigned := reassigned || jsonb_build_object('what', oc.tbl || '.' || oc.col, 'rows', n);
    END LOOP;
    SELECT COALESCE(jsonb_agg(t.name ORDER BY t.pos), '[]') INTO unowned
    FROM unnest(ARRAY['campaigns', 'leads', 'companies']) WITH ORDINALITY AS t(name, pos)
    WHERE NOT EXISTS (SELECT 1 FROM penguin_console.owner_columns() o WHERE o.tbl = t.name);

    nid := penguin_console.notify(c, account, tenant, 'member_removed', 'You were removed from a PenguinMails team',
        format('Hello %s, your access to this team on PenguinMails has ended and you have been signed out.', COALESCE(m.name, '')));
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'tenant.member.removed', 'tenant_user', account::text, tenant::text,
        jsonb_build_object('status', CASE WHEN m.verified THEN 'active' ELSE 'invited' END, 'roles', m.roles,
                           'email', m.email, 'workspaces', before_ws, 'heir_workspaces', heir_before),
        jsonb_build_object('status', 'removed', 'reassigned_to', heir,
                           'heir_workspaces', penguin_console.workspaces_of(heir, mine),
                           'reassigned', reassigned,
                           'revoked_sessions', (SELECT COALESCE(jsonb_agg(x->'id'), '[]') FROM jsonb_array_elements(revoked) x),
                           'notification_id', nid));
    RETURN jsonb_build_object('sessions', revoked, 'reassigned', reassigned, 'unowned', unowned, 'notification_id', nid);
END $$;

-- GDPR erasure (OLTP part): after the typed e-mail confirms it, the account row is
-- deleted (Nile's memberships, sessions and credentials cascade), the console's rows
-- about it removed and every other reference cleared. The audit entry holds the (now
-- meaningless) id and counts only. Returns the counts and a grant, signed for the
-- notifications database and valid 5 minutes, with which the same staff member erases
-- the account's notifications and events there (members_gdpr_erase).
CREATE OR REPLACE FUNCTION penguin_console_api.members_gdpr_delete(account uuid, confirm_email text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('users.gdpr_delete');
    em text;
    t uuid;
    tenants uuid[];
    m record;
    memberships bigint;
    sess bigint;
    creds bigint;
    ws integer;
    r record;
    n integer;
    cleared jsonb := '[]';
    report jsonb;
BEGIN
    SELECT u.email INTO em FROM public.users u WHERE u.id = account FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('no user %s', account);
    END IF;
    IF EXISTS (SELECT 1 FROM public.staff_members s WHERE s.user_id = account) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = 'this user is platform staff; remove their staff role first';
    END IF;
    IF NOT c.detail_all AND NOT EXISTS (SELECT 1 FROM public.tenant_users tu
                                        WHERE tu.user_id = account AND tu.tenant_id = ANY(COALESCE(c.tenants, '{}'))) THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = format('your role (%s) cannot act on user %s (outside the tenants it may see)', c.role, account);
    END IF;
    IF NOT penguin_console.email_confirms(confirm_email, em) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM412', MESSAGE = 'the confirmation does not match: type the user''s email address exactly';
    END IF;
    tenants := ARRAY(SELECT tu.tenant_id FROM public.tenant_users tu WHERE tu.user_id = account AND tu.deleted IS NULL
                     ORDER BY tu.tenant_id);
    FOREACH t IN ARRAY tenants LOOP
        m := penguin_console.lock_member(t, account);
        IF 'owner' = ANY(m.roles) AND penguin_console.other_owners(t, account) = 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'PM422', MESSAGE = 'this would leave the tenant without an owner; make another member owner first';
        END IF;
    END LOOP;

    SELECT count(*) INTO memberships FROM public.tenant_users tu WHERE tu.user_id = account;
    SELECT count(*) INTO sess FROM auth.sessions s WHERE s.user_id = account;
    SELECT count(*) INTO creds FROM auth.credentials cr WHERE cr.user_id = account;
    DELETE FROM penguin_console.workspace_members w WHERE w.user_id = account;
    GET DIAGNOSTICS ws = ROW_COUNT;
    DELETE FROM penguin_console.user_suspensions s WHERE s.user_id = account;
    DELETE FROM penguin_console.notification_outbox o WHERE o.notification->>'user_id' = account::text;

    -- Every other reference to the account: foreign keys that do not cascade, and owner
    -- columns without a foreign key.
    FOR r IN
        SELECT n2.nspname::text AS s, cl.relname::text AS tb, a.attname::text AS col
        FROM pg_constraint k JOIN pg_class cl ON cl.oid = k.conrelid JOIN pg_namespace n2 ON n2.oid = cl.relnamespace
        JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
        WHERE k.contype = 'f' AND k.confrelid = 'public.users'::regclass AND cardinality(k.conkey) = 1
          AND k.confdeltype <> 'c' AND NOT a.attnotnull
        UNION
        SELECT 'public', o.tbl, o.col FROM penguin_console.owner_columns() o
        ORDER BY 1, 2, 3
    LOOP
        EXECUTE format('UPDATE %I.%I SET %I = NULL WHERE %I = $1', r.s, r.tb, r.col, r.col) USING account;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n > 0 THEN
            cleared := cleared || jsonb_build_object('what', r.tb || '.' || r.col, 'rows', n);
        END IF;
    END LOOP;
    DELETE FROM public.users u WHERE u.id = account;

    report := jsonb_build_object('memberships', memberships, 'sessions', sess, 'credentials', creds,
                                 'workspace_memberships', ws, 'references_cleared', cleared);
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'user.gdpr_deleted', 'user', account::text, tenants[1]::text, NULL, report,
        'GDPR erasure: personal data deleted; this entry holds none');
    RETURN report || jsonb_build_object('erase_grant', penguin_console.make_token(jsonb_build_object(
        'k', 'gdpr_erase', 'db', 'notifications', 'user', account, 'tenant', tenants[1],
        'by', COALESCE(c.user_id::text, c.email), 'exp', extract(epoch FROM clock_timestamp()) + 300), 'notifications'));
END $$;

-- Adds a member of the workspace's own tenant to it, or changes their workspace role.
-- Returns the role they had (NULL: not a member before).
CREATE OR REPLACE FUNCTION penguin_console_api.members_set_workspace_member(workspace uuid, account uuid, role text)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('workspaces.manage');
    tenant uuid;
    m record;
    old text;
BEGIN
    IF role IS NULL OR role NOT IN ('admin', 'member', 'viewer') THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = format('`%s` is not a workspace role (admin, member or viewer)', role);
    END IF;
    SELECT co.tenant_id INTO tenant FROM public.companies co WHERE co.id = workspace FOR SHARE;
    IF tenant IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('no workspace %s', workspace);
    END IF;
    PERFORM penguin_console.require_tenant(c, tenant);
    IF NOT EXISTS (SELECT 1 FROM public.tenant_users tu WHERE tu.tenant_id = tenant AND tu.user_id = account) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409',
            MESSAGE = 'only members of the workspace''s own tenant can be added to it; invite them to the tenant first';
    END IF;
    m := penguin_console.lock_member(tenant, account);
    IF m.removed THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = 'this member was removed from the tenant';
    END IF;
    SELECT w.role INTO old FROM penguin_console.workspace_members w WHERE w.company_id = workspace AND w.user_id = account;
    INSERT INTO penguin_console.workspace_members (company_id, user_id, tenant_id, role) VALUES (workspace, account, tenant, $3)
    ON CONFLICT (company_id, user_id) DO UPDATE SET role = EXCLUDED.role;
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c,
        CASE WHEN old IS NULL THEN 'workspace.member.added' ELSE 'workspace.member.role_changed' END,
        'workspace', workspace::text, tenant::text,
        CASE WHEN old IS NULL THEN NULL ELSE jsonb_build_object('user_id', account, 'role', old) END,
        jsonb_build_object('user_id', account, 'role', $3));
    RETURN old;
END $$;

-- Removes a user from a workspace; returns the role they had.
CREATE OR REPLACE FUNCTION penguin_console_api.members_remove_workspace_member(workspace uuid, account uuid) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('workspaces.manage');
    tenant uuid;
    old text;
BEGIN
    SELECT co.tenant_id INTO tenant FROM public.companies co WHERE co.id = workspace;
    IF tenant IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('no workspace %s', workspace);
    END IF;
    PERFORM penguin_console.require_tenant(c, tenant);
    DELETE FROM penguin_console.workspace_members w WHERE w.company_id = workspace AND w.user_id = account
    RETURNING w.role INTO old;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('user %s is not a member of workspace %s', account, workspace);
    END IF;
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'workspace.member.removed', 'workspace', workspace::text, tenant::text,
        jsonb_build_object('user_id', account, 'role', old), NULL);
    RETURN old;
END $$;

-- The accounts an import file names, as `tenant` sees them: for each lower-cased e-mail
-- with an account, {email, staff, member (has a membership row here), roles, removed,
-- elsewhere (a live member of another tenant), workspaces {workspace id: role}}; one
-- account per address (a member of this tenant first, then the oldest).
CREATE OR REPLACE FUNCTION penguin_console.import_accounts(tenant uuid, emails text[]) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, penguin_console, public AS $$
    SELECT COALESCE(jsonb_object_agg(x.email, jsonb_build_object(
               'email', x.email, 'staff', x.staff, 'member', x.member, 'roles', COALESCE(x.roles, '{}'), 'removed', x.removed,
               'elsewhere', x.elsewhere, 'name', x.name, 'id', x.id,
               'workspaces', (SELECT COALESCE(jsonb_object_agg(w.company_id::text, w.role), '{}')
                              FROM penguin_console.workspace_members w JOIN public.companies co ON co.id = w.company_id
                              WHERE w.user_id = x.id AND co.tenant_id = $1))), '{}')
    FROM (SELECT DISTINCT ON (lower(u.email)) lower(u.email) AS email, u.id, u.name,
                 EXISTS (SELECT 1 FROM public.staff_members s WHERE s.user_id = u.id) AS staff,
                 tu.user_id IS NOT NULL AS member, tu.roles, COALESCE(tu.deleted IS NOT NULL, false) AS removed,
                 EXISTS (SELECT 1 FROM public.tenant_users o WHERE o.user_id = u.id AND o.tenant_id <> $1
                         AND o.deleted IS NULL) AS elsewhere
          FROM public.users u LEFT JOIN public.tenant_users tu ON tu.user_id = u.id AND tu.tenant_id = $1
          WHERE lower(u.email) = ANY($2) AND u.deleted IS NULL
          ORDER BY lower(u.email), tu.user_id IS NULL, u.created) x
$$;

-- Locks `tenant`'s memberships for an import and checks it may be imported into.
CREATE OR REPLACE FUNCTION penguin_console.import_lock(c penguin_console.staff_ctx, tenant uuid) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, penguin_console, public AS $$
BEGIN
    PERFORM penguin_console.require_tenant(c, tenant);
    IF NOT EXISTS (SELECT 1 FROM public.tenants t WHERE t.id = tenant AND t.deleted IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('no tenant %s', tenant);
    END IF;
    PERFORM 1 FROM public.tenant_users tu WHERE tu.tenant_id = tenant FOR UPDATE;
END $$;

-- What an import's preview needs, read with the tenant's memberships locked (so a preview
-- followed by members_import_apply in the same transaction applies what it showed): the
-- tenant's workspaces, the accounts the file names (see import_accounts, without ids or
-- names of accounts that are not this tenant's) and the e-mails of its active owners.
CREATE OR REPLACE FUNCTION penguin_console_api.members_import_state(tenant uuid, emails text[]) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('tenants.members.import');
    accounts jsonb;
BEGIN
    PERFORM penguin_console.import_lock(c, tenant);
    IF cardinality(emails) > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'more than 10000 rows; split the file';
    END IF;
    SELECT COALESCE(jsonb_object_agg(e.key, e.value - 'id' - 'name'), '{}') INTO accounts
    FROM jsonb_each(penguin_console.import_accounts(tenant, ARRAY(SELECT lower(btrim(x)) FROM unnest(emails) x))) e;
    PERFORM penguin_console.touch(c);
    RETURN jsonb_build_object(
        'workspaces', (SELECT COALESCE(jsonb_agg(jsonb_build_object('id', co.id, 'name', co.name,
                                                                    'workspace_name', co.workspace_name) ORDER BY co.id), '[]')
                       FROM public.companies co WHERE co.tenant_id = tenant),
        'accounts', accounts,
        'owners', (SELECT COALESCE(jsonb_agg(lower(COALESCE(u.email, tu.email))), '[]')
                   FROM public.tenant_users tu JOIN public.users u ON u.id = tu.user_id
                   WHERE tu.tenant_id = tenant AND tu.deleted IS NULL AND u.deleted IS NULL AND 'owner' = ANY(tu.roles)));
END $$;

-- Applies an import's planned rows, all or nothing, with one audit entry. `plan` is
-- [{line, email, name, action, role, workspaces: [{id, role}]}] (rows with nothing to
-- change may be left out). Every row is checked again here: the address, the role names,
-- that each workspace is this tenant's, that the account is not staff nor another
-- organization's, and that the planned action is what the row does now; any refusal
-- names the file's line and nothing is written. The tenant must keep an owner.
CREATE OR REPLACE FUNCTION penguin_console_api.members_import_apply(tenant uuid, plan jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('tenants.members.import');
    r record;
    em text;
    a jsonb;
    ws jsonb;
    accounts jsonb;
    seen jsonb := '{}';
    w record;
    wnames text[];
    old_role text;
    derived text;
    uid uuid;
    who text;
    changed_ws boolean;
    old_ws jsonb;
    new_ws jsonb;
    olds jsonb := '[]';
    news jsonb := '[]';
    revoked integer := 0;
    rows_done integer := 0;
    fail text;
BEGIN
    PERFORM penguin_console.import_lock(c, tenant);
    IF plan IS NULL OR jsonb_typeof(plan) <> 'array' THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'the import plan must be a list of rows';
    END IF;
    IF jsonb_array_length(plan) > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'more than 10000 rows; split the file';
    END IF;
    SELECT COALESCE(jsonb_object_agg(co.id::text, co.name), '{}') INTO ws FROM public.companies co WHERE co.tenant_id = tenant;
    accounts := penguin_console.import_accounts(tenant,
        ARRAY(SELECT lower(btrim(x->>'email')) FROM jsonb_array_elements(plan) x));
    FOR r IN SELECT * FROM jsonb_to_recordset(plan) AS x(line bigint, email text, name text, action text, role text, workspaces jsonb)
    LOOP
        em := lower(btrim(COALESCE(r.email, '')));
        fail := NULL;
        IF r.line IS NULL THEN
            fail := 'every row of the plan needs its line number';
        ELSIF NOT penguin_console.email_ok(em) THEN
            fail := format('`%s` is not a valid email address', r.email);
        ELSIF seen ? em THEN
            fail := format('%s is already on line %s; list each person once', em, seen->>em);
        ELSIF r.role IS NULL OR r.role NOT IN ('owner', 'admin', 'member') THEN
            fail := format('tenant role `%s` is not owner, admin or member', r.role);
        ELSIF r.action IS NULL OR r.action NOT IN ('invite', 'add', 'update', 'unchanged') THEN
            fail := format('`%s` is not an import action', r.action);
        ELSIF r.workspaces IS NOT NULL AND jsonb_typeof(r.workspaces) <> 'array' THEN
            fail := 'the workspaces must be a list';
        END IF;
        IF fail IS NULL THEN
            wnames := '{}';
            FOR w IN SELECT * FROM jsonb_to_recordset(COALESCE(r.workspaces, '[]')) AS y(id text, role text) LOOP
                IF w.role IS NULL OR w.role NOT IN ('admin', 'member', 'viewer') THEN
                    fail := format('workspace role `%s` is not admin, member or viewer', w.role);
                ELSIF w.id IS NULL OR NOT (ws ? lower(w.id)) THEN
                    fail := format('workspace %s is not a workspace of this tenant', COALESCE(w.id, '(none)'));
                ELSIF lower(w.id) = ANY(wnames) THEN
                    fail := format('workspace `%s` is listed twice', ws->>lower(w.id));
                END IF;
                EXIT WHEN fail IS NOT NULL;
                wnames := wnames || lower(w.id);
            END LOOP;
        END IF;
        a := accounts->em;
        IF fail IS NULL AND a IS NOT NULL THEN
            IF (a->>'staff')::boolean THEN
                fail := format('%s is platform staff, not a tenant member', em);
            ELSIF NOT (a->>'member')::boolean AND (a->>'elsewhere')::boolean THEN
                fail := format('%s is an account of another organization; a bulk import cannot add it — '
                               'invite them from the product so they accept, or remove the line', em);
            END IF;
        ELSIF fail IS NULL AND btrim(COALESCE(r.name, '')) = '' THEN
            fail := format('%s is a new account: give a name', em);
        END IF;
        IF fail IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = format('line %s: %s', COALESCE(r.line::text, '?'), fail);
        END IF;
        seen := seen || jsonb_build_object(em, r.line);

        -- What the row does now, against the locked state.
        old_role := CASE WHEN a IS NOT NULL AND (a->>'member')::boolean AND NOT (a->>'removed')::boolean
                         THEN array_to_string(ARRAY(SELECT jsonb_array_elements_text(COALESCE(a->'roles', '[]'))), ',') END;
        old_ws := '{}';
        new_ws := '{}';
        changed_ws := false;
        FOR w IN SELECT * FROM jsonb_to_recordset(COALESCE(r.workspaces, '[]')) AS y(id text, role text) LOOP
            IF (a->'workspaces'->>lower(w.id)) IS DISTINCT FROM w.role THEN
                changed_ws := true;
                old_ws := old_ws || jsonb_build_object(ws->>lower(w.id), a->'workspaces'->>lower(w.id));
                new_ws := new_ws || jsonb_build_object(ws->>lower(w.id), w.role);
            END IF;
        END LOOP;
        derived := CASE
            WHEN a IS NULL THEN 'invite'
            WHEN old_role IS NULL THEN 'add'
            WHEN old_role IS DISTINCT FROM r.role OR changed_ws THEN 'update'
            ELSE 'unchanged' END;
        IF derived <> r.action THEN
            RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = format(
                'line %s: the team changed since the preview (%s would now be `%s`, not `%s`); preview the file again',
                r.line, em, derived, r.action);
        END IF;
        CONTINUE WHEN derived = 'unchanged';

        IF derived = 'invite' THEN
            uid := gen_random_uuid();
            INSERT INTO public.users (id, name, email) VALUES (uid, btrim(r.name), em);
            who := btrim(r.name);
        ELSE
            uid := (a->>'id')::uuid;
            who := COALESCE(NULLIF(a->>'name', ''), btrim(COALESCE(r.name, '')));
        END IF;
        IF derived IN ('invite', 'add') THEN
            INSERT INTO public.tenant_users AS tu (tenant_id, user_id, roles, email) VALUES (tenant, uid, ARRAY[r.role], em)
            ON CONFLICT (tenant_id, user_id) DO UPDATE SET roles = EXCLUDED.roles, deleted = NULL, updated = now();
            PERFORM penguin_console.notify(c, uid, tenant, 'invitation', 'You''re invited to PenguinMails',
                format('Hello %s, you have been invited to join a team on PenguinMails as %s.', who, r.role));
        ELSIF old_role IS DISTINCT FROM r.role THEN
            UPDATE public.tenant_users tu SET roles = ARRAY[r.role], updated = now() WHERE tu.tenant_id = tenant AND tu.user_id = uid;
            revoked := revoked + jsonb_array_length(penguin_console.revoke_user_sessions(uid, NULL));
        END IF;
        INSERT INTO penguin_console.workspace_members AS cur (company_id, user_id, tenant_id, role)
        SELECT y.id::uuid, uid, tenant, y.role FROM jsonb_to_recordset(COALESCE(r.workspaces, '[]')) AS y(id text, role text)
        ON CONFLICT (company_id, user_id) DO UPDATE SET role = EXCLUDED.role;
        rows_done := rows_done + 1;
        olds := olds || jsonb_build_object('email', em, 'role', old_role, 'workspaces', old_ws);
        news := news || jsonb_build_object('email', em, 'action', derived, 'role', r.role, 'workspaces', new_ws);
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM public.tenant_users tu JOIN public.users u ON u.id = tu.user_id
                   WHERE tu.tenant_id = tenant AND tu.deleted IS NULL AND u.deleted IS NULL AND 'owner' = ANY(tu.roles)) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM422', MESSAGE = 'this import would leave the tenant without an owner; keep or name one owner';
    END IF;
    IF rows_done = 0 THEN
        RETURN jsonb_build_object('rows', 0, 'revoked_sessions', 0);
    END IF;
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'tenant.members.imported', 'tenant', tenant::text, tenant::text, olds,
        jsonb_build_object('rows', news, 'revoked_sessions', revoked));
    RETURN jsonb_build_object('rows', rows_done, 'revoked_sessions', revoked);
END $$;

END IF;

IF penguin_console.this_db() = 'notifications' THEN
    -- Unlocks a locked account: resolves its open `login_lockout` events. Returns how
    -- many were resolved.
    CREATE OR REPLACE FUNCTION penguin_console_api.members_unlock(account uuid) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
    DECLARE
        c penguin_console.staff_ctx := penguin_console.require('tenants.members.manage');
        n integer;
        ids jsonb;
        tenant uuid;
        failed jsonb;
    BEGIN
        IF NOT c.detail_all AND EXISTS (
            SELECT 1 FROM public.admin_system_events e
            WHERE e.user_id = account AND e.event_type = 'login_lockout' AND NOT COALESCE(e.is_resolved, false)
              AND (e.tenant_id IS NULL OR NOT (e.tenant_id = ANY(COALESCE(c.tenants, '{}'))))) THEN
            RAISE EXCEPTION USING ERRCODE = '42501',
                MESSAGE = format('your role (%s) cannot act on user %s (outside the tenants it may see)', c.role, account);
        END IF;
        WITH r AS (
            UPDATE public.admin_system_events e SET is_resolved = true, resolved_at = now(), resolved_by = c.user_id
            WHERE e.user_id = account AND e.event_type = 'login_lockout' AND NOT COALESCE(e.is_resolved, false)
            RETURNING e.id, e.tenant_id, e.details, e.created_at)
        SELECT count(*), COALESCE(jsonb_agg(r.id ORDER BY r.id), '[]'),
               (array_agg(r.tenant_id ORDER BY r.created_at DESC, r.id DESC))[1],
               (array_agg(r.details->'failed_attempts' ORDER BY r.created_at DESC, r.id DESC))[1]
          INTO n, ids, tenant, failed FROM r;
        IF n = 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = 'this account has no open lockout';
        END IF;
        PERFORM penguin_console.audit(c, 'tenant.member.unlocked', 'tenant_user', account::text, tenant::text,
            jsonb_build_object('locked', true, 'failed_attempts', failed),
            jsonb_build_object('locked', false, 'resolved_events', ids));
        RETURN n;
    END $$;

    -- GDPR erasure (notifications part), with the grant members_gdpr_delete gave the same
    -- staff member on OLTP: the account's notifications are deleted and its system events
    -- scrubbed of personal data. Audited here with counts only.
    CREATE OR REPLACE FUNCTION penguin_console_api.members_gdpr_erase(erase_grant text) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
    DECLARE
        c penguin_console.staff_ctx := penguin_console.require('users.gdpr_delete');
        g jsonb;
        account uuid;
        n_deleted integer;
        scrubbed integer;
    BEGIN
        BEGIN
            g := penguin_console.read_token(erase_grant);
        EXCEPTION WHEN SQLSTATE 'PM401' THEN
            RAISE EXCEPTION USING ERRCODE = 'PM400',
                MESSAGE = 'this erasure grant is not valid (forged, expired or made for another database); erase the user again';
        END;
        IF g->>'k' IS DISTINCT FROM 'gdpr_erase' OR g->>'by' IS DISTINCT FROM COALESCE(c.user_id::text, c.email) THEN
            RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'this is not an erasure grant given to you; erase the user again';
        END IF;
        account := (g->>'user')::uuid;
        DELETE FROM public.notifications nt WHERE nt.user_id = account;
        GET DIAGNOSTICS n_deleted = ROW_COUNT;
        UPDATE public.admin_system_events e SET user_id = NULL, description = e.event_type || ' (personal data erased)',
               details = e.details - 'ip_address' - 'user_agent' - 'email'
        WHERE e.user_id = account;
        GET DIAGNOSTICS scrubbed = ROW_COUNT;
        PERFORM penguin_console.audit(c, 'user.gdpr_notifications_erased', 'user', account::text, g->>'tenant', NULL,
            jsonb_build_object('notifications_deleted', n_deleted, 'events_scrubbed', scrubbed),
            'GDPR erasure in the notifications database: personal data deleted; this entry holds none');
        RETURN jsonb_build_object('notifications_deleted', n_deleted, 'events_scrubbed', scrubbed);
    END $$;
END IF;
END $members$;
