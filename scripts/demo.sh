#!/usr/bin/env bash
# The README's demo command: installs dependencies, builds, and walks through what confide
# does today — sign and measure an enclave image, refuse a tampered one, run enclave apps
# on the soft backend, verify real Intel SGX, Intel TDX and AMD SEV-SNP evidence offline, make
# and verify soft evidence, and talk attested TLS to an enclave.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default
build=build/default
confide=$build/bin/confide
vectors=tests/vectors
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. Generate an enclave signing key (RSA-3072, exponent 3, as SGX)"
"$confide" keygen --out "$work/signing-key.pem"

step "2. Sign the hello sample enclave with an OE-style configuration"
cat > "$work/hello.conf" <<'CONF'
Debug=0
NumHeapPages=256
NumStackPages=16
NumTCS=2
ProductID=7
SecurityVersion=3
CONF
cat "$work/hello.conf"
"$confide" sign --enclave "$build/samples/hello/hello_enclave.so" --config "$work/hello.conf" \
  --key "$work/signing-key.pem" --out "$work/hello.signed.so"

step "3. Measure it: MRENCLAVE covers code, data and layout; MRSIGNER is the signer"
"$confide" measure "$work/hello.signed.so" --json

step "4. Flip one byte of the code: the image is refused"
cp "$work/hello.signed.so" "$work/tampered.signed.so"
python3 - "$work/tampered.signed.so" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 3] ^= 1
open(p, 'wb').write(bytes(b))
PY
if "$confide" measure "$work/tampered.signed.so"; then echo "tampered image was accepted" >&2; exit 1; fi

step "5. Start a platform daemon: it verifies images and launches isolated enclave processes"
export CONFIDE_PLATFORM_SOCKET="$work/platform.sock"
"$confide" platform start --socket "$CONFIDE_PLATFORM_SOCKET" --state "$work/platform-state"
trap '"$confide" platform stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
"$confide" platform status

step "6. Run the hello app on the soft backend: the enclave lives in its own process, its data in memfd_secret memory"
"$build/samples/hello/hello_host" "$work/hello.signed.so" --backend soft demo
"$build/samples/threads/threads_host" "$build/samples/threads/threads_enclave.signed.so" --backend soft
"$build/samples/structs/structs_host" "$build/samples/structs/structs_enclave.signed.so" --backend soft

step "7. Verify a real Intel SGX quote offline with its DCAP collateral"
"$confide" verify --evidence "$vectors/phala-dcap-qvl/sgx_quote" \
  --collateral "$vectors/phala-dcap-qvl/sgx_quote_collateral.json" --at 2025-07-01T00:00:00Z

step "8. Verify a real Intel TDX quote offline"
"$confide" verify --evidence "$vectors/phala-dcap-qvl/tdx_quote" \
  --collateral "$vectors/phala-dcap-qvl/tdx_quote_collateral.json" --at 2025-07-01T00:00:00Z

step "9. An outdated TDX platform: signatures fine, but no TCB level matches -> refused"
if "$confide" verify --evidence "$vectors/phala-dcap-qvl/tdx_quote_outdated" \
  --collateral "$vectors/phala-dcap-qvl/tdx_quote_outdated_collateral.json" --at 2026-03-01T00:00:00Z; then
  echo "outdated quote was accepted" >&2; exit 1
fi

step "10. Verify a real AMD SEV-SNP report (Milan) with its VCEK; AMD roots are built in"
"$confide" verify --format snp --evidence "$vectors/google-go-sev-guest/attestation.bin" \
  --vcek "$vectors/google-go-sev-guest/vcek.der" --at 2025-01-01T00:00:00Z

step "11. The same SGX quote evaluated after its collateral expired -> refused"
if "$confide" verify --evidence "$vectors/phala-dcap-qvl/sgx_quote" \
  --collateral "$vectors/phala-dcap-qvl/sgx_quote_collateral.json" --at 2026-01-01T00:00:00Z; then
  echo "expired collateral was accepted" >&2; exit 1
fi

step "12. Remote attestation: soft evidence from the built-in attest enclave, checked offline"
# This daemon has no platform certificate, so it certified itself under a local development
# root; a production daemon gets its certificate from a provisioning CA (docs/attestation.md).
"$confide" platform collateral --out "$work/collateral.json"
"$confide" platform root --out "$work/dev-root.pem"
nonce=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
"$confide" platform attest --report-data "$nonce" --out "$work/quote.bin"
"$confide" verify --format soft --evidence "$work/quote.bin" --collateral "$work/collateral.json" \
  --root "$work/dev-root.pem" --report-data "$(printf '%s%064d' "$nonce" 0)"

step "13. Attested TLS: a TLS server inside a soft enclave, a client that checks it before sending data"
tls=$build/samples/attested-tls
measured=$("$confide" measure --json "$tls/attested_tls_enclave.signed.so")
mrenclave=$(printf '%s' "$measured" | sed -n 's/.*"mrenclave": *"\([0-9a-f]*\)".*/\1/p')
mrsigner=$(printf '%s' "$measured" | sed -n 's/.*"mrsigner": *"\([0-9a-f]*\)".*/\1/p')
"$tls/attested_tls_server" "$tls/attested_tls_enclave.signed.so" --port-file "$work/port" --connections 2 &
server=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
echo "-- a client whose policy names another enclave: refused, nothing sent"
if "$tls/attested_tls_client" --connect "127.0.0.1:$port" --root "$work/dev-root.pem" \
  --collateral "$work/collateral.json" --mrenclave "$(printf '%064d' 0)" --mrsigner "$mrsigner" \
  --allow-debug --allow-development; then
  echo "a client expecting another enclave was not refused" >&2; exit 1
fi
echo "-- a client whose policy names this enclave (debug and development allowed: a demo platform)"
"$tls/attested_tls_client" --connect "127.0.0.1:$port" --root "$work/dev-root.pem" \
  --collateral "$work/collateral.json" --mrenclave "$mrenclave" --mrsigner "$mrsigner" \
  --allow-debug --allow-development --message "hello from the demo"
wait "$server"

step "14. Sealing: an enclave seals a secret, the platform daemon restarts, a new enclave unseals it"
seal=$build/samples/sealing
"$seal/sealing_host" "$seal/sealing_enclave.signed.so" --backend soft seal "$work/secret.sealed" "demo secret"
"$confide" platform stop
"$confide" platform start --socket "$CONFIDE_PLATFORM_SOCKET" --state "$work/platform-state"
echo "host: platform daemon restarted with the same state directory"
"$seal/sealing_host" "$seal/sealing_enclave.signed.so" --backend soft unseal "$work/secret.sealed"

step "15. Local attestation: two enclaves prove their identities to each other through the host and agree on a key"
la=$build/samples/local-attestation
"$la/local_attestation_host" "$la/local_attestation_alice.signed.so" --backend soft "$la/local_attestation_bob.signed.so"

step "16. Protected files: the host stores only ciphertext, and a flipped bit on disk is refused"
pf=$build/samples/protected-files
"$pf/protected_files_host" "$pf/protected_files_enclave.signed.so" --backend soft

printf '\n\033[1mdemo finished: every step behaved as expected\033[0m\n'
