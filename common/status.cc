#include "common/status.h"

namespace drover {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kAlreadyExists: return "AlreadyExists";
    case StatusCode::kFailedPrecondition: return "FailedPrecondition";
    case StatusCode::kPermissionDenied: return "PermissionDenied";
    case StatusCode::kTooLarge: return "TooLarge";
    case StatusCode::kResourceExhausted: return "ResourceExhausted";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kInternal: return "Internal";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

std::string GoMultiError(const std::vector<std::string>& errors) {
  std::string out = std::to_string(errors.size()) +
                    (errors.size() == 1 ? " error occurred:\n" : " errors occurred:\n");
  for (const auto& e : errors) out += "\t* " + e + "\n";
  return out + "\n";
}

}  // namespace drover
