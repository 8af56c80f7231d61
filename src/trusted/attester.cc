// trusted::GetQuote: one platform request (kGetQuote); the platform binds the caller's identity
// from the image it verified, the enclave contributes only the 64 bytes of report data.
#include "confide/attestation/attester.h"
#include "confide/trusted.h"

namespace confide::trusted {

Result<Bytes> GetQuote(const platform_services::ReportData& report_data) {
  CONFIDE_ASSIGN_OR_RETURN(Bytes reply, PlatformCall(platform_services::EncodeGetQuote(report_data)));
  auto quote = platform_services::DecodeReply(reply);
  if (!quote.ok()) return quote.status().WithContext("getting a quote from the platform");
  if (quote->empty()) return Internal("the platform returned an empty quote");
  return quote;
}

}  // namespace confide::trusted
