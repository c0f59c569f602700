#!/usr/bin/env bash
# Runs deploy/kubernetes/deployment.yaml with `podman kube play` (podman has no Kubernetes API server) and checks that
# the pod it describes becomes a ready silo. The container test (scripts/container-test.sh) runs it against its
# cluster's Azurite; docs/operations.md ("Proven") says what this does and does not prove.
#
#   bash scripts/kube-play-check.sh CERTS_FOLDER AZURITE_PORT SILO_PORT GATEWAY_PORT HTTP_PORT
#
# podman kube play cannot run the manifest unchanged on a loopback-only machine, so it plays a variant, made here
# from the manifest by these substitutions and nothing else (everything else is the manifest's: the image, the
# non-root user, the read-only root filesystem and its /tmp emptyDir, the environment, the Secrets read through
# secretKeyRef, the ConfigMap mounted as the issuers' keys, the resources, the probes):
#   - one replica, on the host's network (loopback only here): no containerPort (podman refuses them with host
#     networking), and the silo's ports, the HTTP API's and loopback-only listening set in the environment;
#   - the downward API's metadata.namespace and status.podIP (podman does not provide them) as "default" and 127.0.0.1;
#   - GrantSilo__Kubernetes__Enabled=false: Orleans' Kubernetes hosting reads and deletes pods through the Kubernetes
#     API, which podman does not serve;
#   - the Secret volumes (TLS, audit keys, call key) as a hostPath of CERTS_FOLDER (podman 4.3's secret volumes do not
#     deliver files the silo can read); the storage Secret, read through secretKeyRef, is a podman secret holding the
#     Secret's data ({key: base64 value}), as kube play reads it;
#   - Azurite's development account as the storage Secret, with GrantSilo__Storage__AllowDevelopmentStorage=true.
# Prints "KUBE PLAY PASSED" or "KUBE PLAY FAILED: why" and exits 0 or 1.
set -uo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 5 ] || { echo "usage: $0 CERTS_FOLDER AZURITE_PORT SILO_PORT GATEWAY_PORT HTTP_PORT"; exit 2; }
certs=$(readlink -f "$1"); azurite=$2; silo=$3; gateway=$4; http=$5
work=$(mktemp -d /tmp/grantsilo-kube-play.XXXXXX)
suffix="k$$"
secrets=(grantsilo-storage)
played=""
fail() {
  echo "KUBE PLAY FAILED: $*"
  if [ -n "$played" ]; then
    for c in $(podman ps -a --filter "pod=grantsilo-pod-0" --format '{{.Names}}' 2>/dev/null | grep -v infra); do
      echo "--- last lines of $c (stack frames left out) ---"; podman logs "$c" 2>&1 | grep -v "^\s*at " | tail -n 20
    done
  fi
  exit 1
}
cleanup() {
  [ -n "$played" ] && podman kube down "$work/play.yaml" >/dev/null 2>&1
  for s in "${secrets[@]}"; do podman secret rm "$s" >/dev/null 2>&1; done
  rm -rf "$work"
}
trap cleanup EXIT
# Debian's python3 with PyYAML (a dependency of Debian's docker-compose, which the container test installs).
python=/usr/bin/python3
"$python" -c 'import yaml' 2>/dev/null || fail "/usr/bin/python3 with PyYAML is needed to make the variant (Debian: python3-yaml)."
command -v podman >/dev/null || fail "podman is not installed."

connection="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:$azurite/devstoreaccount1;"
CONNECTION="$connection" CERTS="$certs" WORK="$work" \
SILO_PORT="$silo" GATEWAY_PORT="$gateway" HTTP_PORT="$http" "$python" - <<'EOF' || fail "the variant of deploy/kubernetes/deployment.yaml could not be made."
import base64, json, os, yaml
documents = list(yaml.safe_load_all(open("deploy/kubernetes/deployment.yaml")))
deployment = next(d for d in documents if d and d.get("kind") == "Deployment")
pod = deployment["spec"]["template"]["spec"]
deployment["spec"]["replicas"] = 1
pod["hostNetwork"] = True
(container,) = pod["containers"]
container.pop("ports", None)
env = container["env"]
for variable in env:
    field = variable.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
    if field in ("metadata.namespace", "status.podIP"):
        variable.pop("valueFrom")
        variable["value"] = "default" if field == "metadata.namespace" else "127.0.0.1"
    if variable["name"] == "GrantSilo__Kubernetes__Enabled":
        variable["value"] = "false"
overrides = {
    "GrantSilo__Silo__SiloPort": os.environ["SILO_PORT"],
    "GrantSilo__Silo__GatewayPort": os.environ["GATEWAY_PORT"],
    "GrantSilo__Http__Port": os.environ["HTTP_PORT"],
    "GrantSilo__Silo__ListenOnAnyHostAddress": "false",
    "GrantSilo__Http__ListenOnAnyHostAddress": "false",
    "GrantSilo__Storage__AllowDevelopmentStorage": "true",
}
env[:] = [v for v in env if v["name"] not in overrides] + [{"name": k, "value": v} for k, v in overrides.items()]
for volume in pod["volumes"]:
    if "secret" in volume:
        volume.pop("secret")
        volume["hostPath"] = {"path": os.environ["CERTS"], "type": "Directory"}
yaml.safe_dump(deployment, open(os.path.join(os.environ["WORK"], "play.yaml"), "w"), sort_keys=False)
# The ConfigMap and the Secrets the manifest's comments tell an operator to create.
configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "grantsilo-issuers"},
             "data": {"issuer.jwks.json": open(os.path.join(os.environ["CERTS"], "issuer.jwks.json")).read()}}
yaml.safe_dump(configmap, open(os.path.join(os.environ["WORK"], "configmap.yaml"), "w"))
def secret(name, key, value):
    # podman kube play reads a secretKeyRef from a podman secret holding a Secret's data: {key: base64 value}.
    json.dump({key: base64.b64encode(value.encode()).decode()}, open(os.path.join(os.environ["WORK"], name + ".json"), "w"))
secret("grantsilo-storage", "connection-string", os.environ["CONNECTION"])
EOF
for s in "${secrets[@]}"; do
  podman secret rm "$s" >/dev/null 2>&1
  podman secret create "$s" "$work/$s.json" >/dev/null || fail "podman secret create $s failed."
done
start=$(date +%s%3N)
played=1
podman kube play --configmap "$work/configmap.yaml" "$work/play.yaml" >"$work/play.log" 2>&1 || { cat "$work/play.log"; fail "podman kube play refused the variant."; }
container=$(podman ps -a --filter "pod=grantsilo-pod-0" --format '{{.Names}}' | grep -v infra | head -n 1)
[ -n "$container" ] || fail "podman kube play created no silo container."
# The manifest's security context, as podman applied it.
user=$(podman inspect "$container" --format '{{.Config.User}}')
[ "$user" = 1654 ] || [ "$user" = 1654:1654 ] || fail "the pod's container runs as '$user', not uid 1654."
[ "$(podman inspect "$container" --format '{{.HostConfig.ReadonlyRootfs}}')" = true ] || fail "the pod's root filesystem is not read-only."
deadline=$(($(date +%s) + 180))
while true; do
  [ "$(podman inspect "$container" --format '{{.State.Running}}')" = true ] || fail "the silo in the pod stopped: $(podman logs --tail 3 "$container" 2>&1 | tr '\n' ' ')"
  logs=$(podman logs "$container" 2>&1)
  if [[ $logs == *"GrantSilo silo ready"* ]] && podman exec "$container" dotnet GrantSilo.SiloHost.dll --probe ready >/dev/null 2>&1; then break; fi
  [ "$(date +%s)" -lt "$deadline" ] || fail "the silo in the pod was not ready within 180 s."
  sleep 1
done
echo "kube play: the Deployment's pod (uid $user, read-only root filesystem, Secrets through secretKeyRef, the issuers' ConfigMap) ready $(($(date +%s%3N) - start)) ms after podman kube play; /health/ready answers 200 on port $http"
# Torn down as a rollout would take it away: SIGTERM, and it leaves the cluster cleanly.
podman stop -t 40 "$container" >/dev/null 2>&1
code=$(podman inspect "$container" --format '{{.State.ExitCode}}')
# Captured first: grep -q on the pipe would end podman logs early (SIGPIPE, still writing the lines after the match),
# which pipefail reports as a failure.
logs=$(podman logs "$container" 2>&1)
[[ $logs == *"GrantSilo silo stopping: leaving the cluster cleanly"* ]] || fail "the pod's silo did not say it was leaving the cluster on SIGTERM."
[ "$code" = 0 ] || fail "the pod's silo exited $code after SIGTERM."
echo "KUBE PLAY PASSED"
