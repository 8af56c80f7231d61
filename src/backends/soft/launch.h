// The contract between the platform daemon, which launches enclave processes, and
// confide-enclave-runtime, the program that runs inside each one.
//
// The daemon verifies the signed image, then its launcher fork+execs confide-enclave-runtime
// with /dev/null as 0-2 and exactly these descriptors open (everything else closed) and no
// arguments beyond argv[0]:
//   3  the signed image, in a memfd sealed against writes, shrinking and growing
//   4  the call channel memfd, created and initialised by the host (channel.h), its size
//      sealed (F_SEAL_SHRINK | F_SEAL_GROW) so the host cannot cut it under the enclave
//   5  the lifeline: a socket whose peer the host holds; EOF or an error means the host died
//   6  the platform connection: a socket to the daemon (keys, reports, quotes)
// and with RLIMIT_CORE 0, PR_SET_NO_NEW_PRIVS, RLIMIT_MEMLOCK large enough for the
// enclave's secret memory, running as the host's user.
//
// The runtime reports through the channel header: enclave_state kReady once the enclave
// accepts calls, or kCrashed / kLost with `reason` filled. The host waits on that word.
#pragma once

namespace confide::soft {

inline constexpr int kImageFd = 3;
inline constexpr int kChannelFd = 4;
inline constexpr int kLifelineFd = 5;
inline constexpr int kPlatformFd = 6;

// Name of the enclave runtime program, found next to the daemon's own executable.
inline constexpr const char* kRuntimeProgram = "confide-enclave-runtime";

}  // namespace confide::soft
