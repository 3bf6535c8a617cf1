-- The money journal is written by the database's functions (src/central/sql/api/finance.sql)
-- with the verified identity of the asking staff member. A pending action may be completed
-- by someone other than the staff member who started it (a resume): the journal records
-- who completed it.
ALTER TABLE penguin_console.money_actions ADD COLUMN IF NOT EXISTS completed_by text;
