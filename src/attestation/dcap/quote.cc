// DCAP quote parser (v3, v4, v5; SGX and TD bodies). Layout: Intel's "Intel SGX ECDSA Quote
// Library API" and "Intel TDX DCAP Quoting Library API" specifications; see
// docs/attestation-hardware.md. Every read goes through ByteReader, so a length that points
// past the data is an error, never an out-of-bounds read.
#include <algorithm>
#include <cstring>
#include <string>

#include "confide/attestation/dcap.h"

namespace confide::attestation::dcap {
namespace {

constexpr size_t kSgxReportSize = 384;
constexpr size_t kTdReport10Size = 584;
constexpr size_t kTdReport15Size = 648;
constexpr uint16_t kCertTypePckChain = 5;
constexpr uint16_t kCertTypeQeReport = 6;

template <size_t N>
Status ReadInto(ByteReader& r, std::array<uint8_t, N>& out, std::string_view field) {
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan b, r.Take(N, field));
  std::copy(b.begin(), b.end(), out.begin());
  return Status::Ok();
}

Status ParseEnclaveReport(ByteSpan data, std::string what, EnclaveReport& out) {
  ByteReader r(data, std::move(what));
  CONFIDE_RETURN_IF_ERROR(ReadInto(r, out.cpu_svn, "cpu_svn"));
  CONFIDE_ASSIGN_OR_RETURN(out.misc_select, r.U32Le("misc_select"));
  CONFIDE_RETURN_IF_ERROR(r.Skip(28, "reserved1"));
  CONFIDE_RETURN_IF_ERROR(ReadInto(r, out.attributes, "attributes"));
  CONFIDE_RETURN_IF_ERROR(ReadInto(r, out.mr_enclave, "mr_enclave"));
  CONFIDE_RETURN_IF_ERROR(r.Skip(32, "reserved2"));
  CONFIDE_RETURN_IF_ERROR(ReadInto(r, out.mr_signer, "mr_signer"));
  CONFIDE_RETURN_IF_ERROR(r.Skip(96, "reserved3"));
  CONFIDE_ASSIGN_OR_RETURN(out.isv_prod_id, r.U16Le("isv_prod_id"));
  CONFIDE_ASSIGN_OR_RETURN(out.isv_svn, r.U16Le("isv_svn"));
  CONFIDE_RETURN_IF_ERROR(r.Skip(60, "reserved4"));
  CONFIDE_RETURN_IF_ERROR(ReadInto(r, out.report_data, "report_data"));
  if (r.remaining() != 0) return Internal("SGX report layout does not add up to 384 bytes");
  return Status::Ok();
}

Status ParseTdReport(ByteSpan data, bool v15, TdReport& out) {
  ByteReader r(data, v15 ? "TD report 1.5" : "TD report 1.0");
  CONFIDE_RETURN_IF_ERROR(ReadInto(r, out.tee_tcb_svn, "tee_tcb_svn"));
  CONFIDE_RETURN_IF_ERROR(ReadInto(r, out.mr_seam, "mr_seam"));
  CONFIDE_RETURN_IF_ERROR(ReadInto(r, out.mr_signer_seam, "mr_signer_seam"));
  CONFIDE_RETURN_IF_ERROR(ReadInto(r, out.seam_attributes, "seam_attributes"));
  CONFIDE_RETURN_IF_ERROR(ReadInto(r, out.td_attributes, "td_attributes"));
  CONFIDE_RETURN_IF_ERROR(ReadInto(r, out.xfam, "xfam"));
  CONFIDE_RETURN_IF_ERROR(ReadInto(r, out.mr_td, "mr_td"));
  CONFIDE_RETURN_IF_ERROR(ReadInto(r, out.mr_config_id, "mr_config_id"));
  CONFIDE_RETURN_IF_ERROR(ReadInto(r, out.mr_owner, "mr_owner"));
  CONFIDE_RETURN_IF_ERROR(ReadInto(r, out.mr_owner_config, "mr_owner_config"));
  for (auto& rtmr : out.rtmr) CONFIDE_RETURN_IF_ERROR(ReadInto(r, rtmr, "rtmr"));
  CONFIDE_RETURN_IF_ERROR(ReadInto(r, out.report_data, "report_data"));
  out.is_v15 = v15;
  if (v15) {
    CONFIDE_RETURN_IF_ERROR(ReadInto(r, out.tee_tcb_svn2, "tee_tcb_svn2"));
    CONFIDE_RETURN_IF_ERROR(ReadInto(r, out.mr_service_td, "mr_service_td"));
  }
  if (r.remaining() != 0) return Internal("TD report layout does not add up");
  return Status::Ok();
}

// QE report, its signature and the QE authentication data: the common prefix of the v3
// authentication data and of certification data type 6.
Status ParseQeReportBlock(ByteReader& r, Quote& q) {
  CONFIDE_RETURN_IF_ERROR(ReadInto(r, q.qe_report_raw, "QE report"));
  CONFIDE_RETURN_IF_ERROR(ParseEnclaveReport(q.qe_report_raw, "QE report", q.qe_report));
  CONFIDE_RETURN_IF_ERROR(ReadInto(r, q.qe_report_signature, "QE report signature"));
  CONFIDE_ASSIGN_OR_RETURN(uint16_t auth_size, r.U16Le("QE authentication data size"));
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan auth, r.Take(auth_size, "QE authentication data"));
  q.qe_auth_data.assign(auth.begin(), auth.end());
  return Status::Ok();
}

// Certification data of type 5 (PEM PCK chain); must fill `r` exactly.
Status ParsePckChainCertData(ByteReader& r, std::string_view where, Quote& q) {
  CONFIDE_ASSIGN_OR_RETURN(uint16_t type, r.U16Le("certification data type"));
  CONFIDE_ASSIGN_OR_RETURN(uint32_t size, r.U32Le("certification data size"));
  if (type != kCertTypePckChain)
    return Unsupported(std::string(where) + " has certification data type " + std::to_string(type) +
                       "; only type 5 (PEM PCK certificate chain) is supported");
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan pem, r.Take(size, "PCK certificate chain"));
  if (pem.empty()) return InvalidArgument(std::string(where) + ": the PCK certificate chain is empty");
  q.pck_chain_pem.assign(pem.begin(), pem.end());
  if (r.remaining() != 0)
    return InvalidArgument(std::string(where) + ": " + std::to_string(r.remaining()) +
                           " unexpected bytes after the PCK certificate chain");
  return Status::Ok();
}

}  // namespace

Result<Quote> ParseQuote(ByteSpan data) {
  Quote q;
  ByteReader r(data, "quote");
  auto& h = q.header;
  CONFIDE_ASSIGN_OR_RETURN(h.version, r.U16Le("version"));
  if (h.version < 3 || h.version > 5)
    return Unsupported("quote version " + std::to_string(h.version) + " is not supported (DCAP quotes are v3, v4, v5)");
  CONFIDE_ASSIGN_OR_RETURN(h.attestation_key_type, r.U16Le("attestation key type"));
  if (h.attestation_key_type != kAttestationKeyEcdsaP256)
    return Unsupported("attestation key type " + std::to_string(h.attestation_key_type) +
                       " is not supported; only 2 (ECDSA P-256) is");
  CONFIDE_ASSIGN_OR_RETURN(h.tee_type, r.U32Le("TEE type"));
  CONFIDE_ASSIGN_OR_RETURN(h.qe_svn, r.U16Le("QE SVN"));
  CONFIDE_ASSIGN_OR_RETURN(h.pce_svn, r.U16Le("PCE SVN"));
  CONFIDE_RETURN_IF_ERROR(ReadInto(r, h.qe_vendor_id, "QE vendor id"));
  CONFIDE_RETURN_IF_ERROR(ReadInto(r, h.user_data, "user data"));
  if (h.tee_type != kTeeTypeSgx && h.tee_type != kTeeTypeTdx)
    return Unsupported("TEE type 0x" + HexEncode(ByteSpan(data.data() + 4, 4)) +
                       " is neither SGX (0x00) nor TDX (0x81)");
  if (h.version == 3 && h.tee_type != kTeeTypeSgx)
    return Unsupported("quote v3 carries only SGX reports, but the TEE type is TDX");

  size_t body_size = 0;
  if (h.version == 5) {
    CONFIDE_ASSIGN_OR_RETURN(uint16_t body_type, r.U16Le("body type"));
    CONFIDE_ASSIGN_OR_RETURN(uint32_t size, r.U32Le("body size"));
    switch (body_type) {
      case 1: q.body_type = BodyType::kSgxReport; body_size = kSgxReportSize; break;
      case 2: q.body_type = BodyType::kTdReport10; body_size = kTdReport10Size; break;
      case 3: q.body_type = BodyType::kTdReport15; body_size = kTdReport15Size; break;
      default:
        return Unsupported("quote v5 body type " + std::to_string(body_type) +
                           " is unknown (1 SGX report, 2 TD report 1.0, 3 TD report 1.5)");
    }
    if (size != body_size)
      return InvalidArgument("quote v5 body size " + std::to_string(size) + " does not match body type " +
                             std::to_string(body_type) + " (" + std::to_string(body_size) + " bytes)");
    if (q.is_tdx() != (h.tee_type == kTeeTypeTdx))
      return InvalidArgument("quote v5 body type " + std::to_string(body_type) + " contradicts the TEE type in the header");
  } else {
    q.body_type = h.tee_type == kTeeTypeTdx ? BodyType::kTdReport10 : BodyType::kSgxReport;
    body_size = q.is_tdx() ? kTdReport10Size : kSgxReportSize;
  }

  CONFIDE_ASSIGN_OR_RETURN(ByteSpan body, r.Take(body_size, "report body"));
  if (q.is_tdx()) {
    CONFIDE_RETURN_IF_ERROR(ParseTdReport(body, q.body_type == BodyType::kTdReport15, q.td));
  } else {
    CONFIDE_RETURN_IF_ERROR(ParseEnclaveReport(body, "SGX report body", q.sgx));
  }
  q.signed_data.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(r.offset()));

  CONFIDE_ASSIGN_OR_RETURN(uint32_t auth_size, r.U32Le("authentication data size"));
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan auth, r.Take(auth_size, "authentication data"));
  q.trailing_bytes = r.remaining();

  ByteReader a(auth, "authentication data");
  CONFIDE_RETURN_IF_ERROR(ReadInto(a, q.signature, "quote signature"));
  CONFIDE_RETURN_IF_ERROR(ReadInto(a, q.attestation_key, "attestation key"));
  if (h.version == 3) {
    q.outer_certification_type = kCertTypePckChain;
    CONFIDE_RETURN_IF_ERROR(ParseQeReportBlock(a, q));
    CONFIDE_RETURN_IF_ERROR(ParsePckChainCertData(a, "quote v3 authentication data", q));
  } else {
    CONFIDE_ASSIGN_OR_RETURN(uint16_t type, a.U16Le("certification data type"));
    CONFIDE_ASSIGN_OR_RETURN(uint32_t size, a.U32Le("certification data size"));
    if (type != kCertTypeQeReport)
      return Unsupported("quote v" + std::to_string(h.version) + " has certification data type " +
                         std::to_string(type) + "; only type 6 (QE report certification data) is supported");
    q.outer_certification_type = type;
    CONFIDE_ASSIGN_OR_RETURN(ByteSpan qe_cert_data, a.Take(size, "QE report certification data"));
    if (a.remaining() != 0)
      return InvalidArgument("authentication data has " + std::to_string(a.remaining()) +
                             " unexpected bytes after the certification data");
    ByteReader c(qe_cert_data, "QE report certification data");
    CONFIDE_RETURN_IF_ERROR(ParseQeReportBlock(c, q));
    CONFIDE_RETURN_IF_ERROR(ParsePckChainCertData(c, "QE report certification data", q));
  }
  return q;
}

}  // namespace confide::attestation::dcap
