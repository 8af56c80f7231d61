// Request payload parsing, shared by the encoders' file and KeyService::Serve.
#pragma once

#include "confide/platform_services.h"

namespace confide::platform_services::internal {

Result<KeyRequest> DecodeGetKeyPayload(ByteSpan payload);
Status DecodeGetReportPayload(ByteSpan payload, TargetInfo* target, ReportData* data);
Status DecodeGetQuotePayload(ByteSpan payload, ReportData* data);

}  // namespace confide::platform_services::internal
