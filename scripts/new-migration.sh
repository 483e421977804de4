#!/usr/bin/env bash
# Writes a new migration from the difference between the committed prisma/schema.prisma (HEAD) and
# the edited one. (`prisma migrate dev` needs a shadow database that Prisma's WebAssembly schema
# engine cannot introspect here, so migrations are computed from schema to schema.)
# Usage: npm run db:new-migration -- add_something
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?usage: npm run db:new-migration -- <name>}"
[[ "$name" =~ ^[a-z0-9_]+$ ]] || { echo "name: lowercase letters, digits and _ only"; exit 2; }
previous=$(mktemp --suffix=.prisma)
trap 'rm -f "$previous"' EXIT
git show HEAD:prisma/schema.prisma > "$previous"
# The CLI opens a connection even for a schema-to-schema diff; it reads and changes nothing there.
: "${DATABASE_URL:?set DATABASE_URL to any reachable Postgres (only connected to, nothing is changed)}"
sql=$(npx prisma migrate diff --from-schema-datamodel "$previous" --to-schema-datamodel prisma/schema.prisma --script)
if ! grep -qv '^--\|^\s*$' <<<"$sql"; then echo "no schema change since HEAD"; exit 1; fi
directory="prisma/migrations/$(date -u +%Y%m%d%H%M%S)_${name}"
mkdir -p "$directory"
printf '%s\n' "$sql" > "$directory/migration.sql"
npx prisma generate >/dev/null
echo "wrote $directory/migration.sql; apply it with npm run db:migrate"
