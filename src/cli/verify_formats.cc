#include "cli/verify_formats.h"

#include <iostream>

#include "cli/cli.h"

namespace confide::cli {

Result<std::string> DetectFormat(ByteSpan ev) {
  ByteReader r(ev, "evidence");
  auto version = r.U16Le("version");
  if (!version.ok()) return InvalidArgument("evidence is too short to identify; pass --format");
  // DCAP quote header: version 3..5, attestation key type 2 (ECDSA P-256) at offset 2,
  // TEE type at offset 4 (0x00 SGX, 0x81 TDX).
  if (*version >= 3 && *version <= 5 && ev.size() >= 48) {
    uint16_t key_type = static_cast<uint16_t>(ev[2] | ev[3] << 8);
    uint32_t tee = static_cast<uint32_t>(ev[4] | ev[5] << 8 | ev[6] << 16 | ev[7] << 24);
    if (key_type == 2 && tee == 0x00) return std::string("sgx-ecdsa");
    if (key_type == 2 && tee == 0x81) return std::string("tdx");
  }
  // SEV-SNP attestation report: version 2..5 (LE u32) and the fixed size of 1184 bytes.
  if (ev.size() == 1184 && ev[2] == 0 && ev[3] == 0 && *version >= 2 && *version <= 5)
    return std::string("snp");
  return InvalidArgument("cannot tell the evidence format from its header; pass --format sgx-ecdsa|tdx|snp");
}

int RunVerify(const VerifyArgs& args) {
  auto evidence = ReadFile(args.evidence);
  if (!evidence.ok()) return Refuse("verify", evidence.status(), args.json);
  UnixTime at = Now();
  if (!args.at.empty()) {
    auto parsed = ParseRfc3339(args.at);
    if (!parsed.ok()) {
      std::cerr << "confide verify: --at: " << parsed.status().message() << "\n";
      return kExitUsage;
    }
    at = *parsed;
  }
  std::string format = args.format;
  if (format.empty()) {
    auto detected = DetectFormat(*evidence);
    if (!detected.ok()) return Refuse("verify", detected.status(), args.json);
    format = *detected;
  }
  if (format == "snp") {
    if (args.vcek.empty()) {
      std::cerr << "confide verify: --format snp needs --vcek CERT (the VCEK or VLEK from AMD KDS)\n";
      return kExitUsage;
    }
    return PrintVerification(format, VerifySnp(args, *evidence, at), args.json);
  }
  if (args.collateral.empty()) {
    std::cerr << "confide verify: --format " << format << " needs --collateral C.json (QuoteCollateralV3)\n";
    return kExitUsage;
  }
  VerifyArgs with_format = args;
  with_format.format = format;
  return PrintVerification(format, VerifyDcap(with_format, *evidence, at), args.json);
}

int PrintVerification(std::string_view format, const Result<attestation::VerificationResult>& result,
                      bool json) {
  if (!result.ok()) {
    const Status& s = result.status();
    if (json) {
      PrintJson({{"valid", false},
                 {"format", format},
                 {"error", s.message()},
                 {"error_code", std::string(CodeName(s.code()))},
                 {"collateral_expired", s.code() == Code::kExpired}});
    } else {
      std::cout << "INVALID " << format << " evidence: " << s.message() << "\n";
    }
    return kExitRefused;
  }
  const auto& v = *result;
  if (json) {
    PrintJson({{"valid", true},
               {"format", format},
               {"tcb_status", std::string(attestation::TcbStatusName(v.tcb_status))},
               {"advisory_ids", v.advisory_ids},
               {"collateral_expired", v.collateral_expired},
               {"claims", v.claims.extra}});
  } else {
    std::cout << "VALID " << format << " evidence, TCB status " << attestation::TcbStatusName(v.tcb_status);
    if (!v.advisory_ids.empty()) {
      std::cout << " (advisories:";
      for (const auto& a : v.advisory_ids) std::cout << " " << a;
      std::cout << ")";
    }
    std::cout << "\n";
    for (const auto& [key, value] : v.claims.extra.items())
      std::cout << "  " << key << ": " << (value.is_string() ? value.get<std::string>() : value.dump()) << "\n";
  }
  return kExitOk;
}

}  // namespace confide::cli
