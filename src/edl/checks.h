// Internal: the semantic rules for declarations (attributes, size/count references, types).
#pragma once

#include <string>
#include <vector>

#include "confide/edl.h"

namespace confide::edl::internal {

class Checker {
 public:
  // `types`: every type visible to the file being checked; `warnings` receives warnings.
  Checker(const std::vector<UserType>& types, std::vector<std::string>& warnings)
      : types_(types), warnings_(warnings) {}

  Status CheckType(const UserType& type);
  Status CheckFunction(const Function& f);

 private:
  const UserType* Find(const std::string& name) const;
  // The struct or union a type names (struct X, union X, or a bare name defined in EDL).
  const UserType* Composite(const Type& t) const;
  Status CheckParam(const Function& f, const Declaration& d);
  Status CheckSizeRef(const SizeSpec& s, const char* attr, const std::vector<Declaration>& scope,
                      const std::string& owner, bool in_struct);

  const std::vector<UserType>& types_;
  std::vector<std::string>& warnings_;
};

}  // namespace confide::edl::internal
