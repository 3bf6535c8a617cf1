-- OLAP only: daily workspace health scores (see src/health.rs for the formula), one
-- row per workspace and day, computed by `penguin-admin health compute` from the
-- platform's campaign_analytics. Ids are TEXT like the OLAP tables they come from.
CREATE TABLE IF NOT EXISTS penguin_console.workspace_health (
    company_id       text NOT NULL,
    day              date NOT NULL,
    score            integer NOT NULL CHECK (score BETWEEN 0 AND 100),
    colour           text NOT NULL CHECK (colour IN ('green', 'yellow', 'red')),
    deliverability   double precision NOT NULL,
    engagement       double precision NOT NULL,
    bounce           double precision NOT NULL,
    complaint        double precision NOT NULL,
    volume           double precision NOT NULL,
    sent             bigint NOT NULL,
    computed         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, day)
);
CREATE INDEX IF NOT EXISTS workspace_health_day ON penguin_console.workspace_health (day);
