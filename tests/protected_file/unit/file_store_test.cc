// FileNodeStore: ProtectedFile over a real host file, its commit journal and crash recovery.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "confide/crypto.h"
#include "confide/protected_file.h"

namespace confide {
namespace {

using protected_file::OpenFileNodeStore;
using protected_file::StoreMode;
using trusted::FileMode;
using trusted::ProtectedFile;
using ::testing::HasSubstr;

class FileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("confide-pf-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "file.pf").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<std::unique_ptr<ProtectedFile>> Open(FileMode mode) {
    StoreMode sm = mode == FileMode::kRead ? StoreMode::kRead
                   : mode == FileMode::kReadWrite ? StoreMode::kReadWrite : StoreMode::kCreate;
    CONFIDE_ASSIGN_OR_RETURN(auto store, OpenFileNodeStore(path_, sm));
    return ProtectedFile::OpenStore(std::move(store), "file.pf", mode, key_);
  }
  void Write(ByteSpan content) {
    auto f = Open(FileMode::kCreate);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE((*f)->Write(content).ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  Result<Bytes> Read() {
    CONFIDE_ASSIGN_OR_RETURN(auto f, Open(FileMode::kRead));
    Bytes out(f->Size());
    CONFIDE_ASSIGN_OR_RETURN(size_t n, f->Read(out));
    out.resize(n);
    return out;
  }

  std::filesystem::path dir_;
  std::string path_;
  Bytes key_ = Bytes(32, 7);
};

Bytes Pattern(size_t n) {
  std::mt19937 rng{static_cast<unsigned>(n)};
  Bytes b(n);
  for (auto& x : b) x = uint8_t(rng());
  return b;
}

TEST_F(FileStoreTest, RoundTripThroughARealFile) {
  Bytes content = Pattern(100 * 4096 + 5);
  Write(content);
  EXPECT_EQ(std::filesystem::file_size(path_), protected_file::NodeCountForSize(content.size()) * 4096);
  EXPECT_FALSE(std::filesystem::exists(path_ + ".journal"));
  EXPECT_EQ(Read().value(), content);
}

TEST_F(FileStoreTest, MissingFileIsNotFound) {
  auto f = Open(FileMode::kRead);
  EXPECT_EQ(f.status().code(), Code::kNotFound);
  EXPECT_THAT(f.status().message(), HasSubstr("does not exist"));
}

TEST_F(FileStoreTest, RecreatingShrinksTheFile) {
  Write(Pattern(50 * 4096));
  Write(AsBytes("small"));
  EXPECT_EQ(std::filesystem::file_size(path_), 3u * 4096);
  EXPECT_EQ(ToString(Read().value()), "small");
}

TEST_F(FileStoreTest, FileCutInsideANodeIsTruncated) {
  Write(Pattern(10 * 4096));
  std::filesystem::resize_file(path_, std::filesystem::file_size(path_) - 100);
  auto r = Read();
  EXPECT_EQ(r.status().code(), Code::kVerificationFailed);
  EXPECT_THAT(r.status().message(), HasSubstr("is truncated"));
}

// Writes never committed (a crash before Commit) leave the previous state.
TEST_F(FileStoreTest, UncommittedWritesAreDropped) {
  Write(AsBytes("committed"));
  auto store = OpenFileNodeStore(path_, StoreMode::kReadWrite);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->WriteNode(2, Bytes(4096, 0xEE)).ok());
  Bytes node(4096);
  ASSERT_TRUE((*store)->ReadNode(2, node).ok());  // staged writes are visible to the writer
  EXPECT_EQ(node, Bytes(4096, 0xEE));
  ASSERT_TRUE((*store)->Close().ok());
  EXPECT_EQ(ToString(Read().value()), "committed");
}

// A crash after the journal's rename but before it was applied: opening replays it.
TEST_F(FileStoreTest, CommittedJournalIsReplayedOnOpen) {
  Write(AsBytes("old contents"));
  Bytes old_file = ReadFile(path_).value();
  Write(Pattern(3 * 4096));
  Bytes new_file = ReadFile(path_).value();
  ASSERT_TRUE(WriteFile(path_, old_file, 0600).ok());
  // The journal format of src/protected_file/file_store.cc: every node of the new file.
  Bytes j = {'C', 'F', 'P', 'F', 'J', 'R', 'N', '1'};
  AppendU64Le(j, new_file.size() / 4096);
  AppendU64Le(j, new_file.size() / 4096);
  for (size_t i = 0; i < new_file.size() / 4096; ++i) {
    AppendU64Le(j, i);
    Append(j, ByteSpan(new_file).subspan(i * 4096, 4096));
  }
  Append(j, crypto::Sha256(j));
  ASSERT_TRUE(WriteFile(path_ + ".journal", j, 0600).ok());
  EXPECT_EQ(Read().value(), Pattern(3 * 4096));
  EXPECT_FALSE(std::filesystem::exists(path_ + ".journal"));
}

// A journal that never reached its commit point (.tmp, or damaged) is discarded.
TEST_F(FileStoreTest, IncompleteJournalIsDiscarded) {
  Write(AsBytes("kept"));
  ASSERT_TRUE(WriteFile(path_ + ".journal.tmp", Bytes(100, 1), 0600).ok());
  ASSERT_TRUE(WriteFile(path_ + ".journal", Bytes(100, 1), 0600).ok());
  EXPECT_EQ(ToString(Read().value()), "kept");
  EXPECT_FALSE(std::filesystem::exists(path_ + ".journal"));
  EXPECT_FALSE(std::filesystem::exists(path_ + ".journal.tmp"));
}

TEST_F(FileStoreTest, ReadOnlyStoreRefusesWrites) {
  Write(AsBytes("x"));
  auto store = OpenFileNodeStore(path_, StoreMode::kRead);
  ASSERT_TRUE(store.ok());
  Status s = (*store)->WriteNode(0, Bytes(4096));
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("read-only"));
}

TEST_F(FileStoreTest, FileOnDiskHoldsNoPlaintext) {
  const std::string marker = "CONFIDE-PLAINTEXT-MARKER";
  Bytes content;
  for (int i = 0; i < 1000; ++i) Append(content, AsBytes(marker));
  Write(content);
  Bytes disk = ReadFile(path_).value();
  EXPECT_EQ(std::search(disk.begin(), disk.end(), marker.begin(), marker.end()), disk.end());
}

}  // namespace
}  // namespace confide
