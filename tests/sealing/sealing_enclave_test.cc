// Sealing and local attestation through real enclaves on sim and soft: the refusals of
// docs/sealing.md and docs/attestation.md, each with its code and message.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "confide/crypto.h"
#include "confide/enclave.h"
#include "confide/platform_services.h"
#include "sealing_test_u.h"

using namespace confide;
namespace ps = confide::platform_services;
namespace fs = std::filesystem;

namespace {

constexpr int kUnique = static_cast<int>(ps::KeyPolicy::kUnique);
constexpr int kProduct = static_cast<int>(ps::KeyPolicy::kProduct);

int Run(const std::string& cmd, std::string* out = nullptr) {
  std::string text;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  int status = pclose(p);
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A shared platform daemon (`confide platform start`) with a state directory that outlives it.
class Daemon {
 public:
  explicit Daemon(fs::path dir, std::string extra = "")
      : dir_(std::move(dir)), socket_((dir_ / "platform.sock").string()), extra_(std::move(extra)) {
    Start();
  }
  ~Daemon() { Stop(); }
  void Start() {
    std::string out;
    int rc = Run(std::string(CONFIDE_CLI_PATH) + " platform start --socket " + socket_ + " --state " +
                     (dir_ / "state").string() + " " + extra_,
                 &out);
    ASSERT_EQ(rc, 0) << out;
    setenv("CONFIDE_PLATFORM_SOCKET", socket_.c_str(), 1);
    running_ = true;
  }
  void Stop() {
    if (!running_) return;
    Run(std::string(CONFIDE_CLI_PATH) + " platform stop --socket " + socket_);
    unsetenv("CONFIDE_PLATFORM_SOCKET");
    running_ = false;
  }
  fs::path state() const { return dir_ / "state"; }

 private:
  fs::path dir_;
  std::string socket_;
  std::string extra_;
  bool running_ = false;
};

fs::path FreshDir(const std::string& what) {
  static int count = 0;
  fs::path d = fs::temp_directory_path() /
               ("confide-sealing-" + what + "-" + std::to_string(getpid()) + "-" + std::to_string(++count));
  fs::create_directories(d);
  return d;
}

Status FromCall(const Result<int>& rc, const Bytes& out) {
  if (!rc.ok()) return rc.status();
  if (*rc == 0) return Status::Ok();
  return Status(static_cast<Code>(*rc), ToString(out));
}

void ExpectError(const Status& s, Code code, const std::string& fragment) {
  EXPECT_EQ(s.code(), code) << s.ToString();
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
}

struct Opened {
  uint16_t svn = 0;
  int policy = 0;
  std::string aad, plaintext;
};

class Enclave {
 public:
  Enclave(const char* path, BackendKind backend) {
    EnclaveOptions o;
    o.backend = backend;
    auto e = create_sealing_test_enclave(path, o);
    EXPECT_TRUE(e.ok()) << path << ": " << e.status().ToString();
    if (e.ok()) e_ = std::move(*e);
  }
  bool ok() const { return e_ != nullptr; }
  confide::Enclave& get() { return *e_; }

  Result<Bytes> Seal(const std::string& data, const std::string& aad = "", int policy = kProduct) {
    Bytes out(data.size() + aad.size() + 1024);
    size_t len = 0;
    auto rc = seal_data(*e_, reinterpret_cast<const uint8_t*>(data.data()), data.size(),
                        reinterpret_cast<const uint8_t*>(aad.data()), aad.size(), policy, out.data(), out.size(), &len);
    out.resize(len);
    Status s = FromCall(rc, out);
    if (!s.ok()) return s;
    return out;
  }
  Result<Opened> Unseal(const Bytes& blob) {
    Bytes out(blob.size() + 1024);
    size_t len = 0;
    auto rc = unseal_data(*e_, blob.data(), blob.size(), out.data(), out.size(), &len);
    out.resize(len);
    Status s = FromCall(rc, out);
    if (!s.ok()) return s;
    Opened o;
    o.svn = static_cast<uint16_t>(out[0] | (out[1] << 8));
    o.policy = out[2] | (out[3] << 8);
    uint32_t aad_len = out[4] | (out[5] << 8) | (out[6] << 16) | (uint32_t(out[7]) << 24);
    o.aad.assign(out.begin() + 8, out.begin() + 8 + aad_len);
    o.plaintext.assign(out.begin() + 8 + aad_len, out.end());
    return o;
  }
  Result<ps::ReportBody> Identity() {
    Bytes out(1024);
    size_t len = 0;
    auto rc = self_identity(*e_, out.data(), out.size(), &len);
    out.resize(len);
    Status s = FromCall(rc, out);
    if (!s.ok()) return s;
    return ps::DecodeReportBody(out);
  }
  Bytes TargetInfo() {
    Bytes out(64);
    auto rc = target_info(*e_, out.data());
    EXPECT_TRUE(rc.ok() && *rc == 0);
    return out;
  }
  Result<Bytes> Report(const Bytes& target, const ps::ReportData& data) {
    Bytes out(1024);
    size_t len = 0;
    auto rc = make_report(*e_, target.data(), data.data(), out.data(), out.size(), &len);
    out.resize(len);
    Status s = FromCall(rc, out);
    if (!s.ok()) return s;
    return out;
  }
  Result<ps::ReportBody> Verify(const Bytes& report) {
    Bytes out(1024);
    size_t len = 0;
    auto rc = verify_report(*e_, report.data(), report.size(), out.data(), out.size(), &len);
    out.resize(len);
    Status s = FromCall(rc, out);
    if (!s.ok()) return s;
    return ps::DecodeReportBody(out);
  }
  void SetRotation(uint64_t seals) {
    auto rc = set_seal_rotation(*e_, seals);
    ASSERT_TRUE(rc.ok() && *rc == 0);
  }
  Result<Bytes> Raw(const Bytes& request) {
    Bytes out(128 * 1024);
    size_t len = 0;
    auto rc = raw_platform(*e_, request.data(), request.size(), out.data(), out.size(), &len);
    out.resize(len);
    Status s = FromCall(rc, out);
    if (!s.ok()) return s;
    return out;
  }

 private:
  std::unique_ptr<confide::Enclave> e_;
};

class Sealing : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override {
    if (GetParam() == BackendKind::kSoft) daemon_ = std::make_unique<Daemon>(dir_);
  }
  void TearDown() override {
    daemon_.reset();
    fs::remove_all(dir_);
  }
  Enclave Open(const char* path) { return Enclave(path, GetParam()); }

  fs::path dir_ = FreshDir("daemon");
  std::unique_ptr<Daemon> daemon_;
};

// ---------------------------------------------------------------- round trips
TEST_P(Sealing, RoundTripWithAadUnderBothPolicies) {
  Enclave e = Open(SEALING_V1);
  ASSERT_TRUE(e.ok());
  for (int policy : {kProduct, kUnique}) {
    auto blob = e.Seal("the secret", "context", policy);
    ASSERT_TRUE(blob.ok()) << blob.status().ToString();
    EXPECT_EQ(blob->size(), 68u + 7 + 10 + 16);
    EXPECT_EQ(std::memcmp(blob->data(), "CFSL", 4), 0);
    auto opened = e.Unseal(*blob);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(opened->plaintext, "the secret");
    EXPECT_EQ(opened->aad, "context");
    EXPECT_EQ(opened->svn, 1);
    EXPECT_EQ(opened->policy, policy);
  }
  // Empty plaintext and aad seal too.
  auto empty = e.Seal("");
  ASSERT_TRUE(empty.ok());
  auto opened = e.Unseal(*empty);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->plaintext, "");
}

Bytes KeyIdOf(const Bytes& blob) { return Bytes(blob.begin() + 12, blob.begin() + 44); }
Bytes IvOf(const Bytes& blob) { return Bytes(blob.begin() + 44, blob.begin() + 56); }

// One instance seals under one cached key per (policy, svn); each blob gets its own IV.
TEST_P(Sealing, SealsInOneInstanceShareAKeyIdButNeverAnIv) {
  Enclave e = Open(SEALING_V1);
  ASSERT_TRUE(e.ok());
  std::set<Bytes> ivs;
  Bytes first_id;
  for (int i = 0; i < 16; ++i) {
    auto b = e.Seal("same");
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    if (i == 0) first_id = KeyIdOf(*b);
    EXPECT_EQ(KeyIdOf(*b), first_id) << "seal " << i;
    EXPECT_TRUE(ivs.insert(IvOf(*b)).second) << "seal " << i << " repeated an IV";
    auto opened = e.Unseal(*b);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(opened->plaintext, "same");
  }
  EXPECT_NE(first_id, Bytes(32, 0));
  // The other policy has its own key.
  auto unique = e.Seal("same", "", kUnique);
  ASSERT_TRUE(unique.ok());
  EXPECT_NE(KeyIdOf(*unique), first_id);
  // Another instance of the same enclave picks its own key id.
  Enclave other = Open(SEALING_V1);
  ASSERT_TRUE(other.ok());
  auto theirs = other.Seal("same");
  ASSERT_TRUE(theirs.ok());
  EXPECT_NE(KeyIdOf(*theirs), first_id);
  // Each opens the other's blobs (keys derive from the key id, not from the instance).
  auto mine = e.Seal("mine");
  ASSERT_TRUE(mine.ok());
  auto a = other.Unseal(*mine), b = e.Unseal(*theirs);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status().ToString() << " / " << b.status().ToString();
  EXPECT_EQ(a->plaintext, "mine");
  EXPECT_EQ(b->plaintext, "same");
}

TEST_P(Sealing, SealingKeyRotatesAfterItsSealCountAndOldBlobsStillOpen) {
  Enclave e = Open(SEALING_V1);
  ASSERT_TRUE(e.ok());
  e.SetRotation(3);
  std::vector<Bytes> blobs;
  for (int i = 0; i < 7; ++i) {
    auto b = e.Seal("blob " + std::to_string(i));
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    blobs.push_back(*b);
  }
  EXPECT_EQ(KeyIdOf(blobs[0]), KeyIdOf(blobs[2]));
  EXPECT_NE(KeyIdOf(blobs[2]), KeyIdOf(blobs[3]));
  EXPECT_EQ(KeyIdOf(blobs[3]), KeyIdOf(blobs[5]));
  EXPECT_NE(KeyIdOf(blobs[5]), KeyIdOf(blobs[6]));
  EXPECT_NE(KeyIdOf(blobs[0]), KeyIdOf(blobs[6]));
  for (size_t i = 0; i < blobs.size(); ++i) {
    auto opened = e.Unseal(blobs[i]);
    ASSERT_TRUE(opened.ok()) << i << ": " << opened.status().ToString();
    EXPECT_EQ(opened->plaintext, "blob " + std::to_string(i));
  }
}

// More key ids than the unseal cache holds (8): evicted keys derive again through the
// platform, and a cached key does not make a changed blob open.
TEST_P(Sealing, BlobsUnderManyKeyIdsOpenPastTheCacheBoundAndChangedOnesStillFail) {
  Enclave e = Open(SEALING_V1);
  ASSERT_TRUE(e.ok());
  e.SetRotation(1);
  std::vector<Bytes> blobs;
  for (int i = 0; i < 12; ++i) {
    auto b = e.Seal("key " + std::to_string(i));
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    blobs.push_back(*b);
  }
  std::set<Bytes> ids;
  for (const Bytes& b : blobs) ids.insert(KeyIdOf(b));
  EXPECT_EQ(ids.size(), blobs.size());
  for (int round = 0; round < 2; ++round)
    for (size_t i = 0; i < blobs.size(); ++i) {
      auto opened = e.Unseal(blobs[i]);
      ASSERT_TRUE(opened.ok()) << "round " << round << " blob " << i << ": " << opened.status().ToString();
      EXPECT_EQ(opened->plaintext, "key " + std::to_string(i));
    }
  Bytes changed = blobs.back();
  changed[changed.size() - 20] ^= 1;
  ExpectError(e.Unseal(changed).status(), Code::kVerificationFailed, "changed after sealing");
  // A blob naming a key id this instance never saw is not opened by a cached key either.
  Bytes other_id = blobs.back();
  other_id[12] ^= 1;
  ExpectError(e.Unseal(other_id).status(), Code::kVerificationFailed, "changed after sealing");
}

TEST_P(Sealing, SurvivesEnclaveRecreation) {
  Bytes blob;
  {
    Enclave e = Open(SEALING_V1);
    ASSERT_TRUE(e.ok());
    auto b = e.Seal("kept across instances", "", kUnique);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    blob = *b;
  }
  Enclave again = Open(SEALING_V1);
  ASSERT_TRUE(again.ok());
  auto opened = again.Unseal(blob);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->plaintext, "kept across instances");
}

// ---------------------------------------------------------------- identity rules
TEST_P(Sealing, UpgradedEnclaveReadsOlderDataOlderCannotReadNewer) {
  Enclave v1 = Open(SEALING_V1), v2 = Open(SEALING_V2);
  ASSERT_TRUE(v1.ok() && v2.ok());
  auto old_blob = v1.Seal("from v1");
  ASSERT_TRUE(old_blob.ok());
  auto opened = v2.Unseal(*old_blob);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->plaintext, "from v1");
  EXPECT_EQ(opened->svn, 1);

  auto new_blob = v2.Seal("from v2");
  ASSERT_TRUE(new_blob.ok());
  ExpectError(v1.Unseal(*new_blob).status(), Code::kPermissionDenied,
              "sealed by SecurityVersion 2 and this enclave is SecurityVersion 1");
  // The platform enforces the rule itself, whatever the enclave's code asks.
  auto rc = seal_key(v1.get(), kProduct, 2);
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, static_cast<int>(Code::kPermissionDenied));
  rc = seal_key(v2.get(), kProduct, 1);
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0);
}

TEST_P(Sealing, OtherSignerAndOtherProductAreRefused) {
  Enclave v1 = Open(SEALING_V1), signer2 = Open(SEALING_SIGNER2), product2 = Open(SEALING_PRODUCT2);
  ASSERT_TRUE(v1.ok() && signer2.ok() && product2.ok());
  auto blob = v1.Seal("product data");
  ASSERT_TRUE(blob.ok());
  ExpectError(signer2.Unseal(*blob).status(), Code::kVerificationFailed, "another signer or product");
  ExpectError(product2.Unseal(*blob).status(), Code::kVerificationFailed, "another signer or product");
  auto id1 = v1.Identity(), id2 = signer2.Identity();
  ASSERT_TRUE(id1.ok() && id2.ok());
  EXPECT_NE(id1->identity.mrsigner, id2->identity.mrsigner);
}

TEST_P(Sealing, UniqueBindsMrenclaveProductSharesAcrossBuilds) {
  Enclave v1 = Open(SEALING_V1), clone = Open(SEALING_CLONE);
  ASSERT_TRUE(v1.ok() && clone.ok());
  auto id1 = v1.Identity(), idc = clone.Identity();
  ASSERT_TRUE(id1.ok() && idc.ok());
  ASSERT_NE(id1->identity.mrenclave, idc->identity.mrenclave);
  EXPECT_EQ(id1->identity.mrsigner, idc->identity.mrsigner);
  EXPECT_EQ(id1->platform_id, idc->platform_id);

  auto unique = v1.Seal("only me", "", kUnique);
  ASSERT_TRUE(unique.ok());
  ExpectError(clone.Unseal(*unique).status(), Code::kVerificationFailed, "under policy UNIQUE");
  auto product = v1.Seal("my product", "", kProduct);
  ASSERT_TRUE(product.ok());
  auto opened = clone.Unseal(*product);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->plaintext, "my product");
}

TEST_P(Sealing, CallerBufferVariantsRoundTripAndCheckSizes) {
  Enclave e = Open(SEALING_V1);
  ASSERT_TRUE(e.ok());
  Bytes out(1024);
  size_t len = 0;
  auto rc = caller_buffers(e.get(), out.data(), out.size(), &len);
  out.resize(len);
  Status s = FromCall(rc, out);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

// ---------------------------------------------------------------- damaged blobs
TEST_P(Sealing, DamagedBlobsAreRefusedEachWithItsOwnError) {
  Enclave e = Open(SEALING_V1);
  ASSERT_TRUE(e.ok());
  auto sealed = e.Seal("some plaintext", "aad!");
  ASSERT_TRUE(sealed.ok());
  const Bytes blob = *sealed;
  auto flipped = [&](size_t offset, uint8_t mask = 0x01) {
    Bytes b = blob;
    b[offset] ^= mask;
    return b;
  };
  // One flipped bit anywhere the MAC covers: key id, iv, aad, ciphertext, tag.
  for (size_t off : {size_t{12}, size_t{50}, size_t{68}, size_t{75}, blob.size() - 1})
    ExpectError(e.Unseal(flipped(off)).status(), Code::kVerificationFailed, "changed after sealing");
  ExpectError(e.Unseal(flipped(0)).status(), Code::kInvalidArgument, "does not start with the magic");
  ExpectError(e.Unseal(flipped(4, 0x02)).status(), Code::kUnsupported, "sealed blob version 3 is not supported");
  ExpectError(e.Unseal(flipped(6, 0x04)).status(), Code::kInvalidArgument, "unknown key policy 6");
  ExpectError(e.Unseal(flipped(8, 0x04)).status(), Code::kPermissionDenied, "sealed by SecurityVersion 5");
  ExpectError(e.Unseal(flipped(8, 0x01)).status(), Code::kVerificationFailed, "changed after sealing");  // svn 0
  ExpectError(e.Unseal(flipped(10)).status(), Code::kInvalidArgument, "reserved header bytes");
  ExpectError(e.Unseal(flipped(56)).status(), Code::kInvalidArgument, "truncated: its header describes");
  ExpectError(e.Unseal(flipped(64)).status(), Code::kInvalidArgument, "truncated");
  // Truncated or oversized.
  ExpectError(e.Unseal(Bytes(blob.begin(), blob.end() - 1)).status(), Code::kInvalidArgument,
              "truncated: its header describes 102 bytes but only 101 are present");
  ExpectError(e.Unseal(Bytes(blob.begin(), blob.begin() + 30)).status(), Code::kInvalidArgument,
              "30 bytes is shorter than its 68-byte header");
  ExpectError(e.Unseal(Bytes(blob.begin(), blob.begin() + 3)).status(), Code::kInvalidArgument,
              "shorter than its 68-byte header");
  Bytes longer = blob;
  longer.push_back(0);
  ExpectError(e.Unseal(longer).status(), Code::kInvalidArgument, "oversized: 1 bytes follow the 102");
  Bytes shrunk_aad = flipped(56, 0x04);  // aad_len 4 -> 0: the lengths no longer add up
  ExpectError(e.Unseal(shrunk_aad).status(), Code::kInvalidArgument, "oversized");
  // The untouched blob still opens.
  EXPECT_TRUE(e.Unseal(blob).ok());
}

// ---------------------------------------------------------------- local attestation
TEST_P(Sealing, ReportVerifiesInItsTargetOnly) {
  Enclave a = Open(SEALING_V1), b = Open(SEALING_CLONE);
  ASSERT_TRUE(a.ok() && b.ok());
  ps::ReportData data;
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 3);
  auto report = a.Report(b.TargetInfo(), data);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->size(), ps::kReportSize);
  auto body = b.Verify(*report);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  auto a_id = a.Identity();
  ASSERT_TRUE(a_id.ok());
  EXPECT_EQ(body->identity, a_id->identity);
  EXPECT_EQ(body->report_data, data);
  EXPECT_EQ(body->platform_id, a_id->platform_id);
  EXPECT_TRUE(body->identity.debug);
  bool development = GetParam() == BackendKind::kSim;  // the soft daemon here is not --development
  EXPECT_EQ((body->flags & ps::kReportFlagDevelopment) != 0, development);

  // Made for B: A itself (or any other enclave) cannot verify it.
  ExpectError(a.Verify(*report).status(), Code::kVerificationFailed, "made for another enclave");
  // The relaying host changes one bit: of report data, identity, flags, key id or MAC.
  for (size_t off : {size_t{112}, size_t{8}, size_t{72}, size_t{240}, size_t{300}}) {
    Bytes altered = *report;
    altered[off] ^= 0x01;
    ExpectError(b.Verify(altered).status(), Code::kVerificationFailed, "changed on its way");
  }
  Bytes dev_flag = *report;
  dev_flag[4] ^= static_cast<uint8_t>(ps::kReportFlagDevelopment);
  ExpectError(b.Verify(dev_flag).status(), Code::kVerificationFailed, "changed on its way");
  ExpectError(b.Verify(Bytes(report->begin(), report->end() - 1)).status(), Code::kInvalidArgument,
              "a report must be exactly 304 bytes, got 303");
  Bytes bad_version = *report;
  bad_version[0] = 9;
  ExpectError(b.Verify(bad_version).status(), Code::kUnsupported, "report version 9");
}

TEST_P(Sealing, HostCannotForgeAReportWithoutThePlatformRoot) {
  Enclave a = Open(SEALING_V1), b = Open(SEALING_CLONE);
  ASSERT_TRUE(a.ok() && b.ok());
  auto report = a.Report(b.TargetInfo(), ps::ReportData{});
  ASSERT_TRUE(report.ok());
  // The host puts its own public key hash in report_data and keeps the MAC: refused.
  Bytes forged = *report;
  std::memset(forged.data() + 112, 0xAB, 64);
  ExpectError(b.Verify(forged).status(), Code::kVerificationFailed, "changed on its way");
  // With a root of its own making, the host's MAC does not verify either.
  ps::KeyService own(ps::Key{}, false);
  auto b_id = b.Identity();
  ASSERT_TRUE(b_id.ok());
  auto mine = own.MakeReport(a.Identity()->identity, ps::TargetInfo{b_id->identity.mrenclave, b_id->identity.debug},
                             ps::ReportData{});
  ASSERT_TRUE(mine.ok());
  ExpectError(b.Verify(ps::EncodeReport(*mine)).status(), Code::kVerificationFailed, "made for another enclave");
}

// sim protects nothing: its root is public, so the host CAN forge reports and keys there.
// This test pins that fact down so the documentation's warning stays true.
TEST(SealingSim, HostCanForgeOnSimByDesign) {
  Enclave b(SEALING_CLONE, BackendKind::kSim);
  ASSERT_TRUE(b.ok());
  auto b_id = b.Identity();
  ASSERT_TRUE(b_id.ok());
  ps::KeyService sim(ps::SimRootSecret(), true);
  ps::Identity fake;
  fake.mrenclave.fill(0x66);
  ps::ReportData data;
  data.fill(0x77);
  auto rep = sim.MakeReport(fake, ps::TargetInfo{b_id->identity.mrenclave, b_id->identity.debug}, data);
  ASSERT_TRUE(rep.ok());
  auto body = b.Verify(ps::EncodeReport(*rep));
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ(body->identity.mrenclave, fake.mrenclave);
  EXPECT_NE(body->flags & ps::kReportFlagDevelopment, 0u);  // the one thing that gives it away
}

// ---------------------------------------------------------------- platform messages
TEST_P(Sealing, MalformedPlatformRequestsGetErrorRepliesAndThePlatformKeepsServing) {
  Enclave e = Open(SEALING_V1);
  ASSERT_TRUE(e.ok());
  auto reply = e.Raw(Bytes{0xde, 0xad});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  ExpectError(ps::DecodeReply(*reply).status(), Code::kInvalidArgument, "shorter than its 4-byte operation code");
  reply = e.Raw(Bytes{42, 0, 0, 0});
  ASSERT_TRUE(reply.ok());
  ExpectError(ps::DecodeReply(*reply).status(), Code::kInvalidArgument, "unknown platform operation 42");
  Bytes huge(ps::kMaxMessageBytes + 100, 0);
  huge[0] = 2;
  reply = e.Raw(huge);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  ExpectError(ps::DecodeReply(*reply).status(), Code::kInvalidArgument, "exceeds");
  Bytes bad_key = ps::EncodeGetKey(ps::KeyRequest{});
  bad_key[6] = 9;  // policy 9
  reply = e.Raw(bad_key);
  ASSERT_TRUE(reply.ok());
  ExpectError(ps::DecodeReply(*reply).status(), Code::kInvalidArgument, "unknown key policy 9");
  // Still serving, and replies stay paired with their requests.
  auto blob = e.Seal("after garbage");
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  EXPECT_TRUE(e.Unseal(*blob).ok());
}

// An empty request is a malformed one like any other. On soft it arrives as a zero-length
// message, which recvmsg reports as it reports a closed connection: the daemon used to drop
// the enclave's platform link for good, and every later key request said the daemon had gone.
TEST_P(Sealing, EmptyPlatformRequestGetsAnErrorReplyAndTheLinkStays) {
  Enclave e = Open(SEALING_V1);
  ASSERT_TRUE(e.ok());
  auto reply = e.Raw(Bytes{});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  ExpectError(ps::DecodeReply(*reply).status(), Code::kInvalidArgument,
              "platform request of 0 bytes is shorter than its 4-byte operation code");
  auto blob = e.Seal("after an empty request");
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  EXPECT_TRUE(e.Unseal(*blob).ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, Sealing,
                         ::testing::Values(BackendKind::kSim
#if CONFIDE_SEALING_SOFT
                                           ,
                                           BackendKind::kSoft
#endif
                                           ),
                         [](const auto& info) { return std::string(BackendName(info.param)); });

#if CONFIDE_SEALING_SOFT
// ---------------------------------------------------------------- soft: the daemon's root
TEST(SealingSoft, SurvivesARestartOfASharedDaemonWithTheSameState) {
  fs::path dir = FreshDir("restart");
  Daemon d(dir);
  Bytes blob;
  {
    Enclave e(SEALING_V1, BackendKind::kSoft);
    ASSERT_TRUE(e.ok());
    auto b = e.Seal("outlives the daemon", "", kUnique);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    blob = *b;
  }
  struct stat st {};
  ASSERT_EQ(stat((d.state() / "root.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  d.Stop();
  d.Start();
  {
    Enclave e(SEALING_V1, BackendKind::kSoft);
    ASSERT_TRUE(e.ok());
    auto opened = e.Unseal(blob);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(opened->plaintext, "outlives the daemon");
  }
  d.Stop();
  // Another state directory is another platform: its root differs, the blob does not open.
  fs::path other = FreshDir("other");
  {
    Daemon d2(other);
    Enclave e(SEALING_V1, BackendKind::kSoft);
    ASSERT_TRUE(e.ok());
    ExpectError(e.Unseal(blob).status(), Code::kVerificationFailed, "on another platform");
  }
  fs::remove_all(other);
  fs::remove_all(dir);
}

TEST(SealingSoft, DevelopmentDaemonsMarkReportsAndAStoppedDaemonIsReported) {
  fs::path dir = FreshDir("dev");
  {
    Daemon d(dir, "--development");
    Enclave e(SEALING_V1, BackendKind::kSoft);
    ASSERT_TRUE(e.ok());
    auto id = e.Identity();
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    EXPECT_NE(id->flags & ps::kReportFlagDevelopment, 0u);
    // The daemon goes away under a running enclave: platform calls fail with a clear error.
    d.Stop();
    auto blob = e.Seal("no platform");
    ExpectError(blob.status(), Code::kUnavailable, "the platform daemon closed its connection to this enclave");
  }
  fs::remove_all(dir);
}

// A production daemon whose platform chain makes quotes larger than a platform message (64 KiB):
// the enclave used to receive the first 64 KiB of the quote as a successful reply.
TEST(SealingSoft, AQuoteOverTheMessageLimitIsRefusedNotCutShort) {
  if (std::system("openssl version > /dev/null 2>&1") != 0) GTEST_SKIP() << "the openssl command is not installed";
  fs::path dir = FreshDir("bigchain");
  const std::string cli = CONFIDE_CLI_PATH, d = dir.string();
  std::string out;
  ASSERT_EQ(::Run(cli + " provision init --out " + d + "/ca", &out), 0) << out;
  ASSERT_EQ(::Run(cli + " platform csr --state " + d + "/state --out " + d + "/p.csr", &out), 0) << out;
  ASSERT_EQ(::Run(cli + " provision certify --ca " + d + "/ca --csr " + d + "/p.csr --platform-svn 1 --out " + d +
                    "/prod.pem", &out), 0) << out;
  // Six issuers of about 12 KB each: the chain is allowed (at most 8 certificates), the quote
  // is not (over 64 KiB).
  const std::string comment(12000, 'x');
  for (int i = 0; i < 6; ++i)
    ASSERT_EQ(::Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "
                  "/CN=big" + std::to_string(i) + " -addext nsComment=" + comment + " -days 30 >> " + d + "/chain.pem",
                  &out), 0) << out;
  {
    Daemon daemon(dir, "--cert " + d + "/prod.pem --chain " + d + "/chain.pem");
    Enclave e(SEALING_V1, BackendKind::kSoft);
    ASSERT_TRUE(e.ok());
    auto reply = e.Raw(ps::EncodeGetQuote(ps::ReportData{}));
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    auto quote = ps::DecodeReply(*reply);
    EXPECT_FALSE(quote.ok()) << "a quote of " << quote->size() << " bytes came back as a success";
    ExpectError(quote.status(), Code::kOutOfRange, "platform certificate chain");
    // Everything else still works.
    auto blob = e.Seal("after the refused quote");
    ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  }
  fs::remove_all(dir);
}

TEST(SealingSoft, SimBlobsDoNotOpenOnSoftAndBack) {
  Enclave sim(SEALING_V1, BackendKind::kSim);
  ASSERT_TRUE(sim.ok());
  auto blob = sim.Seal("sealed on sim");
  ASSERT_TRUE(blob.ok());
  fs::path dir = FreshDir("cross");
  {
    Daemon d(dir);
    Enclave soft(SEALING_V1, BackendKind::kSoft);
    ASSERT_TRUE(soft.ok());
    ExpectError(soft.Unseal(*blob).status(), Code::kVerificationFailed, "on another platform");
    auto soft_blob = soft.Seal("sealed on soft");
    ASSERT_TRUE(soft_blob.ok());
    ExpectError(sim.Unseal(*soft_blob).status(), Code::kVerificationFailed, "on another platform");
    // Reports do not cross platforms either.
    auto rep = soft.Report(sim.TargetInfo(), ps::ReportData{});
    ASSERT_TRUE(rep.ok());
    ExpectError(sim.Verify(*rep).status(), Code::kVerificationFailed, "on another platform");
  }
  fs::remove_all(dir);
}
#endif

}  // namespace
