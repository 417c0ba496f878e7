#!/usr/bin/env bash
# Creates the roles Telemetry Vault needs besides the owner (POSTGRES_USER):
#
#   tv_app         NOLOGIN group role; `bun run migrate` grants it what the service needs
#   telemetry_app  the service's login: a member of tv_app, not superuser, not the owner,
#                  no BYPASSRLS, no CREATEROLE/CREATEDB
#
# The postgres image runs this once, on the first start of an empty data volume
# (mounted at /docker-entrypoint-initdb.d). It is idempotent, so it can also be
# run by hand on an existing volume, e.g. after upgrading from a compose file
# where the service connected as the owner (the container has the password):
#
#   docker compose exec postgres bash /docker-entrypoint-initdb.d/10-service-login.sh
#
# Password: APP_DB_PASSWORD, or APP_DB_PASSWORD_FILE (a Docker secret). Running
# it again sets the password again. The password is read by psql from the
# environment, never passed on a command line.
#
# Not `set -u`: the image's entrypoint sources .sh files that are not executable.
set -eo pipefail

if [ -n "${APP_DB_PASSWORD_FILE:-}" ]; then
  if [ -n "${APP_DB_PASSWORD:-}" ]; then
    echo "10-service-login: set APP_DB_PASSWORD or APP_DB_PASSWORD_FILE, not both" >&2
    exit 1
  fi
  APP_DB_PASSWORD="$(cat "$APP_DB_PASSWORD_FILE")"
fi
if [ -z "${APP_DB_PASSWORD:-}" ]; then
  echo "10-service-login: APP_DB_PASSWORD (or APP_DB_PASSWORD_FILE) is required: the service's database password" >&2
  exit 1
fi
export TV_LOGIN_PASSWORD="$APP_DB_PASSWORD"

psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet \
  --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" \
  -v login="${APP_DB_USER:-telemetry_app}" \
  -v app_role="${DB_APP_ROLE:-tv_app}" <<'SQL'
\getenv password TV_LOGIN_PASSWORD
SET client_min_messages = warning;

-- The group role of row-level security: owns nothing, cannot log in.
SELECT format('CREATE ROLE %I NOLOGIN', :'app_role')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_role') \gexec

-- The service's login. INHERIT (the default): it uses tv_app's privileges,
-- and switches to tv_app in each transaction.
SELECT format('CREATE ROLE %I LOGIN', :'login')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'login') \gexec
SELECT format(
  'ALTER ROLE %I LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %L',
  :'login', :'password') \gexec

SELECT format('GRANT %I TO %I', :'app_role', :'login') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'login') \gexec
SQL

unset TV_LOGIN_PASSWORD
echo "10-service-login: login ${APP_DB_USER:-telemetry_app} is a member of ${DB_APP_ROLE:-tv_app}"
