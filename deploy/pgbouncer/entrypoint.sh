#!/bin/sh
# Starts PgBouncer with deploy/pgbouncer/pgbouncer.ini. Writes the auth file
# (the service login and its password) into a tmpfs first, so the password is
# never in the image, the repository or a command line.
#
#   APP_DB_USER            the service login (default telemetry_app)
#   APP_DB_PASSWORD        its password, or
#   APP_DB_PASSWORD_FILE   a file holding it (a Docker secret)
set -eu

dir=/run/pgbouncer
user="${APP_DB_USER:-telemetry_app}"

if [ -n "${APP_DB_PASSWORD_FILE:-}" ]; then
  if [ -n "${APP_DB_PASSWORD:-}" ]; then
    echo "pgbouncer: set APP_DB_PASSWORD or APP_DB_PASSWORD_FILE, not both" >&2
    exit 1
  fi
  password="$(cat "$APP_DB_PASSWORD_FILE")"
else
  password="${APP_DB_PASSWORD:-}"
fi
if [ -z "$password" ]; then
  echo "pgbouncer: APP_DB_PASSWORD (or APP_DB_PASSWORD_FILE) is required" >&2
  exit 1
fi
unset APP_DB_PASSWORD

umask 077
mkdir -p "$dir"
# userlist.txt: "name" "password", a double quote inside doubled.
quote() { printf '"%s"' "$(printf '%s' "$1" | sed 's/"/""/g')"; }
printf '%s %s\n' "$(quote "$user")" "$(quote "$password")" > "$dir/userlist.txt.tmp"
mv "$dir/userlist.txt.tmp" "$dir/userlist.txt"
unset password

exec pgbouncer "${PGBOUNCER_INI:-/etc/telemetry-vault/pgbouncer/pgbouncer.ini}"
