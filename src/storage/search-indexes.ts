import type { Sql } from "postgres";
import { quoteIdentifier } from "./migrations";

/**
 * The trigram indexes free-text search reads (sql/007, sql/010). A partition
 * gets one full index once it has closed. While it is open, its settled
 * hours get slices: partial indexes, WHERE ts >= lo AND ts < hi, which the
 * search functions use for those hours, so only the newest hour or so of
 * the open partition is read whole. When the full index exists, its slices
 * are dropped. Each build takes a while, so maintenance takes one step a run.
 *
 * Slices and full indexes are built CONCURRENTLY, which writes never wait
 * for but only the tables' owner may run. Without the owner's connection
 * there are no slices, and a closed partition's full index is built by
 * index_closed_partition (SECURITY DEFINER), which holds off late writes to
 * that partition while it runs.
 */

const HOUR_MS = 3_600_000;
/** A partition gets its full index this long after it closed: late events still land first. */
export const CLOSED_GRACE_MS = 10 * 60_000;
/** An hour of an open partition is sliced this long after it ended, for the same reason. */
export const SLICE_SETTLE_MS = 10 * 60_000;

export interface PartitionState {
  name: string;
  lower_bound: Date | null;
  upper_bound: Date;
  /** Its full trigram index exists and is valid. */
  indexed: boolean;
}

export interface Slice {
  index_name: string;
  partition_name: string;
  lo: Date;
  hi: Date;
  /** Its index exists and is valid (a build that failed leaves none, or an invalid one). */
  valid: boolean;
}

export type SearchIndexStep =
  | { kind: "full"; partition: string }
  | { kind: "dropSlices"; slices: Slice[] }
  | { kind: "slice"; partition: string; lo: Date; hi: Date };

/**
 * What to build or drop next: the full index of a closed partition first
 * (oldest first), then the slices to drop (made redundant by a full index,
 * their partition dropped by retention, or their build failed: the hours
 * are sliced again), then the next slice of an open partition: from where
 * its slices end to the last whole hour settled, at least an hour.
 */
export function nextSearchIndexStep(partitions: PartitionState[], slices: Slice[], now: number, canSlice: boolean): SearchIndexStep | undefined {
  const closed = partitions.find((p) => !p.indexed && p.upper_bound.getTime() <= now - CLOSED_GRACE_MS);
  if (closed) return { kind: "full", partition: closed.name };

  const open = new Set(partitions.filter((p) => !p.indexed).map((p) => p.name));
  const redundant = slices.filter((s) => !open.has(s.partition_name) || !s.valid);
  if (redundant.length > 0) return { kind: "dropSlices", slices: redundant };

  if (!canSlice) return undefined;
  const settled = Math.floor((now - SLICE_SETTLE_MS) / HOUR_MS) * HOUR_MS;
  for (const p of partitions) {
    if (p.indexed || p.lower_bound === null) continue;
    const lo = Math.max(p.lower_bound.getTime(), ...slices.filter((s) => s.partition_name === p.name).map((s) => s.hi.getTime()));
    const hi = Math.min(settled, p.upper_bound.getTime());
    if (hi - lo >= HOUR_MS) return { kind: "slice", partition: p.name, lo: new Date(lo), hi: new Date(hi) };
  }
  return undefined;
}

/** The partitions of events with an upper bound, oldest first, and whether each has its full index. */
export function partitionStates(sql: Sql): Promise<PartitionState[]> {
  return sql<PartitionState[]>`
    SELECT p.name, p.lower_bound, p.upper_bound,
           EXISTS (SELECT 1 FROM pg_catalog.pg_index AS x
                   WHERE x.indexrelid = pg_catalog.to_regclass(p.name || '_search_idx') AND x.indisvalid) AS indexed
    FROM event_partitions AS p WHERE p.upper_bound IS NOT NULL ORDER BY p.upper_bound`;
}

/** Whether the connection's login may act as the owner of events (and so build CONCURRENTLY). */
export async function ownsEvents(sql: Sql): Promise<boolean> {
  const [row] = await sql<{ owns: boolean }[]>`
    SELECT pg_catalog.pg_has_role(current_user, c.relowner, 'USAGE') AS owns
    FROM pg_catalog.pg_class AS c WHERE c.oid = 'events'::regclass`;
  return row?.owns === true;
}

/** The slices recorded (read as the owner: the service's role has no grant on search_slices). */
export function slicesOf(owner: Sql): Promise<Slice[]> {
  return owner<Slice[]>`
    SELECT s.index_name, s.partition_name, s.lo, s.hi, coalesce(x.indisvalid, false) AS valid
    FROM search_slices AS s LEFT JOIN pg_catalog.pg_index AS x ON x.indexrelid = pg_catalog.to_regclass(s.index_name)
    ORDER BY s.lo`;
}

/**
 * Runs `work` unless another runner is building or dropping search indexes
 * in this schema (a session lock on the owner's own connection, which does
 * not go through a pooler). The maintenance lease alone would not do: a
 * build may outlast it.
 */
export async function aloneOnSearchIndexes(owner: Sql, work: () => Promise<void>): Promise<void> {
  const [lock] = await owner<{ taken: boolean }[]>`
    SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtext(current_schema() || ':search indexes')) AS taken`;
  if (!lock?.taken) return;
  try {
    await work();
  } finally {
    await owner`SELECT pg_catalog.pg_advisory_unlock(pg_catalog.hashtext(current_schema() || ':search indexes'))`;
  }
}

/** The trigram operator class, schema-qualified (sql/010 trigram_ops); undefined without pg_trgm. */
async function trigramOps(sql: Sql): Promise<string | undefined> {
  const [row] = await sql<{ ops: string | null }[]>`SELECT trigram_ops() AS ops`;
  return row?.ops ?? undefined;
}

/**
 * Takes one step. `owner` is a connection as the tables' owner with no
 * statement timeout (a build outlasts any query), or undefined. Returns true
 * when something was built or dropped.
 */
export async function takeSearchIndexStep(sql: Sql, owner: Sql | undefined, step: SearchIndexStep): Promise<boolean> {
  switch (step.kind) {
    case "full": {
      if (!owner) {
        // Through the service's pool: its statement timeout is for queries, not for this.
        const [row] = await sql.begin(async (tx) => {
          await tx`SET LOCAL statement_timeout = 0`;
          return tx<{ ok: boolean }[]>`SELECT index_closed_partition(${step.partition}) AS ok`;
        });
        return row?.ok === true;
      }
      const ops = await trigramOps(owner);
      if (!ops) return false;
      await buildConcurrently(owner, `${step.partition}_search_idx`, `ON ${quoteIdentifier(step.partition)} USING gin (search_text ${ops})`);
      return true;
    }
    case "dropSlices": {
      if (!owner) return false;
      for (const slice of step.slices) {
        await owner.unsafe(`DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdentifier(slice.index_name)}`);
        await owner`DELETE FROM search_slices WHERE index_name = ${slice.index_name}`;
      }
      return true;
    }
    case "slice": {
      const ops = owner && (await trigramOps(owner));
      if (!owner || !ops) return false;
      const name = `${step.partition}_search_${hourStamp(step.lo)}_${hourStamp(step.hi)}`;
      // Recorded first: if the build fails, the next run finds the slice invalid, drops it and slices the hours again.
      await owner`
        INSERT INTO search_slices (index_name, partition_name, lo, hi) VALUES (${name}, ${step.partition}, ${step.lo}, ${step.hi})
        ON CONFLICT (index_name) DO NOTHING`;
      await buildConcurrently(owner, name,
        `ON ${quoteIdentifier(step.partition)} USING gin (search_text ${ops}) ` +
        `WHERE ts >= '${step.lo.toISOString()}'::timestamptz AND ts < '${step.hi.toISOString()}'::timestamptz`);
      return true;
    }
  }
}

/** CREATE INDEX CONCURRENTLY, first dropping what a failed build of the same name left (an invalid index). */
async function buildConcurrently(owner: Sql, name: string, definition: string): Promise<void> {
  const [left] = await owner<{ valid: boolean }[]>`
    SELECT x.indisvalid AS valid FROM pg_catalog.pg_index AS x WHERE x.indexrelid = pg_catalog.to_regclass(${name})`;
  if (left?.valid) return;
  if (left) await owner.unsafe(`DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdentifier(name)}`);
  await owner.unsafe(`CREATE INDEX CONCURRENTLY ${quoteIdentifier(name)} ${definition}`);
}

/** 2026-12-02T13:00Z → "2026120213". */
function hourStamp(at: Date): string {
  return at.toISOString().slice(0, 13).replace(/[-T]/g, "");
}
