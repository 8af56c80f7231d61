// AMD's SEV-SNP certificate authorities as PEM text: each product's ARK (root), ASK (signs
// VCEKs) and ASVK (signs VLEKs), each once.
#pragma once

#include <cstddef>

namespace confide::attestation::snp::internal {

extern const char* const kAmdCertificatePems[];
extern const size_t kAmdCertificateCount;

}  // namespace confide::attestation::snp::internal
