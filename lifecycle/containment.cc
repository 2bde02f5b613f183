#include "lifecycle/containment.h"

#include <cerrno>
#include <cstdlib>

namespace drover {
namespace {

std::set<std::string> CommaList(const std::string& text) {
  std::set<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    auto first = item.find_first_not_of(" \t");
    auto last = item.find_last_not_of(" \t");
    if (first != std::string::npos) out.insert(item.substr(first, last - first + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

Result<ContainmentOptions> ParseClientOptions(const std::map<std::string, std::string>& options) {
  ContainmentOptions o;
  auto get = [&](const char* key) -> const std::string* {
    auto it = options.find(key);
    return it == options.end() ? nullptr : &it->second;
  };
  // As Nomad: the first of the alternatives that is set wins.
  if (const std::string* v = get("user.denylist")) {
    o.user_denylist = CommaList(*v);
  } else if (const std::string* v = get("user.blacklist")) {
    o.user_denylist = CommaList(*v);
  }
  if (const std::string* v = get("user.allowlist")) o.user_allowlist = CommaList(*v);
  if (const std::string* v = get("user.checked_drivers")) o.checked_drivers = CommaList(*v);
  if (const std::string* v = get("drover.pids_max")) {
    errno = 0;
    char* end = nullptr;
    long long n = std::strtoll(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || errno != 0 || n < 1 || n > 4'194'304) {
      return InvalidArgument("client.options drover.pids_max must be an integer from 1 to 4194304, got \"" +
                             *v + "\"");
    }
    o.pids_max = n;
  }
  return o;
}

Status CheckTaskUser(const ContainmentOptions& options, const std::string& driver,
                     const std::string& user) {
  if (options.checked_drivers.count(driver) == 0) return Status::Ok();
  bool denied = options.user_denylist.count(user) != 0;
  if (!options.user_allowlist.empty() && !user.empty() && options.user_allowlist.count(user) == 0) {
    denied = true;
  }
  if (!denied) return Status::Ok();
  return InvalidArgument("running as user \"" + user + "\" is disallowed");
}

cgroup::Layout DetectCgroups() {
  return cgroup::Detect("/sys/fs/cgroup", cgroup::ReadSmallFile("/proc/self/cgroup"));
}

void AddContainmentAttributes(const cgroup::Layout& layout, std::map<std::string, std::string>& attrs) {
  if (layout.version == cgroup::Version::kNone) {
    attrs["drover.containment"] = "off";
    return;
  }
  attrs["drover.containment"] = "cgroups";
  attrs["os.cgroups.version"] = layout.version == cgroup::Version::kV2 ? "2" : "1";
  attrs["unique.cgroup.mountpoint"] = layout.mountpoint;
}

}  // namespace drover
