// `confide keygen | sign | measure`, run as a user would: the real binary, files in temp dirs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "cli/cli_runner.h"
#include "confide/crypto.h"
#include "confide/image.h"
#include "image/elf_builder.h"
#include "image/test_keys.h"

namespace confide::testing {
namespace {

using ::testing::HasSubstr;

constexpr const char* kConfig =
    "# test enclave\n"
    "Debug=1\n"
    "NumHeapPages=256\n"
    "NumStackPages=8\n"
    "NumTCS=2\n"
    "ProductID=11\n"
    "SecurityVersion=5\n";

bool IsLowerHex64(const std::string& s) { return std::regex_match(s, std::regex("[0-9a-f]{64}")); }

std::string Sha256Hex(ByteSpan b) {
  uint8_t d[32];
  SHA256(b.data(), b.size(), d);
  return HexEncode(ByteSpan(d, 32));
}

// MRSIGNER from the key file's modulus, computed here without the image library.
std::string MrSignerFromKey(const crypto::PKey& key) {
  auto n = crypto::RsaModulus(key);
  EXPECT_TRUE(n.ok());
  Bytes le(384, 0);
  for (size_t i = 0; i < n->size() && i < 384; ++i) le[i] = (*n)[n->size() - 1 - i];
  return Sha256Hex(le);
}

void WriteKey(const std::string& path, const crypto::PKey& key) {
  auto pem = crypto::PrivateKeyPem(key);
  ASSERT_TRUE(pem.ok()) << pem.status().ToString();
  ASSERT_TRUE(WriteFile(path, pem->span(), 0600).ok());
}

void WriteText(const std::string& path, std::string_view text) { ASSERT_TRUE(WriteFile(path, AsBytes(text)).ok()); }

nlohmann::json ParseJson(const CliRun& r) {
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.out << "\nstderr: " << r.err;
  return j;
}

class ImageCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    enclave_ = CONFIDE_TEST_ENCLAVE;
    key_ = dir_ / "key.pem";
    config_ = dir_ / "enclave.conf";
    WriteKey(key_, SigningKey());
    WriteText(config_, kConfig);
  }
  CliRun SignDefault(const std::string& out) {
    return RunCli({"sign", "--enclave", enclave_, "--config", config_, "--key", key_, "--out", out});
  }
  TempDir dir_;
  std::string enclave_, key_, config_;
};

TEST(CliHelpTest, EverySubcommandHasHelp) {
  for (std::string cmd : {"keygen", "sign", "measure"}) {
    CliRun r = RunCli({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_THAT(r.out, HasSubstr("Usage")) << cmd;
  }
  CliRun sign = RunCli({"sign", "--help"});
  EXPECT_THAT(sign.out, HasSubstr("--config"));
  EXPECT_THAT(sign.out, HasSubstr("NumHeapPages"));
}

TEST(CliUsageTest, BadCommandLinesExitTwo) {
  EXPECT_EQ(RunCli({}).exit_code, 2);
  EXPECT_EQ(RunCli({"keygen"}).exit_code, 2);                      // --out missing
  EXPECT_EQ(RunCli({"keygen", "--out"}).exit_code, 2);             // value missing
  EXPECT_EQ(RunCli({"sign", "--enclave", "x.so"}).exit_code, 2);   // --config/--key/--out missing
  EXPECT_EQ(RunCli({"measure"}).exit_code, 2);                     // IMAGE missing
  EXPECT_EQ(RunCli({"measure", "a", "b"}).exit_code, 2);           // one image only
  CliRun bogus = RunCli({"measure", "--bogus", "img"});
  EXPECT_EQ(bogus.exit_code, 2);
  EXPECT_THAT(bogus.err, HasSubstr("--bogus"));
}

TEST(KeygenCliTest, WritesRsa3072Exponent3Mode0600) {
  TempDir dir;
  std::string path = dir / "signing.pem";
  CliRun r = RunCli({"keygen", "--out", path, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto pem = ReadFile(path);
  ASSERT_TRUE(pem.ok());
  auto key = crypto::ParsePrivateKeyPem(*pem);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_TRUE(key->IsRsa());
  EXPECT_EQ(key->Bits(), 3072);
  auto e = crypto::RsaPublicExponent(*key);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(HexEncode(*e), "03");

  nlohmann::json j = ParseJson(r);
  EXPECT_EQ(j.value("mrsigner", ""), MrSignerFromKey(*key));
}

TEST(KeygenCliTest, RefusesToOverwriteWithoutForce) {
  TempDir dir;
  std::string path = dir / "k.pem";
  WriteText(path, "precious");
  CliRun r = RunCli({"keygen", "--out", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("already exists"));
  EXPECT_EQ(ReadText(path), "precious");

  CliRun forced = RunCli({"keygen", "--out", path, "--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_THAT(ReadText(path), HasSubstr("PRIVATE KEY"));

  CliRun no_dir = RunCli({"keygen", "--out", dir / "missing/dir/k.pem"});
  EXPECT_EQ(no_dir.exit_code, 1);
  EXPECT_THAT(no_dir.err, HasSubstr("missing/dir"));
}

TEST_F(ImageCliTest, SignThenMeasureJson) {
  std::string out = dir_ / "enclave.signed.so";
  CliRun s = SignDefault(out);
  ASSERT_EQ(s.exit_code, 0) << s.err;

  CliRun m = RunCli({"measure", out, "--json"});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  nlohmann::json j = ParseJson(m);
  ASSERT_TRUE(j.is_object());
  for (const char* f : {"mrenclave", "mrsigner", "product_id", "security_version", "debug", "num_heap_pages",
                        "num_stack_pages", "num_tcs", "signature_valid"})
    EXPECT_TRUE(j.contains(f)) << f;
  EXPECT_FALSE(j.contains("error"));
  EXPECT_TRUE(IsLowerHex64(j["mrenclave"].get<std::string>()));
  EXPECT_TRUE(IsLowerHex64(j["mrsigner"].get<std::string>()));
  EXPECT_EQ(j["mrsigner"], MrSignerFromKey(SigningKey()));
  EXPECT_EQ(j["product_id"], 11);
  EXPECT_EQ(j["security_version"], 5);
  EXPECT_EQ(j["debug"], true);
  EXPECT_EQ(j["num_heap_pages"], 256);
  EXPECT_EQ(j["num_stack_pages"], 8);
  EXPECT_EQ(j["num_tcs"], 2);
  EXPECT_EQ(j["signature_valid"], true);

  // The MRENCLAVE printed is the one of the input ELF and layout.
  auto elf = ReadFile(enclave_);
  ASSERT_TRUE(elf.ok());
  auto config = image::ParseConfig(kConfig);
  ASSERT_TRUE(config.ok());
  auto mr = image::ComputeMrEnclave(*elf, *config);
  ASSERT_TRUE(mr.ok());
  EXPECT_EQ(j["mrenclave"], HexEncode(*mr));

  // The text form carries the same values.
  CliRun text = RunCli({"measure", out});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_THAT(text.out, HasSubstr("mrenclave        " + HexEncode(*mr)));
  EXPECT_THAT(text.out, HasSubstr("signature_valid  true"));
}

TEST_F(ImageCliTest, ResignWithAnotherKeyKeepsMrEnclave) {
  std::string first = dir_ / "a.so", second = dir_ / "b.so", key2 = dir_ / "key2.pem";
  WriteKey(key2, SigningKey(1));
  ASSERT_EQ(SignDefault(first).exit_code, 0);
  CliRun r = RunCli({"sign", "--enclave", first, "--config", config_, "--key", key2, "--out", second});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json a = ParseJson(RunCli({"measure", first, "--json"}));
  nlohmann::json b = ParseJson(RunCli({"measure", second, "--json"}));
  EXPECT_EQ(a["mrenclave"], b["mrenclave"]);
  EXPECT_NE(a["mrsigner"], b["mrsigner"]);
  EXPECT_EQ(b["mrsigner"], MrSignerFromKey(SigningKey(1)));
  auto a_size = ReadFile(first), b_size = ReadFile(second);
  ASSERT_TRUE(a_size.ok() && b_size.ok());
  EXPECT_EQ(a_size->size(), b_size->size());  // the old trailer was replaced
}

TEST_F(ImageCliTest, MeasureRefusesTamperedImages) {
  std::string out = dir_ / "e.so";
  ASSERT_EQ(SignDefault(out).exit_code, 0);
  auto good = ReadFile(out);
  ASSERT_TRUE(good.ok());
  auto info = image::ParseElf(image::ElfPart(*good).value());
  ASSERT_TRUE(info.ok());
  uint64_t code_byte = 0;
  for (const image::LoadSegment& s : info->segments)
    if (s.flags & 1) code_byte = s.offset + s.filesz / 2;
  ASSERT_NE(code_byte, 0u);
  size_t body = good->size() - image::kTrailerSize;

  struct Case {
    std::string name;
    size_t offset;
    bool signature_valid;
    std::string fragment;
  } cases[] = {{"code", code_byte, true, "ELF content was altered"},
               {"config", body + 96, false, "signature does not verify"},
               {"signature", body + image::kSignedBodySize + 7, false, "signature does not verify"}};
  for (const Case& c : cases) {
    Bytes t = *good;
    t[c.offset] ^= 0x01;
    std::string path = dir_ / ("tampered-" + c.name + ".so");
    ASSERT_TRUE(WriteFile(path, t).ok());
    CliRun j = RunCli({"measure", path, "--json"});
    EXPECT_EQ(j.exit_code, 1) << c.name;
    nlohmann::json doc = ParseJson(j);
    EXPECT_EQ(doc.value("signature_valid", !c.signature_valid), c.signature_valid) << c.name;
    EXPECT_THAT(doc.value("error", ""), HasSubstr(c.fragment)) << c.name;
    EXPECT_EQ(doc.value("error_code", ""), "verification_failed") << c.name;
    CliRun text = RunCli({"measure", path});
    EXPECT_EQ(text.exit_code, 1) << c.name;
    EXPECT_THAT(text.err, HasSubstr(c.fragment)) << c.name;
  }
}

TEST_F(ImageCliTest, MeasureRefusesUnsignedAndNonImages) {
  struct Case {
    std::string name;
    Bytes content;
    std::string fragment;
  };
  auto elf = ReadFile(enclave_);
  ASSERT_TRUE(elf.ok());
  std::vector<Case> cases = {
      {"unsigned.so", *elf, "not signed"},
      {"text.txt", Bytes{'h', 'e', 'l', 'l', 'o', '\n'}, "not an ELF file"},
      {"empty", Bytes{}, "not an ELF file"},
      {"truncated.so", Bytes(elf->begin(), elf->begin() + 40), "truncated ELF file"},
  };
  for (const Case& c : cases) {
    std::string path = dir_ / c.name;
    ASSERT_TRUE(WriteFile(path, c.content).ok());
    CliRun j = RunCli({"measure", path, "--json"});
    EXPECT_EQ(j.exit_code, 1) << c.name;
    EXPECT_THAT(ParseJson(j).value("error", ""), HasSubstr(c.fragment)) << c.name;
    CliRun text = RunCli({"measure", path});
    EXPECT_EQ(text.exit_code, 1) << c.name;
    EXPECT_THAT(text.err, HasSubstr(c.fragment)) << c.name;
  }
  CliRun missing = RunCli({"measure", dir_ / "nope.so"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("nope.so"));
}

TEST_F(ImageCliTest, SignRefusesWrongKeys) {
  struct Case {
    std::string name;
    Result<crypto::PKey> key;
    std::string fragment;
  };
  std::vector<Case> cases;
  cases.push_back({"rsa2048", crypto::RsaGenerate(2048, 3), "RSA-2048"});
  cases.push_back({"rsa-e65537", crypto::RsaGenerate(3072, 65537), "public exponent 65537"});
  cases.push_back({"ec", crypto::EcGenerate(crypto::Curve::kP256), "EC P-256"});
  for (Case& c : cases) {
    ASSERT_TRUE(c.key.ok()) << c.name;
    std::string key = dir_ / (c.name + ".pem");
    WriteKey(key, *c.key);
    std::string out = dir_ / (c.name + ".signed.so");
    CliRun r = RunCli({"sign", "--enclave", enclave_, "--config", config_, "--key", key, "--out", out});
    EXPECT_EQ(r.exit_code, 1) << c.name;
    EXPECT_THAT(r.err, HasSubstr(c.fragment)) << c.name;
    EXPECT_THAT(r.err, HasSubstr("RSA-3072 with public exponent 3")) << c.name;
    EXPECT_FALSE(std::filesystem::exists(out)) << c.name;
  }
  std::string not_key = dir_ / "notakey.pem";
  WriteText(not_key, "-----BEGIN NONSENSE-----\nAAAA\n-----END NONSENSE-----\n");
  CliRun r = RunCli({"sign", "--enclave", enclave_, "--config", config_, "--key", not_key, "--out", dir_ / "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("not a readable PEM private key"));
}

TEST_F(ImageCliTest, SignRefusesBadConfigNamingTheKey) {
  struct Case {
    std::string text, fragment;
  } cases[] = {
      {"Debug=0\nNumHeapPages=10\nNumStackPages=2\nProductID=1\nSecurityVersion=1\n", "missing 'NumTCS'"},
      {"Debug=0\nNumHeapPages=lots\nNumStackPages=2\nNumTCS=1\nProductID=1\nSecurityVersion=1\n",
       "'NumHeapPages' must be a non-negative integer"},
      {"Debug=0\nNumHeapPages=10\nNumStackPages=2\nNumTCS=2000\nProductID=1\nSecurityVersion=1\n",
       "'NumTCS' = 2000 is out of range"},
      {"Debug=0\nNumHeapPages=10\nNumStackPages=2\nNumTCS=1\nProductID=70000\nSecurityVersion=1\n",
       "'ProductID' = 70000 is out of range"},
      {"Debug=yes\nNumHeapPages=10\nNumStackPages=2\nNumTCS=1\nProductID=1\nSecurityVersion=1\n",
       "'Debug' must be"},
      {"Debug=0\nNumHeapPages=10\nNumStackPages=2\nNumTCS=1\nProductID=1\nSecurityVersion=1\nHeap=3\n",
       "unknown key 'Heap'"},
  };
  int i = 0;
  for (const Case& c : cases) {
    std::string conf = dir_ / ("bad" + std::to_string(i++) + ".conf");
    WriteText(conf, c.text);
    CliRun r = RunCli({"sign", "--enclave", enclave_, "--config", conf, "--key", key_, "--out", dir_ / "o.so"});
    EXPECT_EQ(r.exit_code, 1) << c.fragment;
    EXPECT_THAT(r.err, HasSubstr(c.fragment));
    EXPECT_THAT(r.err, HasSubstr(conf));
  }
  CliRun missing = RunCli({"sign", "--enclave", enclave_, "--config", dir_ / "none.conf", "--key", key_, "--out",
                           dir_ / "o.so"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("none.conf"));
}

TEST_F(ImageCliTest, SignRefusesBadEnclaves) {
  TestElfOptions exec;
  exec.type = 2;
  TestElfOptions arm;
  arm.machine = 183;
  auto so = ReadFile(enclave_);
  ASSERT_TRUE(so.ok());
  struct Case {
    std::string name;
    Bytes content;
    std::string fragment;
  } cases[] = {{"script.sh", Bytes{'#', '!', '/', 'b', 'i', 'n'}, "not an ELF file"},
               {"exec", BuildElf(TwoSegments(), exec), "ET_EXEC"},
               {"arm.so", BuildElf(TwoSegments(), arm), "EM_AARCH64"},
               {"cut.so", Bytes(so->begin(), so->begin() + 200), "truncated"}};
  for (const Case& c : cases) {
    std::string in = dir_ / c.name;
    ASSERT_TRUE(WriteFile(in, c.content).ok());
    CliRun r = RunCli({"sign", "--enclave", in, "--config", config_, "--key", key_, "--out", dir_ / "o.so"});
    EXPECT_EQ(r.exit_code, 1) << c.name;
    EXPECT_THAT(r.err, HasSubstr(c.fragment)) << c.name;
  }
}

TEST_F(ImageCliTest, SignedOutputOfHandBuiltElfMeasuresAsComputed) {
  // A hand-built ELF (no compiler involved): the CLI's MRENCLAVE equals the library's, and
  // ProductID/SecurityVersion/Debug do not move it.
  std::string in = dir_ / "tiny.so";
  Bytes elf = BuildElf(TwoSegments());
  ASSERT_TRUE(WriteFile(in, elf).ok());
  std::string conf2 = dir_ / "other.conf";
  WriteText(conf2, "Debug=0\nNumHeapPages=256\nNumStackPages=8\nNumTCS=2\nProductID=99\nSecurityVersion=77\n");
  ASSERT_EQ(RunCli({"sign", "--enclave", in, "--config", config_, "--key", key_, "--out", dir_ / "a.so"}).exit_code, 0);
  ASSERT_EQ(RunCli({"sign", "--enclave", in, "--config", conf2, "--key", key_, "--out", dir_ / "b.so"}).exit_code, 0);
  nlohmann::json a = ParseJson(RunCli({"measure", dir_ / "a.so", "--json"}));
  nlohmann::json b = ParseJson(RunCli({"measure", dir_ / "b.so", "--json"}));
  EXPECT_EQ(a["mrenclave"], b["mrenclave"]);
  EXPECT_EQ(b["product_id"], 99);
  EXPECT_EQ(b["debug"], false);
  auto config = image::ParseConfig(kConfig);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(a["mrenclave"], HexEncode(image::ComputeMrEnclave(elf, *config).value()));
}

}  // namespace
}  // namespace confide::testing
