// Fuzzes the parsers that see attacker-supplied ASN.1: DerReader walking nested TLVs (as
// for Intel's PCK extension), OID/INTEGER decoding, certificate bundles and CRLs.
#include <cstddef>
#include <cstdint>

#include "confide/x509.h"

namespace {

using confide::ByteSpan;
using confide::x509::DerReader;

// Walks every element depth-first; constructed tags (bit 0x20) are descended into.
void Walk(ByteSpan data, int depth) {
  if (depth > 32) return;
  DerReader r(data);
  while (!r.empty()) {
    auto e = r.Next();
    if (!e.ok()) return;
    // Every element must lie inside the input it came from.
    if (e->contents.data() < data.data() || e->contents.data() + e->contents.size() > data.data() + data.size())
      __builtin_trap();
    if (e->encoded.size() < e->contents.size() + 2) __builtin_trap();
    if (e->tag == 0x06) (void)confide::x509::OidToString(e->contents);
    if (e->tag == 0x02) (void)confide::x509::DerUnsigned(e->contents);
    if (e->tag & 0x20) Walk(e->contents, depth + 1);
  }
  // Expect on whatever is left must fail cleanly or succeed, never crash.
  (void)r.Expect(0x30, "fuzz");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteSpan in(data, size);
  Walk(in, 0);
  auto certs = confide::x509::Certificate::ParseAll(in);
  if (certs.ok()) {
    for (const auto& c : *certs) {
      (void)c.SubjectName();
      (void)c.IssuerName();
      (void)c.SerialNumber();
      (void)c.NotBefore();
      (void)c.NotAfter();
      (void)c.Sha256Fingerprint();
      (void)c.Extension("1.2.840.113741.1.13.1");
      (void)c.VerifySignedBy(c);
    }
  }
  auto crl = confide::x509::Crl::Parse(in);
  if (crl.ok()) {
    (void)crl->IssuerName();
    (void)crl->ThisUpdate();
    (void)crl->NextUpdate();
    (void)crl->IsRevoked(in.first(size < 20 ? size : 20));
  }
  return 0;
}
