-- migrate:up
CREATE TABLE events (
  tenant_id    text        NOT NULL,
  event_id     text        NOT NULL,
  event_type   text        NOT NULL CHECK (event_type IN ('log', 'metric', 'trace')),
  service_name text        NOT NULL,
  ts           timestamptz NOT NULL,
  payload      jsonb       NOT NULL DEFAULT '{}'::jsonb,
  received_at  timestamptz NOT NULL DEFAULT now(),
  -- Idempotency: an event id is stored once per tenant; retries become duplicates.
  PRIMARY KEY (tenant_id, event_id)
);

-- Newest-first listing and counts over a time window, with or without an event type filter.
CREATE INDEX events_tenant_ts_idx ON events (tenant_id, ts DESC, event_id DESC);

-- The same, narrowed to one service.
CREATE INDEX events_tenant_service_ts_idx ON events (tenant_id, service_name, ts DESC, event_id DESC);

-- migrate:down
DROP TABLE events;
