import type { TransactionSql } from "postgres";

/**
 * What the service's role may do, granted again by every migration run (not
 * once in a recorded migration): a role created or renamed later, or grants
 * lost, are put right by running `bun run migrate` again. Idempotent.
 *
 * The role gets the rows of the tables it reads and writes, under
 * row-level security, and the functions it calls; owner-only work
 * (partitions, retention across tenants, moving rows) goes through SECURITY
 * DEFINER functions (sql/007). Functions are not executable by PUBLIC.
 */
const TABLE_PRIVILEGES: [string, string][] = [
  ["events", "SELECT, INSERT, DELETE"],
  ["events_all", "SELECT"],
  ["event_partitions", "SELECT"],
  ["event_counts_minute", "SELECT, INSERT, UPDATE"],
  ["event_counts_5min", "SELECT, INSERT, UPDATE"],
  ["event_counts_hour", "SELECT, INSERT, UPDATE"],
  ["tenant_usage", "SELECT, INSERT, UPDATE"],
  // Until maintenance has moved its rows (sql/007).
  ["events_legacy", "SELECT, DELETE"],
];

/** Grants `role` what the service needs in the current schema; false when the role does not exist. */
export async function applyGrants(tx: TransactionSql, role: string): Promise<boolean> {
  const [exists] = await tx<{ found: boolean }[]>`SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${role}) AS found`;
  if (!exists?.found) return false;
  const [current] = await tx<{ schema: string }[]>`SELECT current_schema() AS schema`;
  const schema = current!.schema;
  await tx.unsafe(`GRANT USAGE ON SCHEMA ${quote(schema)} TO ${quote(role)}`);
  // Those the schema has: a migration reverted (migrate:down) leaves fewer, and events_legacy goes once moved.
  const present = await existingTables(tx, TABLE_PRIVILEGES.map(([table]) => table));
  for (const [table, privileges] of TABLE_PRIVILEGES) {
    if (present.has(table)) await tx.unsafe(`GRANT ${privileges} ON ${quote(table)} TO ${quote(role)}`);
  }
  // Every function of the schema: revoked from PUBLIC, granted to the role.
  const functions = await tx<{ signature: string }[]>`
    SELECT p.oid::regprocedure::text AS signature
    FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
    WHERE n.nspname = current_schema() AND p.prokind = 'f'
      AND NOT EXISTS (SELECT 1 FROM pg_depend AS d WHERE d.objid = p.oid AND d.deptype = 'e')`;
  for (const { signature } of functions) {
    await tx.unsafe(`REVOKE EXECUTE ON FUNCTION ${signature} FROM PUBLIC`);
    await tx.unsafe(`GRANT EXECUTE ON FUNCTION ${signature} TO ${quote(role)}`);
  }
  return true;
}

async function existingTables(tx: TransactionSql, tables: string[]): Promise<Set<string>> {
  const rows = await tx<{ name: string }[]>`SELECT name FROM unnest(${tables}::text[]) AS name WHERE to_regclass(name) IS NOT NULL`;
  return new Set(rows.map((r) => r.name));
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}
