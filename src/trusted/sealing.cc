// Sealing: AES-256-GCM under a key the platform derives for this enclave's identity
// (docs/sealing.md describes the blob byte by byte).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <vector>

#include "confide/crypto.h"
#include "confide/sealing.h"
#include "confide/trusted.h"
#include "trusted/platform_calls.h"

namespace confide::trusted {
namespace {

namespace ps = platform_services;

constexpr uint8_t kMagic[4] = {'C', 'F', 'S', 'L'};
constexpr uint16_t kBlobVersion = 1;
// magic 4, version 2, policy 2, svn 2, reserved 2, key_id 32, iv 12, aad_len 4, ciphertext_len 8
constexpr size_t kHeaderSize = 68;
constexpr size_t kTagSize = crypto::kAesGcmTagSize;
// GCM's limit for one message under one IV (NIST SP 800-38D): 2^39 - 256 bits.
constexpr uint64_t kMaxPlaintext = (uint64_t{1} << 36) - 32;

struct Header {
  uint16_t version = kBlobVersion;
  KeyPolicy policy = KeyPolicy::kProduct;
  uint16_t svn = 0;
  KeyId key_id{};
  uint8_t iv[crypto::kAesGcmIvSize] = {};
  uint32_t aad_len = 0;
  uint64_t ciphertext_len = 0;
};

void PutU16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v); p[1] = uint8_t(v >> 8); }
void PutU32(uint8_t* p, uint32_t v) { for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i)); }
void PutU64(uint8_t* p, uint64_t v) { for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (8 * i)); }
uint16_t GetU16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t GetU32(const uint8_t* p) { uint32_t v = 0; for (int i = 3; i >= 0; --i) v = (v << 8) | p[i]; return v; }
uint64_t GetU64(const uint8_t* p) { uint64_t v = 0; for (int i = 7; i >= 0; --i) v = (v << 8) | p[i]; return v; }

void WriteHeader(const Header& h, uint8_t* p) {
  std::memcpy(p, kMagic, 4);
  PutU16(p + 4, h.version);
  PutU16(p + 6, static_cast<uint16_t>(h.policy));
  PutU16(p + 8, h.svn);
  PutU16(p + 10, 0);
  std::memcpy(p + 12, h.key_id.data(), 32);
  std::memcpy(p + 44, h.iv, sizeof h.iv);
  PutU32(p + 56, h.aad_len);
  PutU64(p + 60, h.ciphertext_len);
}

std::string PolicyName(KeyPolicy p) { return p == KeyPolicy::kUnique ? "UNIQUE" : "PRODUCT"; }

// Every structural check; the MAC is checked later, with the key.
Result<Header> ReadHeader(ByteSpan blob) {
  auto truncated = [&] {
    return InvalidArgument("the sealed blob is truncated: " + std::to_string(blob.size()) +
                           " bytes is shorter than its " + std::to_string(kHeaderSize) + "-byte header");
  };
  size_t prefix = std::min<size_t>(4, blob.size());
  if (prefix > 0 && std::memcmp(blob.data(), kMagic, prefix) != 0)
    return InvalidArgument("not a confide sealed blob: it does not start with the magic 'CFSL'");
  if (blob.size() < 6) return truncated();
  const uint8_t* p = blob.data();
  Header h;
  h.version = GetU16(p + 4);
  // Checked before the rest: another version's header may have another layout.
  if (h.version != kBlobVersion)
    return Unsupported("sealed blob version " + std::to_string(h.version) + " is not supported (this enclave reads " +
                       std::to_string(kBlobVersion) + "); unseal it with the confide version that wrote it");
  if (blob.size() < kHeaderSize) return truncated();
  uint16_t policy = GetU16(p + 6);
  if (policy != static_cast<uint16_t>(KeyPolicy::kUnique) && policy != static_cast<uint16_t>(KeyPolicy::kProduct))
    return InvalidArgument("the sealed blob names unknown key policy " + std::to_string(policy) +
                           " (1 = UNIQUE, 2 = PRODUCT): it is damaged");
  h.policy = static_cast<KeyPolicy>(policy);
  h.svn = GetU16(p + 8);
  if (GetU16(p + 10) != 0) return InvalidArgument("the sealed blob's reserved header bytes are not zero: it is damaged");
  std::memcpy(h.key_id.data(), p + 12, 32);
  std::memcpy(h.iv, p + 44, sizeof h.iv);
  h.aad_len = GetU32(p + 56);
  h.ciphertext_len = GetU64(p + 60);
  if (h.ciphertext_len > kMaxPlaintext)
    return InvalidArgument("the sealed blob claims " + std::to_string(h.ciphertext_len) +
                           " bytes of ciphertext, more than AES-GCM allows: it is damaged");
  uint64_t expected = kHeaderSize + uint64_t{h.aad_len} + h.ciphertext_len + kTagSize;
  if (blob.size() < expected)
    return InvalidArgument("the sealed blob is truncated: its header describes " + std::to_string(expected) +
                           " bytes but only " + std::to_string(blob.size()) + " are present");
  if (blob.size() > expected)
    return InvalidArgument("the sealed blob is oversized: " + std::to_string(blob.size() - expected) +
                           " bytes follow the " + std::to_string(expected) +
                           " its header describes (pass exactly the bytes Seal returned)");
  return h;
}

void WipeCachedKeys();

// ---------------------------------------------------------------- key cache
// Deriving a sealing key costs a platform request, HKDF and two GCM key setups (~5 us), more
// than sealing 16 KiB. So each enclave instance seals under one random key_id per (policy,
// svn), derived once, and keeps the keys of the last blobs it opened (docs/sealing.md, "Key
// caches"). Blobs keep their format: every one still names its key_id and has a random IV.
struct CachedKey {
  KeyPolicy policy = KeyPolicy::kProduct;
  uint16_t svn = 0;
  KeyId key_id{};
  Key key{};                         // to key another context when every idle one is leased
  std::vector<crypto::AesGcm> idle;  // keyed contexts no thread is using
  bool sealing = false;              // this (policy, svn)'s current sealing key
  bool retired = false;              // out of the cache: leased contexts are dropped on return
  uint64_t seals = 0;                // blobs sealed under it (random IVs: bounded, see kRotateAfter)
  uint64_t last_use = 0;             // LRU tick among the opened-only keys
  // Random IVs drawn from the DRBG in batches (one DRBG call costs about a 16 KiB GCM pass);
  // each is handed out once, from the end.
  uint8_t ivs[32 * crypto::kAesGcmIvSize] = {};
  size_t ivs_left = 0;
  ~CachedKey() { SecureZero(key.data(), key.size()); }
};

// NIST SP 800-38D §8.3: at most 2^32 messages under one key with random 96-bit IVs. Rotating
// at 2^30 keeps the IV collision chance below 2^-35 per key.
constexpr uint64_t kRotateAfter = uint64_t{1} << 30;
// Keys of blobs this instance did not seal (or sealed under a rotated key) kept for Unseal.
constexpr size_t kMaxOpenedKeys = 8;

class KeyCache {
 public:
  // A keyed context, on loan until Return.
  struct Lease {
    std::shared_ptr<CachedKey> entry;
    crypto::AesGcm gcm;
  };

  // The current sealing key for (policy, svn), deriving (or rotating to) a new one if needed,
  // with this seal counted and a fresh random IV for it written to `iv`.
  Result<Lease> ForSealing(KeyPolicy policy, uint16_t svn, uint8_t (&iv)[crypto::kAesGcmIvSize]) {
    std::lock_guard<std::mutex> lock(mu_);
    std::shared_ptr<CachedKey> e;
    for (auto& c : entries_)
      if (c->sealing && c->policy == policy && c->svn == svn) e = c;
    if (e && e->seals >= rotate_after_) {
      e->sealing = false;  // stays to open the blobs sealed under it, as an opened key
      e->last_use = ++tick_;
      e.reset();
    }
    if (!e) {
      auto fresh = std::make_shared<CachedKey>();
      fresh->policy = policy;
      fresh->svn = svn;
      fresh->sealing = true;
      CONFIDE_RETURN_IF_ERROR(crypto::RandomFill(fresh->key_id.data(), fresh->key_id.size()));
      CONFIDE_ASSIGN_OR_RETURN(fresh->key, GetSealKey(policy, fresh->key_id, svn));
      e = std::move(fresh);
      AddLocked(e);
    }
    if (e->ivs_left == 0) {
      CONFIDE_RETURN_IF_ERROR(crypto::RandomFill(e->ivs, sizeof e->ivs));
      e->ivs_left = sizeof e->ivs / sizeof iv;
    }
    --e->ivs_left;
    std::memcpy(iv, e->ivs + e->ivs_left * sizeof iv, sizeof iv);
    ++e->seals;
    return LeaseLocked(e);
  }

  // A cached key for (policy, svn, key_id), or nullopt.
  std::optional<Lease> ForOpening(KeyPolicy policy, uint16_t svn, const KeyId& key_id) {
    std::lock_guard<std::mutex> lock(mu_);
    std::shared_ptr<CachedKey> c = FindLocked(policy, svn, key_id);
    if (!c) return std::nullopt;
    c->last_use = ++tick_;
    auto lease = LeaseLocked(c);
    if (!lease.ok()) return std::nullopt;
    return std::move(*lease);
  }

  // Keeps a key that has just opened a blob (so it is that blob's real key).
  void AddOpened(KeyPolicy policy, uint16_t svn, const KeyId& key_id, const Key& key, crypto::AesGcm gcm) {
    std::lock_guard<std::mutex> lock(mu_);
    if (FindLocked(policy, svn, key_id)) return;  // another thread won
    auto e = std::make_shared<CachedKey>();
    e->policy = policy;
    e->svn = svn;
    e->key_id = key_id;
    e->key = key;
    e->last_use = ++tick_;
    e->idle.push_back(std::move(gcm));
    AddLocked(std::move(e));
  }

  void Return(Lease lease) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!lease.entry->retired) lease.entry->idle.push_back(std::move(lease.gcm));
  }

  void Wipe() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& c : entries_) {
      c->retired = true;
      c->idle.clear();
      SecureZero(c->key.data(), c->key.size());
    }
    // Release the storage too: a sim enclave's statics vanish with dlclose after Terminate.
    std::vector<std::shared_ptr<CachedKey>>().swap(entries_);
  }

  void SetRotateAfter(uint64_t seals) {
    std::lock_guard<std::mutex> lock(mu_);
    rotate_after_ = seals == 0 ? kRotateAfter : seals;
  }

 private:
  Result<Lease> LeaseLocked(const std::shared_ptr<CachedKey>& e) {
    if (!e->idle.empty()) {
      Lease l{e, std::move(e->idle.back())};
      e->idle.pop_back();
      return l;
    }
    CONFIDE_ASSIGN_OR_RETURN(crypto::AesGcm gcm, crypto::AesGcm::Create(e->key));
    return Lease{e, std::move(gcm)};
  }

  std::shared_ptr<CachedKey> FindLocked(KeyPolicy policy, uint16_t svn, const KeyId& key_id) {
    for (auto& c : entries_)
      if (c->policy == policy && c->svn == svn && c->key_id == key_id) return c;
    return nullptr;
  }

  void AddLocked(std::shared_ptr<CachedKey> e) {
    entries_.push_back(std::move(e));
    EvictLocked();
    RegisterWipe();
  }

  // Drops the least recently used opened-only key past kMaxOpenedKeys (sealing keys stay).
  void EvictLocked() {
    size_t opened = 0;
    for (auto& c : entries_) opened += c->sealing ? 0 : 1;
    while (opened > kMaxOpenedKeys) {
      auto oldest = entries_.end();
      for (auto it = entries_.begin(); it != entries_.end(); ++it)
        if (!(*it)->sealing && (oldest == entries_.end() || (*it)->last_use < (*oldest)->last_use)) oldest = it;
      (*oldest)->retired = true;
      (*oldest)->idle.clear();
      entries_.erase(oldest);
      --opened;
    }
  }

  // Cached keys are wiped when the host terminates the enclave (runtime.cc Terminate), and at
  // process exit: that handler is registered after OpenSSL's own (made by the first key), so it
  // runs first and no context is freed after OPENSSL_cleanup.
  void RegisterWipe() {
    internal::OnTerminate(&WipeCachedKeys);
    static const bool at_exit = std::atexit(&WipeCachedKeys) == 0;
    (void)at_exit;
  }

  std::mutex mu_;
  std::vector<std::shared_ptr<CachedKey>> entries_;
  uint64_t tick_ = 0;
  uint64_t rotate_after_ = kRotateAfter;
};

// Never destroyed: a destructor could run after OpenSSL's exit cleanup; the wipes empty it.
// Built in static storage rather than on the heap so leak checkers see it as reachable.
KeyCache& Cache() {
  alignas(KeyCache) static unsigned char storage[sizeof(KeyCache)];
  static KeyCache& cache = *new (storage) KeyCache;
  return cache;
}

void WipeCachedKeys() { Cache().Wipe(); }

// Gives a leased context back on every path out of Seal / Unseal.
struct ReturnOnExit {
  std::optional<KeyCache::Lease>& lease;
  ~ReturnOnExit() {
    if (lease) Cache().Return(std::move(*lease));
  }
};

}  // namespace

namespace internal {

Result<Bytes> AskPlatform(const Bytes& request) {
  CONFIDE_ASSIGN_OR_RETURN(Bytes reply, PlatformCall(request));
  auto result = ps::DecodeReply(reply);
  SecureZero(reply);
  return result;
}

Result<ps::ReportBody> CachedIdentity() {
  static std::mutex mu;
  static ps::ReportBody body;
  static bool known = false;
  std::lock_guard<std::mutex> lock(mu);
  if (known) return body;
  CONFIDE_ASSIGN_OR_RETURN(Bytes reply, AskPlatform(ps::EncodeGetIdentity()));
  auto decoded = ps::DecodeReportBody(reply);
  if (!decoded.ok()) return decoded.status().WithContext("the platform's identity reply");
  body = *decoded;
  known = true;
  return body;
}

void SetSealKeyRotationForTesting(uint64_t seals) { Cache().SetRotateAfter(seals); }

}  // namespace internal

Result<ps::ReportBody> SelfIdentity() { return internal::CachedIdentity(); }

Result<Key> GetSealKey(KeyPolicy policy, const KeyId& key_id, std::optional<uint16_t> svn) {
  ps::KeyRequest r;
  r.name = ps::KeyName::kSeal;
  r.policy = policy;
  r.key_id = key_id;
  if (svn) {
    r.svn = *svn;
  } else {
    CONFIDE_ASSIGN_OR_RETURN(ps::ReportBody self, internal::CachedIdentity());
    r.svn = self.identity.security_version;
  }
  CONFIDE_ASSIGN_OR_RETURN(Bytes reply, internal::AskPlatform(ps::EncodeGetKey(r)));
  if (reply.size() != sizeof(Key)) {
    SecureZero(reply);
    return Status(Code::kInternal, "the platform returned a " + std::to_string(reply.size()) +
                                       "-byte key instead of 32");
  }
  Key key;
  std::memcpy(key.data(), reply.data(), key.size());
  SecureZero(reply);
  return key;
}

size_t SealedSize(size_t plaintext_size, size_t aad_size) {
  return kHeaderSize + aad_size + plaintext_size + kTagSize;
}

Status SealTo(ByteSpan plaintext, ByteSpan aad, KeyPolicy policy, std::span<uint8_t> out) {
  if (policy != KeyPolicy::kUnique && policy != KeyPolicy::kProduct)
    return InvalidArgument("unknown seal policy " + std::to_string(static_cast<int>(policy)));
  if (plaintext.size() > kMaxPlaintext)
    return OutOfRange("cannot seal " + std::to_string(plaintext.size()) + " bytes in one blob (AES-GCM allows " +
                      std::to_string(kMaxPlaintext) + "); split the data");
  if (aad.size() > UINT32_MAX) return OutOfRange("associated data over 4 GiB cannot be sealed");
  if (out.size() != SealedSize(plaintext.size(), aad.size()))
    return InvalidArgument("the output buffer holds " + std::to_string(out.size()) + " bytes; this blob needs " +
                           std::to_string(SealedSize(plaintext.size(), aad.size())) + " (SealedSize)");
  CONFIDE_ASSIGN_OR_RETURN(ps::ReportBody self, internal::CachedIdentity());
  Header h;
  h.policy = policy;
  h.svn = self.identity.security_version;
  h.aad_len = static_cast<uint32_t>(aad.size());
  h.ciphertext_len = plaintext.size();
  std::optional<KeyCache::Lease> lease;
  ReturnOnExit give_back{lease};
  {
    // A fresh random IV per blob; the cache rotates the key long before random IVs may collide.
    CONFIDE_ASSIGN_OR_RETURN(KeyCache::Lease l, Cache().ForSealing(policy, h.svn, h.iv));
    lease.emplace(std::move(l));
  }
  h.key_id = lease->entry->key_id;  // fixed once the entry exists
  WriteHeader(h, out.data());
  if (!aad.empty()) std::memmove(out.data() + kHeaderSize, aad.data(), aad.size());
  // The header is authenticated with the caller's data: no field can change unnoticed.
  ByteSpan authenticated(out.data(), kHeaderSize + aad.size());
  uint8_t* ct = out.data() + kHeaderSize + aad.size();
  return lease->gcm.Encrypt(ByteSpan(h.iv), authenticated, plaintext, ct, ct + plaintext.size());
}

Result<Bytes> Seal(ByteSpan plaintext, ByteSpan aad, KeyPolicy policy) {
  Bytes blob(SealedSize(plaintext.size(), aad.size()));
  CONFIDE_RETURN_IF_ERROR(SealTo(plaintext, aad, policy, blob));
  return blob;
}

Result<size_t> SealedPlaintextSize(ByteSpan blob) {
  CONFIDE_ASSIGN_OR_RETURN(Header h, ReadHeader(blob));
  return static_cast<size_t>(h.ciphertext_len);
}

Result<UnsealedView> UnsealTo(ByteSpan blob, std::span<uint8_t> plaintext_out) {
  CONFIDE_ASSIGN_OR_RETURN(Header h, ReadHeader(blob));
  size_t ct_len = static_cast<size_t>(h.ciphertext_len);
  if (plaintext_out.size() != ct_len)
    return InvalidArgument("the plaintext buffer holds " + std::to_string(plaintext_out.size()) +
                           " bytes; this blob's plaintext is " + std::to_string(ct_len) + " (SealedPlaintextSize)");
  CONFIDE_ASSIGN_OR_RETURN(ps::ReportBody self, internal::CachedIdentity());
  if (h.svn > self.identity.security_version)
    return PermissionDenied("the blob was sealed by SecurityVersion " + std::to_string(h.svn) +
                            " and this enclave is SecurityVersion " +
                            std::to_string(self.identity.security_version) +
                            ": an older enclave cannot unseal a newer version's data");
  size_t aad_end = kHeaderSize + h.aad_len;
  auto decrypt = [&](crypto::AesGcm& gcm) {
    return gcm.Decrypt(ByteSpan(h.iv), blob.first(aad_end), blob.subspan(aad_end, ct_len),
                       blob.subspan(aad_end + ct_len, kTagSize), plaintext_out.data());
  };
  Status s;
  std::optional<KeyCache::Lease> lease = Cache().ForOpening(h.policy, h.svn, h.key_id);
  ReturnOnExit give_back{lease};
  if (lease) {
    s = decrypt(lease->gcm);
  } else {
    auto key = GetSealKey(h.policy, h.key_id, h.svn);
    if (!key.ok()) return key.status().WithContext("deriving the blob's sealing key");
    auto gcm = crypto::AesGcm::Create(*key);
    if (gcm.ok()) {
      s = decrypt(*gcm);
      // Only a key that has just opened a blob is kept: forged key ids cannot fill the cache.
      if (s.ok()) Cache().AddOpened(h.policy, h.svn, h.key_id, *key, std::move(*gcm));
    }
    SecureZero(key->data(), key->size());
    if (!gcm.ok()) return gcm.status();
  }
  if (!s.ok()) {
    if (s.code() != Code::kVerificationFailed) return s;
    return VerificationFailed(
        "the sealed blob does not verify under this enclave's " + PolicyName(h.policy) +
        " sealing key: it was sealed by an enclave of another signer or product, by another enclave (MRENCLAVE) "
        "under policy UNIQUE, on another platform (or one whose root secret was replaced), or it was changed "
        "after sealing");
  }
  return UnsealedView{blob.subspan(kHeaderSize, h.aad_len), h.policy, h.svn};
}

Result<Unsealed> Unseal(ByteSpan blob) {
  CONFIDE_ASSIGN_OR_RETURN(size_t n, SealedPlaintextSize(blob));
  Unsealed out;
  out.plaintext = SecureBytes(n);
  CONFIDE_ASSIGN_OR_RETURN(UnsealedView v, UnsealTo(blob, std::span<uint8_t>(out.plaintext.data(), n)));
  out.aad.assign(v.aad.begin(), v.aad.end());
  out.policy = v.policy;
  out.svn = v.svn;
  return out;
}

}  // namespace confide::trusted
