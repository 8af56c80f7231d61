// AMD's SEV-SNP certificate authorities (ASK/ASVK then ARK per product) as PEM text.
#pragma once

namespace confide::attestation::snp::internal {

extern const char kAskArkMilanPem[];
extern const char kAskArkGenoaPem[];
extern const char kAskArkTurinVcekPem[];
extern const char kAskArkMilanVlekPem[];
extern const char kAskArkGenoaVlekPem[];
extern const char kAskArkTurinVlekPem[];

}  // namespace confide::attestation::snp::internal
