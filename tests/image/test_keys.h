// Signing keys for tests. RSA-3072 generation takes a second or so, so each process makes
// each kind of key once.
#pragma once

#include <gtest/gtest.h>

#include "confide/crypto.h"

namespace confide::testing {

inline const crypto::PKey& SigningKey(int which = 0) {
  static crypto::PKey keys[2];
  if (!keys[which]) {
    auto k = crypto::RsaGenerate(3072, 3);
    EXPECT_TRUE(k.ok()) << k.status().ToString();
    if (k.ok()) keys[which] = *k;
  }
  return keys[which];
}

}  // namespace confide::testing
