// Platform-services requests as the soft daemon and the sim host receive them from enclaves,
// and the report / target-info / reply decoders enclaves run on what the host relays.
#include <cstddef>
#include <cstdint>

#include "confide/platform_services.h"

using namespace confide;
namespace ps = confide::platform_services;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ps::KeyService keys(ps::SimRootSecret(), true);
  ps::Identity caller;
  caller.security_version = 3;
  caller.mrenclave.fill(1);
  ByteSpan in(data, size);
  Bytes reply = keys.Serve(caller, in);
  if (reply.size() < 4) __builtin_trap();  // every request gets a reply with its code
  (void)ps::DecodeReply(reply);
  (void)ps::DecodeReply(in);
  (void)ps::DecodeReport(in);
  (void)ps::DecodeReportBody(in);
  (void)ps::DecodeTargetInfo(in);
  return 0;
}
