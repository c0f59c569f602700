#!/usr/bin/env bash
# The container test (issue 13): the real Dockerfile and compose.loopback.yml, built and run with podman, under a
# workload while an operator scales out, rolls an upgrade through every silo, kills one and scales in.
#
#   bash scripts/container-test.sh        (as root; CI runs it from .ci/run)
#
# 1. Tooling: podman, runc, docker-compose, debootstrap (Debian packages); runc with explicit ulimits in
#    /etc/containers/containers.conf; podman's Docker-compatible API socket for docker-compose.
# 2. Images: local stand-ins for the public base images (scripts/container-base-images.sh; kept in podman's storage
#    between runs on one machine), then the unchanged Dockerfile, twice: the image the cluster starts on, and a new
#    image (built again, labelled with a new revision, so a different image id) the rolling upgrade moves every silo
#    to. The second build reuses the first's layers: the upgrade's mechanics are what is tested, not the compiler.
#    The bridge-network docker-compose.yml cannot run here (only loopback traffic is allowed): docker-compose reads
#    it through podman's API and creates, without starting, Azurite and three silo replicas (--scale silo=3) on its
#    own network; each must publish no port on the host, the silos must wait for a healthy Azurite, run as non-root
#    with the image's health check, restart on failure and have 40 s to stop. Then it is removed.
# 3. Azurite and silo1..silo3 from compose.loopback.yml (host networking, loopback only), readiness-gated.
# 4. The end-to-end workload (tests/GrantSilo.EndToEnd.Workload) runs: every Authorize and revocation through the
#    silos' HTTP API (HTTPS, the harness's bearer token), spread across the silos' ports, passing over a silo that is
#    gone, stopping or not ready; its other calls through the gateways with the client SDK. Meanwhile: silo4 is
#    started (scale out); silo1..silo4 are replaced in turn by the rebuilt image (rolling upgrade:
#    SIGTERM, then the new container, ready before the next); one silo is killed (podman kill) and started again;
#    silo4 is stopped gracefully (scale in: it must exit 0, within its grace period, having left the cluster).
# 5. The workload's history is checked (ContainerRunCheck): no Allow after an acknowledged revocation or after
#    expiry, no call at or past its deadline, an Allow served in every phase, revocations acknowledged during the
#    upgrade denied again afterwards, the HTTP requests answered by more than one silo; the error rate, the longest
#    gap and how many requests each silo answered are reported.
# 6. deploy/kubernetes/deployment.yaml with podman kube play (scripts/kube-play-check.sh: a variant podman can run,
#    one replica on loopback; what it substitutes is listed there): its pod must become a ready silo of this
#    cluster and leave it cleanly on SIGTERM. Orleans' Kubernetes hosting, Services, the PodDisruptionBudget and
#    rollouts need a Kubernetes API server, which podman does not have: not proven here (docs/operations.md).
# Podman here runs without systemd, which is what schedules health checks: a loop in this script runs Azurite's every
# 2 s (podman healthcheck run), as the engine's timer would, for docker-compose's readiness gate. A silo is waited
# for on its /health/ready (curl, trusting only the cluster's CA), then its image's own health check must pass once:
# each run of that check starts a .NET process, too costly to run every 2 s per silo on a 2-core machine. Ends with "CONTAINER TEST PASSED" or
# "CONTAINER TEST FAILED: why", exit 0 or 1. Missing tooling that cannot be installed is a failure, never a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
started=$(date +%s)
work=$(mktemp -d /tmp/grantsilo-container-test.XXXXXX)
project="gsct$$"
compose_file="$repo/compose.loopback.yml"
compose_file_bridge="$repo/docker-compose.yml"
socket=/run/podman/podman.sock
service_pid=""
health_pid=""
workload_pid=""

log() { echo "[container-test +$(($(date +%s) - started))s] $*"; }
now_ms() { date +%s%3N; }

cleanup() {
  [ -n "$workload_pid" ] && kill -9 "$workload_pid" 2>/dev/null
  if [ -S "$socket" ] && command -v docker-compose >/dev/null; then
    DOCKER_HOST="unix://$socket" docker-compose -p "$project" -f "$compose_file" --profile scale-out down -t 5 >/dev/null 2>&1
    [ -n "${bridge:-}" ] && DOCKER_HOST="unix://$socket" docker-compose -p "$bridge" -f "$compose_file_bridge" down -t 1 >/dev/null 2>&1
  fi
  [ -n "$health_pid" ] && kill "$health_pid" 2>/dev/null
  [ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "CONTAINER TEST FAILED: $*"
  if [ -n "${dump_logs:-}" ]; then
    for c in $(podman ps -a --filter "label=com.docker.compose.project=$project" --format '{{.Names}}' 2>/dev/null); do
      echo "--- last lines of $c ---"; podman logs --tail 30 "$c" 2>&1 | grep -v '^\s*$' | tail -n 30
    done
    [ -f "$work/workload.log" ] && { echo "--- workload ---"; tail -n 30 "$work/workload.log"; }
  fi
  exit 1
}

# --- 1. Tooling -------------------------------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || fail "must run as root (podman with runc and cgroupfs, packages installed with apt-get)."
missing=""
# catatonit is the pause binary podman needs to make a pod (podman kube play); Debian only recommends it.
for tool in podman runc docker-compose debootstrap curl catatonit; do command -v "$tool" >/dev/null || missing="$missing $tool"; done
if [ -n "$missing" ]; then
  log "installing:$missing (Debian packages podman runc docker-compose debootstrap catatonit)"
  command -v apt-get >/dev/null || fail "no apt-get to install$missing with."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman runc docker-compose debootstrap uidmap curl catatonit) >"$work/apt.log" 2>&1 \
    || { tail -n 5 "$work/apt.log"; fail "apt-get could not install podman runc docker-compose debootstrap catatonit."; }
fi
for tool in podman runc docker-compose debootstrap catatonit dotnet node npm openssl; do
  command -v "$tool" >/dev/null || fail "$tool is not installed."
done
# crun cannot set the open-files limit on these machines: runc, with explicit limits (docs/operations.md).
conf=/etc/containers/containers.conf
want=$'[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"'
if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
  mkdir -p /etc/containers && printf '%s\n' "$want" >"$conf"
fi
podman info >"$work/podman-info.log" 2>&1 || { tail -n 5 "$work/podman-info.log"; fail "podman cannot start here (podman info failed)."; }
# Docker's API on podman, for docker-compose.
export DOCKER_HOST="unix://$socket"
if ! curl -sf --unix-socket "$socket" http://d/_ping >/dev/null 2>&1; then
  mkdir -p /run/podman
  podman system service --time=0 "unix://$socket" >"$work/podman-service.log" 2>&1 &
  service_pid=$!
  for _ in $(seq 1 50); do curl -sf --unix-socket "$socket" http://d/_ping >/dev/null 2>&1 && break; sleep 0.2; done
  curl -sf --unix-socket "$socket" http://d/_ping >/dev/null 2>&1 || fail "podman's API socket did not answer (podman system service)."
fi
log "tooling ready: $(podman --version), $(docker-compose --version | cut -d, -f1), runtime $(podman info --format '{{.Host.OCIRuntime.Name}}')"

# --- 2. Images ----------------------------------------------------------------------------------------------------
t=$(date +%s)
bash scripts/container-base-images.sh || fail "the base images could not be built (scripts/container-base-images.sh)."
log "base images ready in $(($(date +%s) - t)) s"
build() { # TAG [extra podman build arguments]
  local tag=$1; shift
  podman build --format docker --pull=never --network host "$@" -t "$tag" . >"$work/build-${tag##*:}.log" 2>&1 \
    || { tail -n 20 "$work/build-${tag##*:}.log"; fail "podman build of the Dockerfile ($tag) failed."; }
}
t=$(date +%s)
build grantsilo/silo-host:local
log "image grantsilo/silo-host:local built in $(($(date +%s) - t)) s, $(podman image inspect grantsilo/silo-host:local --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1000000}')"
# The image's promises: non-root, a health check on readiness, SIGTERM.
user=$(podman image inspect grantsilo/silo-host:local --format '{{.Config.User}}')
[ -n "$user" ] && [ "$user" != 0 ] && [ "$user" != root ] || fail "the image runs as '$user', not as a non-root user."
healthcheck=$(podman image inspect grantsilo/silo-host:local --format '{{json .Config.Healthcheck}}')
[[ $healthcheck == *--probe* ]] || fail "the image has no health check with the probe."
t=$(date +%s)
build grantsilo/silo-host:upgrade --label "org.opencontainers.image.revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)-rebuilt"
upgrade_id=$(podman image inspect grantsilo/silo-host:upgrade --format '{{.Id}}')
[ "$upgrade_id" != "$(podman image inspect grantsilo/silo-host:local --format '{{.Id}}')" ] || fail "the rebuilt image is the same image."
log "rebuilt image grantsilo/silo-host:upgrade in $(($(date +%s) - t)) s"
dotnet build tests/GrantSilo.EndToEnd.Workload -c Release -v q -nologo >"$work/workload-build.log" 2>&1 || { tail -n 20 "$work/workload-build.log"; fail "the workload did not build."; }
workload_dll=tests/GrantSilo.EndToEnd.Workload/bin/Release/net10.0/GrantSilo.EndToEnd.Workload.dll

# The bridge-network docker-compose.yml, as far as it can go without running: read, created with --scale silo=3
# (never started: its network's 10.x addresses would carry traffic), inspected through the engine's API, removed.
bash scripts/dev-certs.sh "$work/certs" >/dev/null || fail "scripts/dev-certs.sh failed."
bridge="${project}br"
bridge_compose() { GRANTSILO_CERTS="$work/certs" docker-compose -p "$bridge" -f "$repo/docker-compose.yml" "$@"; }
bridge_compose config -q >"$work/bridge-config.log" 2>&1 || { grep -v 'level=warning' "$work/bridge-config.log" | tail -n 5; fail "docker-compose config refused docker-compose.yml."; }
bridge_compose up --no-start --no-build --scale silo=3 >"$work/bridge-create.log" 2>&1 || { grep -v 'level=warning' "$work/bridge-create.log" | tail -n 10; bridge_compose down -t 1 >/dev/null 2>&1; fail "docker-compose could not create docker-compose.yml's containers (--scale silo=3)."; }
bridge_containers=$(podman ps -a --filter "label=com.docker.compose.project=$bridge" --format '{{.Names}}' | sort)
bridge_verdict=$(for c in $bridge_containers; do curl -sf --unix-socket "$socket" "http://d/containers/$c/json"; echo; done | /usr/bin/python3 -c '
import json, sys
containers = [json.loads(line) for line in sys.stdin if line.strip()]
problems = []
silos = [c for c in containers if c["Config"]["Labels"].get("com.docker.compose.service") == "silo"]
azurite = [c for c in containers if c["Config"]["Labels"].get("com.docker.compose.service") == "azurite"]
if len(silos) != 3 or len(azurite) != 1:
    problems.append(f"expected 3 silos and 1 Azurite, found {len(silos)} and {len(azurite)}")
for c in containers:
    name = c["Name"].lstrip("/")
    published = {port: bindings for port, bindings in (c["HostConfig"].get("PortBindings") or {}).items() if bindings}
    if published:
        problems.append(f"{name} publishes {published} on the host")
    if c["HostConfig"]["NetworkMode"] in ("host",) or not c["NetworkSettings"]["Networks"]:
        problems.append(f"{name} is not on the compose network")
for c in silos:
    name = c["Name"].lstrip("/")
    if c["Config"]["User"] in ("", "0", "root"):
        problems.append(f"{name} runs as root")
    if "--probe" not in (c["Config"].get("Healthcheck") or {}).get("Test", []):
        problems.append(f"{name} has no readiness health check")
    if c["HostConfig"]["RestartPolicy"]["Name"] != "on-failure":
        problems.append(f"{name} does not restart on failure")
    stop = c["Config"].get("StopTimeout")
    if stop != 40:
        problems.append(f"{name} has {stop} s to stop, not 40")
for c in azurite:
    if not (c["Config"].get("Healthcheck") or {}).get("Test"):
        problems.append("Azurite has no health check, so the silos cannot wait for it")
print("; ".join(problems) if problems else "ok")
' 2>&1)
depends=$(bridge_compose config 2>/dev/null | /usr/bin/python3 -c 'import sys, yaml; print(yaml.safe_load(sys.stdin)["services"]["silo"]["depends_on"]["azurite"]["condition"])' 2>&1)
bridge_compose down -t 1 >>"$work/bridge-create.log" 2>&1
[ "$bridge_verdict" = ok ] || fail "docker-compose.yml (bridge network): $bridge_verdict"
[ "$depends" = service_healthy ] || fail "docker-compose.yml: the silos do not wait for a healthy Azurite (depends_on condition: $depends)."
log "docker-compose.yml (bridge network, not started): Azurite and 3 silo replicas created with --scale silo=3, no port published on the host, silos readiness-gated on a healthy Azurite, non-root, health-checked, 40 s to stop; removed"

# --- 3. The cluster ------------------------------------------------------------------------------------------------
export GRANTSILO_CERTS="$work/certs"
# Free loopback ports: Azurite, and per silo its silo port, gateway and HTTP API. Taken below the kernel's ephemeral range:
# the fifth silo's are bound minutes after they are chosen, and a port in that range may meanwhile be the local end of any
# outgoing connection (a silo's to Azurite, the workload's to a silo), which makes the later bind fail (EADDRINUSE).
used=$(ss -Hltn | awk '{print $4}' | sed 's/.*://' | sort -u)
ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
next_port=$((10000 + RANDOM % (ephemeral_low - 10000 - 100)))
free_port() { # VARIABLE: exports it set to the next free port
  while grep -qx "$next_port" <<<"$used"; do next_port=$((next_port + 1)); done
  export "$1=$next_port"; next_port=$((next_port + 1))
}
free_port GRANTSILO_AZURITE_PORT
for n in 1 2 3 4 5; do
  free_port "GRANTSILO_SILO${n}_PORT"; free_port "GRANTSILO_GATEWAY${n}_PORT"; free_port "GRANTSILO_HTTP${n}_PORT"
done
compose() { docker-compose -p "$project" -f "$compose_file" --profile scale-out "$@"; }
container() { echo "${project}_$1_1"; }
health() { podman inspect "$(container "$1")" --format '{{.State.Health.Status}}' 2>/dev/null; }
# The engine's health-check timer (systemd's job, absent here), for Azurite: the silos start once it is healthy.
( while true; do
    podman healthcheck run "$(container azurite)" >/dev/null 2>&1
    sleep 2
  done ) &
health_pid=$!
wait_healthy() { # SERVICE SECONDS: /health/ready answers 200, then the image's health check passes
  local deadline=$(($(date +%s) + $2)) port
  port=$(eval echo "\$GRANTSILO_HTTP${1#silo}_PORT")
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if curl -sf -o /dev/null --max-time 3 --cacert "$work/certs/ca.pem" "https://127.0.0.1:$port/health/ready"; then
      # The engine calls a container unhealthy only after the image's --retries failures in a row. A probe is a .NET
      # process start inside the container, which can outlast its --timeout on two cores busy with the other silos and
      # the workload: one slow probe is not a failed health check, so it is run as the engine would, up to that many times.
      local tries=0 out retries
      retries=$(podman image inspect "$(podman inspect "$(container "$1")" --format '{{.ImageName}}')" --format '{{.Config.Healthcheck.Retries}}' 2>/dev/null)
      [[ $retries =~ ^[1-9][0-9]*$ ]] || retries=3
      until out=$(podman healthcheck run "$(container "$1")" 2>&1); do
        tries=$((tries + 1))
        [ "$tries" -lt "${retries:-3}" ] || fail "$1 answers /health/ready, but its image's health check failed $tries times in a row: $out"
        echo "[container-test] $1's health check failed ($out): $tries of the ${retries:-3} in a row the engine allows"
        sleep 1
      done
      [ "$(health "$1")" = healthy ] || fail "$1's health check passed, but podman reports it $(health "$1")."
      return 0
    fi
    sleep 0.5
  done
  fail "$1 was not ready within $2 s (health: $(health "$1"))."
}
dump_logs=1
t=$(now_ms)
compose up -d azurite silo1 silo2 silo3 >"$work/compose-up.log" 2>&1 || { grep -v 'level=warning' "$work/compose-up.log" | tail -n 10; fail "docker-compose up failed."; }
for s in silo1 silo2 silo3; do wait_healthy $s 180; done
log "Azurite and 3 silos healthy $(($(now_ms) - t)) ms after docker-compose up (readiness-gated: silos started once Azurite was healthy)"

# --- 4. Workload and operator actions ------------------------------------------------------------------------------
history="$work/history.jsonl"
phases="$work/phases"
: >"$phases"
GrantSilo__Storage__Provider=AzureTable \
GrantSilo__Storage__ConnectionString="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:$GRANTSILO_AZURITE_PORT/devstoreaccount1;" \
GrantSilo__Storage__AllowDevelopmentStorage=true \
GrantSilo__Client__ClusterId=grantsilo GrantSilo__Client__ServiceId=grantsilo \
GrantSilo__Client__ResponseTimeout=00:00:10 GrantSilo__Client__GatewayListRefreshPeriod=00:00:02 \
GrantSilo__Client__Tls__CaFile="$work/certs/ca.pem" \
GrantSilo__Client__Tls__CertificateFile="$work/certs/client.pem" GrantSilo__Client__Tls__KeyFile="$work/certs/client.key" \
Workload__HistoryPath="$history" Workload__Duration=00:15:00 Workload__Concurrency=4 Workload__CallDeadline=00:00:30 \
Workload__IdentityKeyFile="$work/certs/issuer.key.json" Workload__StopFile="$work/stop" Workload__FinalSweep=true \
Workload__HttpEndpoints="$(for n in 1 2 3 4; do printf 'https://127.0.0.1:%s,' "$(eval echo "\$GRANTSILO_HTTP${n}_PORT")"; done)" \
  dotnet "$workload_dll" >"$work/workload.log" 2>&1 &
workload_pid=$!
allows() { local n; n=$(grep -c '"result":"Allow"' "$history" 2>/dev/null); echo "${n:-0}"; }
wait_allows() { # MORE SECONDS: until MORE further Allows are recorded
  local target=$(($(allows) + $1)) deadline=$(($(date +%s) + $2))
  while [ "$(allows)" -lt "$target" ]; do
    kill -0 "$workload_pid" 2>/dev/null || fail "the workload exited early."
    [ "$(date +%s)" -lt "$deadline" ] || fail "fewer than $1 Allows in $2 s."
    sleep 0.5
  done
}
phase() { # NAME COMMAND...: runs an operator action, recording when it started and ended
  local name=$1; shift
  local start; start=$(now_ms)
  "$@"
  echo "$name $start $(now_ms)" >>"$phases"
  log "$name done in $(($(now_ms) - start)) ms ($(allows) allows so far)"
}
wait_allows 100 120
log "workload running on 3 silos"

scale_out() { compose up -d --no-deps silo4 >>"$work/compose-ops.log" 2>&1 || fail "scale out: docker-compose up silo4 failed."; wait_healthy silo4 180; }
phase scale-out scale_out
wait_allows 50 60

upgrade() { # SERVICE: replace it by a container of the rebuilt image (SIGTERM to the old one first), ready before going on
  GRANTSILO_IMAGE=grantsilo/silo-host:upgrade compose up -d --no-deps "$1" >>"$work/compose-ops.log" 2>&1 || fail "upgrade: docker-compose up $1 failed."
  [ "$(podman inspect "$(container "$1")" --format '{{.Image}}')" = "$upgrade_id" ] || fail "upgrade: $1 does not run the rebuilt image."
  wait_healthy "$1" 180
}
for s in silo1 silo2 silo3 silo4; do
  phase "upgrade-$s" upgrade $s
  wait_allows 30 60
done

kill_one() {
  podman kill "$(container silo2)" >/dev/null || fail "podman kill silo2 failed."
  podman wait "$(container silo2)" >/dev/null 2>&1
  # Started again as an operator (or the restart policy) would; it joins as a new incarnation.
  GRANTSILO_IMAGE=grantsilo/silo-host:upgrade compose up -d --no-deps silo2 >>"$work/compose-ops.log" 2>&1 || fail "docker-compose up silo2 after the kill failed."
  wait_healthy silo2 180
}
phase kill kill_one
wait_allows 30 60

stop_seconds=0
scale_in() {
  local t0; t0=$(now_ms)
  GRANTSILO_IMAGE=grantsilo/silo-host:upgrade compose stop -t 40 silo4 >>"$work/compose-ops.log" 2>&1 || fail "scale in: docker-compose stop silo4 failed."
  stop_ms=$(($(now_ms) - t0))
  local code; code=$(podman inspect "$(container silo4)" --format '{{.State.ExitCode}}')
  [ "$code" = 0 ] || fail "scale in: silo4 exited with $code after SIGTERM, not 0 (killed after its grace period, or failed stopping)."
  podman logs "$(container silo4)" >"$work/silo4.log" 2>&1
  grep -q "GrantSilo silo stopping: leaving the cluster cleanly" "$work/silo4.log" || fail "scale in: silo4 did not say it was leaving the cluster."
  [ "$stop_ms" -lt 40000 ] || fail "scale in: silo4 took $stop_ms ms to stop."
}
phase scale-in scale_in
log "scale in: silo4 left the cluster and exited 0, $stop_ms ms after SIGTERM"
wait_allows 50 60

touch "$work/stop"
deadline=$(($(date +%s) + 180))
while kill -0 "$workload_pid" 2>/dev/null; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "the workload did not finish within 180 s of being asked to stop."
  sleep 0.5
done
wait "$workload_pid"; code=$?; workload_pid=""
[ "$code" = 0 ] || fail "the workload exited with $code."
grep -E "^WORKLOAD (DONE|HTTP)" "$work/workload.log"

# --- 5. Verdict ----------------------------------------------------------------------------------------------------
dotnet "$workload_dll" check "$history" "$phases" 00:00:30 | tee "$work/check.log"
grep -qx "CHECK PASSED" "$work/check.log" || fail "the history check failed (lines CHECK FAILED above)."
dump_logs=""

# --- 6. Kubernetes manifests with podman kube play, joining this cluster's Azurite ---------------------------------
t=$(date +%s)
bash scripts/kube-play-check.sh "$work/certs" "$GRANTSILO_AZURITE_PORT" "$GRANTSILO_SILO5_PORT" "$GRANTSILO_GATEWAY5_PORT" "$GRANTSILO_HTTP5_PORT" | tee "$work/kube.log"
grep -qx "KUBE PLAY PASSED" "$work/kube.log" || fail "deploy/kubernetes/deployment.yaml did not run with podman kube play (above)."
log "podman kube play checked in $(($(date +%s) - t)) s"
log "total $(($(date +%s) - started)) s"
echo "CONTAINER TEST PASSED"
