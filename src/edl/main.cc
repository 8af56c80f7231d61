// confide-edger8r: the EDL compiler. Accepts the command line of Intel's sgx_edger8r and
// OE's oeedger8r: parses and checks EDL, then generates the typed proxies and dispatchers.
//
// Exit codes: 0 success, 1 EDL error, 2 usage error.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "confide/edl.h"
#include "codegen.h"  // same directory: the tool is not a confide_library target

namespace {

constexpr const char* kUsage =
    "usage: confide-edger8r [options] FILE.edl...\n"
    "\n"
    "Parses and checks EDL files written for Intel's SGX SDK or the Open Enclave SDK and\n"
    "generates C++ proxies and dispatchers (NAME_t.h/.cc for the enclave, NAME_u.h/.cc for\n"
    "the host).\n"
    "\n"
    "options:\n"
    "  --search-path DIR    search DIR for EDL files (repeatable; DIR1:DIR2 also accepted)\n"
    "  --trusted            generate the enclave side only\n"
    "  --untrusted          generate the host side only\n"
    "  --trusted-dir DIR    directory for enclave-side output (default .)\n"
    "  --untrusted-dir DIR  directory for host-side output (default .)\n"
    "  --header-only        generate headers only\n"
    "  --allow-user-check   generate [user_check] parameters (raw pointers, unchecked);\n"
    "                       refused without this flag\n"
    "  --use-prefix         accepted for sgx_edger8r compatibility\n"
    "  -DNAME, -D NAME      define NAME for #ifdef / #ifndef\n"
    "  -Werror              treat warnings as errors (other -W options are accepted and ignored)\n"
    "  --experimental       accepted for oeedger8r compatibility\n"
    "  --dump-ast           print the parsed EDL (imports resolved) as JSON on stdout\n"
    "  --help               print this help\n"
    "\n"
    "exit status: 0 success, 1 EDL error, 2 usage error\n";

int Usage(const std::string& message) {
  std::fprintf(stderr, "confide-edger8r: %s\n\n%s", message.c_str(), kUsage);
  return 2;
}

void SplitPaths(const std::string& value, std::vector<std::string>& out) {
  size_t start = 0;
  while (start <= value.size()) {
    size_t colon = value.find(':', start);
    std::string part = value.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!part.empty()) out.push_back(part);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  confide::edl::ParseOptions options;
  std::vector<std::string> files;
  bool dump_ast = false, werror = false;
  bool trusted = false, untrusted = false, header_only = false, allow_user_check = false;
  std::string trusted_dir = ".", untrusted_dir = ".";
  std::vector<std::string> ignored;

  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const std::string& flag, std::string& out) -> bool {
      if (a.size() > flag.size() && a.compare(0, flag.size() + 1, flag + "=") == 0) {
        out = a.substr(flag.size() + 1);
        return true;
      }
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    auto is = [&](const std::string& flag) {
      return a == flag || (a.size() > flag.size() && a.compare(0, flag.size() + 1, flag + "=") == 0);
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (is("--search-path")) {
      if (!value("--search-path", v) || v.empty()) return Usage("--search-path needs a directory");
      SplitPaths(v, options.search_paths);
    } else if (is("--trusted-dir")) {
      if (!value("--trusted-dir", trusted_dir) || trusted_dir.empty()) return Usage("--trusted-dir needs a directory");
    } else if (is("--untrusted-dir")) {
      if (!value("--untrusted-dir", untrusted_dir) || untrusted_dir.empty()) {
        return Usage("--untrusted-dir needs a directory");
      }
    } else if (a == "--trusted") {
      trusted = true;
    } else if (a == "--untrusted") {
      untrusted = true;
    } else if (a == "--allow-user-check") {
      allow_user_check = true;
    } else if (a == "--header-only") {
      header_only = true;
    } else if (a == "--dump-ast") {
      dump_ast = true;
    } else if (a == "--use-prefix" || a == "--experimental") {
      ignored.push_back(a);
    } else if (a.rfind("-D", 0) == 0) {
      std::string name = a.substr(2);
      if (name.empty()) {
        if (i + 1 >= args.size()) return Usage("-D needs a name");
        name = args[++i];
      }
      if (name.empty()) return Usage("-D needs a name");
      options.defines.push_back(name);
    } else if (a == "-Werror") {
      werror = true;
    } else if (a.rfind("-W", 0) == 0 && a.size() > 2) {
      ignored.push_back(a);
    } else if (!a.empty() && a[0] == '-') {
      return Usage("unknown option " + a);
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) return Usage("no EDL file given");

  std::vector<confide::edl::Edl> parsed;
  for (const std::string& f : files) {
    auto r = confide::edl::ParseEdlFile(f, options);
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().message().c_str());
      return 1;
    }
    for (const std::string& w : r->warnings) std::fprintf(stderr, "%s\n", w.c_str());
    if (werror && !r->warnings.empty()) {
      std::fprintf(stderr, "confide-edger8r: %s: warnings treated as errors (-Werror)\n", f.c_str());
      return 1;
    }
    parsed.push_back(std::move(r).value());
  }

  if (dump_ast) {
    if (parsed.size() == 1) {
      std::cout << confide::edl::EdlToJson(parsed[0]) << "\n";
    } else {
      std::cout << "[\n";
      for (size_t i = 0; i < parsed.size(); ++i) {
        std::cout << confide::edl::EdlToJson(parsed[i]) << (i + 1 < parsed.size() ? ",\n" : "\n");
      }
      std::cout << "]\n";
    }
    return std::cout.good() ? 0 : 1;
  }
  for (const std::string& flag : ignored) {
    std::fprintf(stderr, "confide-edger8r: note: %s is accepted for compatibility and has no effect\n",
                 flag.c_str());
  }
  confide::edl::CodegenOptions gen;
  gen.trusted = trusted || !untrusted;
  gen.untrusted = untrusted || !trusted;
  gen.header_only = header_only;
  gen.allow_user_check = allow_user_check;
  for (const confide::edl::Edl& edl : parsed) {
    confide::Status s = confide::edl::WriteGeneratedCode(edl, gen, trusted_dir, untrusted_dir);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.message().c_str());
      return 1;
    }
  }
  return 0;
}
