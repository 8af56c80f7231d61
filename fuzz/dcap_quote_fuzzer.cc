// Feeds arbitrary bytes to the DCAP quote parser and to a dcap::Verifier whose collateral (the
// real phala-dcap-qvl SGX and TDX collateral) is parsed and cached once, so every input runs
// through quote parsing, PCK chain parsing and the quote-specific checks. Inputs starting with
// a DER SEQUENCE also go to the PCK SGX extension parser. Any crash, sanitizer report or
// out-of-bounds read is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "confide/attestation/dcap.h"

namespace dcap = confide::attestation::dcap;

namespace {

struct Fixture {
  dcap::Verifier verifier;
  dcap::Collateral sgx, tdx;
  confide::UnixTime at = confide::ParseRfc3339("2025-07-01T12:00:00Z").value();

  static dcap::Collateral Load(const char* name) {
    auto bytes = confide::ReadFile(std::string(CONFIDE_TEST_VECTORS) + "/phala-dcap-qvl/" + name);
    if (!bytes.ok()) std::abort();  // the fuzzer must not silently fuzz less than it claims
    auto c = dcap::ParseCollateral(*bytes);
    if (!c.ok()) std::abort();
    return std::move(c).value();
  }
  Fixture() : sgx(Load("sgx_quote_collateral.json")), tdx(Load("tdx_quote_collateral.json")) {}
};

Fixture& F() {
  static Fixture* f = new Fixture();
  return *f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  confide::ByteSpan in(data, size);
  auto parsed = dcap::ParseQuote(in);
  Fixture& f = F();
  if (parsed.ok()) {
    if (parsed->trailing_bytes > size) std::abort();
    (void)f.verifier.Verify(in, parsed->is_tdx() ? f.tdx : f.sgx, f.at);
  }
  if (size > 0 && data[0] == 0x30) (void)dcap::ParsePckExtension(in);
  return 0;
}
