#!/usr/bin/env bash
# The container benchmark (bench/README.md, "Containers"): the silo image's size, one silo container's cold start to
# ready, and Authorize throughput through the container's gateway against the same silo host run as a plain process,
# one after the other on this machine, in one run, against one Azurite container (loopback, host networking).
# The plain process runs twice: as any process here (in the root CPU cgroup, where each of its threads competes with
# every other runnable thread on the machine), and in a CPU cgroup of its own with the same weight as podman's
# libpod_parent (where the container's threads compete, as one group, with everything else): with other work on
# the machine, that, and not the container, is what sets the container's share of the CPU (bench/README.md).
#
#   bash bench/container-bench.sh [seconds per throughput run, default 20] [concurrency, default 16] [audit: on|off]
#
# With the audit on (the default, as shipped), every decision waits for its audit record to be durable in Azurite
# (docs/audit.md), which bounds the rate; "off" (GrantSilo:Audit:Enabled=false) measures the decision path alone.
#
# Needs what scripts/container-test.sh sets up (podman with runc, the base images); builds the image if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
concurrency=${2:-16}
audit=${3:-on}
work=$(mktemp -d /tmp/grantsilo-container-bench.XXXXXX)
name="gsbench$$"
process_pid=""
cgroup=""
cleanup() {
  for c in "$name-silo" "$name-azurite"; do podman rm -f "$c" >/dev/null 2>&1 || true; done
  [ -n "$process_pid" ] && kill "$process_pid" 2>/dev/null || true
  rm -rf "$work"
  [ -n "$cgroup" ] && rmdir "$cgroup" 2>/dev/null || true
}
trap cleanup EXIT
now_ms() { date +%s%3N; }

podman image exists grantsilo/silo-host:local || { bash scripts/container-base-images.sh >/dev/null; podman build --format docker --pull=never --network host -t grantsilo/silo-host:local . >/dev/null; }
# Built by scripts/test.sh (or here if missing).
[ -f silo-host/bin/Release/net10.0/GrantSilo.SiloHost.dll ] || dotnet build silo-host -c Release -v q -nologo >/dev/null
[ -f tests/GrantSilo.EndToEnd.Workload/bin/Release/net10.0/GrantSilo.EndToEnd.Workload.dll ] || dotnet build tests/GrantSilo.EndToEnd.Workload -c Release -v q -nologo >/dev/null
bash scripts/dev-certs.sh "$work/certs" >/dev/null
size=$(podman image inspect grantsilo/silo-host:local --format '{{.Size}}')
base=$(podman image inspect mcr.microsoft.com/dotnet/aspnet:10.0 --format '{{.Size}}')

# Four free loopback ports, below the kernel's ephemeral range (a port in it may become the local end of an outgoing
# connection between being chosen and being bound).
used=$(ss -Hltn | awk '{print $4}' | sed 's/.*://' | sort -u)
ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
ports=(); candidate=$((10000 + RANDOM % (ephemeral_low - 10000 - 100)))
while [ ${#ports[@]} -lt 4 ]; do grep -qx "$candidate" <<<"$used" || ports+=("$candidate"); candidate=$((candidate + 1)); done
azurite=${ports[0]}; silo=${ports[1]}; gateway=${ports[2]}; http=${ports[3]}
connection="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:$azurite/devstoreaccount1;"
podman run -d --name "$name-azurite" --network host mcr.microsoft.com/azure-storage/azurite:3.37.0 \
  azurite-table --tableHost 127.0.0.1 --tablePort "$azurite" --inMemoryPersistence --loose --skipApiVersionCheck --disableTelemetry >/dev/null
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$azurite") 2>/dev/null && break; sleep 0.1; done

# The silo's settings, for the container (certificates under /certs) and for the process (under $work/certs).
settings() { # CERTS_FOLDER
  cat <<EOF
GrantSilo__Storage__Provider=AzureTable
GrantSilo__Storage__ConnectionString=$connection
GrantSilo__Storage__AllowDevelopmentStorage=true
GrantSilo__Silo__AdvertiseHostNameAddress=false
GrantSilo__Silo__AdvertisedIPAddress=127.0.0.1
GrantSilo__Silo__ListenOnAnyHostAddress=false
GrantSilo__Silo__SiloPort=$silo
GrantSilo__Silo__GatewayPort=$gateway
GrantSilo__Http__Enabled=true
GrantSilo__Http__ListenOnAnyHostAddress=false
GrantSilo__Http__Port=$http
GrantSilo__Tls__Enabled=true
GrantSilo__Tls__CertificateFile=$1/silo.pem
GrantSilo__Tls__KeyFile=$1/silo.key
GrantSilo__Tls__CaFile=$1/ca.pem
GrantSilo__Tls__AllowedPeerNames__0=silo
GrantSilo__Keys__KeyEncryptionKeyFile=$1/key-encryption-key
GrantSilo__Cluster__CallKey=$(cat "$work/certs/call-key")
GrantSilo__Audit__SigningKeyFile=$1/audit-signing-key.pem
GrantSilo__Audit__HashKeyFile=$1/audit-hash-key
GrantSilo__Audit__Enabled=$([ "$audit" = off ] && echo false || echo true)
GrantSilo__Identity__Issuers__0__Name=services
GrantSilo__Identity__Issuers__0__Kind=Oidc
GrantSilo__Identity__Issuers__0__Issuer=https://services.test.grantsilo
GrantSilo__Identity__Issuers__0__CallerKind=Service
GrantSilo__Identity__Issuers__0__JwksFile=$1/issuer.jwks.json
GrantSilo__Identity__Issuers__1__Name=agents
GrantSilo__Identity__Issuers__1__Kind=Spiffe
GrantSilo__Identity__Issuers__1__Issuer=https://spiffe.test.grantsilo/e2e.dev
GrantSilo__Identity__Issuers__1__TrustDomain=e2e.dev
GrantSilo__Identity__Issuers__1__JwksFile=$1/issuer.jwks.json
GrantSilo__Identity__Issuers__2__Name=people
GrantSilo__Identity__Issuers__2__Kind=Oidc
GrantSilo__Identity__Issuers__2__Issuer=https://people.test.grantsilo
GrantSilo__Identity__Issuers__2__CallerKind=Person
GrantSilo__Identity__Issuers__2__JwksFile=$1/issuer.jwks.json
EOF
}
settings /certs >"$work/container.env"
workload() { # LABEL
  env GrantSilo__Storage__Provider=AzureTable GrantSilo__Storage__ConnectionString="$connection" GrantSilo__Storage__AllowDevelopmentStorage=true \
    GrantSilo__Client__ClusterId=grantsilo GrantSilo__Client__ServiceId=grantsilo GrantSilo__Client__ResponseTimeout=00:00:10 \
    GrantSilo__Client__Tls__CaFile="$work/certs/ca.pem" GrantSilo__Client__Tls__CertificateFile="$work/certs/client.pem" GrantSilo__Client__Tls__KeyFile="$work/certs/client.key" \
    Workload__HistoryPath="$work/history-$1.jsonl" Workload__IdentityKeyFile="$work/certs/issuer.key.json" Workload__AuthorizeOnly=true \
    Workload__Duration="00:00:$(printf %02d "$seconds")" Workload__Concurrency="$concurrency" \
    dotnet tests/GrantSilo.EndToEnd.Workload/bin/Release/net10.0/GrantSilo.EndToEnd.Workload.dll | grep '^AUTHORIZE'
}

# Cold start: from `podman run` to the "ready" log line, and to the first passing health check (the probe).
start=$(now_ms)
podman run -d --name "$name-silo" --network host --env-file "$work/container.env" -v "$work/certs:/certs:ro" grantsilo/silo-host:local >/dev/null
ready_ms=""; healthy_ms=""
deadline=$(($(date +%s) + 180))
while [ "$(date +%s)" -lt "$deadline" ]; do
  [ "$(podman inspect "$name-silo" --format '{{.State.Running}}')" = true ] || break
  # (Captured first: grep -q on a pipe would end podman logs early, which pipefail reports as a failure.)
  logs=$(podman logs "$name-silo" 2>&1)
  if [ -z "$ready_ms" ] && [[ $logs == *"GrantSilo silo ready"* ]]; then ready_ms=$(($(now_ms) - start)); fi
  if [ -n "$ready_ms" ] && podman healthcheck run "$name-silo" >/dev/null 2>&1; then healthy_ms=$(($(now_ms) - start)); break; fi
  sleep 0.1
done
[ -n "$healthy_ms" ] || { podman logs --tail 20 "$name-silo"; echo "the silo container did not become healthy" >&2; exit 1; }
probe_start=$(now_ms); podman healthcheck run "$name-silo" >/dev/null; probe_ms=$(($(now_ms) - probe_start))
container_result=$(workload container)
stop_start=$(now_ms); podman stop -t 40 "$name-silo" >/dev/null; stop_ms=$(($(now_ms) - stop_start))
exit_code=$(podman inspect "$name-silo" --format '{{.State.ExitCode}}')
podman rm "$name-silo" >/dev/null

# The same silo host as a plain process, same settings and ports, same Azurite; optionally in a CPU cgroup (a
# folder of cgroup.procs) of its own.
settings "$work/certs" >"$work/process.env"
plain() { # LABEL [CGROUP_FOLDER]
  (while IFS= read -r line; do export "$line"; done <"$work/process.env"; [ -n "${2:-}" ] && echo $BASHPID >"$2/cgroup.procs"
   exec dotnet silo-host/bin/Release/net10.0/GrantSilo.SiloHost.dll) >"$work/process-$1.log" 2>&1 &
  process_pid=$!
  local start; start=$(now_ms)
  for _ in $(seq 1 1800); do grep -q "GrantSilo silo ready" "$work/process-$1.log" && break; kill -0 "$process_pid" || { tail -n 20 "$work/process-$1.log"; exit 1; }; sleep 0.1; done
  echo $(($(now_ms) - start)) >"$work/ready-$1"
  workload "$1"
  kill -TERM "$process_pid"; wait "$process_pid" || true; process_pid=""
}
process_result=$(plain process)
process_ready_ms=$(cat "$work/ready-process")
# A CPU cgroup beside podman's, with its weight (cgroup v1: cpu.shares of libpod_parent; v2: the default cpu.weight).
if [ -d /sys/fs/cgroup/cpu/libpod_parent ]; then
  cgroup=/sys/fs/cgroup/cpu/grantsilo-bench-$$; mkdir "$cgroup"; cat /sys/fs/cgroup/cpu/libpod_parent/cpu.shares >"$cgroup/cpu.shares"
elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  cgroup=/sys/fs/cgroup/grantsilo-bench-$$; mkdir "$cgroup"
fi
cgroup_result=""
[ -n "$cgroup" ] && cgroup_result=$(plain process-cgroup "$cgroup")

rate() { sed -n 's/.*: \([0-9]*\) per s.*/\1/p' <<<"$1"; }
echo "image grantsilo/silo-host:local: $((size / 1000000)) MB ($(((size - base) / 1000000)) MB over the aspnet:10.0 base of $((base / 1000000)) MB)"
echo "cold start, container: ready logged after $ready_ms ms, first passing health check after $healthy_ms ms (one probe: $probe_ms ms); plain process: ready after $process_ready_ms ms"
echo "graceful stop (SIGTERM): $stop_ms ms, exit code $exit_code"
echo "container gateway: $container_result"
echo "plain process:     $process_result"
[ -n "$cgroup_result" ] && echo "plain process in a CPU cgroup of its own: $cgroup_result"
awk -v c="$(rate "$container_result")" -v p="$(rate "$process_result")" 'BEGIN { printf "container / process Authorize throughput: %.2f\n", c / p }'
[ -n "$cgroup_result" ] && awk -v c="$(rate "$container_result")" -v p="$(rate "$cgroup_result")" 'BEGIN { printf "container / process in its own CPU cgroup: %.2f\n", c / p }'
echo "audit: $audit; machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
