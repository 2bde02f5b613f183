// Command-line flags as Go's `flag` package (and so Nomad's CLI) reads them:
// `-name value`, `-name=value`, `--name` alike; a bool flag is set by
// `-name` and cleared by `-name=false`; flags end at the first argument that
// is not one, at "-" or after "--". What follows are the arguments.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace drover::cli {

class FlagSet {
 public:
  void Bool(std::string name, bool* out, std::string help);
  void String(std::string name, std::string* out, std::string help);
  void Int(std::string name, std::int64_t* out, std::string help);
  // Repeatable: each use appends.
  void Strings(std::string name, std::vector<std::string>* out, std::string help);

  // The arguments after the flags. "-h", "-help" and "--help" come back as
  // the error "help"; an unknown flag as Go's "flag provided but not
  // defined: -x".
  Result<std::vector<std::string>> Parse(const std::vector<std::string>& args);

  // "  -name <value>\n    help\n" for every flag, in the order added.
  std::string Describe() const;

 private:
  enum class Kind { kBool, kString, kInt, kStrings };
  struct Flag {
    std::string name;
    Kind kind;
    void* out;
    std::string help;
  };
  const Flag* Find(const std::string& name) const;

  std::vector<Flag> flags_;
};

}  // namespace drover::cli
