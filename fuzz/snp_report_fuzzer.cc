// Feeds arbitrary bytes to the SEV-SNP report parser and to the verifier built once from the
// real go-sev-guest VCEK, and (when the input is longer than a report) the tail as an
// endorsement certificate. Any crash, sanitizer report or out-of-bounds read is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "confide/attestation/snp.h"

namespace snp = confide::attestation::snp;

namespace {

const snp::ReportVerifier* RealVerifier() {
  static const snp::ReportVerifier* verifier = [] {
    auto vcek = confide::ReadFile(std::string(CONFIDE_TEST_VECTORS) + "/google-go-sev-guest/vcek.der");
    if (!vcek.ok()) std::abort();  // the fuzzer must not silently fuzz less than it claims
    snp::Inputs in;
    in.endorsement_cert = *vcek;
    in.at = confide::ParseRfc3339("2024-01-01T00:00:00Z").value();
    auto v = snp::ReportVerifier::Create(in);
    if (!v.ok()) std::abort();
    return new snp::ReportVerifier(std::move(v).value());
  }();
  return verifier;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  confide::ByteSpan in(data, size);
  auto parsed = snp::ParseReport(in);
  if (parsed.ok()) {
    (void)snp::ProductFromCpuid(*parsed);
    for (auto p : {snp::Product::kMilan, snp::Product::kTurin}) (void)snp::DecodeTcb(parsed->reported_tcb, p);
  }
  (void)RealVerifier()->Verify(in);
  if (size > snp::kReportSize) {
    snp::Inputs inputs;
    inputs.endorsement_cert.assign(data + snp::kReportSize, data + size);
    inputs.at = confide::UnixTime(std::chrono::seconds(1700000000));
    (void)snp::VerifyReport(in.first(snp::kReportSize), inputs);
  }
  return 0;
}
