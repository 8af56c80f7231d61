// SEV-SNP ATTESTATION_REPORT parsing, following AMD's SEV-SNP Firmware ABI specification
// (#56860, table "ATTESTATION_REPORT Structure"): version 2, version 3 (adds the CPUID family,
// model and stepping at 0x188) and version 5 (adds the launch and current mitigation vectors
// at 0x1F8 and 0x200).
#include <algorithm>
#include <cctype>
#include <cstdio>

#include "attestation/snp/snp_internal.h"
#include "confide/attestation/snp.h"

namespace confide::attestation::snp {
namespace {

// Bits 63:26 of GUEST_POLICY are reserved (must be zero); bit 17 is reserved and must be one.
constexpr uint64_t kPolicyReservedOne = 1ull << 17;
constexpr uint64_t kPolicyKnownMask = (1ull << 26) - 1;

std::string Hex64(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// The region [begin, end) of the report must be all zero.
Status MustBeZero(ByteSpan report, size_t begin, size_t end, std::string_view what) {
  for (size_t i = begin; i < end; ++i) {
    if (report[i] != 0) {
      char where[64];
      std::snprintf(where, sizeof where, " (offset 0x%zx, range 0x%zx..0x%zx)", i, begin, end - 1);
      return InvalidArgument("SNP report: reserved field " + std::string(what) + " must be zero but is not" +
                             where + "; the report is malformed or from an unsupported firmware");
    }
  }
  return Status::Ok();
}

Result<Bytes> TakeBytes(ByteReader& r, size_t n, std::string_view field) {
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan s, r.Take(n, field));
  return Bytes(s.begin(), s.end());
}

}  // namespace

std::string_view ProductName(Product product) {
  switch (product) {
    case Product::kMilan: return "Milan";
    case Product::kGenoa: return "Genoa";
    case Product::kTurin: return "Turin";
  }
  return "Unknown";
}

Result<Product> ParseProduct(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "milan") return Product::kMilan;
  if (lower == "genoa") return Product::kGenoa;
  if (lower == "turin") return Product::kTurin;
  return InvalidArgument("unknown AMD product '" + std::string(name) + "'; expected Milan, Genoa or Turin");
}

std::string_view SigningKeyName(SigningKey key) {
  switch (key) {
    case SigningKey::kVcek: return "vcek";
    case SigningKey::kVlek: return "vlek";
    case SigningKey::kNone: return "none";
  }
  return "unknown";
}

Result<GuestPolicy> DecodePolicy(uint64_t raw) {
  if ((raw & kPolicyReservedOne) == 0)
    return InvalidArgument("SNP report: guest policy " + Hex64(raw) +
                           " has reserved bit 17 clear; the ABI requires it to be 1");
  if ((raw & ~kPolicyKnownMask) != 0)
    return InvalidArgument("SNP report: guest policy " + Hex64(raw) +
                           " sets reserved bits 63:26, which must be zero");
  GuestPolicy p;
  p.raw = raw;
  p.abi_minor = static_cast<uint8_t>(raw & 0xff);
  p.abi_major = static_cast<uint8_t>((raw >> 8) & 0xff);
  p.smt = raw & (1ull << 16);
  p.migration_agent = raw & (1ull << 18);
  p.debug = raw & (1ull << 19);
  p.single_socket = raw & (1ull << 20);
  p.cxl_allowed = raw & (1ull << 21);
  p.mem_aes_256_xts = raw & (1ull << 22);
  p.rapl_disabled = raw & (1ull << 23);
  p.ciphertext_hiding_dram = raw & (1ull << 24);
  p.page_swap_disabled = raw & (1ull << 25);
  return p;
}

TcbVersion DecodeTcb(uint64_t raw, Product product) {
  TcbVersion t;
  t.raw = raw;
  auto byte = [raw](int i) { return static_cast<uint8_t>((raw >> (8 * i)) & 0xff); };
  if (product == Product::kTurin) {
    t.fmc = byte(0);
    t.bootloader = byte(1);
    t.tee = byte(2);
    t.snp = byte(3);
  } else {
    t.bootloader = byte(0);
    t.tee = byte(1);
    t.snp = byte(6);
  }
  t.microcode = byte(7);
  return t;
}

Result<Report> ParseReport(ByteSpan data) {
  if (data.size() != kReportSize)
    return InvalidArgument("SNP report: expected exactly " + std::to_string(kReportSize) + " bytes, got " +
                           std::to_string(data.size()) + " (truncated or not an SEV-SNP attestation report)");
  ByteReader r(data, "SNP report");
  Report rep;
  CONFIDE_ASSIGN_OR_RETURN(rep.version, r.U32Le("VERSION"));
  if (rep.version != 2 && rep.version != 3 && rep.version != 5)
    return Unsupported("SNP report: version " + std::to_string(rep.version) +
                       " is not supported (confide reads versions 2, 3 and 5)");
  CONFIDE_ASSIGN_OR_RETURN(rep.guest_svn, r.U32Le("GUEST_SVN"));
  CONFIDE_ASSIGN_OR_RETURN(uint64_t policy, r.U64Le("POLICY"));
  CONFIDE_ASSIGN_OR_RETURN(rep.policy, DecodePolicy(policy));
  CONFIDE_ASSIGN_OR_RETURN(rep.family_id, TakeBytes(r, 16, "FAMILY_ID"));
  CONFIDE_ASSIGN_OR_RETURN(rep.image_id, TakeBytes(r, 16, "IMAGE_ID"));
  CONFIDE_ASSIGN_OR_RETURN(rep.vmpl, r.U32Le("VMPL"));
  if (rep.vmpl > 3)
    return InvalidArgument("SNP report: VMPL " + std::to_string(rep.vmpl) + " is out of range (0..3)");
  CONFIDE_ASSIGN_OR_RETURN(rep.signature_algo, r.U32Le("SIGNATURE_ALGO"));
  if (rep.signature_algo != kSignatureAlgoEcdsaP384Sha384)
    return Unsupported("SNP report: signature algorithm " + std::to_string(rep.signature_algo) +
                       " is not supported (only 1, ECDSA P-384 with SHA-384, is defined)");
  CONFIDE_ASSIGN_OR_RETURN(rep.current_tcb, r.U64Le("CURRENT_TCB"));
  CONFIDE_ASSIGN_OR_RETURN(rep.platform_info, r.U64Le("PLATFORM_INFO"));
  CONFIDE_ASSIGN_OR_RETURN(uint32_t signer_info, r.U32Le("SIGNER_INFO"));
  if (signer_info >> 5)
    return InvalidArgument("SNP report: SIGNER_INFO 0x" + HexEncode(data.subspan(0x48, 4)) +
                           " sets reserved bits 31:5, which must be zero");
  rep.author_key_en = signer_info & 1;
  rep.mask_chip_key = signer_info & 2;
  uint32_t key = (signer_info >> 2) & 7;
  if (key == 0) {
    rep.signing_key = SigningKey::kVcek;
  } else if (key == 1) {
    rep.signing_key = SigningKey::kVlek;
  } else if (key == 7) {
    rep.signing_key = SigningKey::kNone;
  } else {
    return InvalidArgument("SNP report: SIGNING_KEY " + std::to_string(key) +
                           " is reserved (0 VCEK, 1 VLEK, 7 none)");
  }
  CONFIDE_RETURN_IF_ERROR(r.Skip(4, "reserved 0x4C"));
  CONFIDE_RETURN_IF_ERROR(MustBeZero(data, 0x4C, 0x50, "0x4C"));
  CONFIDE_ASSIGN_OR_RETURN(rep.report_data, TakeBytes(r, 64, "REPORT_DATA"));
  CONFIDE_ASSIGN_OR_RETURN(rep.measurement, TakeBytes(r, 48, "MEASUREMENT"));
  CONFIDE_ASSIGN_OR_RETURN(rep.host_data, TakeBytes(r, 32, "HOST_DATA"));
  CONFIDE_ASSIGN_OR_RETURN(rep.id_key_digest, TakeBytes(r, 48, "ID_KEY_DIGEST"));
  CONFIDE_ASSIGN_OR_RETURN(rep.author_key_digest, TakeBytes(r, 48, "AUTHOR_KEY_DIGEST"));
  CONFIDE_ASSIGN_OR_RETURN(rep.report_id, TakeBytes(r, 32, "REPORT_ID"));
  CONFIDE_ASSIGN_OR_RETURN(rep.report_id_ma, TakeBytes(r, 32, "REPORT_ID_MA"));
  CONFIDE_ASSIGN_OR_RETURN(rep.reported_tcb, r.U64Le("REPORTED_TCB"));
  size_t reserved_from = 0x188;
  if (rep.version >= 3) {
    CONFIDE_ASSIGN_OR_RETURN(uint8_t fam, r.U8("CPUID_FAM_ID"));
    CONFIDE_ASSIGN_OR_RETURN(uint8_t mod, r.U8("CPUID_MOD_ID"));
    CONFIDE_ASSIGN_OR_RETURN(uint8_t step, r.U8("CPUID_STEP"));
    rep.cpuid_family = fam;
    rep.cpuid_model = mod;
    rep.cpuid_stepping = step;
    reserved_from = 0x18B;
  }
  CONFIDE_RETURN_IF_ERROR(r.Skip(0x1A0 - r.offset(), "reserved before CHIP_ID"));
  CONFIDE_RETURN_IF_ERROR(MustBeZero(data, reserved_from, 0x1A0, "before CHIP_ID"));
  CONFIDE_ASSIGN_OR_RETURN(rep.chip_id, TakeBytes(r, 64, "CHIP_ID"));
  CONFIDE_ASSIGN_OR_RETURN(rep.committed_tcb, r.U64Le("COMMITTED_TCB"));
  CONFIDE_ASSIGN_OR_RETURN(rep.current_version.build, r.U8("CURRENT_BUILD"));
  CONFIDE_ASSIGN_OR_RETURN(rep.current_version.minor, r.U8("CURRENT_MINOR"));
  CONFIDE_ASSIGN_OR_RETURN(rep.current_version.major, r.U8("CURRENT_MAJOR"));
  CONFIDE_RETURN_IF_ERROR(r.Skip(1, "reserved 0x1EB"));
  CONFIDE_RETURN_IF_ERROR(MustBeZero(data, 0x1EB, 0x1EC, "0x1EB"));
  CONFIDE_ASSIGN_OR_RETURN(rep.committed_version.build, r.U8("COMMITTED_BUILD"));
  CONFIDE_ASSIGN_OR_RETURN(rep.committed_version.minor, r.U8("COMMITTED_MINOR"));
  CONFIDE_ASSIGN_OR_RETURN(rep.committed_version.major, r.U8("COMMITTED_MAJOR"));
  CONFIDE_RETURN_IF_ERROR(r.Skip(1, "reserved 0x1EF"));
  CONFIDE_RETURN_IF_ERROR(MustBeZero(data, 0x1EF, 0x1F0, "0x1EF"));
  CONFIDE_ASSIGN_OR_RETURN(rep.launch_tcb, r.U64Le("LAUNCH_TCB"));
  reserved_from = 0x1F8;
  if (rep.version >= 5) {
    CONFIDE_ASSIGN_OR_RETURN(uint64_t launch_mit, r.U64Le("LAUNCH_MIT_VECTOR"));
    CONFIDE_ASSIGN_OR_RETURN(uint64_t current_mit, r.U64Le("CURRENT_MIT_VECTOR"));
    rep.launch_mit_vector = launch_mit;
    rep.current_mit_vector = current_mit;
    reserved_from = 0x208;
  }
  CONFIDE_RETURN_IF_ERROR(r.Skip(kSignatureOffset - r.offset(), "reserved before SIGNATURE"));
  CONFIDE_RETURN_IF_ERROR(MustBeZero(data, reserved_from, kSignatureOffset, "before SIGNATURE"));
  CONFIDE_ASSIGN_OR_RETURN(rep.signature_r, TakeBytes(r, kSignatureComponentSize, "SIGNATURE.R"));
  CONFIDE_ASSIGN_OR_RETURN(rep.signature_s, TakeBytes(r, kSignatureComponentSize, "SIGNATURE.S"));
  // ECDSA P-384 components are 48 bytes; the ABI zero-pads them to 72, and the rest of the
  // 512-byte signature area is reserved.
  CONFIDE_RETURN_IF_ERROR(MustBeZero(data, kSignatureOffset + 48, kSignatureOffset + 72, "SIGNATURE.R high bytes"));
  CONFIDE_RETURN_IF_ERROR(
      MustBeZero(data, kSignatureOffset + 72 + 48, kSignatureOffset + 144, "SIGNATURE.S high bytes"));
  CONFIDE_RETURN_IF_ERROR(r.Skip(r.remaining(), "reserved after SIGNATURE"));
  CONFIDE_RETURN_IF_ERROR(MustBeZero(data, kSignatureOffset + 144, kReportSize, "after SIGNATURE"));
  return rep;
}

std::optional<Product> ProductFromCpuid(const Report& report) {
  if (!report.cpuid_family || !report.cpuid_model) return std::nullopt;
  // CPUID family 0x19 (Zen 3/4): Milan models 0x00-0x0F, Genoa models 0x10-0x1F and 0xA0-0xAF
  // (Bergamo/Siena use Genoa keys); family 0x1A (Zen 5): Turin.
  if (*report.cpuid_family == 0x1A) return Product::kTurin;
  if (*report.cpuid_family == 0x19) {
    uint8_t m = *report.cpuid_model;
    if (m <= 0x0F) return Product::kMilan;
    if ((m >= 0x10 && m <= 0x1F) || (m >= 0xA0 && m <= 0xAF)) return Product::kGenoa;
  }
  return std::nullopt;
}

namespace internal {
std::string Hex64(uint64_t v) { return snp::Hex64(v); }
}  // namespace internal

}  // namespace confide::attestation::snp
