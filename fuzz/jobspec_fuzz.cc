// libFuzzer target for the jobspec: HCL expressions, their evaluation and
// Nomad's job mapping (hcl/jobspec.h). Besides the sanitizers, it checks the
// promises: an error is InvalidArgument and starts with "<file>:<line>:<col>: "
// (1-based), a parsed job has string ID and Name, and parsing is
// deterministic.
//
// An input is a job file; the part after a line "#vars" is the variables
// file (JobsParseRequest.Variables).
//
//   scripts/fuzz.sh 120 jobspec_fuzz    (seeds: fuzz/corpus/jobspec_fuzz/)
#include <boost/json.hpp>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "hcl/jobspec.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

// "<name>:<digits>:<digits>: " at the start, both numbers above 0.
bool HasPosition(std::string_view m) {
  std::size_t colon = m.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::size_t i = colon + 1;
  for (int part = 0; part < 2; ++part) {
    std::size_t start = i;
    while (i < m.size() && std::isdigit(static_cast<unsigned char>(m[i]))) ++i;
    if (i == start || m[start] == '0' || i >= m.size() || m[i] != ':') return false;
    ++i;
  }
  return i < m.size() && m[i] == ' ';
}

drover::Result<boost::json::object> Parse(std::string_view job, std::string_view vars) {
  drover::hcl::JobspecInput input;
  input.source = job;
  input.variables_file = vars;
  return drover::hcl::ParseJobspec(input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  std::string_view job = all;
  std::string_view vars;
  if (std::size_t at = all.find("\n#vars\n"); at != std::string_view::npos) {
    job = all.substr(0, at + 1);
    vars = all.substr(at + 7);
  }
  auto first = Parse(job, vars);
  if (!first.ok()) {
    Check(first.status().code() == drover::StatusCode::kInvalidArgument);
    Check(HasPosition(first.status().message()));
    return 0;
  }
  Check(first->at("ID").is_string());
  Check(first->at("Name").is_string());
  auto again = Parse(job, vars);
  Check(again.ok() && *again == *first);
  return 0;
}
