// ProtectedFile over an in-memory store that the tests tamper with as a hostile host would:
// round trips, random access, and every attack the format is meant to detect (or, for a
// whole-file rollback, documents that it does not).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "confide/crypto.h"
#include "confide/protected_file.h"

namespace confide {
namespace {

using protected_file::DataNodeIndex;
using protected_file::KeyRef;
using protected_file::KeySource;
using protected_file::MemoryNodeStore;
using protected_file::MhtNodeIndex;
using protected_file::kNodeSize;
using trusted::FileMode;
using trusted::ProtectedFile;
using trusted::Whence;
using ::testing::HasSubstr;

using Nodes = std::shared_ptr<std::vector<Bytes>>;

Bytes Key(uint8_t fill) { return Bytes(32, fill); }

Bytes Pattern(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = uint8_t(rng());
  return b;
}

class ProtectedFileTest : public ::testing::Test {
 protected:
  Nodes nodes_ = std::make_shared<std::vector<Bytes>>();
  Bytes key_ = Key(0x42);

  Result<std::unique_ptr<ProtectedFile>> Open(FileMode mode, ByteSpan key, const std::string& name = "data.bin") {
    return ProtectedFile::OpenStore(std::make_unique<MemoryNodeStore>(nodes_), name, mode, key);
  }
  Result<std::unique_ptr<ProtectedFile>> Open(FileMode mode) { return Open(mode, key_); }

  void WriteFile(ByteSpan content) {
    auto f = Open(FileMode::kCreate);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE((*f)->Write(content).ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  // Reads the whole file through a fresh open; the status of the first failure otherwise.
  Result<Bytes> ReadFile(ByteSpan key) {
    CONFIDE_ASSIGN_OR_RETURN(auto f, Open(FileMode::kRead, key));
    Bytes out(f->Size());
    CONFIDE_ASSIGN_OR_RETURN(size_t n, f->Read(out));
    if (n != out.size()) return Internal("short read");
    CONFIDE_RETURN_IF_ERROR(f->Close());
    return out;
  }
  Result<Bytes> ReadFile() { return ReadFile(key_); }
};

// ---------------------------------------------------------------- round trips

class RoundTripTest : public ProtectedFileTest, public ::testing::WithParamInterface<size_t> {};

TEST_P(RoundTripTest, ContentSurvivesCloseAndReopen) {
  const size_t size = GetParam();
  Bytes content = Pattern(size, uint32_t(size));
  WriteFile(content);
  EXPECT_EQ(nodes_->size(), protected_file::NodeCountForSize(size));
  auto back = ReadFile();
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, content);
}

// 0, one byte, around one block, more than one MHT node (65 blocks), and a third tree level
// (MHT node 21 is the first grandchild of the root: more than 21 * 64 blocks).
INSTANTIATE_TEST_SUITE_P(Sizes, RoundTripTest,
                         ::testing::Values(0, 1, 4095, 4096, 4097, 65 * 4096 + 7, 1350 * 4096 + 123));

TEST_F(ProtectedFileTest, MultiLevelTreeReadsEveryBlockAtRandom) {
  const size_t blocks = 1400;  // groups 0..21: root, 20 children, one grandchild
  Bytes content = Pattern(blocks * kNodeSize, 7);
  WriteFile(content);
  auto f = Open(FileMode::kRead);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  std::mt19937 rng(1);
  for (int i = 0; i < 500; ++i) {
    uint64_t off = rng() % content.size();
    Bytes got(std::min<size_t>(9000, content.size() - off));
    auto n = (*f)->ReadAt(off, got);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_EQ(*n, got.size());
    ASSERT_TRUE(std::equal(got.begin(), got.end(), content.begin() + off)) << "offset " << off;
  }
}

TEST_F(ProtectedFileTest, OverwriteInTheMiddleAcrossBlocks) {
  Bytes model = Pattern(300 * 1024, 3);
  WriteFile(model);
  {
    auto f = Open(FileMode::kReadWrite);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    Bytes patch = Pattern(10000, 4);
    const uint64_t at = 150000;  // straddles blocks 36..39
    ASSERT_TRUE((*f)->WriteAt(at, patch).ok());
    std::copy(patch.begin(), patch.end(), model.begin() + at);
    EXPECT_EQ((*f)->Size(), model.size());
    ASSERT_TRUE((*f)->Close().ok());
  }
  auto back = ReadFile();
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, model);
}

TEST_F(ProtectedFileTest, CursorSeekTellAndGapIsZeroFilled) {
  auto f = Open(FileMode::kCreate);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Write(AsBytes("head")).ok());
  EXPECT_EQ((*f)->Tell(), 4u);
  auto pos = (*f)->Seek(10000, Whence::kSet);
  ASSERT_TRUE(pos.ok());
  ASSERT_TRUE((*f)->Write(AsBytes("tail")).ok());
  EXPECT_EQ((*f)->Size(), 10004u);
  ASSERT_TRUE((*f)->Seek(-4, Whence::kEnd).ok());
  uint8_t four[4];
  auto n = (*f)->Read(four);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(ToString(ByteSpan(four, *n)), "tail");
  EXPECT_EQ((*f)->Read(four).value(), 0u);  // end of file
  auto bad = (*f)->Seek(-1, Whence::kSet);
  EXPECT_EQ(bad.status().code(), Code::kOutOfRange);
  EXPECT_THAT(bad.status().message(), HasSubstr("before the start"));
  EXPECT_EQ((*f)->Seek(INT64_MIN, Whence::kEnd).status().code(), Code::kOutOfRange);
  EXPECT_EQ((*f)->Seek(INT64_MAX, Whence::kCurrent).status().code(), Code::kOutOfRange);
  EXPECT_EQ((*f)->Tell(), 10004u);  // a refused seek leaves the position alone
  ASSERT_TRUE((*f)->Close().ok());

  auto back = ReadFile();
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 10004u);
  EXPECT_EQ(ToString(ByteSpan(*back).first(4)), "head");
  EXPECT_TRUE(std::all_of(back->begin() + 4, back->begin() + 10000, [](uint8_t b) { return b == 0; }));
}

TEST_F(ProtectedFileTest, TruncateShrinksAndGrowsWithZeros) {
  WriteFile(Pattern(70 * 4096, 5));
  {
    auto f = Open(FileMode::kReadWrite);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Truncate(5000).ok());   // back to two blocks, one MHT node
    ASSERT_TRUE((*f)->Truncate(9000).ok());   // grows: 5000.. must read as zeros, not old data
    ASSERT_TRUE((*f)->Close().ok());
  }
  EXPECT_EQ(nodes_->size(), protected_file::NodeCountForSize(9000));  // the store shrank too
  auto back = ReadFile();
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  Bytes want = Pattern(70 * 4096, 5);
  want.resize(5000);
  want.resize(9000, 0);
  EXPECT_EQ(*back, want);
}

// Random writes, truncations, flushes and reopens against a plain byte vector.
TEST_F(ProtectedFileTest, RandomOperationsMatchAModel) {
  std::mt19937 rng(11);
  Bytes model;
  auto f = Open(FileMode::kCreate);
  ASSERT_TRUE(f.ok());
  for (int step = 0; step < 400; ++step) {
    int op = int(rng() % 10);
    if (op < 6) {
      uint64_t off = rng() % (model.size() + 20000);
      Bytes data = Pattern(rng() % 20000, uint32_t(step));
      ASSERT_TRUE((*f)->WriteAt(off, data).ok());
      if (off + data.size() > model.size()) model.resize(off + data.size(), 0);
      std::copy(data.begin(), data.end(), model.begin() + off);
    } else if (op == 6) {
      uint64_t size = rng() % (model.size() + 30000);
      ASSERT_TRUE((*f)->Truncate(size).ok());
      model.resize(size, 0);
    } else if (op == 7) {
      ASSERT_TRUE((*f)->Flush().ok());
    } else if (op == 8) {
      ASSERT_TRUE((*f)->Close().ok());
      f = Open(FileMode::kReadWrite);
      ASSERT_TRUE(f.ok()) << f.status().ToString();
    } else if (!model.empty()) {
      uint64_t off = rng() % model.size();
      Bytes got(rng() % 30000);
      auto n = (*f)->ReadAt(off, got);
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      ASSERT_EQ(*n, std::min<size_t>(got.size(), model.size() - off));
      ASSERT_TRUE(std::equal(got.begin(), got.begin() + *n, model.begin() + off)) << "step " << step;
    }
    ASSERT_EQ((*f)->Size(), model.size());
  }
  ASSERT_TRUE((*f)->Close().ok());
  auto back = ReadFile();
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, model);
}

// 200 blocks do not fit the 48-block cache: they go to the store early (staged), yet only
// Flush/Close commits, and the blocks read back before that.
TEST_F(ProtectedFileTest, WritingMoreThanTheCacheStagesButCommitsOnlyOnFlush) {
  auto store = std::make_unique<MemoryNodeStore>(nodes_);
  MemoryNodeStore* raw = store.get();
  auto f = ProtectedFile::OpenStore(std::move(store), "data.bin", FileMode::kCreate, key_);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(raw->commits(), 1u);  // the empty file
  Bytes content = Pattern(200 * 4096, 9);
  ASSERT_TRUE((*f)->Write(content).ok());
  EXPECT_GT(nodes_->size(), 150u);
  EXPECT_EQ(raw->commits(), 1u);
  Bytes got(content.size());
  ASSERT_EQ((*f)->ReadAt(0, got).value(), content.size());
  EXPECT_EQ(got, content);
  ASSERT_TRUE((*f)->Truncate(3 * 4096).ok());  // nodes staged past the new end are dropped
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(raw->commits(), 2u);
  EXPECT_EQ(nodes_->size(), protected_file::NodeCountForSize(3 * 4096));
  content.resize(3 * 4096);
  EXPECT_EQ(ReadFile().value(), content);
}

TEST_F(ProtectedFileTest, GenerationCountsCommits) {
  WriteFile(AsBytes("one"));
  auto f = Open(FileMode::kReadWrite);
  ASSERT_TRUE(f.ok());
  uint64_t g = (*f)->generation();
  ASSERT_TRUE((*f)->Write(AsBytes("two")).ok());
  ASSERT_TRUE((*f)->Flush().ok());
  EXPECT_EQ((*f)->generation(), g + 1);
  ASSERT_TRUE((*f)->Flush().ok());  // nothing changed: no commit
  EXPECT_EQ((*f)->generation(), g + 1);
}

// Rewriting identical bytes gives different ciphertext: every write uses a fresh node key.
TEST_F(ProtectedFileTest, EveryWriteUsesAFreshNodeKey) {
  WriteFile(Bytes(4096, 0x11));
  Bytes before_data = (*nodes_)[DataNodeIndex(0)], before_mht = (*nodes_)[MhtNodeIndex(0)],
        before_meta = (*nodes_)[0];
  WriteFile(Bytes(4096, 0x11));
  EXPECT_NE((*nodes_)[DataNodeIndex(0)], before_data);
  EXPECT_NE((*nodes_)[MhtNodeIndex(0)], before_mht);
  EXPECT_NE((*nodes_)[0], before_meta);
}

TEST_F(ProtectedFileTest, HostStoreNeverHoldsPlaintext) {
  const std::string marker = "CONFIDE-PLAINTEXT-MARKER-0123456789";
  Bytes content;
  for (int i = 0; i < 3000; ++i) Append(content, AsBytes(marker));
  WriteFile(content);
  const std::string name_marker = "data.bin";
  for (size_t i = 0; i < nodes_->size(); ++i) {
    const Bytes& n = (*nodes_)[i];
    EXPECT_EQ(std::search(n.begin(), n.end(), marker.begin(), marker.begin() + 8), n.end())
        << "node " << i << " holds plaintext";
    EXPECT_EQ(std::search(n.begin(), n.end(), name_marker.begin(), name_marker.end()), n.end())
        << "node " << i << " holds the file name";
  }
  EXPECT_EQ(ReadFile().value(), content);
}

// ---------------------------------------------------------------- misuse

TEST_F(ProtectedFileTest, ReadOnlyRefusesWrites) {
  WriteFile(AsBytes("x"));
  auto f = Open(FileMode::kRead);
  ASSERT_TRUE(f.ok());
  Status s = (*f)->Write(AsBytes("y"));
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("read-only"));
  EXPECT_EQ((*f)->Truncate(0).code(), Code::kPermissionDenied);
}

TEST_F(ProtectedFileTest, ClosedFileRefusesEverything) {
  auto f = Open(FileMode::kCreate);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Close().ok());
  uint8_t b[1];
  auto r = (*f)->Read(b);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("is closed"));
}

TEST_F(ProtectedFileTest, KeyMustBe32Bytes) {
  auto f = Open(FileMode::kCreate, Bytes(16, 1));
  EXPECT_EQ(f.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(f.status().message(), HasSubstr("must be 32 bytes"));
}

TEST_F(ProtectedFileTest, OpeningAnEmptyStoreIsRefused) {
  auto f = Open(FileMode::kRead);
  EXPECT_EQ(f.status().code(), Code::kVerificationFailed);
  EXPECT_THAT(f.status().message(), HasSubstr("no metadata node"));
}

// A store whose commit fails (a full disk): the error reaches the caller, and the file refuses
// further use instead of guessing what the store holds.
class FailingCommitStore : public MemoryNodeStore {
 public:
  using MemoryNodeStore::MemoryNodeStore;
  bool fail = false;
  Status Commit() override { return fail ? IoError("disk full") : MemoryNodeStore::Commit(); }
};

TEST_F(ProtectedFileTest, FailedCommitLeavesTheFileUnusable) {
  auto store = std::make_unique<FailingCommitStore>(nodes_);
  FailingCommitStore* raw = store.get();
  auto f = ProtectedFile::OpenStore(std::move(store), "data.bin", FileMode::kCreate, key_);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Write(AsBytes("x")).ok());
  raw->fail = true;
  Status s = (*f)->Flush();
  EXPECT_EQ(s.code(), Code::kIo);
  EXPECT_THAT(s.message(), HasSubstr("disk full"));
  raw->fail = false;
  Status again = (*f)->Write(AsBytes("y"));
  EXPECT_EQ(again.code(), Code::kIo);
  EXPECT_THAT(again.message(), HasSubstr("unusable after a failed write-back"));
  EXPECT_EQ((*f)->Close().code(), Code::kIo);
}

// ---------------------------------------------------------------- attacks

TEST_F(ProtectedFileTest, WrongKeyIsRefused) {
  WriteFile(AsBytes("secret"));
  auto r = ReadFile(Key(0x43));
  EXPECT_EQ(r.status().code(), Code::kVerificationFailed);
  EXPECT_THAT(r.status().message(), HasSubstr("wrong key"));
}

TEST_F(ProtectedFileTest, RenamedFileIsRefused) {
  WriteFile(AsBytes("secret"));
  auto f = Open(FileMode::kRead, key_, "other.bin");
  EXPECT_EQ(f.status().code(), Code::kVerificationFailed);
  EXPECT_THAT(f.status().message(), HasSubstr("was created as 'data.bin'"));
}

TEST_F(ProtectedFileTest, SwappedDataBlocksAreRefused) {
  WriteFile(Pattern(5 * 4096, 1));
  std::swap((*nodes_)[DataNodeIndex(1)], (*nodes_)[DataNodeIndex(2)]);
  auto r = ReadFile();
  EXPECT_EQ(r.status().code(), Code::kVerificationFailed);
  EXPECT_THAT(r.status().message(), HasSubstr("data block 1 (bytes 4096.., node 3)"));
  EXPECT_THAT(r.status().message(), HasSubstr("swapped"));
}

TEST_F(ProtectedFileTest, SwappedMhtNodesAreRefused) {
  WriteFile(Pattern(200 * 4096, 1));  // MHT nodes 0..3
  std::swap((*nodes_)[MhtNodeIndex(1)], (*nodes_)[MhtNodeIndex(2)]);
  auto f = Open(FileMode::kRead);
  ASSERT_TRUE(f.ok());  // only the root is checked at open
  Bytes b(10);
  auto r = (*f)->ReadAt(64 * 4096, b);
  EXPECT_EQ(r.status().code(), Code::kVerificationFailed);
  EXPECT_THAT(r.status().message(), HasSubstr("MHT node 1 (node 66)"));
}

TEST_F(ProtectedFileTest, TruncatedStoreIsRefused) {
  WriteFile(Pattern(10 * 4096, 1));
  nodes_->pop_back();
  auto f = Open(FileMode::kRead);
  EXPECT_EQ(f.status().code(), Code::kVerificationFailed);
  EXPECT_THAT(f.status().message(), HasSubstr("is truncated: its metadata records 40960 bytes in 12 nodes, the "
                                              "store holds only 11 nodes"));
}

TEST_F(ProtectedFileTest, RolledBackDataBlockIsRefused) {
  WriteFile(Pattern(10 * 4096, 1));
  Bytes old_block = (*nodes_)[DataNodeIndex(3)];
  {
    auto f = Open(FileMode::kReadWrite);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->WriteAt(3 * 4096 + 10, AsBytes("new")).ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  (*nodes_)[DataNodeIndex(3)] = old_block;  // the host serves the older, once valid, copy
  auto r = ReadFile();
  EXPECT_EQ(r.status().code(), Code::kVerificationFailed);
  EXPECT_THAT(r.status().message(), HasSubstr("data block 3"));
  EXPECT_THAT(r.status().message(), HasSubstr("older copy"));
}

// An older MHT node together with the older data blocks it vouches for: a consistent old
// subtree, still refused, because the root (in the metadata) names the new MHT node.
TEST_F(ProtectedFileTest, RolledBackSubtreeIsRefused) {
  WriteFile(Pattern(10 * 4096, 1));
  std::vector<Bytes> old(nodes_->begin() + 1, nodes_->end());
  {
    auto f = Open(FileMode::kReadWrite);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->WriteAt(0, AsBytes("new")).ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  std::copy(old.begin(), old.end(), nodes_->begin() + 1);
  auto f = Open(FileMode::kRead);
  EXPECT_EQ(f.status().code(), Code::kVerificationFailed);
  EXPECT_THAT(f.status().message(), HasSubstr("MHT node 0 (node 1)"));
}

// Not detected, by design and as documented: the whole file (metadata included) replaced by an
// older complete version. generation() is what an application pins to notice.
TEST_F(ProtectedFileTest, WholeFileRollbackIsNotDetectedButGenerationShowsIt) {
  WriteFile(AsBytes("version one"));
  std::vector<Bytes> snapshot = *nodes_;
  uint64_t old_generation = Open(FileMode::kRead).value()->generation();
  {
    auto f = Open(FileMode::kReadWrite);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->WriteAt(0, AsBytes("version TWO")).ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  uint64_t new_generation = Open(FileMode::kRead).value()->generation();
  *nodes_ = snapshot;
  auto f = Open(FileMode::kRead);
  ASSERT_TRUE(f.ok()) << "a whole-file rollback is not detectable without a monotonic counter";
  EXPECT_EQ(ReadFile().value(), Bytes(AsBytes("version one").begin(), AsBytes("version one").end()));
  EXPECT_EQ((*f)->generation(), old_generation);
  EXPECT_LT((*f)->generation(), new_generation);
}

// ---- bit flips, one per kind of node and region

struct Flip {
  const char* what;
  uint64_t node;  // kMetaNode: node 0
  size_t byte;
  Code code;
  const char* message;
};

void PrintTo(const Flip& flip, std::ostream* os) { *os << flip.what; }

class BitFlipTest : public ProtectedFileTest, public ::testing::WithParamInterface<Flip> {};

TEST_P(BitFlipTest, IsRefused) {
  const Flip& flip = GetParam();
  WriteFile(Pattern(100 * 4096, 2));  // two MHT nodes
  (*nodes_)[flip.node][flip.byte] ^= 0x01;
  auto r = ReadFile();
  ASSERT_FALSE(r.ok()) << flip.what;
  EXPECT_EQ(r.status().code(), flip.code) << flip.what << ": " << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr(flip.message)) << flip.what;
}

INSTANTIATE_TEST_SUITE_P(
    Nodes, BitFlipTest,
    ::testing::Values(
        Flip{"magic", 0, 0, Code::kInvalidArgument, "not a confide protected file"},
        Flip{"format version", 0, 8, Code::kUnsupported, "format version 0"},
        Flip{"key source", 0, 12, Code::kVerificationFailed, "unknown key source"},
        Flip{"file id", 0, 60, Code::kVerificationFailed, "wrong key"},
        Flip{"key check", 0, 90, Code::kVerificationFailed, "wrong key"},
        Flip{"metadata nonce", 0, 110, Code::kVerificationFailed, "metadata node (node 0) does not authenticate"},
        Flip{"metadata tag", 0, 140, Code::kVerificationFailed, "metadata node (node 0) does not authenticate"},
        Flip{"metadata ciphertext", 0, 2000, Code::kVerificationFailed,
             "metadata node (node 0) does not authenticate"},
        Flip{"root MHT node", 1, 100, Code::kVerificationFailed, "MHT node 0 (node 1)"},
        Flip{"child MHT node", 66, 4095, Code::kVerificationFailed, "MHT node 1 (node 66)"},
        Flip{"first data node", 2, 0, Code::kVerificationFailed, "data block 0 (bytes 0.., node 2)"},
        Flip{"data node under the child MHT node", 67, 1234, Code::kVerificationFailed,
             "data block 64 (bytes 262144.., node 67)"}),
    [](const ::testing::TestParamInfo<Flip>& info) {
      std::string n = info.param.what;
      std::replace(n.begin(), n.end(), ' ', '_');
      return n;
    });

// ---------------------------------------------------------------- sealing-key files

// Stands in for trusted::GetSealKey (enclave-only) so the key-reference path runs on the host.
Result<SecureBytes> FakeSealKey(const KeyRef& ref) {
  if (ref.source != KeySource::kSealKey) return InvalidArgument("not a seal-key file");
  Bytes info(ref.key_id.begin(), ref.key_id.end());
  AppendU16Le(info, uint16_t(ref.policy));
  AppendU16Le(info, ref.svn);
  return crypto::Hkdf(crypto::HashAlg::kSha256, Bytes(32, 9), {}, info, 32);
}

TEST_F(ProtectedFileTest, SealKeyFileRecordsItsKeyRef) {
  KeyRef ref{KeySource::kSealKey, platform_services::KeyPolicy::kUnique, 3, {}};
  ref.key_id[0] = 0xAB;
  {
    auto f = ProtectedFile::OpenStore(std::make_unique<MemoryNodeStore>(nodes_), "s", FileMode::kCreate, ref,
                                      FakeSealKey);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE((*f)->Write(AsBytes("sealed")).ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  auto f = ProtectedFile::OpenStore(std::make_unique<MemoryNodeStore>(nodes_), "s", FileMode::kRead, KeyRef{},
                                    FakeSealKey);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->key_ref().source, KeySource::kSealKey);
  EXPECT_EQ((*f)->key_ref().policy, platform_services::KeyPolicy::kUnique);
  EXPECT_EQ((*f)->key_ref().svn, 3);
  EXPECT_EQ((*f)->key_ref().key_id, ref.key_id);
  // The caller-key entry point refuses a seal-key file with a message saying which to use.
  auto wrong = Open(FileMode::kRead, key_, "s");
  EXPECT_EQ(wrong.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(wrong.status().message(), HasSubstr("enclave sealing key"));
}

// A whole-file rollback to a version created under another key id opens too: the key id is in
// the (rolled back) metadata, and the platform derives the old key on request. Not detected.
TEST_F(ProtectedFileTest, WholeFileRollbackToAnotherKeyIdIsNotDetected) {
  auto create = [&](uint8_t id, std::string_view text) {
    KeyRef ref{KeySource::kSealKey, platform_services::KeyPolicy::kProduct, 1, {}};
    ref.key_id.fill(id);
    auto f = ProtectedFile::OpenStore(std::make_unique<MemoryNodeStore>(nodes_), "s", FileMode::kCreate, ref,
                                      FakeSealKey);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Write(AsBytes(text)).ok());
    ASSERT_TRUE((*f)->Close().ok());
  };
  create(1, "old");
  std::vector<Bytes> snapshot = *nodes_;
  create(2, "new");
  *nodes_ = snapshot;
  auto f = ProtectedFile::OpenStore(std::make_unique<MemoryNodeStore>(nodes_), "s", FileMode::kRead, KeyRef{},
                                    FakeSealKey);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->key_ref().key_id[0], 1);
  Bytes b(3);
  ASSERT_EQ((*f)->Read(b).value(), 3u);
  EXPECT_EQ(ToString(b), "old");
}

}  // namespace
}  // namespace confide
