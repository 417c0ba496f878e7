-- migrate:up
-- Event counts per minute and per hour, kept in the same transaction as the
-- insert. Only rows actually inserted are counted, so duplicates never
-- inflate them. Totals, group-by counts and time buckets read these for the
-- whole minutes/hours of a window and the raw events only for the partial
-- minutes at its edges, so their cost does not grow with the data.
CREATE TABLE event_counts_minute (
  tenant_id    text        NOT NULL,
  minute       timestamptz NOT NULL,
  event_type   text        NOT NULL,
  service_name text        NOT NULL,
  count        bigint      NOT NULL,
  PRIMARY KEY (tenant_id, minute, event_type, service_name)
);

CREATE TABLE event_counts_hour (
  tenant_id    text        NOT NULL,
  hour         timestamptz NOT NULL,
  event_type   text        NOT NULL,
  service_name text        NOT NULL,
  count        bigint      NOT NULL,
  PRIMARY KEY (tenant_id, hour, event_type, service_name)
);

INSERT INTO event_counts_minute (tenant_id, minute, event_type, service_name, count)
SELECT tenant_id, date_trunc('minute', ts), event_type, service_name, count(*)
FROM events
GROUP BY 1, 2, 3, 4;

INSERT INTO event_counts_hour (tenant_id, hour, event_type, service_name, count)
SELECT tenant_id, date_trunc('hour', minute), event_type, service_name, sum(count)
FROM event_counts_minute
GROUP BY 1, 2, 3, 4;

-- migrate:down
DROP TABLE event_counts_hour;
DROP TABLE event_counts_minute;
