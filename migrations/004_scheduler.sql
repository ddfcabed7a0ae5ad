-- `fhir-etl schedule`: which replica took each fire, and how runs were triggered.

-- One row per scheduled fire of a source, inserted by the first replica to claim it. Every
-- replica computes the same fire_at (the scheduled time truncated to the cron's resolution),
-- so the unique key lets exactly one of them run the fire.
CREATE TABLE fhir_etl.schedule_fires (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source      text        NOT NULL,
  fire_at     timestamptz NOT NULL,
  replica     text        NOT NULL,
  -- claimed: inserted, not yet holding the source; running: holding the source's lock;
  -- skipped-overlap: the previous fire was still running; stopped: the replica shut down;
  -- abandoned: the replica died (found by the next fire that took the source's lock).
  outcome     text        NOT NULL DEFAULT 'claimed'
              CHECK (outcome IN ('claimed', 'running', 'succeeded', 'failed', 'skipped-overlap',
                                 'stopped', 'abandoned')),
  attempts    integer     NOT NULL DEFAULT 0,
  claimed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at timestamptz,
  error       text,
  UNIQUE (source, fire_at)
);
CREATE INDEX schedule_fires_open_idx ON fhir_etl.schedule_fires (source)
  WHERE outcome IN ('claimed', 'running');

-- How a run started: by hand (run, load, rebuild), by a scheduled fire, or as a retry of one.
ALTER TABLE fhir_etl.runs
  ADD COLUMN trigger text NOT NULL DEFAULT 'manual' CHECK (trigger IN ('manual', 'schedule', 'retry')),
  ADD COLUMN fire_id bigint REFERENCES fhir_etl.schedule_fires (id),
  -- Refreshed while the run goes on, so a run left 'running' by a process on another host
  -- (where its pid cannot be checked) is known to be abandoned once the heartbeat is stale.
  ADD COLUMN heartbeat_at timestamptz;
UPDATE fhir_etl.runs SET heartbeat_at = coalesce(ended_at, started_at);
ALTER TABLE fhir_etl.runs
  ALTER COLUMN heartbeat_at SET DEFAULT clock_timestamp(),
  ALTER COLUMN heartbeat_at SET NOT NULL;
CREATE INDEX runs_fire_idx ON fhir_etl.runs (fire_id) WHERE fire_id IS NOT NULL;
CREATE INDEX runs_running_idx ON fhir_etl.runs (heartbeat_at) WHERE status = 'running';
