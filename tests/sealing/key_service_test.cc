// platform_services: formats, the key service's derivation rules, reports and the root file.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "cli/cli_runner.h"
#include "confide/crypto.h"
#include "confide/platform_services.h"

using namespace confide;
using namespace confide::platform_services;
using confide::testing::TempDir;

namespace {

Key RootOf(uint8_t fill) {
  Key k;
  k.fill(fill);
  return k;
}

Identity MakeIdentity(uint8_t enclave, uint8_t signer, uint16_t product, uint16_t svn, bool debug = false) {
  Identity id;
  id.mrenclave.fill(enclave);
  id.mrsigner.fill(signer);
  id.product_id = product;
  id.security_version = svn;
  id.debug = debug;
  return id;
}

KeyRequest Seal(KeyPolicy policy, uint16_t svn, uint8_t key_id = 7) {
  KeyRequest r;
  r.name = KeyName::kSeal;
  r.policy = policy;
  r.svn = svn;
  r.key_id.fill(key_id);
  return r;
}

Key Derive(const KeyService& ks, const Identity& id, const KeyRequest& r) {
  auto k = ks.DeriveKey(id, r);
  EXPECT_TRUE(k.ok()) << k.status().ToString();
  return k.ok() ? *k : Key{};
}

void ExpectError(const Status& s, Code code, const std::string& fragment) {
  EXPECT_EQ(s.code(), code) << s.ToString();
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
}

// ---------------------------------------------------------------- derivation rules
TEST(KeyService, SameInputsSameKeyAndEveryInputMatters) {
  KeyService ks(RootOf(1), false);
  Identity id = MakeIdentity(0xA1, 0xB1, 3, 5);
  Key base = Derive(ks, id, Seal(KeyPolicy::kProduct, 5));
  EXPECT_EQ(base, Derive(ks, id, Seal(KeyPolicy::kProduct, 5)));
  EXPECT_NE(base, Derive(ks, id, Seal(KeyPolicy::kProduct, 4)));           // svn
  EXPECT_NE(base, Derive(ks, id, Seal(KeyPolicy::kProduct, 5, 8)));        // key id
  EXPECT_NE(base, Derive(ks, id, Seal(KeyPolicy::kUnique, 5)));            // policy
  KeyService other_root(RootOf(2), false);
  EXPECT_NE(base, Derive(other_root, id, Seal(KeyPolicy::kProduct, 5)));  // platform
}

// The derivation is plain RFC 5869 HKDF-SHA-256 over the documented inputs (docs/sealing.md),
// so anyone holding a root can recompute a key with any HKDF implementation.
TEST(KeyService, DerivationIsHkdfOverTheDocumentedMaterial) {
  Key root = RootOf(9);
  KeyService ks(root, false);
  Identity id = MakeIdentity(0xA1, 0xB1, 0x0203, 5, true);
  Bytes info = {1, 0, 2, 0, 4, 0, 1};  // seal, PRODUCT, svn 4, debug
  info.insert(info.end(), 32, 0);      // MRENCLAVE: zero under PRODUCT
  info.insert(info.end(), 32, 0xB1);   // MRSIGNER
  info.push_back(0x03);                // ProductID, little-endian
  info.push_back(0x02);
  info.insert(info.end(), 32, 7);      // key id
  auto expected = crypto::Hkdf(crypto::HashAlg::kSha256, root, AsBytes("confide/platform-key-derivation/v1"), info, 32);
  ASSERT_TRUE(expected.ok());
  Key got = Derive(ks, id, Seal(KeyPolicy::kProduct, 4));
  EXPECT_EQ(Bytes(got.begin(), got.end()), Bytes(expected->data(), expected->data() + 32));
}

TEST(KeyService, ProductPolicyBindsSignerAndProductNotMrenclave) {
  KeyService ks(RootOf(1), false);
  Identity v1 = MakeIdentity(0xA1, 0xB1, 3, 5);
  Identity v2 = MakeIdentity(0xA2, 0xB1, 3, 5);  // another build of the same product
  EXPECT_EQ(Derive(ks, v1, Seal(KeyPolicy::kProduct, 5)), Derive(ks, v2, Seal(KeyPolicy::kProduct, 5)));
  Identity other_signer = MakeIdentity(0xA1, 0xB2, 3, 5);
  EXPECT_NE(Derive(ks, v1, Seal(KeyPolicy::kProduct, 5)), Derive(ks, other_signer, Seal(KeyPolicy::kProduct, 5)));
  Identity other_product = MakeIdentity(0xA1, 0xB1, 4, 5);
  EXPECT_NE(Derive(ks, v1, Seal(KeyPolicy::kProduct, 5)), Derive(ks, other_product, Seal(KeyPolicy::kProduct, 5)));
}

TEST(KeyService, UniquePolicyBindsMrenclave) {
  KeyService ks(RootOf(1), false);
  Identity a = MakeIdentity(0xA1, 0xB1, 3, 5);
  Identity b = MakeIdentity(0xA2, 0xB1, 3, 5);
  EXPECT_NE(Derive(ks, a, Seal(KeyPolicy::kUnique, 5)), Derive(ks, b, Seal(KeyPolicy::kUnique, 5)));
  // Same MRENCLAVE: the signer field does not enter a UNIQUE key (as SGX's MRENCLAVE policy).
  Identity a_resigned = MakeIdentity(0xA1, 0xB2, 9, 5);
  EXPECT_EQ(Derive(ks, a, Seal(KeyPolicy::kUnique, 5)), Derive(ks, a_resigned, Seal(KeyPolicy::kUnique, 5)));
}

TEST(KeyService, DebugEnclavesNeverGetProductionKeys) {
  KeyService ks(RootOf(1), false);
  Identity prod = MakeIdentity(0xA1, 0xB1, 3, 5, false);
  Identity dbg = MakeIdentity(0xA1, 0xB1, 3, 5, true);
  for (KeyPolicy p : {KeyPolicy::kUnique, KeyPolicy::kProduct})
    EXPECT_NE(Derive(ks, prod, Seal(p, 5)), Derive(ks, dbg, Seal(p, 5)));
}

TEST(KeyService, SvnAboveOwnIsRefusedOlderAllowed) {
  KeyService ks(RootOf(1), false);
  Identity v5 = MakeIdentity(0xA1, 0xB1, 3, 5);
  Identity v6 = MakeIdentity(0xA2, 0xB1, 3, 6);
  // The upgraded enclave derives the older version's key: the same bytes.
  EXPECT_EQ(Derive(ks, v5, Seal(KeyPolicy::kProduct, 5)), Derive(ks, v6, Seal(KeyPolicy::kProduct, 5)));
  auto refused = ks.DeriveKey(v5, Seal(KeyPolicy::kProduct, 6));
  ASSERT_FALSE(refused.ok());
  ExpectError(refused.status(), Code::kPermissionDenied, "SecurityVersion 6 is refused to an enclave of SecurityVersion 5");
}

TEST(KeyService, ReportKeysTakeUniqueAndSvnZeroOnly) {
  KeyService ks(RootOf(1), false);
  Identity id = MakeIdentity(0xA1, 0xB1, 3, 5);
  KeyRequest r = Seal(KeyPolicy::kProduct, 0);
  r.name = KeyName::kReport;
  ExpectError(ks.DeriveKey(id, r).status(), Code::kInvalidArgument, "policy UNIQUE and svn 0");
  r.policy = KeyPolicy::kUnique;
  r.svn = 1;
  ExpectError(ks.DeriveKey(id, r).status(), Code::kInvalidArgument, "policy UNIQUE and svn 0");
  r.svn = 0;
  Key report_key = Derive(ks, id, r);
  EXPECT_NE(report_key, Derive(ks, id, Seal(KeyPolicy::kUnique, 0)));  // never a seal key
}

TEST(KeyService, PlatformIdIsStablePerRootAndRevealsNoKey) {
  KeyService a(RootOf(1), false), a2(RootOf(1), true), b(RootOf(2), false);
  EXPECT_EQ(a.platform_id(), a2.platform_id());
  EXPECT_NE(a.platform_id(), b.platform_id());
  Digest zero{};
  EXPECT_NE(a.platform_id(), zero);
  Key root = RootOf(1);
  Bytes direct = crypto::Sha256(root);
  EXPECT_NE(Bytes(a.platform_id().begin(), a.platform_id().end()), direct);
}

// ---------------------------------------------------------------- reports
TEST(Reports, MacVerifiesWithTheTargetsReportKeyOnly) {
  KeyService ks(RootOf(1), true);
  Identity reporter = MakeIdentity(0xA1, 0xB1, 3, 5, true);
  Identity target = MakeIdentity(0xC1, 0xB1, 3, 5, true);
  ReportData data;
  data.fill(0x5A);
  auto rep = ks.MakeReport(reporter, TargetInfo{target.mrenclave, target.debug}, data);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_EQ(rep->body.identity, reporter);
  EXPECT_EQ(rep->body.report_data, data);
  EXPECT_EQ(rep->body.platform_id, ks.platform_id());
  EXPECT_EQ(rep->body.flags, kReportFlagDebug | kReportFlagDevelopment);

  auto mac_with = [&](const Identity& who) {
    KeyRequest kr{KeyName::kReport, KeyPolicy::kUnique, 0, rep->key_id};
    Key k = Derive(ks, who, kr);
    return crypto::Hmac(crypto::HashAlg::kSha256, k, EncodeReportBody(rep->body));
  };
  Bytes mac(rep->mac.begin(), rep->mac.end());
  EXPECT_EQ(mac_with(target), mac);
  EXPECT_NE(mac_with(reporter), mac);
  EXPECT_NE(mac_with(MakeIdentity(0xC1, 0xB1, 3, 5, false)), mac);  // same MRENCLAVE, production
  // Two reports with the same contents use fresh key ids.
  auto again = ks.MakeReport(reporter, TargetInfo{target.mrenclave, target.debug}, data);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->key_id, rep->key_id);
}

TEST(Reports, ProductionPlatformLeavesDevelopmentFlagClear) {
  KeyService ks(RootOf(1), false);
  auto rep = ks.MakeReport(MakeIdentity(1, 2, 3, 4), TargetInfo{}, ReportData{});
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->body.flags, 0u);
}

// ---------------------------------------------------------------- formats
TEST(Formats, RoundTrips) {
  TargetInfo t{MakeIdentity(9, 0, 0, 0).mrenclave, true};
  Bytes te = EncodeTargetInfo(t);
  ASSERT_EQ(te.size(), kTargetInfoSize);
  auto td = DecodeTargetInfo(te);
  ASSERT_TRUE(td.ok());
  EXPECT_EQ(td->mrenclave, t.mrenclave);
  EXPECT_TRUE(td->debug);

  KeyService ks(RootOf(3), true);
  ReportData data;
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i);
  auto rep = ks.MakeReport(MakeIdentity(1, 2, 0x1234, 0x5678, true), t, data);
  ASSERT_TRUE(rep.ok());
  Bytes enc = EncodeReport(*rep);
  ASSERT_EQ(enc.size(), kReportSize);
  ASSERT_EQ(EncodeReportBody(rep->body).size(), kReportBodySize);
  auto dec = DecodeReport(enc);
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  EXPECT_EQ(dec->body.identity, rep->body.identity);
  EXPECT_EQ(dec->body.flags, rep->body.flags);
  EXPECT_EQ(dec->body.report_data, data);
  EXPECT_EQ(dec->key_id, rep->key_id);
  EXPECT_EQ(dec->mac, rep->mac);
  EXPECT_EQ(EncodeReport(*dec), enc);
  // Documented offsets (docs/attestation.md).
  EXPECT_EQ(enc[72], 0x34);
  EXPECT_EQ(enc[73], 0x12);
  EXPECT_EQ(enc[74], 0x78);
  EXPECT_EQ(enc[112], 0);
  EXPECT_EQ(enc[113], 1);
}

TEST(Formats, EveryDecodeRefusal) {
  KeyService ks(RootOf(3), false);
  Bytes rep = EncodeReport(*ks.MakeReport(MakeIdentity(1, 2, 3, 4), TargetInfo{}, ReportData{}));
  ExpectError(DecodeReport(ByteSpan(rep).first(rep.size() - 1)).status(), Code::kInvalidArgument,
              "a report must be exactly 304 bytes, got 303");
  Bytes longer = rep;
  longer.push_back(0);
  ExpectError(DecodeReport(longer).status(), Code::kInvalidArgument, "exactly 304 bytes, got 305");
  Bytes bad_version = rep;
  bad_version[0] = 2;
  ExpectError(DecodeReport(bad_version).status(), Code::kUnsupported, "report version 2 is not supported");
  Bytes reserved = rep;
  reserved[200] = 1;
  ExpectError(DecodeReport(reserved).status(), Code::kInvalidArgument, "reserved (offset 176) bytes must be zero");
  Bytes reserved2 = rep;
  reserved2[2] = 1;
  ExpectError(DecodeReport(reserved2).status(), Code::kInvalidArgument, "reserved (offset 2)");
  Bytes flags = rep;
  flags[4] = 0x04;
  ExpectError(DecodeReport(flags).status(), Code::kInvalidArgument, "unknown bits");

  Bytes t = EncodeTargetInfo(TargetInfo{});
  ExpectError(DecodeTargetInfo(ByteSpan(t).first(63)).status(), Code::kInvalidArgument, "exactly 64 bytes");
  Bytes tf = t;
  tf[32] = 2;
  ExpectError(DecodeTargetInfo(tf).status(), Code::kInvalidArgument, "unknown bits");
  Bytes tr = t;
  tr[63] = 1;
  ExpectError(DecodeTargetInfo(tr).status(), Code::kInvalidArgument, "target info reserved bytes must be zero");
}

TEST(Formats, ReplyRoundTripAndRefusals) {
  auto ok = DecodeReply(EncodeReply(Bytes{1, 2, 3}));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, (Bytes{1, 2, 3}));
  auto err = DecodeReply(EncodeReply(Result<Bytes>(PermissionDenied("no"))));
  ExpectError(err.status(), Code::kPermissionDenied, "no");
  ExpectError(DecodeReply(Bytes{0, 0}).status(), Code::kInvalidArgument, "shorter than its 4-byte code");
  ExpectError(DecodeReply(Bytes{0xff, 0, 0, 0, 'x'}).status(), Code::kInternal, "unknown code 255: x");
  ExpectError(DecodeReply(Bytes(kMaxMessageBytes + 1)).status(), Code::kInvalidArgument, "exceeds");
}

// ---------------------------------------------------------------- Serve: malformed requests
class ServeTest : public ::testing::Test {
 protected:
  KeyService ks_{RootOf(4), false};
  Identity caller_ = MakeIdentity(1, 2, 3, 4);
  Result<Bytes> Call(ByteSpan req) { return DecodeReply(ks_.Serve(caller_, req)); }
};

TEST_F(ServeTest, AnswersEveryOp) {
  auto body = Call(EncodeGetIdentity());
  ASSERT_TRUE(body.ok());
  auto decoded = DecodeReportBody(*body);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->identity, caller_);
  EXPECT_EQ(decoded->platform_id, ks_.platform_id());

  auto key = Call(EncodeGetKey(Seal(KeyPolicy::kUnique, 4)));
  ASSERT_TRUE(key.ok());
  Key direct = Derive(ks_, caller_, Seal(KeyPolicy::kUnique, 4));
  EXPECT_EQ(*key, Bytes(direct.begin(), direct.end()));

  auto rep = Call(EncodeGetReport(TargetInfo{}, ReportData{}));
  ASSERT_TRUE(rep.ok());
  EXPECT_TRUE(DecodeReport(*rep).ok());

  ExpectError(Call(EncodeGetQuote(ReportData{})).status(), Code::kUnsupported, "cannot produce quotes");
  ks_.SetQuoter([](const ReportBody& b) -> Result<Bytes> { return Bytes(b.report_data.begin(), b.report_data.begin() + 2); });
  ReportData rd{};
  rd[0] = 0xEE;
  auto quote = Call(EncodeGetQuote(rd));
  ASSERT_TRUE(quote.ok());
  EXPECT_EQ(*quote, (Bytes{0xEE, 0}));
}

// Replies travel in messages of at most kMaxMessageBytes: the soft runtime reads into a buffer
// of that size, and the kernel cuts a longer SOCK_SEQPACKET message there without a word. A
// quote too large (a long platform certificate chain) is refused here, as every platform
// would refuse it, rather than reach the enclave cut short.
TEST_F(ServeTest, RefusesAReplyOverTheMessageLimit) {
  ks_.SetQuoter([](const ReportBody&) -> Result<Bytes> { return Bytes(kMaxMessageBytes - 4, 0x51); });
  auto fits = Call(EncodeGetQuote(ReportData{}));
  ASSERT_TRUE(fits.ok()) << fits.status().ToString();
  EXPECT_EQ(fits->size(), kMaxMessageBytes - 4);
  ks_.SetQuoter([](const ReportBody&) -> Result<Bytes> { return Bytes(kMaxMessageBytes - 3, 0x51); });
  Bytes reply = ks_.Serve(caller_, EncodeGetQuote(ReportData{}));
  EXPECT_LE(reply.size(), kMaxMessageBytes);
  ExpectError(DecodeReply(reply).status(), Code::kOutOfRange, "platform certificate chain");
}

TEST_F(ServeTest, RefusesMalformedRequests) {
  ExpectError(Call(Bytes{}).status(), Code::kInvalidArgument, "shorter than its 4-byte operation code");
  ExpectError(Call(Bytes{1, 0}).status(), Code::kInvalidArgument, "shorter than its 4-byte operation code");
  ExpectError(Call(Bytes{9, 0, 0, 0}).status(), Code::kInvalidArgument, "unknown platform operation 9");
  Bytes id = EncodeGetIdentity();
  id.push_back(0);
  ExpectError(Call(id).status(), Code::kInvalidArgument, "get-identity takes no payload");
  Bytes key = EncodeGetKey(Seal(KeyPolicy::kUnique, 4));
  ExpectError(Call(ByteSpan(key).first(key.size() - 1)).status(), Code::kInvalidArgument,
              "get-key request payload must be exactly 40 bytes");
  Bytes bad_name = key;
  bad_name[4] = 9;
  ExpectError(Call(bad_name).status(), Code::kInvalidArgument, "unknown key name 9");
  Bytes bad_policy = key;
  bad_policy[6] = 3;
  ExpectError(Call(bad_policy).status(), Code::kInvalidArgument, "unknown key policy 3");
  Bytes reserved = key;
  reserved[10] = 1;
  ExpectError(Call(reserved).status(), Code::kInvalidArgument, "get-key reserved bytes must be zero");
  ExpectError(Call(EncodeGetKey(Seal(KeyPolicy::kProduct, 5))).status(), Code::kPermissionDenied,
              "SecurityVersion 5");
  Bytes rep = EncodeGetReport(TargetInfo{}, ReportData{});
  ExpectError(Call(ByteSpan(rep).first(100)).status(), Code::kInvalidArgument, "get-report request payload");
  Bytes rep_flags = rep;
  rep_flags[4 + 32] = 0x80;
  ExpectError(Call(rep_flags).status(), Code::kInvalidArgument, "target info flags");
  Bytes quote = EncodeGetQuote(ReportData{});
  quote.pop_back();
  ExpectError(Call(quote).status(), Code::kInvalidArgument, "get-quote request payload");
  ExpectError(Call(Bytes(kMaxMessageBytes + 1)).status(), Code::kInvalidArgument, "exceeds");
}

// Random bytes never crash the service and always produce a well-formed reply.
TEST_F(ServeTest, RandomRequestsGetWellFormedReplies) {
  for (int i = 0; i < 2000; ++i) {
    Bytes req = crypto::RandomBytes(static_cast<size_t>(i % 140));
    if (req.size() >= 4) req[0] = static_cast<uint8_t>(i % 6), req[1] = req[2] = req[3] = 0;
    Bytes reply = ks_.Serve(caller_, req);
    ASSERT_GE(reply.size(), 4u);
  }
}

// ---------------------------------------------------------------- root secret file
TEST(RootSecret, CreatedOnceWithMode0600AndReadBack) {
  TempDir dir;
  std::string path = dir / "root.key";
  auto first = LoadOrCreateRootSecret(path);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  auto again = LoadOrCreateRootSecret(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*first, *again);
  TempDir other;
  auto fresh = LoadOrCreateRootSecret(other / "root.key");
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE(*first, *fresh);
}

TEST(RootSecret, RefusesOpenModeDamageAndLinks) {
  TempDir dir;
  std::string path = dir / "root.key";
  ASSERT_TRUE(LoadOrCreateRootSecret(path).ok());
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  ExpectError(LoadOrCreateRootSecret(path).status(), Code::kPermissionDenied, "has mode 644");
  ASSERT_TRUE(WriteFile(path, Bytes(31, 1), 0600).ok());
  ExpectError(LoadOrCreateRootSecret(path).status(), Code::kInvalidArgument, "holds 31 bytes, not the 32");
  std::string link = dir / "link.key";
  ASSERT_EQ(symlink(path.c_str(), link.c_str()), 0);
  ExpectError(LoadOrCreateRootSecret(link).status(), Code::kIo, "cannot open the root secret");
  ExpectError(LoadOrCreateRootSecret(dir / "missing-dir/root.key").status(), Code::kIo, "cannot create");
}

TEST(RootSecret, SimRootIsFixed) {
  EXPECT_EQ(SimRootSecret(), SimRootSecret());
  Key zero{};
  EXPECT_NE(SimRootSecret(), zero);
}

}  // namespace
