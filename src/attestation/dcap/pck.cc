// Intel's SGX extension of PCK certificates (OID 1.2.840.113741.1.13.1): a SEQUENCE of
// (OID, value) pairs, the TCB pair holding a nested SEQUENCE of 18 (OID, value) pairs.
#include <string>

#include "confide/attestation/dcap.h"

namespace confide::attestation::dcap {
namespace {

constexpr uint8_t kSequence = 0x30;
constexpr uint8_t kOid = 0x06;
constexpr uint8_t kInteger = 0x02;
constexpr uint8_t kOctetString = 0x04;
constexpr uint8_t kEnumerated = 0x0a;

struct Pair {
  std::string oid;
  x509::DerElement value;
};

// Reads SEQUENCE { OID, value } from `r`.
Result<Pair> NextPair(x509::DerReader& r, std::string_view what) {
  CONFIDE_ASSIGN_OR_RETURN(x509::DerElement seq, r.Expect(kSequence, what));
  x509::DerReader inner(seq.contents);
  CONFIDE_ASSIGN_OR_RETURN(x509::DerElement oid, inner.Expect(kOid, what));
  Pair p;
  CONFIDE_ASSIGN_OR_RETURN(p.oid, x509::OidToString(oid.contents));
  CONFIDE_ASSIGN_OR_RETURN(p.value, inner.Next());
  if (!inner.empty()) return InvalidArgument(std::string(what) + " " + p.oid + " has extra elements");
  return p;
}

Result<Bytes> OctetString(const Pair& p, size_t size, std::string_view name) {
  if (p.value.tag != kOctetString || p.value.contents.size() != size)
    return InvalidArgument("PCK SGX extension: " + std::string(name) + " must be an OCTET STRING of " +
                           std::to_string(size) + " bytes");
  return Bytes(p.value.contents.begin(), p.value.contents.end());
}

Result<uint32_t> Unsigned(const Pair& p, uint8_t tag, uint64_t max, std::string_view name) {
  if (p.value.tag != tag) return InvalidArgument("PCK SGX extension: " + std::string(name) + " has the wrong ASN.1 type");
  auto v = x509::DerUnsigned(p.value.contents);
  if (!v.ok()) return InvalidArgument("PCK SGX extension: " + std::string(name) + ": " + v.status().message());
  if (*v > max) return OutOfRange("PCK SGX extension: " + std::string(name) + " is out of range");
  return static_cast<uint32_t>(*v);
}

Status ParseTcb(ByteSpan contents, PckExtension& out) {
  const std::string prefix = std::string(kSgxExtensionOid) + ".2.";
  x509::DerReader r(contents);
  uint32_t seen = 0;
  while (!r.empty()) {
    CONFIDE_ASSIGN_OR_RETURN(Pair p, NextPair(r, "PCK SGX extension TCB entry"));
    if (p.oid.compare(0, prefix.size(), prefix) != 0) continue;
    std::string suffix = p.oid.substr(prefix.size());
    if (suffix.empty() || suffix.size() > 2 || suffix.find_first_not_of("0123456789") != std::string::npos) continue;
    int index = std::stoi(suffix);
    if (index < 1 || index > 18) continue;
    if (seen & (1u << index)) return InvalidArgument("PCK SGX extension: TCB entry " + p.oid + " appears twice");
    seen |= 1u << index;
    if (index <= 16) {
      CONFIDE_ASSIGN_OR_RETURN(out.sgx_tcb_components[index - 1],
                               Unsigned(p, kInteger, 255, "sgxtcbcomp" + std::to_string(index) + "svn"));
    } else if (index == 17) {
      CONFIDE_ASSIGN_OR_RETURN(out.pce_svn, Unsigned(p, kInteger, 0xffff, "pcesvn"));
    } else {
      CONFIDE_ASSIGN_OR_RETURN(out.cpu_svn, OctetString(p, 16, "cpusvn"));
    }
  }
  for (int i = 1; i <= 18; ++i)
    if (!(seen & (1u << i)))
      return InvalidArgument("PCK SGX extension: TCB entry " + prefix + std::to_string(i) + " is missing");
  return Status::Ok();
}

}  // namespace

Result<PckExtension> ParsePckExtension(ByteSpan extension_der) {
  x509::DerReader outer(extension_der);
  CONFIDE_ASSIGN_OR_RETURN(x509::DerElement top, outer.Expect(kSequence, "PCK SGX extension"));
  if (!outer.empty()) return InvalidArgument("PCK SGX extension has bytes after its SEQUENCE");
  const std::string prefix = std::string(kSgxExtensionOid) + ".";
  PckExtension out;
  bool ppid = false, tcb = false, pceid = false, fmspc = false, type = false;
  x509::DerReader r(top.contents);
  while (!r.empty()) {
    CONFIDE_ASSIGN_OR_RETURN(Pair p, NextPair(r, "PCK SGX extension entry"));
    if (p.oid.compare(0, prefix.size(), prefix) != 0) continue;
    std::string suffix = p.oid.substr(prefix.size());
    auto once = [&](bool& flag) -> Status {
      if (flag) return InvalidArgument("PCK SGX extension: entry " + p.oid + " appears twice");
      flag = true;
      return Status::Ok();
    };
    if (suffix == "1") {
      CONFIDE_RETURN_IF_ERROR(once(ppid));
      CONFIDE_ASSIGN_OR_RETURN(out.ppid, OctetString(p, 16, "PPID"));
    } else if (suffix == "2") {
      CONFIDE_RETURN_IF_ERROR(once(tcb));
      if (p.value.tag != kSequence) return InvalidArgument("PCK SGX extension: TCB must be a SEQUENCE");
      CONFIDE_RETURN_IF_ERROR(ParseTcb(p.value.contents, out));
    } else if (suffix == "3") {
      CONFIDE_RETURN_IF_ERROR(once(pceid));
      CONFIDE_ASSIGN_OR_RETURN(out.pce_id, OctetString(p, 2, "PCE-ID"));
    } else if (suffix == "4") {
      CONFIDE_RETURN_IF_ERROR(once(fmspc));
      CONFIDE_ASSIGN_OR_RETURN(out.fmspc, OctetString(p, 6, "FMSPC"));
    } else if (suffix == "5") {
      CONFIDE_RETURN_IF_ERROR(once(type));
      CONFIDE_ASSIGN_OR_RETURN(uint32_t t, Unsigned(p, kEnumerated, 2, "SGX type"));
      out.sgx_type = static_cast<int>(t);
    }
    // .6 PlatformInstanceID and .7 Configuration (Platform CA certificates) are not needed
    // for TCB grading.
  }
  if (!ppid) return InvalidArgument("PCK SGX extension: PPID is missing");
  if (!tcb) return InvalidArgument("PCK SGX extension: TCB is missing");
  if (!pceid) return InvalidArgument("PCK SGX extension: PCE-ID is missing");
  if (!fmspc) return InvalidArgument("PCK SGX extension: FMSPC is missing");
  if (!type) return InvalidArgument("PCK SGX extension: SGX type is missing");
  return out;
}

}  // namespace confide::attestation::dcap
