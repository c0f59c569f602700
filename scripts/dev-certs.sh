#!/usr/bin/env bash
# Development certificates for GrantSilo's TLS (docs/multi-silo.md, "Certificates"): a CA, a silo certificate and a
# client certificate, as PEM (plus PFX), in a folder (default ./.certs, which git ignores).
#
#   bash scripts/dev-certs.sh [folder] [--force]
#
# Idempotent: files that exist are kept (and the settings printed again); --force makes everything anew. The silo
# certificate allows server and client authentication (a silo both accepts and opens silo links) and is valid for
# localhost, 127.0.0.1 and the compose service name "silo"; peers are trusted because they chain to ca.pem, not by
# the address they are reached on. For development only: the keys are unencrypted and readable by other users (so a
# container running as another user can read the mounted folder); never use them in production.
set -euo pipefail
cd "$(dirname "$0")/.."

folder=./.certs
force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) folder=$arg ;;
  esac
done
command -v openssl >/dev/null || { echo "openssl is required (for example: apt-get install openssl)." >&2; exit 1; }
mkdir -p "$folder"
folder=$(cd "$folder" && pwd)
days=825
if [ "$force" = 1 ]; then
  rm -f "$folder"/{ca,silo,client}.{pem,key,pfx} "$folder"/ca.srl
fi

# The CA: signs the silo and client certificates; every process trusts exactly it (GrantSilo:Tls:CaFile).
if [ ! -f "$folder/ca.pem" ] || [ ! -f "$folder/ca.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days $((days + 30)) \
    -subj "/CN=GrantSilo development CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$folder/ca.key" -out "$folder/ca.pem" 2>/dev/null
  # A new CA invalidates whatever it did not sign.
  rm -f "$folder"/{silo,client}.{pem,key,pfx}
  echo "created $folder/ca.pem"
fi

# issue NAME SUBJECT EXTENDED_KEY_USAGE SUBJECT_ALT_NAMES
issue() {
  local name=$1 subject=$2 usage=$3 names=$4
  if [ -f "$folder/$name.pem" ] && [ -f "$folder/$name.key" ] && [ -f "$folder/$name.pfx" ]; then
    return
  fi
  local extensions
  extensions=$(mktemp)
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=%s\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' "$usage" "$names" >"$extensions"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subject" \
    -keyout "$folder/$name.key" -out "$folder/$name.csr" 2>/dev/null
  openssl x509 -req -in "$folder/$name.csr" -CA "$folder/ca.pem" -CAkey "$folder/ca.key" -CAcreateserial \
    -sha256 -days "$days" -extfile "$extensions" -out "$folder/$name.pem" 2>/dev/null
  # PFX without a password, for GrantSilo:Tls:CertificateFile=.../NAME.pfx (or to import into a certificate store).
  openssl pkcs12 -export -inkey "$folder/$name.key" -in "$folder/$name.pem" -certfile "$folder/ca.pem" \
    -name "$subject" -passout pass: -out "$folder/$name.pfx"
  rm -f "$folder/$name.csr" "$extensions"
  echo "created $folder/$name.pem, $name.key, $name.pfx"
}
issue silo "/CN=grantsilo-silo" "serverAuth,clientAuth" "DNS:localhost,DNS:silo,IP:127.0.0.1"
issue client "/CN=grantsilo-client" "clientAuth" "DNS:grantsilo-client"
chmod 644 "$folder"/{ca,silo,client}.pem "$folder"/{silo,client}.key "$folder"/{silo,client}.pfx
chmod 600 "$folder/ca.key"

# The cluster call key every silo shares (GrantSilo:Cluster:CallKey), and a development token issuer for the
# walkthrough's callers: an ES256 key whose public half (issuer.jwks.json) the silos trust and whose private half
# (issuer.key.json, with the call key, readable by this user only) the workload mints tokens with.
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
if [ "$force" = 1 ]; then
  rm -f "$folder"/{call-key,issuer.jwks.json,issuer.key.json}
fi
if [ ! -f "$folder/call-key" ]; then
  openssl rand -base64 32 | tr -d '\n' >"$folder/call-key"
  echo "created $folder/call-key"
fi
# Read by the silo containers' non-root user from the mounted folder (GrantSilo__Cluster__CallKeyFile), as the other keys
# they read are; development keys only.
chmod 644 "$folder/call-key"
if [ ! -f "$folder/issuer.jwks.json" ] || [ ! -f "$folder/issuer.key.json" ]; then
  work=$(mktemp -d)
  openssl ecparam -name prime256v1 -genkey -noout -out "$work/issuer.pem" 2>/dev/null
  openssl ec -in "$work/issuer.pem" -pubout -outform DER 2>/dev/null | tail -c 64 >"$work/xy"
  openssl ec -in "$work/issuer.pem" -outform DER 2>/dev/null | head -c 39 | tail -c 32 >"$work/d"
  x=$(head -c 32 "$work/xy" | b64url); y=$(tail -c 32 "$work/xy" | b64url); d=$(b64url <"$work/d")
  kid=$(openssl rand -hex 8)
  printf '{"keys":[{"kty":"EC","crv":"P-256","kid":"%s","use":"sig","alg":"ES256","x":"%s","y":"%s"}]}\n' "$kid" "$x" "$y" >"$folder/issuer.jwks.json"
  (umask 077 && printf '{"Kid":"%s","X":"%s","Y":"%s","D":"%s","CallKey":"%s"}\n' "$kid" "$x" "$y" "$d" "$(cat "$folder/call-key")" >"$folder/issuer.key.json")
  chmod 644 "$folder/issuer.jwks.json"
  rm -rf "$work"
  echo "created $folder/issuer.jwks.json, issuer.key.json"
fi

# The audit log's keys every silo shares (docs/audit.md): the ECDSA P-256 key that signs checkpoints, and the key under
# which token-derived values are hashed. Readable by the container's user, as the rest of this folder (development only).
if [ "$force" = 1 ]; then
  rm -f "$folder"/{audit-signing-key.pem,audit-hash-key}
fi
if [ ! -f "$folder/audit-signing-key.pem" ] || [ ! -f "$folder/audit-hash-key" ]; then
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$folder/audit-signing-key.pem" 2>/dev/null
  openssl rand -base64 32 | tr -d '\n' >"$folder/audit-hash-key"
  chmod 644 "$folder/audit-signing-key.pem" "$folder/audit-hash-key"
  echo "created $folder/audit-signing-key.pem, audit-hash-key"
fi

# The key-encryption key under which GrantSilo's signing keys (the key rings: credentials, docs/keys.md) are wrapped in
# storage, the same on every silo. Readable by the container's user, as the rest of this folder (development only; in
# production it comes from a secret store, or a cloud KMS plugs in instead).
if [ "$force" = 1 ]; then
  rm -f "$folder/key-encryption-key"
fi
if [ ! -f "$folder/key-encryption-key" ]; then
  openssl rand -base64 32 | tr -d '\n' >"$folder/key-encryption-key"
  chmod 644 "$folder/key-encryption-key"
  echo "created $folder/key-encryption-key"
fi

cat <<SETTINGS

Development certificates in $folder (the CA's key, ca.key, stays here; no process needs it).
Silos (GrantSilo:Tls; always on in the AzureTable profile, GrantSilo__Tls__Enabled=true for the embedded one):
  export GrantSilo__Tls__CertificateFile=$folder/silo.pem
  export GrantSilo__Tls__KeyFile=$folder/silo.key
  export GrantSilo__Tls__CaFile=$folder/ca.pem
  export GrantSilo__Tls__AllowedPeerNames__0=silo     # the silo certificate's name; required outside Development
  export GrantSilo__Keys__KeyEncryptionKeyFile=$folder/key-encryption-key
Clients (GrantSilo:Client:Tls; on with AddGrantSiloAzureTableClient, GrantSilo__Client__Tls__Enabled=true otherwise):
  export GrantSilo__Client__Tls__CaFile=$folder/ca.pem
  export GrantSilo__Client__Tls__CertificateFile=$folder/client.pem   # optional: a client certificate
  export GrantSilo__Client__Tls__KeyFile=$folder/client.key
Silos of one cluster share the call key, and trust the development issuer's keys (docs/multi-silo.md):
  export GrantSilo__Cluster__CallKeyFile=$folder/call-key
  ... GrantSilo__Identity__Issuers__N__JwksFile=$folder/issuer.jwks.json
docker compose mounts $folder when run with GRANTSILO_CERTS=$folder (default ./.certs).
SETTINGS
