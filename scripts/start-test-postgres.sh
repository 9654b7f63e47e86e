#!/usr/bin/env bash
# Installs (from Debian's packages) and starts a local PostgreSQL for the test suite, then
# creates a throwaway role and database. Prints the URL to export as APPLIANCE_TEST_DATABASE_URL.
set -euo pipefail

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "==> installing PostgreSQL from Debian's packages" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  pg_createcluster "$version" main >&2
fi
if ! pg_lsclusters -h | grep -q "^$version *main .*online"; then
  pg_ctlcluster "$version" main start >&2
fi

for _ in $(seq 1 30); do
  su postgres -c "pg_isready -q" && break
  sleep 1
done

su postgres -c "psql -q -v ON_ERROR_STOP=1" >&2 <<'SQL'
SELECT 'CREATE ROLE appliance_test LOGIN PASSWORD ''appliance_test'''
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'appliance_test')\gexec
-- make test-postgres runs two pytest workers, each on a database of its own that it makes.
ALTER ROLE appliance_test CREATEDB;
DROP DATABASE IF EXISTS appliance_test;
CREATE DATABASE appliance_test OWNER appliance_test;
SQL

echo "postgresql+psycopg://appliance_test:appliance_test@127.0.0.1:5432/appliance_test"
