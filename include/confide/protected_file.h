// Protected files (confide::trusted::ProtectedFile), like Intel's sgx_fopen and Gramine's
// protected files: a file whose contents the host stores only as ciphertext, encrypted with
// AES-256-GCM and integrity-protected by a Merkle tree over 4 KiB blocks, with random-access
// read and write. A file's key is the caller's own 256-bit key or a sealing key of the enclave
// (seal policy UNIQUE or PRODUCT).
//
// What is detected, each with kVerificationFailed naming the node: modified, swapped or moved
// blocks, a single block (or subtree) replaced by an older copy, truncation, a wrong key and a
// file renamed onto another's name. What is NOT detected: the host replacing the whole file by
// an older complete version of itself (no monotonic counter; see generation()). The layout and
// the argument are in docs/protected-files.md.
//
// Two layers:
//  - protected_file::NodeStore: where the ciphertext nodes live. MemoryNodeStore (tests),
//    FileNodeStore (a host file with an atomic commit journal; confide::protected_file_host)
//    and, inside an enclave, a store that asks the host through the ocalls of
//    confide/edl/protected_files.edl (confide::protected_file_trusted).
//  - trusted::ProtectedFile: the file over any store. OpenStore() works anywhere (it is pure
//    C++); Open(path, ...) works inside an enclave whose EDL imports protected_files.edl.
//
// A ProtectedFile is not thread-safe: use it from one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "confide/bytes.h"
#include "confide/platform_services.h"
#include "confide/status.h"

namespace confide::protected_file {

inline constexpr size_t kNodeSize = 4096;  // every node on storage, and every data block
inline constexpr size_t kKeySize = 32;

// Where ciphertext nodes are kept. Node i occupies bytes [i*4096, (i+1)*4096) of the file.
// Everything a store returns is treated as hostile: the file authenticates every node.
// Writes and truncation are staged: a store makes them durable, all together, at Commit()
// (as far as it can: a crash before Commit leaves the previous committed state). Reads see
// staged writes.
class NodeStore {
 public:
  virtual ~NodeStore() = default;
  // Number of whole nodes the store holds (a partial trailing node does not count).
  virtual Result<uint64_t> NodeCount() = 0;
  // Reads node `index` into `out` (kNodeSize bytes). kOutOfRange when index >= NodeCount().
  virtual Status ReadNode(uint64_t index, std::span<uint8_t> out) = 0;
  virtual Status WriteNode(uint64_t index, ByteSpan node) = 0;
  // Drops every node at or after `count`.
  virtual Status Truncate(uint64_t count) = 0;
  virtual Status Commit() = 0;
  // Releases the underlying resource; later calls fail. The destructor closes too.
  virtual Status Close() { return Status::Ok(); }
};

// Nodes in memory; tests reach in through nodes() to tamper with them as a host could.
class MemoryNodeStore : public NodeStore {
 public:
  explicit MemoryNodeStore(std::shared_ptr<std::vector<Bytes>> nodes = nullptr);
  Result<uint64_t> NodeCount() override;
  Status ReadNode(uint64_t index, std::span<uint8_t> out) override;
  Status WriteNode(uint64_t index, ByteSpan node) override;
  Status Truncate(uint64_t count) override;
  Status Commit() override;

  // Shared, so a test keeps it after handing the store to a file.
  const std::shared_ptr<std::vector<Bytes>>& nodes() const { return nodes_; }
  uint64_t commits() const { return commits_; }

 private:
  std::shared_ptr<std::vector<Bytes>> nodes_;
  uint64_t commits_ = 0;
};

// A host file of nodes, committed through a journal: Commit() writes the staged nodes to
// PATH.journal (fsync, then rename into place: the commit point), applies them to PATH,
// fsyncs it and removes the journal. Opening replays a complete journal left by a crash and
// discards an incomplete one. Host-side only (confide::protected_file_host).
enum class StoreMode : uint32_t {
  kRead = 0,       // existing file, read only
  kReadWrite = 1,  // existing file
  kCreate = 2,     // create, or empty an existing file
};
Result<std::unique_ptr<NodeStore>> OpenFileNodeStore(const std::string& path, StoreMode mode);

// What a file's metadata records about its key (in clear: it names no secret).
enum class KeySource : uint16_t {
  kCallerKey = 1,  // a 256-bit key the application supplies on every open
  kSealKey = 2,    // trusted::GetSealKey(policy, key_id, svn)
};
struct KeyRef {
  KeySource source = KeySource::kCallerKey;
  platform_services::KeyPolicy policy = platform_services::KeyPolicy::kProduct;  // kSealKey only
  uint16_t svn = 0;                                                             // kSealKey only
  platform_services::KeyId key_id{};                                           // kSealKey only
};
// Produces the file's 256-bit master key for the KeyRef found in an existing file's metadata.
using KeyResolver = std::function<Result<SecureBytes>(const KeyRef&)>;

// Tree geometry (docs/protected-files.md): one metadata node, then groups of one MHT node
// followed by up to kDataPerMht data nodes. Each MHT node holds the key and tag of its data
// nodes and of up to kChildrenPerMht child MHT nodes.
inline constexpr uint64_t kDataPerMht = 64;
inline constexpr uint64_t kChildrenPerMht = 20;
inline constexpr size_t kMaxNameBytes = 255;
// Data blocks kept decrypted in memory. When all are changed, they are encrypted to the store
// (staged there, not committed) to make room; Flush() and Close() commit.
inline constexpr size_t kDataCacheBlocks = 48;

uint64_t DataNodeIndex(uint64_t block);  // physical node of data block `block`
uint64_t MhtNodeIndex(uint64_t group);   // physical node of MHT node `group`
uint64_t NodeCountForSize(uint64_t size);  // nodes a committed file of `size` bytes occupies

}  // namespace confide::protected_file

namespace confide::trusted {

enum class FileMode {
  kRead,       // an existing file, read only
  kReadWrite,  // an existing file, read and write
  kCreate,     // a new empty file, committed by Open (replacing an existing one atomically)
};
enum class Whence { kSet, kCurrent, kEnd };

class ProtectedFile {
 public:
  // --- inside an enclave (link confide::protected_file_trusted; the EDL imports
  // "confide/edl/protected_files.edl"; the host links confide::protected_file_host)
  // Caller key: `key` must be 32 bytes. The same key opens the file again.
  static Result<std::unique_ptr<ProtectedFile>> Open(const std::string& path, FileMode mode, ByteSpan key);
  // Sealing key of this enclave under `policy`. A new file records a fresh random key id and
  // this enclave's SecurityVersion; reopening derives the key again from those, so every
  // enclave the policy admits (UNIQUE: same MRENCLAVE; PRODUCT: same signer and ProductID,
  // SecurityVersion at least the file's) on the same platform opens it.
  static Result<std::unique_ptr<ProtectedFile>> Open(const std::string& path, FileMode mode,
                                                     platform_services::KeyPolicy policy =
                                                         platform_services::KeyPolicy::kProduct);

  // --- over any store (pure C++; tests and tools). `name` is bound into the metadata: a file
  // opened under another name than it was created with is refused (a swapped file).
  static Result<std::unique_ptr<ProtectedFile>> OpenStore(std::unique_ptr<protected_file::NodeStore> store,
                                                          const std::string& name, FileMode mode, ByteSpan key);
  // `create_ref` is recorded in a new file (kCreate); an existing file's own KeyRef is given
  // to `resolver`, which returns its master key.
  static Result<std::unique_ptr<ProtectedFile>> OpenStore(std::unique_ptr<protected_file::NodeStore> store,
                                                          const std::string& name, FileMode mode,
                                                          const protected_file::KeyRef& create_ref,
                                                          const protected_file::KeyResolver& resolver);

  ~ProtectedFile();  // closes; an error of the final flush is lost then: call Close() to see it
  ProtectedFile(const ProtectedFile&) = delete;
  ProtectedFile& operator=(const ProtectedFile&) = delete;

  // Reads up to out.size() bytes at the position and advances it; returns the bytes read
  // (0 at the end of the file).
  Result<size_t> Read(std::span<uint8_t> out);
  // Writes at the position (extending the file, zero-filling any gap) and advances it.
  Status Write(ByteSpan data);
  // Positional forms; they leave the position alone.
  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out);
  Status WriteAt(uint64_t offset, ByteSpan data);
  // The position may be beyond the end: a write there zero-fills the gap.
  Result<uint64_t> Seek(int64_t offset, Whence whence);
  uint64_t Tell() const { return position_; }
  uint64_t Size() const { return size_; }
  // Sets the size: shrinking drops the tail, growing appends zero bytes.
  Status Truncate(uint64_t size);
  // Encrypts every changed block, updates the tree and metadata and commits them to the store:
  // writes are durable from here on (not before).
  Status Flush();
  // Flushes (when writable), then wipes keys and decrypted blocks. Every later call fails.
  Status Close();

  // Counts the file's commits (metadata writes) since creation. The host can replace the whole
  // file with an older complete version undetected; an application that must notice keeps the
  // generation in a monotonic counter or in another trusted place and compares after opening.
  uint64_t generation() const { return generation_; }
  const protected_file::KeyRef& key_ref() const { return key_ref_; }

 private:
  struct Block;
  struct Mht;
  ProtectedFile() = default;
  static Result<std::unique_ptr<ProtectedFile>> Start(std::unique_ptr<protected_file::NodeStore> store,
                                                      const std::string& name, FileMode mode,
                                                      const protected_file::KeyRef& create_ref,
                                                      const protected_file::KeyResolver& resolver);
  Status LoadMetadata(const protected_file::KeyResolver& resolver);
  Status WriteMetadata();
  Status Usable(bool for_write) const;
  Result<Mht*> GetMht(uint64_t group);
  Result<Block*> GetBlock(uint64_t block, bool for_write);
  Status MakeRoom();
  Status WriteBack();
  Status FlushLocked();
  Status Fail(Status s);
  void Wipe();

  std::unique_ptr<protected_file::NodeStore> store_;
  std::string name_;
  bool writable_ = false;
  bool closed_ = false;
  Status broken_;  // a failed flush leaves the file unusable (its state is unknown)
  protected_file::KeyRef key_ref_;
  SecureBytes master_key_;
  platform_services::KeyId file_id_{};
  uint64_t size_ = 0;
  uint64_t position_ = 0;
  uint64_t generation_ = 0;
  std::array<uint8_t, 48> root_entry_{};  // key || tag of MHT node 0
  bool meta_dirty_ = false;
  // Blocks / groups at or beyond these were never committed (or were cut by Truncate): they
  // start as zeros instead of being read from the store.
  uint64_t loadable_blocks_ = 0;
  uint64_t loadable_groups_ = 0;
  uint64_t store_nodes_ = 0;  // as last seen, to drop nodes a shrink left behind
  std::map<uint64_t, std::unique_ptr<Block>> blocks_;
  std::map<uint64_t, std::unique_ptr<Mht>> mhts_;
  uint64_t tick_ = 0;
};

}  // namespace confide::trusted
