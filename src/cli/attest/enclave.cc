// Enclave side of `confide platform attest`.
#include <cstring>

#include "attest_t.h"
#include "confide/attestation/attester.h"

int attest_quote(const uint8_t* report_data, size_t report_data_size, uint8_t* evidence, size_t evidence_size,
                 char* message, size_t message_size) {
  auto fail = [&](const confide::Status& s) {
    if (message_size > 0) {
      size_t n = std::min(s.message().size(), message_size - 1);
      std::memcpy(message, s.message().data(), n);
      message[n] = '\0';
    }
    return -static_cast<int>(s.code());
  };
  if (report_data_size != 64) return fail(confide::InvalidArgument("report data must be 64 bytes"));
  confide::platform_services::ReportData rd;
  std::memcpy(rd.data(), report_data, rd.size());
  auto quote = confide::trusted::GetQuote(rd);
  if (!quote.ok()) return fail(quote.status());
  if (quote->size() > evidence_size)
    return fail(confide::OutOfRange("the evidence (" + std::to_string(quote->size()) + " bytes) exceeds the buffer"));
  std::memcpy(evidence, quote->data(), quote->size());
  return static_cast<int>(quote->size());
}
