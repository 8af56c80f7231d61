// Host side shared by the codegen_all tests: what the host's ocall implementations record,
// and the enclave under test.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codegen_all_u.h"

namespace codegen_test {

struct HostState {
  std::mutex mu;
  std::vector<std::string> logs;
  confide::Status reenter_status;  // what the nested ecall inside host_reenter returned
  confide::Status reenter_error;   // the first error a nested ecall returned
  std::atomic<int> parked{0};
  std::atomic<bool> release{false};
  std::atomic<int> switchless_calls{0};
  confide::Enclave* enclave = nullptr;  // the enclave host_reenter calls back into
};

HostState& State();

// The id of ecall `name` in codegen_all.edl (its index in the trusted block).
uint32_t EcallId(const std::string& name);

// Loads the signed codegen_all enclave on the sim backend with the generated tables, or
// with `tables` when a test substitutes hostile ocall handlers.
std::unique_ptr<confide::Enclave> LoadAll(const confide::abi::UntrustedTables* tables = nullptr);

}  // namespace codegen_test
