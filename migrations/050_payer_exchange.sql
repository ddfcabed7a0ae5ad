-- Payer-to-Payer exchange under CMS-0057-F (kind: payer-exchange): the member matches sent to a
-- prior payer ($bulk-member-match, or $member-match one member at a time), every member's
-- outcome, and the pulls ($davinci-data-export, Patient/$export or searches) that followed.
-- Nothing here is secret: demographics stay in the member input; only keys and outcomes are kept.

-- One row per match request. A bulk match is resumable while `polling` (its status URL is kept,
-- as for a Bulk export); a single-member match is one synchronous request per member.
CREATE TABLE fhir_etl.exchange_matches (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source              text        NOT NULL,
  mode                text        NOT NULL CHECK (mode IN ('bulk', 'single')),
  state               text        NOT NULL DEFAULT 'polling'
                      CHECK (state IN ('polling', 'completed', 'failed', 'expired', 'superseded')),
  -- The async status URL of a bulk match (a capability: never shown, see redactStatusUrl).
  status_url          text,
  -- How many members were sent, and a digest of what was sent (a changed input re-matches).
  submitted           integer     NOT NULL,
  submission          text        NOT NULL,
  matched             integer,
  not_matched         integer,
  consent_constrained integer,
  run_id              bigint      REFERENCES fhir_etl.runs (id),
  started_at          timestamptz NOT NULL DEFAULT now(),
  completed_at        timestamptz,
  error               text
);
CREATE INDEX exchange_matches_source_idx ON fhir_etl.exchange_matches (source, id DESC);

-- Every member of an exchange source, as the latest match left it. `member_id` is the member's
-- id at this (the requesting) payer; `old_patient_id` the Patient id the prior payer matched.
CREATE TABLE fhir_etl.exchange_members (
  source           text        NOT NULL,
  member_id        text        NOT NULL,
  -- The Patient.id the member was submitted under (opaque, derived from source and member id).
  submitted_id     text        NOT NULL,
  -- A digest of the member's last submitted bundle: a changed row is matched again.
  submission       text,
  outcome          text        NOT NULL DEFAULT 'pending'
                   CHECK (outcome IN ('pending', 'matched', 'not-matched', 'consent-constrained')),
  match_id         bigint      REFERENCES fhir_etl.exchange_matches (id),
  -- The MatchedMembers Group the member belongs to (bulk mode).
  group_id         text,
  old_patient_id   text,
  -- The business identifier the prior payer knows the member by ($member-match MemberIdentifier).
  old_member_id    text,
  -- When the prior payer answered the member's latest match (whatever the outcome).
  matched_at       timestamptz,
  -- What the server said about a member it did not match or cannot share (when it said anything).
  reason           text,
  consent_policy   text        CHECK (consent_policy IN ('all', 'non-sensitive')),
  consent_start    date,
  consent_end      date,
  -- The Patient/$export watermark or search cursor of a member pulled one at a time (single mode).
  watermark        text,
  first_pull_at    timestamptz,
  last_pull_at     timestamptz,
  -- Set when a pull left the member out (consent ended, no longer in the input).
  pulls_stopped    text,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, member_id)
);
CREATE INDEX exchange_members_group_idx ON fhir_etl.exchange_members (source, group_id);

-- One row per pull. A `running` pull is resumed with the same parameters (a crashed run's
-- export is found by the Bulk connector and resumed); `watermark` is the next pull's `_since`.
CREATE TABLE fhir_etl.exchange_pulls (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source        text        NOT NULL,
  -- The Group pulled (bulk mode) or the member (single mode).
  group_id      text,
  member_id     text,
  kind          text        NOT NULL CHECK (kind IN ('lookback', 'since')),
  -- The parameters sent: `since` (kind since) or the lookback's first date of service.
  since         text,
  lookback_from text,
  -- Old-payer Patient references the pull was narrowed to (null: the whole Group).
  patients      jsonb,
  state         text        NOT NULL DEFAULT 'running'
                CHECK (state IN ('running', 'completed', 'failed', 'superseded')),
  watermark     text,
  run_id        bigint      REFERENCES fhir_etl.runs (id),
  started_at    timestamptz NOT NULL DEFAULT now(),
  completed_at  timestamptz,
  error         text
);
CREATE INDEX exchange_pulls_source_idx ON fhir_etl.exchange_pulls (source, id DESC);
