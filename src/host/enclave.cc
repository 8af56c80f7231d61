#include "confide/enclave.h"

#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <vector>

#include "host/backend.h"

namespace confide {

struct Enclave::SlotPool {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<uint32_t> free;
};

namespace {

// Ocalls in progress on this thread: a nested ecall from inside an ocall re-enters the same
// thread slot, as SGX re-enters the same TCS.
struct ActiveOcall {
  const Enclave* enclave;
  uint32_t slot;
};
thread_local std::vector<ActiveOcall> t_ocalls;

int32_t HostOcallThunk(void* ctx, uint32_t slot, uint32_t id, uint8_t* in, size_t in_len, uint8_t* out, size_t cap,
                       size_t* out_len) {
  return static_cast<Enclave*>(ctx)->DispatchOcall(slot, id, in, in_len, out, cap, out_len);
}

}  // namespace

Result<BackendKind> ParseBackendKind(std::string_view name) {
  if (name == "auto") return BackendKind::kAuto;
  if (name == "sim") return BackendKind::kSim;
  if (name == "soft") return BackendKind::kSoft;
  return InvalidArgument("unknown backend '" + std::string(name) + "': use auto, sim or soft");
}

std::string_view BackendName(BackendKind kind) {
  switch (kind) {
    case BackendKind::kAuto: return "auto";
    case BackendKind::kSim: return "sim";
    case BackendKind::kSoft: return "soft";
  }
  return "unknown";
}

Result<std::unique_ptr<Enclave>> Enclave::Create(const std::string& path, const abi::UntrustedTables& tables,
                                                 const EnclaveOptions& options) {
  CONFIDE_ASSIGN_OR_RETURN(Bytes file, ReadFile(path));
  auto verified = image::LoadAndVerify(file);
  if (!verified.ok()) return verified.status().WithContext("refusing enclave image '" + path + "'");
  const image::SignedImage& img = *verified;
  if (options.refuse_debug && img.config.debug)
    return PolicyViolation("refusing enclave image '" + path +
                           "': it is signed with Debug=1 and the launch policy refuses debug enclaves");
  BackendKind kind = options.backend;
  if (kind == BackendKind::kAuto) kind = SoftBackendAvailable() ? BackendKind::kSoft : BackendKind::kSim;

  std::unique_ptr<Enclave> e(new Enclave());
  e->identity_ = EnclaveIdentity{img.mrenclave, img.mrsigner, img.config};
  e->backend_kind_ = kind;
  e->tables_ = tables;
  e->slot_wait_ = options.slot_wait;
  e->slots_ = std::make_unique<SlotPool>();
  for (uint32_t i = static_cast<uint32_t>(img.config.num_tcs); i-- > 0;) e->slots_->free.push_back(i);
  e->host_ = confide_host_v1{abi::kAbiVersion, e.get(), HostOcallThunk, nullptr, nullptr};
  if (kind == BackendKind::kSoft) {
    SoftOptions soft{options.channel_slot_bytes, options.switchless, tables.ecall_switchless, tables.ecall_count,
                     options.refuse_debug};
    CONFIDE_ASSIGN_OR_RETURN(e->backend_, CreateSoftBackend(file, img, &e->host_, soft));
  } else {
    CONFIDE_ASSIGN_OR_RETURN(e->backend_, CreateSimBackend(img, &e->host_));
  }
  return e;
}

Enclave::~Enclave() = default;

int Enclave::process_id() const { return backend_ ? backend_->process_id() : 0; }
bool Enclave::development() const { return !backend_ || backend_->development(); }

Result<uint32_t> Enclave::AcquireSlot() {
  std::unique_lock<std::mutex> lock(slots_->mu);
  if (slots_->free.empty() &&
      !slots_->cv.wait_for(lock, slot_wait_, [&] { return !slots_->free.empty(); }))
    return Status(Code::kUnavailable, "all " + std::to_string(identity_.config.num_tcs) +
                                          " thread slots (NumTCS) are busy; raise NumTCS in the enclave config "
                                          "or set EnclaveOptions::slot_wait to wait for one");
  uint32_t slot = slots_->free.back();
  slots_->free.pop_back();
  return slot;
}

void Enclave::ReleaseSlot(uint32_t slot) {
  {
    std::lock_guard<std::mutex> lock(slots_->mu);
    slots_->free.push_back(slot);
  }
  slots_->cv.notify_one();
}

Result<Bytes> Enclave::Call(uint32_t id, Bytes request, size_t reply_capacity) {
  bool nested = !t_ocalls.empty() && t_ocalls.back().enclave == this;
  uint32_t slot;
  if (nested) {
    slot = t_ocalls.back().slot;
  } else {
    CONFIDE_ASSIGN_OR_RETURN(slot, AcquireSlot());
  }
  // Room for an error message even when the reply itself is tiny; not zero-filled, since
  // only the `len` bytes the backend wrote are kept.
  size_t room = std::max<size_t>(reply_capacity, 1024);
  std::unique_ptr<uint8_t[]> buffer(new uint8_t[room]);
  size_t len = 0;
  int32_t code = backend_->Ecall(slot, id, request.data(), request.size(), buffer.get(), room, &len);
  if (!nested) ReleaseSlot(slot);
  Bytes reply(buffer.get(), buffer.get() + std::min(len, room));
  if (code != 0) {
    std::string name = id < tables_.ecall_count ? tables_.ecall_names[id] : "#" + std::to_string(id);
    return abi::StatusFromAbi(code, "ecall '" + name + "': " + ToString(reply));
  }
  return reply;
}

int32_t Enclave::DispatchOcall(uint32_t slot, uint32_t id, uint8_t* in, size_t in_len, uint8_t* out, size_t cap,
                               size_t* out_len) {
  *out_len = 0;
  if (id >= tables_.ocall_count)
    return abi::WriteStatus(OutOfRange("ocall id " + std::to_string(id) + " is out of range (the host knows " +
                            std::to_string(tables_.ocall_count) + " ocalls)"),
                 out, cap, out_len);
  const abi::HostOcall& o = tables_.ocalls[id];
  Bytes request(in, in + in_len);
  const std::string what = "ocall '" + std::string(o.name) + "'";
  auto view = abi::FrameView::Parse(request, what);
  if (!view.ok()) return abi::WriteStatus(view.status(), out, cap, out_len);
  abi::FrameWriter w;
  Status s;
  t_ocalls.push_back(ActiveOcall{this, slot});
  try {
    s = o.handler(*view, w);
  } catch (const std::exception& e) {
    s = Internal("ocall '" + std::string(o.name) + "' threw: " + e.what());
  } catch (...) {
    s = Internal("ocall '" + std::string(o.name) + "' threw an exception");
  }
  t_ocalls.pop_back();
  if (!s.ok()) return abi::WriteStatus(s, out, cap, out_len);
  Bytes reply = w.Finish();
  if (reply.size() > cap)
    return abi::WriteStatus(OutOfRange("ocall '" + std::string(o.name) + "' reply of " + std::to_string(reply.size()) +
                            " bytes exceeds the enclave's " + std::to_string(cap) + "-byte buffer"),
                 out, cap, out_len);
  std::memcpy(out, reply.data(), reply.size());
  *out_len = reply.size();
  return 0;
}

}  // namespace confide
