#!/usr/bin/env bash
# The compose `setup` one-shot (docker/docker-compose.yml): registers a second database server through the admin API
# (POST /api/v1/admin/database-servers, docs/API.md) as the bootstrap platform admin, unless a server with that name
# exists. Env: CLEANCRM_API, CLEANCRM_ADMIN_EMAIL, CLEANCRM_ADMIN_PASSWORD, SERVER_NAME, SERVER_HOST, SERVER_PORT,
# SERVER_ADMIN_USER, SERVER_ADMIN_PASSWORD, SERVER_CAPACITY (default 5000).
set -euo pipefail

token_response=$(curl -fsS --retry 5 --retry-all-errors --retry-delay 2 "$CLEANCRM_API/connect/token" \
  --data-urlencode grant_type=password --data-urlencode client_id=cleancrm-cli \
  --data-urlencode "username=$CLEANCRM_ADMIN_EMAIL" --data-urlencode "password=$CLEANCRM_ADMIN_PASSWORD" \
  --data-urlencode "scope=openid api")
token=$(grep -oE '"access_token" *: *"[^"]+"' <<<"$token_response" | sed -E 's/.*"([^"]+)"$/\1/')
if [[ -z $token ]]; then
  echo "no access token for $CLEANCRM_ADMIN_EMAIL" >&2
  exit 1
fi
auth=(-H "Authorization: Bearer $token")

servers=$(curl -fsS "${auth[@]}" "$CLEANCRM_API/api/v1/admin/database-servers")
if grep -qE "\"name\" *: *\"$SERVER_NAME\"" <<<"$servers"; then
  echo "database server $SERVER_NAME is registered already"
  exit 0
fi

body=$(printf '{"name":"%s","host":"%s","port":%d,"adminUsername":"%s","password":"%s","capacity":%d}' \
  "$SERVER_NAME" "$SERVER_HOST" "$SERVER_PORT" "$SERVER_ADMIN_USER" "$SERVER_ADMIN_PASSWORD" "${SERVER_CAPACITY:-5000}")
status=$(curl -sS -o /tmp/register.json -w '%{http_code}' "${auth[@]}" -H 'Content-Type: application/json' \
  --data "$body" "$CLEANCRM_API/api/v1/admin/database-servers")
if [[ $status != 201 && $status != 409 ]]; then
  echo "registering $SERVER_NAME answered $status: $(cat /tmp/register.json)" >&2
  exit 1
fi
echo "database server $SERVER_NAME registered ($status)"
