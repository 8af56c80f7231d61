// Handlers shared by the test enclaves written directly against the ABI (what
// confide-edger8r would generate): ids 0-2 of every such enclave.
#pragma once

#include "confide/trusted.h"

namespace confide_test_enclave {

// 0 (public): echoes its one string item as a buffer.
inline confide::Status Echo(const confide::abi::FrameView& in, confide::abi::FrameWriter& out) {
  CONFIDE_RETURN_IF_ERROR(in.ExpectItems(1));
  confide::ByteSpan b;
  CONFIDE_RETURN_IF_ERROR(in.GetString(0, "text", 1, false, &b));
  out.Buffer(b.data(), b.size());
  return confide::Status::Ok();
}

// 1 (private): only reachable from an ocall that allows it.
inline confide::Status Secret(const confide::abi::FrameView&, confide::abi::FrameWriter& out) {
  out.Value<int32_t>(42);
  return confide::Status::Ok();
}

// 2 (public): calls ocall `id` (a value item) with the value 7 and relays the host's int reply.
inline confide::Status CallHost(const confide::abi::FrameView& in, confide::abi::FrameWriter& out) {
  uint32_t id = 0;
  CONFIDE_RETURN_IF_ERROR(in.GetValue(0, "ocall_id", &id));
  confide::abi::FrameWriter req;
  req.Value<int32_t>(7);
  CONFIDE_ASSIGN_OR_RETURN(confide::Bytes reply, confide::trusted::Ocall(id, req.Finish(), 64));
  CONFIDE_ASSIGN_OR_RETURN(confide::abi::FrameView r, confide::abi::FrameView::Parse(reply, "ocall reply"));
  CONFIDE_RETURN_IF_ERROR(r.ExpectItems(1));
  int32_t v = 0;
  CONFIDE_RETURN_IF_ERROR(r.GetValue(0, "result", &v));
  out.Value(v);
  return confide::Status::Ok();
}

}  // namespace confide_test_enclave
