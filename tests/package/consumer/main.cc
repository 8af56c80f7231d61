// Uses a little of every installed layer; prints what it computed so the test can check it.
#include <confide/attestation/evidence.h>
#include <confide/bytes.h>
#include <confide/crypto.h>
#include <confide/image.h>
#include <confide/time.h>
#include <iostream>

int main() {
  auto t = confide::ParseRfc3339("2025-06-19T10:56:11Z");
  if (!t.ok()) return 1;
  std::cout << "sha256(abc)=" << confide::HexEncode(confide::crypto::Sha256(confide::AsBytes("abc"))) << "\n";
  std::cout << "time=" << confide::FormatRfc3339(*t) << "\n";
  std::cout << "status=" << confide::attestation::TcbStatusName(confide::attestation::TcbStatus::kUpToDate) << "\n";
  return 0;
}
