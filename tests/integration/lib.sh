# Shared helpers for the integration tests (sourced). Needs BUILD_ROOT and SOURCE_ROOT.
: "${SOURCE_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${BUILD_ROOT:=$SOURCE_ROOT/build}"
SENTINEL="$BUILD_ROOT/sentinel/mariadb-sentinel"
SENTINELCTL="$BUILD_ROOT/sentinel/sentinelctl"

_fails=0
_passes=0
pass() { echo "ok: $*"; _passes=$((_passes + 1)); }
fail() { echo "FAIL: $*"; _fails=$((_fails + 1)); }
# check DESCRIPTION COMMAND...: passes when the command succeeds
check() { local d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
finish() {
  echo "$_passes passed, $_fails failed"
  [ "$_fails" -eq 0 ] && [ "$_passes" -gt 0 ]
}

# write_secret DIR NAME [CONTENT]: a 0600 secret file
write_secret() {
  ( umask 077; printf '%s\n' "${3:-secret-$2-$RANDOM$RANDOM}" >"$1/$2" )
}

# write_tsig_key DIR NAME: a BIND key file for hmac-sha256
write_tsig_key() {
  ( umask 077; printf 'key "sentinel-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' \
      "$(head -c 32 /dev/urandom | base64)" >"$1/$2" )
}

# minimal_config DIR: a one-sentinel config with its secrets, state in DIR/state
minimal_config() {
  local dir=$1
  write_secret "$dir" main.password
  write_secret "$dir" main.repl-password
  cat >"$dir/sentinel.conf" <<CONF
sentinel = {
  name = "az-a";
  zone = "zone-a";
  control_socket = "$dir/control.sock";
  state_dir = "$dir/state";
};
clusters = (
  {
    name = "main";
    quorum = 1;
    user = "sentinel";
    password_file = "main.password";
    replication_user = "repl";
    replication_password_file = "main.repl-password";
    servers = (
      { name = "db-a"; host = "127.0.0.1"; port = 3306; zone = "zone-a"; },
      { name = "db-b"; host = "127.0.0.1"; port = 3307; zone = "zone-b"; }
    );
  }
);
CONF
}
