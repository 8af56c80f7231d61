// ProtectedFile over any NodeStore: the tree, the caches and the metadata node. The on-storage
// format is specified byte by byte in docs/protected-files.md; keep the two in step.
#include <algorithm>
#include <cstring>

#include "confide/crypto.h"
#include "confide/protected_file.h"

namespace confide::protected_file {

uint64_t MhtNodeIndex(uint64_t group) { return 1 + group * (1 + kDataPerMht); }
uint64_t DataNodeIndex(uint64_t block) {
  return MhtNodeIndex(block / kDataPerMht) + 1 + block % kDataPerMht;
}
uint64_t NodeCountForSize(uint64_t size) {
  uint64_t blocks = (size + kNodeSize - 1) / kNodeSize;
  return blocks == 0 ? 1 : DataNodeIndex(blocks - 1) + 1;
}

}  // namespace confide::protected_file

namespace confide::trusted {

using namespace protected_file;

namespace {

constexpr char kMagic[8] = {'C', 'O', 'N', 'F', 'I', 'D', 'P', 'F'};
constexpr uint32_t kFormatVersion = 1;
// Metadata node layout (docs/protected-files.md, "Metadata node").
constexpr size_t kOffVersion = 8, kOffKeySource = 12, kOffPolicy = 14, kOffSvn = 16, kOffKeyId = 24,
                 kOffFileId = 56, kOffKeyCheck = 88, kOffNonce = 104, kOffTag = 136, kOffSecret = 152;
constexpr size_t kKeyCheckSize = 16, kNonceSize = 32;
constexpr size_t kSecretSize = kNodeSize - kOffSecret;
// Inside the encrypted part of the metadata.
constexpr size_t kSecSize = 0, kSecGeneration = 8, kSecRoot = 16, kSecNameLen = 64, kSecName = 66;
constexpr size_t kEntrySize = kKeySize + crypto::kAesGcmTagSize;  // key || tag of a child node
static_assert((kDataPerMht + kChildrenPerMht) * kEntrySize <= kNodeSize);
static_assert(kSecName + kMaxNameBytes <= kSecretSize);
// Offsets and sizes stay far from uint64_t overflow (16 TiB).
constexpr uint64_t kMaxFileSize = uint64_t{1} << 44;

constexpr uint8_t kKindMht = 1, kKindData = 2;
constexpr uint8_t kZeroIv[crypto::kAesGcmIvSize] = {};

uint64_t BlocksFor(uint64_t size) { return (size + kNodeSize - 1) / kNodeSize; }
uint64_t GroupsFor(uint64_t blocks) { return (blocks + kDataPerMht - 1) / kDataPerMht; }
uint64_t ParentOf(uint64_t group) { return (group - 1) / kChildrenPerMht; }
size_t ChildEntryOffset(uint64_t group) { return (kDataPerMht + (group - 1) % kChildrenPerMht) * kEntrySize; }

void PutU16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v); p[1] = uint8_t(v >> 8); }
void PutU32(uint8_t* p, uint32_t v) { for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i)); }
void PutU64(uint8_t* p, uint64_t v) { for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (8 * i)); }
uint16_t GetU16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t GetU32(const uint8_t* p) { uint32_t v = 0; for (int i = 3; i >= 0; --i) v = v << 8 | p[i]; return v; }
uint64_t GetU64(const uint8_t* p) { uint64_t v = 0; for (int i = 7; i >= 0; --i) v = v << 8 | p[i]; return v; }

// Binds a node's ciphertext to its file and its place in it (docs: "Data and MHT nodes").
std::array<uint8_t, 41> NodeAad(const platform_services::KeyId& file_id, uint64_t node, uint8_t kind) {
  std::array<uint8_t, 41> aad{};
  std::memcpy(aad.data(), file_id.data(), 32);
  PutU64(aad.data() + 32, node);
  aad[40] = kind;
  return aad;
}

Result<SecureBytes> KeyCheck(ByteSpan master, const platform_services::KeyId& file_id) {
  return crypto::Hkdf(crypto::HashAlg::kSha256, master, file_id, AsBytes("confide-pf key check v1"), kKeyCheckSize);
}
Result<SecureBytes> MetadataKey(ByteSpan master, ByteSpan nonce, const platform_services::KeyId& file_id) {
  Bytes info(AsBytes("confide-pf metadata v1").begin(), AsBytes("confide-pf metadata v1").end());
  Append(info, file_id);
  return crypto::Hkdf(crypto::HashAlg::kSha256, master, nonce, info, kKeySize);
}

// Encrypts one node under a fresh random key (so no key ever meets the fixed IV twice) and
// stores key || tag in `entry`.
Status SealNode(const platform_services::KeyId& file_id, uint64_t node, uint8_t kind, ByteSpan plain,
                uint8_t* cipher_out, uint8_t* entry) {
  SecureBytes key(kKeySize);
  CONFIDE_RETURN_IF_ERROR(crypto::RandomFill(key.data(), key.size()));
  CONFIDE_ASSIGN_OR_RETURN(crypto::AesGcm gcm, crypto::AesGcm::Create(key));
  auto aad = NodeAad(file_id, node, kind);
  CONFIDE_RETURN_IF_ERROR(gcm.Encrypt(kZeroIv, aad, plain, cipher_out, entry + kKeySize));
  std::memcpy(entry, key.data(), kKeySize);
  return Status::Ok();
}

Status OpenNode(const platform_services::KeyId& file_id, uint64_t node, uint8_t kind, ByteSpan cipher,
                const uint8_t* entry, uint8_t* plain_out) {
  CONFIDE_ASSIGN_OR_RETURN(crypto::AesGcm gcm, crypto::AesGcm::Create(ByteSpan(entry, kKeySize)));
  auto aad = NodeAad(file_id, node, kind);
  return gcm.Decrypt(kZeroIv, aad, cipher, ByteSpan(entry + kKeySize, crypto::kAesGcmTagSize), plain_out);
}

}  // namespace

struct ProtectedFile::Block {
  SecureBytes plain{kNodeSize};
  bool dirty = false;
  uint64_t used = 0;
};
struct ProtectedFile::Mht {
  SecureBytes plain{kNodeSize};
  bool dirty = false;
};

Result<std::unique_ptr<ProtectedFile>> ProtectedFile::OpenStore(std::unique_ptr<NodeStore> store,
                                                                const std::string& name, FileMode mode,
                                                                ByteSpan key) {
  if (key.size() != kKeySize)
    return InvalidArgument("protected file key must be 32 bytes (AES-256), got " + std::to_string(key.size()));
  SecureBytes copy(key);
  KeyResolver resolver = [&copy](const KeyRef& ref) -> Result<SecureBytes> {
    if (ref.source != KeySource::kCallerKey)
      return InvalidArgument(
          "the file was created with an enclave sealing key, not a caller key: open it with "
          "ProtectedFile::Open(path, mode, policy)");
    return copy;
  };
  return Start(std::move(store), name, mode, KeyRef{}, resolver);
}

Result<std::unique_ptr<ProtectedFile>> ProtectedFile::OpenStore(std::unique_ptr<NodeStore> store,
                                                                const std::string& name, FileMode mode,
                                                                const KeyRef& create_ref,
                                                                const KeyResolver& resolver) {
  return Start(std::move(store), name, mode, create_ref, resolver);
}

Result<std::unique_ptr<ProtectedFile>> ProtectedFile::Start(std::unique_ptr<NodeStore> store,
                                                            const std::string& name, FileMode mode,
                                                            const KeyRef& create_ref,
                                                            const KeyResolver& resolver) {
  if (!store) return InvalidArgument("protected file: no node store given");
  if (name.size() > kMaxNameBytes)
    return InvalidArgument("protected file name '" + name + "' is longer than " +
                           std::to_string(kMaxNameBytes) + " bytes");
  std::unique_ptr<ProtectedFile> f(new ProtectedFile());
  f->store_ = std::move(store);
  f->name_ = name;
  f->writable_ = mode != FileMode::kRead;
  if (mode == FileMode::kCreate) {
    f->key_ref_ = create_ref;
    CONFIDE_ASSIGN_OR_RETURN(f->master_key_, resolver(create_ref));
    if (f->master_key_.size() != kKeySize)
      return Internal("protected file key resolver returned " + std::to_string(f->master_key_.size()) +
                      " bytes instead of 32");
    CONFIDE_RETURN_IF_ERROR(crypto::RandomFill(f->file_id_.data(), f->file_id_.size()));
    // The old contents, if any, go at the first commit (staged until then).
    CONFIDE_RETURN_IF_ERROR(f->store_->Truncate(0));
    f->meta_dirty_ = true;
    CONFIDE_RETURN_IF_ERROR(f->FlushLocked());
    return f;
  }
  CONFIDE_RETURN_IF_ERROR(f->LoadMetadata(resolver));
  if (f->size_ > 0) {
    // Verifies the root against the metadata now rather than at the first read.
    CONFIDE_ASSIGN_OR_RETURN(Mht * root, f->GetMht(0));
    (void)root;
  }
  return f;
}

ProtectedFile::~ProtectedFile() { (void)Close(); }

Status ProtectedFile::LoadMetadata(const KeyResolver& resolver) {
  const std::string who = "protected file '" + name_ + "'";
  CONFIDE_ASSIGN_OR_RETURN(uint64_t count, store_->NodeCount());
  if (count == 0)
    return VerificationFailed(who + " is empty: no metadata node (truncated to nothing, or not a protected file)");
  store_nodes_ = count;
  SecureBytes meta(kNodeSize);
  CONFIDE_RETURN_IF_ERROR(store_->ReadNode(0, std::span<uint8_t>(meta.data(), kNodeSize)));
  const uint8_t* m = meta.data();
  if (std::memcmp(m, kMagic, sizeof kMagic) != 0)
    return InvalidArgument(who + " is not a confide protected file (bad magic in node 0)");
  if (uint32_t v = GetU32(m + kOffVersion); v != kFormatVersion)
    return Unsupported(who + " has format version " + std::to_string(v) + "; this confide reads version " +
                       std::to_string(kFormatVersion));
  KeyRef ref;
  uint16_t source = GetU16(m + kOffKeySource);
  if (source != uint16_t(KeySource::kCallerKey) && source != uint16_t(KeySource::kSealKey))
    return VerificationFailed(who + ": metadata names unknown key source " + std::to_string(source) +
                              " (the metadata node was modified)");
  ref.source = KeySource(source);
  // Checked here, like the key source: the resolver would take any other value for a policy
  // mismatch and tell the caller to open the file "with that policy".
  uint16_t policy = GetU16(m + kOffPolicy);
  if (ref.source == KeySource::kSealKey && policy != uint16_t(platform_services::KeyPolicy::kUnique) &&
      policy != uint16_t(platform_services::KeyPolicy::kProduct))
    return VerificationFailed(who + ": metadata names unknown seal policy " + std::to_string(policy) +
                              " (the metadata node was modified)");
  ref.policy = platform_services::KeyPolicy(policy);
  ref.svn = GetU16(m + kOffSvn);
  std::memcpy(ref.key_id.data(), m + kOffKeyId, ref.key_id.size());
  std::memcpy(file_id_.data(), m + kOffFileId, file_id_.size());

  auto master = resolver(ref);
  if (!master.ok()) return master.status().WithContext(who);
  if (master->size() != kKeySize) return Internal(who + ": key resolver returned a key that is not 32 bytes");
  CONFIDE_ASSIGN_OR_RETURN(SecureBytes check, KeyCheck(*master, file_id_));
  if (!ConstantTimeEqual(check, ByteSpan(m + kOffKeyCheck, kKeyCheckSize)))
    return VerificationFailed(who + ": wrong key (the key check in the metadata does not match; or the "
                              "metadata node was modified)");
  CONFIDE_ASSIGN_OR_RETURN(SecureBytes mkey, MetadataKey(*master, ByteSpan(m + kOffNonce, kNonceSize), file_id_));
  CONFIDE_ASSIGN_OR_RETURN(crypto::AesGcm gcm, crypto::AesGcm::Create(mkey));
  SecureBytes secret(kSecretSize);
  Status s = gcm.Decrypt(kZeroIv, ByteSpan(m, kOffTag), ByteSpan(m + kOffSecret, kSecretSize),
                         ByteSpan(m + kOffTag, crypto::kAesGcmTagSize), secret.data());
  if (!s.ok())
    return VerificationFailed(who + ": metadata node (node 0) does not authenticate: it was modified");
  const uint8_t* p = secret.data();
  uint64_t size = GetU64(p + kSecSize);
  uint16_t name_len = GetU16(p + kSecNameLen);
  if (size > kMaxFileSize || name_len > kMaxNameBytes)
    return VerificationFailed(who + ": authenticated metadata is out of range (size or name length)");
  std::string stored_name(reinterpret_cast<const char*>(p + kSecName), name_len);
  if (stored_name != name_)
    return VerificationFailed(who + " was created as '" + stored_name +
                              "': the host renamed or swapped files (a protected file opens only under the "
                              "name it was created with)");
  uint64_t need = NodeCountForSize(size);
  if (count < need)
    return VerificationFailed(who + " is truncated: its metadata records " + std::to_string(size) +
                              " bytes in " + std::to_string(need) + " nodes, the store holds only " +
                              std::to_string(count) + " nodes");
  size_ = size;
  generation_ = GetU64(p + kSecGeneration);
  std::memcpy(root_entry_.data(), p + kSecRoot, root_entry_.size());
  key_ref_ = ref;
  master_key_ = std::move(*master);
  loadable_blocks_ = BlocksFor(size_);
  loadable_groups_ = GroupsFor(loadable_blocks_);
  return Status::Ok();
}

Status ProtectedFile::WriteMetadata() {
  Bytes meta(kNodeSize, 0);
  uint8_t* m = meta.data();
  std::memcpy(m, kMagic, sizeof kMagic);
  PutU32(m + kOffVersion, kFormatVersion);
  PutU16(m + kOffKeySource, uint16_t(key_ref_.source));
  if (key_ref_.source == KeySource::kSealKey) {
    PutU16(m + kOffPolicy, uint16_t(key_ref_.policy));
    PutU16(m + kOffSvn, key_ref_.svn);
    std::memcpy(m + kOffKeyId, key_ref_.key_id.data(), key_ref_.key_id.size());
  }
  std::memcpy(m + kOffFileId, file_id_.data(), file_id_.size());
  CONFIDE_ASSIGN_OR_RETURN(SecureBytes check, KeyCheck(master_key_, file_id_));
  std::memcpy(m + kOffKeyCheck, check.data(), kKeyCheckSize);
  // A fresh nonce gives a fresh metadata key for every write: the zero IV never repeats under one key.
  CONFIDE_RETURN_IF_ERROR(crypto::RandomFill(m + kOffNonce, kNonceSize));
  CONFIDE_ASSIGN_OR_RETURN(SecureBytes mkey, MetadataKey(master_key_, ByteSpan(m + kOffNonce, kNonceSize), file_id_));
  SecureBytes secret(kSecretSize);
  uint8_t* p = secret.data();
  PutU64(p + kSecSize, size_);
  PutU64(p + kSecGeneration, generation_);
  std::memcpy(p + kSecRoot, root_entry_.data(), root_entry_.size());
  PutU16(p + kSecNameLen, uint16_t(name_.size()));
  std::memcpy(p + kSecName, name_.data(), name_.size());
  CONFIDE_ASSIGN_OR_RETURN(crypto::AesGcm gcm, crypto::AesGcm::Create(mkey));
  CONFIDE_RETURN_IF_ERROR(gcm.Encrypt(kZeroIv, ByteSpan(m, kOffTag), secret, m + kOffSecret, m + kOffTag));
  return store_->WriteNode(0, meta);
}

Status ProtectedFile::Usable(bool for_write) const {
  if (closed_) return InvalidArgument("protected file '" + name_ + "' is closed");
  if (!broken_.ok()) return broken_;
  if (for_write && !writable_)
    return PermissionDenied("protected file '" + name_ +
                            "' is open read-only; open it with FileMode::kReadWrite to write");
  return Status::Ok();
}

Status ProtectedFile::Fail(Status s) {
  broken_ = Status(s.code(), "protected file '" + name_ + "' is unusable after a failed write-back: " + s.message());
  return s;
}

Result<ProtectedFile::Mht*> ProtectedFile::GetMht(uint64_t group) {
  if (auto it = mhts_.find(group); it != mhts_.end()) return it->second.get();
  const uint8_t* entry = root_entry_.data();
  if (group > 0) {
    CONFIDE_ASSIGN_OR_RETURN(Mht * parent, GetMht(ParentOf(group)));
    entry = parent->plain.data() + ChildEntryOffset(group);
  }
  auto mht = std::make_unique<Mht>();
  if (group >= loadable_groups_) {
    mht->dirty = true;  // new: all zero until its children are written
  } else {
    uint64_t node = MhtNodeIndex(group);
    Bytes cipher(kNodeSize);
    CONFIDE_RETURN_IF_ERROR(store_->ReadNode(node, cipher));
    Status s = OpenNode(file_id_, node, kKindMht, cipher, entry, mht->plain.data());
    if (!s.ok())
      return VerificationFailed("protected file '" + name_ + "': MHT node " + std::to_string(group) + " (node " +
                                std::to_string(node) +
                                ") does not authenticate: it was modified, moved, or replaced by an older copy");
  }
  Mht* raw = mht.get();
  mhts_.emplace(group, std::move(mht));
  return raw;
}

Status ProtectedFile::MakeRoom() {
  if (blocks_.size() < kDataCacheBlocks) return Status::Ok();
  auto lru = [this](bool clean_only) {
    auto best = blocks_.end();
    for (auto it = blocks_.begin(); it != blocks_.end(); ++it)
      if ((!clean_only || !it->second->dirty) && (best == blocks_.end() || it->second->used < best->second->used))
        best = it;
    return best;
  };
  auto victim = lru(true);
  if (victim == blocks_.end()) {
    // All changed: encrypt them to the store (staged, not committed), then any may go.
    CONFIDE_RETURN_IF_ERROR(WriteBack());
    victim = lru(false);
  }
  blocks_.erase(victim);
  return Status::Ok();
}

Result<ProtectedFile::Block*> ProtectedFile::GetBlock(uint64_t block, bool for_write) {
  if (auto it = blocks_.find(block); it != blocks_.end()) {
    it->second->used = ++tick_;
    it->second->dirty |= for_write;
    return it->second.get();
  }
  CONFIDE_RETURN_IF_ERROR(MakeRoom());
  CONFIDE_ASSIGN_OR_RETURN(Mht * mht, GetMht(block / kDataPerMht));
  auto b = std::make_unique<Block>();
  b->used = ++tick_;
  if (block >= loadable_blocks_) {
    b->dirty = true;  // never committed: zeros, to be written at the next flush
  } else {
    uint64_t node = DataNodeIndex(block);
    Bytes cipher(kNodeSize);
    CONFIDE_RETURN_IF_ERROR(store_->ReadNode(node, cipher));
    Status s = OpenNode(file_id_, node, kKindData, cipher, mht->plain.data() + (block % kDataPerMht) * kEntrySize,
                        b->plain.data());
    if (!s.ok())
      return VerificationFailed("protected file '" + name_ + "': data block " + std::to_string(block) + " (bytes " +
                                std::to_string(block * kNodeSize) + ".., node " + std::to_string(node) +
                                ") does not authenticate: it was modified, swapped with another block, or "
                                "replaced by an older copy");
    b->dirty = for_write;
  }
  Block* raw = b.get();
  blocks_.emplace(block, std::move(b));
  return raw;
}

Result<size_t> ProtectedFile::ReadAt(uint64_t offset, std::span<uint8_t> out) {
  CONFIDE_RETURN_IF_ERROR(Usable(false));
  if (offset >= size_) return size_t{0};
  size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), size_ - offset));
  for (size_t done = 0; done < n;) {
    uint64_t pos = offset + done;
    size_t in_block = pos % kNodeSize;
    size_t chunk = std::min(n - done, kNodeSize - in_block);
    CONFIDE_ASSIGN_OR_RETURN(Block * b, GetBlock(pos / kNodeSize, false));
    std::memcpy(out.data() + done, b->plain.data() + in_block, chunk);
    done += chunk;
  }
  return n;
}

Status ProtectedFile::WriteAt(uint64_t offset, ByteSpan data) {
  CONFIDE_RETURN_IF_ERROR(Usable(true));
  if (data.empty()) return Status::Ok();
  if (offset > kMaxFileSize || data.size() > kMaxFileSize - offset)
    return OutOfRange("protected file '" + name_ + "': writing " + std::to_string(data.size()) + " bytes at " +
                      std::to_string(offset) + " would pass the 16 TiB size limit");
  for (size_t done = 0; done < data.size();) {
    uint64_t pos = offset + done;
    size_t in_block = pos % kNodeSize;
    size_t chunk = std::min(data.size() - done, kNodeSize - in_block);
    // The size grows block by block, so a write-back forced halfway (cache full) writes only
    // what exists so far. A gap before `pos` reads as zeros: bytes past the old end of its
    // last block are zero already.
    if (pos > size_) {
      size_ = pos;
      meta_dirty_ = true;
    }
    CONFIDE_ASSIGN_OR_RETURN(Block * b, GetBlock(pos / kNodeSize, true));
    std::memcpy(b->plain.data() + in_block, data.data() + done, chunk);
    if (pos + chunk > size_) {
      size_ = pos + chunk;
      meta_dirty_ = true;
    }
    done += chunk;
  }
  return Status::Ok();
}

Result<size_t> ProtectedFile::Read(std::span<uint8_t> out) {
  CONFIDE_ASSIGN_OR_RETURN(size_t n, ReadAt(position_, out));
  position_ += n;
  return n;
}

Status ProtectedFile::Write(ByteSpan data) {
  CONFIDE_RETURN_IF_ERROR(WriteAt(position_, data));
  position_ += data.size();
  return Status::Ok();
}

Result<uint64_t> ProtectedFile::Seek(int64_t offset, Whence whence) {
  CONFIDE_RETURN_IF_ERROR(Usable(false));
  uint64_t base = whence == Whence::kSet ? 0 : whence == Whence::kCurrent ? position_ : size_;
  // Magnitudes in uint64_t: negating INT64_MIN would overflow.
  uint64_t magnitude = offset < 0 ? uint64_t(-(offset + 1)) + 1 : uint64_t(offset);
  if (offset < 0 ? magnitude > base : magnitude > kMaxFileSize - std::min(base, kMaxFileSize))
    return OutOfRange("protected file '" + name_ + "': seek to " + std::to_string(base) + " + " +
                      std::to_string(offset) + " is before the start or past the 16 TiB limit");
  position_ = offset < 0 ? base - magnitude : base + magnitude;
  return position_;
}

Status ProtectedFile::Truncate(uint64_t size) {
  CONFIDE_RETURN_IF_ERROR(Usable(true));
  if (size > kMaxFileSize) return OutOfRange("protected file '" + name_ + "': size above the 16 TiB limit");
  if (size == size_) return Status::Ok();
  meta_dirty_ = true;
  if (size > size_) {  // the tail of the last block is zero already
    size_ = size;
    return Status::Ok();
  }
  uint64_t blocks = BlocksFor(size), groups = GroupsFor(blocks);
  blocks_.erase(blocks_.lower_bound(blocks), blocks_.end());
  mhts_.erase(mhts_.lower_bound(groups), mhts_.end());
  loadable_blocks_ = std::min(loadable_blocks_, blocks);
  loadable_groups_ = std::min(loadable_groups_, groups);
  size_ = size;
  if (size % kNodeSize != 0) {
    // Keeps "bytes past the end are zero", which a later growth relies on.
    CONFIDE_ASSIGN_OR_RETURN(Block * last, GetBlock(blocks - 1, true));
    size_t keep = size % kNodeSize;
    SecureZero(last->plain.data() + keep, kNodeSize - keep);
  }
  return Status::Ok();
}

Status ProtectedFile::Flush() {
  CONFIDE_RETURN_IF_ERROR(Usable(false));
  if (!writable_) return Status::Ok();
  return FlushLocked();
}

// Encrypts every changed or never-written data block to the store and records its key and tag
// in the (cached) MHT node. Nothing is committed: the tree and metadata on the store still
// describe the last commit, so a crash before the commit loses these writes and nothing else.
Status ProtectedFile::WriteBack() {
  if (!broken_.ok()) return broken_;
  const uint64_t blocks = BlocksFor(size_), groups = GroupsFor(blocks);
  Bytes cipher(kNodeSize);
  for (uint64_t g = loadable_groups_; g < groups; ++g) {
    auto m = GetMht(g);
    if (!m.ok()) return Fail(m.status());
  }
  auto seal_block = [&](uint64_t b, ByteSpan plain) -> Status {
    Mht* mht = mhts_.at(b / kDataPerMht).get();
    uint64_t node = DataNodeIndex(b);
    CONFIDE_RETURN_IF_ERROR(SealNode(file_id_, node, kKindData, plain, cipher.data(),
                                     mht->plain.data() + (b % kDataPerMht) * kEntrySize));
    mht->dirty = true;
    return store_->WriteNode(node, cipher);
  };
  for (auto& [b, block] : blocks_) {
    if (!block->dirty || b >= blocks) continue;
    if (Status s = seal_block(b, block->plain); !s.ok()) return Fail(s);
    block->dirty = false;
  }
  // Blocks of a gap (a seek past the end, Truncate up) that were never cached: zeros.
  static const Bytes kZeros(kNodeSize, 0);
  for (uint64_t b = loadable_blocks_; b < blocks; ++b) {
    if (blocks_.count(b)) continue;
    if (Status s = seal_block(b, kZeros); !s.ok()) return Fail(s);
  }
  loadable_blocks_ = blocks;
  store_nodes_ = std::max(store_nodes_, NodeCountForSize(size_));  // so a shrink drops them at commit
  return Status::Ok();
}

Status ProtectedFile::FlushLocked() {
  if (!broken_.ok()) return broken_;
  bool changed = meta_dirty_ || loadable_blocks_ < BlocksFor(size_) ||
                 std::any_of(blocks_.begin(), blocks_.end(), [](const auto& b) { return b.second->dirty; }) ||
                 std::any_of(mhts_.begin(), mhts_.end(), [](const auto& m) { return m.second->dirty; });
  if (!changed) return Status::Ok();
  CONFIDE_RETURN_IF_ERROR(WriteBack());
  // MHT nodes, children before parents (a parent's group number is always lower).
  Bytes cipher(kNodeSize);
  for (auto it = mhts_.rbegin(); it != mhts_.rend(); ++it) {
    auto& [g, mht] = *it;
    if (!mht->dirty) continue;
    uint64_t node = MhtNodeIndex(g);
    uint8_t* entry = g == 0 ? root_entry_.data() : mhts_.at(ParentOf(g))->plain.data() + ChildEntryOffset(g);
    if (Status s = SealNode(file_id_, node, kKindMht, mht->plain, cipher.data(), entry); !s.ok()) return Fail(s);
    if (g > 0) mhts_.at(ParentOf(g))->dirty = true;
    if (Status s = store_->WriteNode(node, cipher); !s.ok()) return Fail(s);
    mht->dirty = false;
  }
  ++generation_;
  if (Status s = WriteMetadata(); !s.ok()) return Fail(s);
  uint64_t need = NodeCountForSize(size_);
  if (store_nodes_ > need) {
    if (Status s = store_->Truncate(need); !s.ok()) return Fail(s);
  }
  if (Status s = store_->Commit(); !s.ok()) return Fail(s);
  store_nodes_ = need;
  loadable_groups_ = GroupsFor(loadable_blocks_);
  meta_dirty_ = false;
  return Status::Ok();
}

Status ProtectedFile::Close() {
  if (closed_) return Status::Ok();
  Status s = broken_;
  if (s.ok() && writable_) s = FlushLocked();
  Status c = store_ ? store_->Close() : Status::Ok();
  Wipe();
  closed_ = true;
  return s.ok() ? c : s;
}

void ProtectedFile::Wipe() {
  master_key_.Clear();
  blocks_.clear();  // SecureBytes wipe the decrypted blocks and MHT nodes (which hold node keys)
  mhts_.clear();
  SecureZero(root_entry_.data(), root_entry_.size());
  SecureZero(file_id_.data(), file_id_.size());
}

}  // namespace confide::trusted
