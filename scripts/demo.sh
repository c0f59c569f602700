#!/usr/bin/env bash
# Starts GrantSilo on its embedded default in the Development environment (so with the DEVELOPMENT issuer,
# whose key file the walkthrough mints its callers' tokens with), runs the walkthrough against it, and stops the silo.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build silo-host -c Release -v q -nologo >/dev/null
dotnet build samples/GrantSilo.Walkthrough -c Release -v q -nologo >/dev/null
log=$(mktemp)
# Run the built host directly, so SIGTERM reaches the silo itself and it leaves the cluster cleanly
# (background jobs of a script ignore SIGINT).
DOTNET_ENVIRONMENT=Development dotnet silo-host/bin/Release/net10.0/GrantSilo.SiloHost.dll >"$log" 2>&1 &
silo=$!
trap 'kill -TERM $silo 2>/dev/null; wait $silo 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 120); do
  # "ready", not only "started": the silo answers calls from then on (its lease is confirmed and a grain answers).
  if grep -q "GrantSilo silo ready" "$log"; then break; fi
  if ! kill -0 $silo 2>/dev/null; then cat "$log"; echo "The silo did not start." >&2; exit 1; fi
  sleep 0.5
done
grep -E "GrantSilo silo (started|ready)" "$log" | sed 's/^ *//'
grep "DEVELOPMENT issuer is active" "$log" | sed 's/^ *//' || true
dotnet samples/GrantSilo.Walkthrough/bin/Release/net10.0/GrantSilo.Walkthrough.dll
