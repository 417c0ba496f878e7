import postgres from "postgres";
import { runMigrations } from "../../src/storage/migrate";
import { openStore } from "../../src/storage/open-store";
import { random, testConfig, type StoreHandle } from "./harness";
import { TestPgBouncer } from "./pgbouncer";

const quiet = { info() {}, warn() {}, error() {}, debug() {}, fatal() {}, trace() {}, child: () => quiet, level: "silent" } as never;

export interface LeastPrivilegeHandle extends StoreHandle {
  /** The database, its roles, and URLs to reach it as each. */
  database: string;
  schema: string;
  roles: { owner: string; service: string; app: string };
  url(user: string): string;
  /** The service's configuration (as the store was opened with). */
  env: Record<string, string>;
}

/**
 * A store as production runs it: a fresh database whose tables belong to an
 * owner that migrated them, and the service connected as a login that is no
 * superuser, owns nothing and has no BYPASSRLS, a member of a row-level-
 * security role of its own, through PgBouncer in transaction mode when
 * `pgbouncer` is set. Roles and database are dropped afterwards.
 */
export async function openLeastPrivilegeStore(adminUrl: string, options: { pgbouncer: boolean }): Promise<LeastPrivilegeHandle> {
  const id = random();
  const roles = { owner: `tv_owner_${id}`, service: `tv_service_${id}`, app: `tv_app_${id}` };
  const database = `tv_lp_${id}`;
  const schema = "vault";
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE ROLE ${roles.owner} LOGIN CREATEROLE`);
  await admin.unsafe(`CREATE ROLE ${roles.service} LOGIN NOSUPERUSER NOBYPASSRLS`);
  await admin.unsafe(`CREATE ROLE ${roles.app} NOLOGIN`);
  await admin.unsafe(`GRANT ${roles.app} TO ${roles.service}`);
  await admin.unsafe(`CREATE DATABASE ${database} OWNER ${roles.owner}`);
  const base = new URL(adminUrl);
  const url = (user: string) => {
    const u = new URL(base.toString());
    u.username = user;
    u.password = "";
    u.pathname = `/${database}`;
    return u.toString();
  };
  const bouncer = options.pgbouncer ? new TestPgBouncer({ host: base.hostname, port: Number(base.port || 5432) }, [roles.service]) : undefined;
  await bouncer?.start();
  const env = {
    DATABASE_URL: bouncer ? bouncer.url(roles.service, database) : url(roles.service),
    MIGRATION_DATABASE_URL: url(roles.owner),
    DB_SCHEMA: schema,
    DB_APP_ROLE: roles.app,
    DB_PGBOUNCER: bouncer ? "true" : "false",
  };
  const config = testConfig(env);
  await runMigrations(config, quiet, { waitForDatabase: "bounded" });
  const store = await openStore({ ...config, MIGRATE_ON_START: false }, quiet);
  await store.migration;
  // Checks of what is stored look from outside, as a superuser in the same database.
  const sql = postgres(url(base.username || "postgres"), { max: 2, onnotice: () => {}, connection: { search_path: schema } });
  return {
    store,
    sql,
    database,
    schema,
    roles,
    url,
    env,
    async cleanup() {
      await store.close();
      await sql.end();
      await bouncer?.stop();
      await admin.unsafe(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      for (const role of [roles.service, roles.app, roles.owner]) await admin.unsafe(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    },
  };
}
