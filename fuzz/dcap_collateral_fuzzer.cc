// Feeds arbitrary bytes to the DCAP collateral parsers: the QuoteCollateralV3 envelope, and
// the same bytes as TCB info and QE identity text (and, when the envelope parses, its
// embedded documents). Any crash, sanitizer report or uncaught exception is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "confide/attestation/dcap.h"

namespace dcap = confide::attestation::dcap;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  confide::ByteSpan in(data, size);
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = dcap::ParseCollateral(in);
  if (c.ok()) {
    (void)dcap::ParseTcbInfo(c->tcb_info);
    (void)dcap::ParseEnclaveIdentity(c->qe_identity);
  }
  (void)dcap::ParseTcbInfo(text);
  (void)dcap::ParseEnclaveIdentity(text);
  return 0;
}
