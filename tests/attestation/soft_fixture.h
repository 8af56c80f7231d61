// A provisioning CA, a certified platform and a quote signer, all in memory, for the soft
// quote tests (no enclave or daemon involved).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "confide/attestation/soft.h"

namespace confide::attestation::soft::testing {

inline UnixTime At(const char* text) {
  auto t = ParseRfc3339(text);
  EXPECT_TRUE(t.ok()) << text;
  return t.ok() ? *t : UnixTime{};
}

// CA valid from 2026-01-01 for 10 years; platform certificate for a year; CRLs and TCB info
// valid for 30 days from 2026-01-01 (evaluate at kNow).
inline constexpr const char* kStart = "2026-01-01T00:00:00Z";
inline constexpr const char* kNow = "2026-01-10T00:00:00Z";

inline platform_services::ReportBody SampleBody() {
  platform_services::ReportBody b;
  for (size_t i = 0; i < 32; ++i) {
    b.identity.mrenclave[i] = static_cast<uint8_t>(0xa0 + i);
    b.identity.mrsigner[i] = static_cast<uint8_t>(0x50 + i);
    b.platform_id[i] = static_cast<uint8_t>(i);
  }
  for (size_t i = 0; i < 64; ++i) b.report_data[i] = static_cast<uint8_t>(0xf0 ^ i);
  b.identity.product_id = 7;
  b.identity.security_version = 3;
  return b;
}

inline TcbInfo SampleTcbInfo(UnixTime issue, int days = 30) {
  TcbInfo t;
  t.issue_date = issue;
  t.next_update = issue + std::chrono::hours(24 * days);
  t.evaluation_number = 1;
  t.levels = {{5, TcbStatus::kUpToDate, {}},
              {3, TcbStatus::kOutOfDate, {"CONFIDE-SA-0002"}},
              {2, TcbStatus::kRevoked, {"CONFIDE-SA-0001"}}};
  return t;
}

struct Pki {
  Ca ca;
  crypto::PKey attestation_key;
  x509::Certificate platform;
  std::optional<QuoteSigner> signer;

  // platform_svn 5 = UpToDate in SampleTcbInfo.
  explicit Pki(uint32_t platform_svn = 5, bool development = false, int cert_days = 365) {
    CaOptions o;
    o.not_before = At(kStart);
    o.development = development;
    auto ca_r = CreateCa(o);
    EXPECT_TRUE(ca_r.ok()) << ca_r.status().ToString();
    ca = std::move(ca_r).value();
    attestation_key = crypto::EcGenerate(crypto::Curve::kP256).value();
    auto cert = Certify(ca, attestation_key, "platform-1", platform_svn, At(kStart), cert_days);
    EXPECT_TRUE(cert.ok()) << cert.status().ToString();
    platform = *cert;
    auto s = QuoteSigner::Create(attestation_key, {platform, ca.platform_ca});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    signer.emplace(std::move(s).value());
  }

  Bytes Quote(const platform_services::ReportBody& body = SampleBody()) const {
    auto q = signer->Sign(body);
    EXPECT_TRUE(q.ok()) << q.status().ToString();
    return q.ok() ? *q : Bytes{};
  }
  Bytes CollateralJson(const TcbInfo& info) const {
    auto c = CaCollateral(ca, info);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : Bytes{};
  }
  SoftCollateral Collateral(const TcbInfo& info = SampleTcbInfo(At(kStart))) const {
    return SoftCollateral::Parse(CollateralJson(info)).value();
  }
};

}  // namespace confide::attestation::soft::testing
