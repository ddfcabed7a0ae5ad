-- Member-authorized payer sources (kind: fhir-rest): who logged in, their sealed tokens, and
-- what `fhir-etl send` has already delivered for them.

-- One row per member login of a source. `fhir-etl status` and `fhir-etl auth list` read it;
-- nothing here is secret (the tokens live sealed in fhir_etl.credentials).
CREATE TABLE fhir_etl.members (
  source            text        NOT NULL,
  -- The FHIR Patient id the token response named (SMART launch/patient context).
  patient_id        text        NOT NULL,
  -- Who the user logged in as (login_hint, e.g. the member id 01-testmemid), when known.
  member_label      text,
  -- Set when a refresh is refused (invalid_grant): runs skip the member until it logs in again.
  needs_login       boolean     NOT NULL DEFAULT false,
  login_error       text,
  logged_in_at      timestamptz,
  refreshed_at      timestamptz,
  -- Non-secret facts about the sealed tokens, so listing members never decrypts anything.
  scope             text,
  access_expires_at timestamptz,
  has_refresh_token boolean     NOT NULL DEFAULT false,
  PRIMARY KEY (source, patient_id)
);

-- The member's tokens (access, refresh, expiry, scope), sealed with AES-256-GCM: `sealed` is
-- IV (12 bytes) || tag (16 bytes) || ciphertext, bound to (source, patient_id) as associated
-- data. `key_id` names the key that sealed it, so a changed key is reported, not misread.
CREATE TABLE fhir_etl.credentials (
  source      text        NOT NULL,
  patient_id  text        NOT NULL,
  key_id      text        NOT NULL,
  sealed      bytea       NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, patient_id),
  FOREIGN KEY (source, patient_id) REFERENCES fhir_etl.members (source, patient_id) ON DELETE CASCADE
);

-- What `fhir-etl send` delivered: a resource (by content hash) the server accepted for a member
-- is never sent again, so a retried send cannot duplicate it.
CREATE TABLE fhir_etl.sent_resources (
  source         text        NOT NULL,
  member         text        NOT NULL,
  resource_type  text        NOT NULL,
  content_hash   text        NOT NULL,
  -- The id the resource had in the file sent, and the one the server gave it.
  local_id       text,
  server_id      text,
  location       text,
  outcome        text        NOT NULL CHECK (outcome IN ('created', 'existed')),
  sent_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, member, resource_type, content_hash)
);
