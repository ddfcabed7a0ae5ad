-- `--member` is the member id in every command (auth logout, send, auth list): the payer's
-- member number (the Patient's identifier typed v2-0203 MB, e.g. 01-testmemid), learned at
-- login from the Patient the token names, whatever the member typed or picked. It is kept in
-- member_label (the column's name predates this meaning).
COMMENT ON COLUMN fhir_etl.members.member_label IS
  'The member id (the Patient''s member identifier, v2-0203 MB), what --member names; null when the login could not learn it.';
