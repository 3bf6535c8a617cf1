-- PenguinMails queue database, as documented in
-- penguinmails-docs/implementation-technical/database-infrastructure/queue/database-schema.md.
-- The guide gives the tables as pseudo-DDL; types map VARCHAR/INTEGER/BOOLEAN/JSONB/
-- UUID/TEXT as written, TIMESTAMP to TIMESTAMPTZ and INTERVAL to INTERVAL.
-- NOTE: the guide's index examples name columns created_at / updated_at / finished_at,
-- which the tables call created / updated / finished; we follow the tables.

CREATE TABLE job_queues (
    name VARCHAR(100) PRIMARY KEY,
    default_priority INTEGER NOT NULL DEFAULT 100,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created TIMESTAMPTZ DEFAULT NOW()
);

CREATE TABLE jobs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    queue_name VARCHAR(100) NOT NULL REFERENCES job_queues(name) ON DELETE CASCADE,
    status VARCHAR(50) NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'migrated_to_redis', 'running', 'completed', 'failed')),
    priority INTEGER,
    payload JSONB,
    attempt_count INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 3,
    run_at TIMESTAMPTZ DEFAULT NOW(),
    started TIMESTAMPTZ,
    completed TIMESTAMPTZ,
    failed TIMESTAMPTZ,
    last_error_message TEXT,
    created TIMESTAMPTZ DEFAULT NOW(),
    updated TIMESTAMPTZ DEFAULT NOW()
);

CREATE TABLE job_logs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id UUID NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    status VARCHAR(50) NOT NULL CHECK (status IN ('attempting', 'success', 'retry', 'failed')),
    log_message TEXT,
    attempt_number INTEGER,
    started TIMESTAMPTZ,
    finished TIMESTAMPTZ,
    duration INTERVAL,
    created TIMESTAMPTZ DEFAULT NOW()
);

CREATE TABLE analytics_jobs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    job_type VARCHAR(100) NOT NULL,
    status VARCHAR(50) NOT NULL,
    payload JSONB,
    priority INTEGER,
    queued TIMESTAMPTZ,
    processed TIMESTAMPTZ,
    error_message TEXT,
    created TIMESTAMPTZ DEFAULT NOW()
);

CREATE INDEX idx_jobs_queuer ON jobs(status, run_at, priority, created) WHERE status = 'queued';
CREATE INDEX idx_jobs_queue_migration ON jobs(queue_name, status, run_at, priority) WHERE status = 'queued';
CREATE INDEX idx_jobs_status_timestamps ON jobs(status, updated, queue_name);
CREATE INDEX idx_job_logs_worker ON job_logs(job_id, attempt_number, finished);
CREATE INDEX idx_analytics_jobs_type_status ON analytics_jobs(job_type, status, queued);
