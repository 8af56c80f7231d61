// What a host-side attacker can try against a running soft-backend enclave process, as plain
// functions that return what they observed (a Report), so that the same code runs as root in
// the test process and as an unprivileged user in a forked child (RunAs).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace isolation {

// Observations by name: counts, errno values, flags. Missing keys read as 0.
using Report = std::map<std::string, long>;
long Get(const Report& r, const std::string& key);
std::string Describe(const Report& r);  // for failure messages

struct Mapping {
  uintptr_t start = 0;
  uintptr_t end = 0;
  std::string perms;  // "rw-s"
  std::string path;   // "/secretmem (deleted)", "[heap]", "" ...
  // memfd_secret(2) memory shows up as "/secretmem" in /proc/PID/maps.
  bool secret() const { return path.rfind("/secretmem", 0) == 0; }
  bool channel() const { return path.rfind("/memfd:confide-channel", 0) == 0; }
};

// Parses /proc/PID/maps; returns 0 or the errno of opening or reading it.
int ReadMaps(pid_t pid, std::vector<Mapping>* out);

// Reads every page of every mapping of `pid` through /proc/PID/mem (vsyscall aside) and counts
// occurrences of each needle (also across page boundaries within a mapping). Keys:
//   maps_errno, mem_errno      errno of opening /proc/PID/maps and /proc/PID/mem (0 = opened)
//   mappings, pages_read       what was read
//   secret_mappings, secret_pages, secret_pages_read, secret_pages_eio
//   channel_mappings           mappings of the call channel memfd
//   page_errno:<e>             non-secret pages that failed with errno e
//   found:<i>                  occurrences of needles[i]
Report ScanProcessMemory(pid_t pid, const std::vector<std::string>& needles);

// process_vm_readv of the first page of each range. Keys: ranges, read_ok, errno:<e>, found:<i>.
Report VmReadv(pid_t pid, const std::vector<Mapping>& ranges, const std::vector<std::string>& needles);

// Opens /proc/PID/mem and preads the first page of each range (for an attacker who cannot read
// the maps but knows the addresses). Keys: open_errno, ranges, read_ok, errno:<e>, found:<i>.
Report ProcMemRead(pid_t pid, const std::vector<Mapping>& ranges, const std::vector<std::string>& needles);

// ptrace attach + PTRACE_PEEKDATA. When `stop_first`, the whole process is stopped with SIGSTOP
// before attaching to every thread (so no thread of it runs while traced), and continued with
// SIGCONT after detaching. Peeks every word of the first page of each range in `ranges` and
// one word at `control` (readable, non-secret memory; proves the attach worked). Keys:
//   stop_errno, attach_errno (first failure; 0 = attached to every thread), threads_attached,
//   peek_ok, peek_errno:<e>, control_ok, control_errno, found:<i>
Report PtracePeek(pid_t pid, const std::vector<Mapping>& ranges, uintptr_t control,
                  const std::vector<std::string>& needles, bool stop_first);

// Counts occurrences of each needle in a file. Keys: open_errno, bytes, found:<i>.
Report ScanFile(const std::string& path, const std::vector<std::string>& needles);

// Runs `fn` in a forked child as uid/gid (no supplementary groups), with every capability
// dropped when `drop_capabilities` (uid 0 without capabilities is root's user without root's
// powers), and returns its report, or one with run_failed set when it could not.
Report RunAs(uid_t uid, gid_t gid, const std::function<Report()>& fn, bool drop_capabilities = false);

}  // namespace isolation
