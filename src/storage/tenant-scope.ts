import type { Sql, TransactionSql } from "postgres";
import type { ConnectionGate } from "./connection-gate";
import { translateStorageError } from "./errors";

/**
 * Runs a tenant's statements in one transaction that first enters the tenant
 * (sql/006 enter_tenant: `app.tenant_id` and the row-level-security role, for
 * this transaction only). The write functions enter it the same way, so the
 * tenant is named in one place for reads and writes alike.
 *
 * Each statement is sent only after the one before it has answered: when
 * the driver fails to serialize a parameter of a statement queued behind one
 * in flight, it drops that statement without answering it, and the
 * connection hangs in its transaction for good (postgres.js 3.4.9,
 * connection.js execute). Sent one at a time, the failing statement is the
 * active one: it is rejected, the transaction rolls back and the connection
 * returns to the pool. Work handed in must await its statements in turn too.
 */
export interface TenantScope {
  run<T>(tenantId: string, work: (tx: TransactionSql) => Promise<T>, options?: { mode?: string; deadline?: number }): Promise<T>;
}

export function createTenantScope(sql: Sql, gate: ConnectionGate, appRole: string | undefined): TenantScope {
  return {
    async run(tenantId, work, { mode = "", deadline } = {}) {
      try {
        return (await gate.run(
          () =>
            sql.begin(mode, async (tx) => {
              await tx`SELECT enter_tenant(${tenantId}, ${appRole ?? null})`;
              return work(tx);
            }),
          deadline,
        )) as Awaited<ReturnType<typeof work>>;
      } catch (error) {
        translateStorageError(error);
      }
    },
  };
}
