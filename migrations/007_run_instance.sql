-- The process that recorded each run, as a random id of its own. Host and pid do not tell
-- processes apart: a restarted container keeps its hostname and node is pid 1 each time, so
-- a run left 'running' by the crashed earlier process looked like the new process's own and
-- was never closed. A run is a process's own only when it carries that process's instance
-- id; null for runs recorded before this migration (never the running process's).
ALTER TABLE fhir_etl.runs ADD COLUMN instance text;
COMMENT ON COLUMN fhir_etl.runs.instance IS
  'Random id of the process that recorded the run (host and pid repeat across container restarts).';
