#!/bin/sh
# Entrypoint of the turn service: writes coturn's configuration from the policy in turnserver.conf, the clinic's
# addresses and the secret file, then becomes turnserver. The secret passes only through the shell's own `read`
# and `printf` (no other program runs with it) and lands in a file only this account can read, never in any
# process's arguments or environment.
#
#   TURN_IP      address coturn listens and relays on (required)
#   TURN_HOST    DNS name of TURN_IP, used as the realm (required)
#   PUBLIC_IP    the Teletherapy server's media address: the one peer always allowed (required)
#   TURN_EXTERNAL_IP  public address when TURN_IP sits behind 1:1 NAT (optional)
#   TURN_PORT / TURN_TLS_PORT  3478 / 443
#   TURN_SECRET_FILE, TURN_CERT_FILE, TURN_KEY_FILE  the mounted secrets
#   TURN_BASE_CONFIG, TURN_CONFIG  the policy file and where the full configuration is written
set -eu

fail() {
    printf 'turn: %s\n' "$1" >&2
    exit 1
}

: "${TURN_IP:?set TURN_IP}"
: "${TURN_HOST:?set TURN_HOST}"
: "${PUBLIC_IP:?set PUBLIC_IP}"
base=${TURN_BASE_CONFIG:-/etc/coturn/teletherapy/turnserver.conf}
out=${TURN_CONFIG:-/tmp/turnserver.conf}
secret_file=${TURN_SECRET_FILE:-/run/secrets/turn_secret}
cert=${TURN_CERT_FILE:-/run/secrets/turn_cert}
key=${TURN_KEY_FILE:-/run/secrets/turn_key}

[ -r "$base" ] || fail "cannot read $base"
[ -r "$secret_file" ] || fail "cannot read the TURN secret $secret_file"
[ -r "$cert" ] || fail "cannot read the TLS certificate $cert"
[ -r "$key" ] || fail "cannot read the TLS key $key"

# The first line, without surrounding blanks or a Windows line end (the Teletherapy server trims the file alike).
secret=
read -r secret < "$secret_file" || true
cr=$(printf '\r')
secret=${secret%"$cr"}
[ -n "$secret" ] || fail "the TURN secret $secret_file is empty"

umask 077
{
    while IFS= read -r line || [ -n "$line" ]; do
        printf '%s\n' "$line"
    done < "$base"
    printf '\n# Appended by start.sh\n'
    printf 'listening-ip=%s\n' "$TURN_IP"
    printf 'relay-ip=%s\n' "$TURN_IP"
    if [ -n "${TURN_EXTERNAL_IP:-}" ]; then
        printf 'external-ip=%s/%s\n' "$TURN_EXTERNAL_IP" "$TURN_IP"
    fi
    printf 'listening-port=%s\n' "${TURN_PORT:-3478}"
    printf 'tls-listening-port=%s\n' "${TURN_TLS_PORT:-443}"
    printf 'realm=%s\n' "$TURN_HOST"
    printf 'server-name=%s\n' "$TURN_HOST"
    printf 'cert=%s\n' "$cert"
    printf 'pkey=%s\n' "$key"
    printf 'allowed-peer-ip=%s\n' "$PUBLIC_IP"
    printf 'static-auth-secret=%s\n' "$secret"
} > "$out"
secret=

exec turnserver -c "$out"
