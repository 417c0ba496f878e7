import type { Sql } from "postgres";
import type { Logger } from "pino";
import type { Config } from "../config";
import { sessionSettings } from "./migrate";

/** Start-up refuses what cannot keep tenants apart in production. */
export class UnsafeServiceRoleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsafeServiceRoleError";
  }
}

/**
 * Looks at the login the service connects as, says plainly when it has more
 * privilege than it needs, and returns the role each transaction switches to
 * (DB_APP_ROLE, when the login may SET ROLE to it). The right login owns
 * nothing, is no superuser and has no BYPASSRLS: row-level security then
 * applies to it directly, whatever a statement does. Connected as the owner
 * or a superuser, only the per-transaction switch keeps tenants apart; with
 * no role to switch to, nothing but the queries' own filters does, which
 * production refuses.
 */
export async function inspectServiceRole(
  sql: Sql,
  config: Config,
  logger: Pick<Logger, "warn" | "error" | "info">,
  options: { embedded?: boolean } = {},
): Promise<string | undefined> {
  const [me] = await sql<{ login: string; superuser: boolean; bypassrls: boolean; owner: boolean; member: boolean | null }[]>`
    SELECT current_user AS login, r.rolsuper AS superuser, r.rolbypassrls AS bypassrls,
           coalesce(pg_has_role(current_user, c.relowner, 'MEMBER'), false) AS owner,
           CASE WHEN ${config.DB_APP_ROLE} = 'none' THEN NULL
                WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${config.DB_APP_ROLE})
                THEN pg_has_role(current_user, ${config.DB_APP_ROLE}, 'MEMBER') END AS member
    FROM pg_roles AS r LEFT JOIN pg_class AS c ON c.oid = to_regclass('events')
    WHERE r.rolname = current_user`;
  const appRole = me?.member ? config.DB_APP_ROLE : undefined;
  const reasons = [me?.superuser && "a superuser", me?.owner && "the owner of the tables", me?.bypassrls && "BYPASSRLS"].filter(Boolean);
  // The embedded store has one user, who owns everything, in one local process: nothing to warn about.
  if (me && reasons.length > 0 && !options.embedded) {
    const what = `the service connects to PostgreSQL as ${me.login}, which is ${reasons.join(" and ")}`;
    if (!appRole) {
      const message = `${what}, and cannot switch to a row-level-security role (DB_APP_ROLE=${config.DB_APP_ROLE}): tenants would be kept apart by the queries' own filters alone. Connect as a login that owns nothing (docs/deployment.md)`;
      if (config.NODE_ENV === "production") throw new UnsafeServiceRoleError(message);
      logger.error({ login: me.login }, message);
    } else {
      logger.warn(
        { login: me.login, appRole },
        `${what}: row-level security holds only because each transaction switches to ${appRole}, and any SQL on this connection could switch back. In production, connect as a login that owns nothing (docs/deployment.md)`,
      );
    }
  }
  if (config.DB_PGBOUNCER) await checkStoredSettings(sql, config, logger);
  return appRole;
}

/** Behind PgBouncer the session settings come from the role (migrate stores them): say so when they are missing. */
async function checkStoredSettings(sql: Sql, config: Config, logger: Pick<Logger, "warn">) {
  const wrong = await sql.begin(async (tx) => {
    const found: { name: string; now: string; wanted: string }[] = [];
    for (const [name, value] of Object.entries(sessionSettings(config))) {
      const [before] = await tx<{ now: string }[]>`SELECT current_setting(${name}) AS now`;
      // PostgreSQL's own spelling of the wanted value, to compare like with like.
      const [after] = await tx<{ wanted: string }[]>`SELECT set_config(${name}, ${value}, true) AS wanted`;
      if (before!.now !== after!.wanted) found.push({ name, now: before!.now, wanted: after!.wanted });
    }
    return found;
  });
  if (wrong.length > 0) {
    logger.warn(
      { settings: wrong },
      "DB_PGBOUNCER: the service's sessions lack settings it needs; `bun run migrate` stores them on its role (as a migration user allowed to ALTER ROLE)",
    );
  }
}
