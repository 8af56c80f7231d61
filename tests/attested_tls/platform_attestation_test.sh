#!/bin/sh
# The attester end to end through the CLI, as an operator runs it: development and production
# platform daemons, `confide platform csr|start --cert|attest|collateral|root`, and the
# evidence checked with `confide verify --format soft`. Usage: platform_attestation_test.sh CONFIDE
confide="$1"
dir=$(mktemp -d "${TMPDIR:-/tmp}/confide-platform-attest-XXXXXX") || exit 1
cleanup() {
  for s in dev prod; do "$confide" platform stop --socket "$dir/$s.sock" >/dev/null 2>&1; done
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect() {  # expect RC PATTERN command...: exit status and a fragment of stdout+stderr
  want_rc=$1 pattern=$2; shift 2
  out=$("$@" 2>&1); rc=$?
  [ "$rc" -eq "$want_rc" ] || fail "'$*' exited $rc, expected $want_rc: $out"
  printf '%s' "$out" | grep -q -- "$pattern" || fail "'$*' output lacks '$pattern': $out"
}
rd=00112233445566778899aabbccddeeff
rd_full=$(printf '%s%0*d' "$rd" 96 0)

# ---- development: no certificate, the daemon certifies itself
expect 0 "started" "$confide" platform start --socket "$dir/dev.sock" --state "$dir/dev"
expect 0 '"attestation": "development"' "$confide" platform status --socket "$dir/dev.sock" --json
[ "$(stat -c %a "$dir/dev/attestation.key")" = 600 ] || fail "attestation.key is not mode 0600"
expect 0 "soft evidence" "$confide" platform attest --socket "$dir/dev.sock" --report-data "$rd" --out "$dir/dev.quote"
expect 0 "development collateral" "$confide" platform collateral --socket "$dir/dev.sock" --out "$dir/dev.json"
expect 0 "development root" "$confide" platform root --socket "$dir/dev.sock" --out "$dir/dev-root.pem"
expect 0 '"development": true' "$confide" verify --format soft --evidence "$dir/dev.quote" \
  --collateral "$dir/dev.json" --root "$dir/dev-root.pem" --report-data "$rd_full" --json
# The report data is what the caller asked for, so another value is refused (replay check).
expect 1 "policy refused claim .report_data." "$confide" verify --format soft --evidence "$dir/dev.quote" \
  --collateral "$dir/dev.json" --root "$dir/dev-root.pem" --report-data "$(printf '%0128d' 0)" --json
expect 2 "up to 64 bytes" "$confide" platform attest --socket "$dir/dev.sock" --report-data "$rd_full$rd" --out "$dir/x"
# A restarted development daemon keeps its root (verifiers may pin it).
"$confide" platform stop --socket "$dir/dev.sock" >/dev/null
expect 0 "started" "$confide" platform start --socket "$dir/dev.sock" --state "$dir/dev"
expect 0 "development root" "$confide" platform root --socket "$dir/dev.sock" --out "$dir/dev-root2.pem"
cmp -s "$dir/dev-root.pem" "$dir/dev-root2.pem" || fail "the development root changed across a restart"

# ---- production: a provisioning CA certifies the platform's key
expect 0 "" "$confide" provision init --out "$dir/ca"
expect 0 "wrote" "$confide" platform csr --state "$dir/prod" --out "$dir/prod.csr"
expect 0 "" "$confide" provision certify --ca "$dir/ca" --csr "$dir/prod.csr" --platform-svn 3 --out "$dir/prod.pem"
expect 0 "" "$confide" provision tcb-info --ca "$dir/ca" --level 3:UpToDate --out "$dir/ca.json"
# A certificate for another key is refused before anything is installed.
expect 0 "wrote" "$confide" platform csr --state "$dir/other" --out "$dir/other.csr"
expect 0 "" "$confide" provision certify --ca "$dir/ca" --csr "$dir/other.csr" --out "$dir/other.pem"
expect 1 "certifies another key" "$confide" platform start --socket "$dir/prod.sock" --state "$dir/prod" --cert "$dir/other.pem"
[ -e "$dir/prod/platform.pem" ] && fail "a refused certificate was installed"
expect 0 "started" "$confide" platform start --socket "$dir/prod.sock" --state "$dir/prod" --cert "$dir/prod.pem" \
  --collateral "$dir/ca.json"
expect 0 '"attestation": "production"' "$confide" platform status --socket "$dir/prod.sock" --json
expect 1 "take the root from its operator" "$confide" platform root --socket "$dir/prod.sock" --out "$dir/x.pem"
expect 0 "soft evidence" "$confide" platform attest --socket "$dir/prod.sock" --report-data "$rd" --out "$dir/prod.quote"
expect 0 "wrote" "$confide" platform collateral --socket "$dir/prod.sock" --out "$dir/prod.json"
cmp -s "$dir/prod.json" "$dir/ca.json" || fail "the daemon does not serve the collateral it was given"
expect 0 '"development": false' "$confide" verify --format soft --evidence "$dir/prod.quote" \
  --collateral "$dir/prod.json" --root "$dir/ca/root.pem" --json
expect 0 '"platform_svn": 3' "$confide" verify --format soft --evidence "$dir/prod.quote" \
  --collateral "$dir/prod.json" --root "$dir/ca/root.pem" --json
# Production evidence against the development root, and the reverse: refused.
expect 1 "verification_failed" "$confide" verify --format soft --evidence "$dir/prod.quote" \
  --collateral "$dir/prod.json" --root "$dir/dev-root.pem" --json
expect 1 "verification_failed" "$confide" verify --format soft --evidence "$dir/dev.quote" \
  --collateral "$dir/dev.json" --root "$dir/ca/root.pem" --json
# The installed identity survives a restart without flags.
"$confide" platform stop --socket "$dir/prod.sock" >/dev/null
expect 0 "started" "$confide" platform start --socket "$dir/prod.sock" --state "$dir/prod"
expect 0 '"attestation": "production"' "$confide" platform status --socket "$dir/prod.sock" --json
# A running daemon reads its certificate when it starts: installing one under it is refused
# before anything is written. Collateral it reads on each request: that is installed for it.
cp "$dir/prod/platform.pem" "$dir/installed.pem"
expect 1 "nothing was installed" "$confide" platform start --socket "$dir/prod.sock" --state "$dir/prod" \
  --cert "$dir/other.pem"
cmp -s "$dir/prod/platform.pem" "$dir/installed.pem" || fail "a certificate was installed under a running daemon"
expect 0 "" "$confide" provision tcb-info --ca "$dir/ca" --level 3:UpToDate --out "$dir/ca2.json"
cmp -s "$dir/ca.json" "$dir/ca2.json" && fail "the republished collateral is the same file"
expect 1 "with another state directory" "$confide" platform start --socket "$dir/prod.sock" --state "$dir/other" \
  --collateral "$dir/ca2.json"
expect 0 "serves it from now on" "$confide" platform start --socket "$dir/prod.sock" --state "$dir/prod" \
  --collateral "$dir/ca.json"
# The same state directory named relative to another working directory is the same one.
(cd "$dir" && expect 0 "serves it from now on" "$confide" platform start --socket prod.sock --state prod \
  --collateral ca2.json)
expect 0 "wrote" "$confide" platform collateral --socket "$dir/prod.sock" --out "$dir/prod2.json"
cmp -s "$dir/prod2.json" "$dir/ca2.json" || fail "the running daemon does not serve the collateral installed for it"
"$confide" platform stop --socket "$dir/prod.sock" >/dev/null

# ---- a readable attestation key stops the daemon
chmod 644 "$dir/prod/attestation.key"
expect 1 "must be mode 0600" "$confide" platform start --socket "$dir/prod.sock" --state "$dir/prod"
echo "platform attestation: OK"
