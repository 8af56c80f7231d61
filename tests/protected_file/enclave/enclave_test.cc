// ProtectedFile::Open inside real enclaves on sim and soft: the ocalls of
// confide/edl/protected_files.edl, the host's file store, sealing keys, and refusals of files
// the host changed on disk, each with its code and message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "confide/enclave.h"
#include "confide/protected_file.h"
#include "pf_test_u.h"

namespace confide {

// Found by argument-dependent lookup: test names show the backend, not its bytes.
void PrintTo(BackendKind kind, std::ostream* os) { *os << BackendName(kind); }

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr int kCallerKey = 0, kUnique = 1, kProduct = 2;

Bytes Pattern(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = uint8_t(rng());
  return b;
}

class PfEnclaveTest : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');  // parameterized names hold a '/'
    dir_ = fs::temp_directory_path() / ("confide-pf-enclave-" + std::to_string(::getpid()) + "-" + name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "data.pf").string();
    Restart();
  }
  void TearDown() override {
    enclave_.reset();
    fs::remove_all(dir_);
  }
  void Restart() {
    enclave_.reset();
    EnclaveOptions options;
    options.backend = GetParam();
    auto e = create_pf_test_enclave(PF_TEST_ENCLAVE, options);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    enclave_ = std::move(*e);
  }

  // The enclave's result as a Status (code and message), or the size / byte count.
  Result<int64_t> Write(int policy, bool create, uint64_t offset, ByteSpan data, ByteSpan key = {}) {
    char message[1024] = {};
    auto r = pf_test_write(*enclave_, path_.c_str(), policy, key.data(), key.size(), create ? 1 : 0, offset,
                           data.data(), data.size(), message, sizeof message);
    if (!r.ok()) return r.status();
    if (*r < 0) return Status(Code(-*r), message);
    return *r;
  }
  Result<Bytes> Read(int policy, uint64_t offset, size_t size, ByteSpan key = {}) {
    char message[1024] = {};
    Bytes out(size);
    auto r = pf_test_read(*enclave_, path_.c_str(), policy, key.data(), key.size(), offset, out.data(), out.size(),
                          message, sizeof message);
    if (!r.ok()) return r.status();
    if (*r < 0) return Status(Code(-*r), message);
    out.resize(size_t(*r));
    return out;
  }
  void Poke(uint64_t offset, uint8_t mask) {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(std::streamoff(offset));
    char c = 0;
    f.get(c);
    f.seekp(std::streamoff(offset));
    f.put(char(c ^ mask));
  }

  fs::path dir_;
  std::string path_;
  std::unique_ptr<Enclave> enclave_;
  Bytes key_ = Bytes(32, 0x5c);
};

void ExpectError(const Status& s, Code code, const std::string& fragment) {
  EXPECT_EQ(s.code(), code) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(fragment));
}

// 150 blocks: three MHT nodes, many read-ahead windows and write batches through the ocalls.
TEST_P(PfEnclaveTest, CallerKeyRoundTripWithRandomAccess) {
  Bytes model = Pattern(150 * 4096 + 17, 1);
  ASSERT_EQ(Write(kCallerKey, true, 0, model, key_).value(), int64_t(model.size()));
  Bytes patch = Pattern(9000, 2);
  ASSERT_EQ(Write(kCallerKey, false, 300000, patch, key_).value(), int64_t(model.size()));
  std::copy(patch.begin(), patch.end(), model.begin() + 300000);
  auto back = Read(kCallerKey, 0, model.size() + 100, key_);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, model);
  auto middle = Read(kCallerKey, 299990, 20, key_);
  ASSERT_TRUE(middle.ok());
  EXPECT_TRUE(std::equal(middle->begin(), middle->end(), model.begin() + 299990));
}

TEST_P(PfEnclaveTest, SealedFileSurvivesEnclaveRestart) {
  Bytes data = Pattern(20000, 3);
  ASSERT_TRUE(Write(kProduct, true, 0, data).ok());
  Restart();
  auto back = Read(kProduct, 0, data.size());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, data);
}

TEST_P(PfEnclaveTest, HostFileHoldsOnlyCiphertext) {
  const std::string marker = "CONFIDE-PF-ENCLAVE-MARKER";
  Bytes data;
  for (int i = 0; i < 500; ++i) Append(data, AsBytes(marker));
  ASSERT_TRUE(Write(kUnique, true, 0, data).ok());
  Bytes disk = ReadFile(path_).value();
  EXPECT_EQ(disk.size() % 4096, 0u);
  EXPECT_EQ(std::search(disk.begin(), disk.end(), marker.begin(), marker.end()), disk.end());
  EXPECT_FALSE(fs::exists(path_ + ".journal"));
}

TEST_P(PfEnclaveTest, MissingFileIsNotFound) {
  ExpectError(Read(kProduct, 0, 10).status(), Code::kNotFound, "no such file");
}

TEST_P(PfEnclaveTest, FlippedBitOnDiskIsRefused) {
  ASSERT_TRUE(Write(kProduct, true, 0, Pattern(10 * 4096, 4)).ok());
  Poke(protected_file::DataNodeIndex(7) * 4096 + 5, 0x80);
  ExpectError(Read(kProduct, 0, 10 * 4096).status(), Code::kVerificationFailed, "data block 7");
}

TEST_P(PfEnclaveTest, RolledBackBlockOnDiskIsRefused) {
  ASSERT_TRUE(Write(kCallerKey, true, 0, Pattern(10 * 4096, 5), key_).ok());
  Bytes old = ReadFile(path_).value();
  ASSERT_TRUE(Write(kCallerKey, false, 2 * 4096, AsBytes("newer"), key_).ok());
  Bytes now = ReadFile(path_).value();
  size_t node = protected_file::DataNodeIndex(2) * 4096;
  std::copy(old.begin() + node, old.begin() + node + 4096, now.begin() + node);
  ASSERT_TRUE(WriteFile(path_, now, 0600).ok());
  ExpectError(Read(kCallerKey, 0, 10 * 4096, key_).status(), Code::kVerificationFailed, "data block 2");
}

TEST_P(PfEnclaveTest, TruncatedFileOnDiskIsRefused) {
  ASSERT_TRUE(Write(kProduct, true, 0, Pattern(10 * 4096, 6)).ok());
  fs::resize_file(path_, fs::file_size(path_) - 4096);
  ExpectError(Read(kProduct, 0, 10).status(), Code::kVerificationFailed, "is truncated");
}

TEST_P(PfEnclaveTest, WrongCallerKeyIsRefused) {
  ASSERT_TRUE(Write(kCallerKey, true, 0, AsBytes("secret"), key_).ok());
  ExpectError(Read(kCallerKey, 0, 10, Bytes(32, 0x5d)).status(), Code::kVerificationFailed, "wrong key");
}

TEST_P(PfEnclaveTest, KeyKindAndPolicyMustMatchTheFile) {
  ASSERT_TRUE(Write(kUnique, true, 0, AsBytes("sealed")).ok());
  ExpectError(Read(kCallerKey, 0, 10, key_).status(), Code::kInvalidArgument, "enclave sealing key");
  ExpectError(Read(kProduct, 0, 10).status(), Code::kPermissionDenied, "sealed under policy UNIQUE");
  ASSERT_TRUE(Write(kCallerKey, true, 0, AsBytes("mine"), key_).ok());
  ExpectError(Read(kProduct, 0, 10).status(), Code::kInvalidArgument, "created with a caller key");
}

// The policy in node 0 is clear text the host can change. A value that is no policy is named
// as such: it used to be reported as "sealed under policy PRODUCT; open it with that policy"
// to a caller that had just opened it with PRODUCT.
TEST_P(PfEnclaveTest, UnknownPolicyOnDiskIsRefusedAsModified) {
  ASSERT_TRUE(Write(kProduct, true, 0, AsBytes("sealed")).ok());
  Poke(14, 0x05);  // seal policy 2 -> 7
  ExpectError(Read(kProduct, 0, 10).status(), Code::kVerificationFailed, "unknown seal policy 7");
}

TEST_P(PfEnclaveTest, RenamedFileIsRefused) {
  ASSERT_TRUE(Write(kProduct, true, 0, AsBytes("a")).ok());
  fs::rename(path_, dir_ / "other.pf");
  path_ = (dir_ / "other.pf").string();
  ExpectError(Read(kProduct, 0, 10).status(), Code::kVerificationFailed, "was created as 'data.pf'");
}

std::vector<BackendKind> Backends() {
#if CONFIDE_PF_SOFT
  return {BackendKind::kSim, BackendKind::kSoft};
#else
  return {BackendKind::kSim};  // sanitizer builds have no soft backend
#endif
}

INSTANTIATE_TEST_SUITE_P(Backends, PfEnclaveTest, ::testing::ValuesIn(Backends()),
                         [](const ::testing::TestParamInfo<BackendKind>& info) {
                           return std::string(BackendName(info.param));
                         });

}  // namespace
}  // namespace confide
