#include "lifecycle/executor/task_user.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace drover::executor {

std::string ResolveUser(const std::string& name, Credentials* out, bool* unknown) {
  *unknown = false;
  // getpwnam_r would read a name with a NUL as a shorter one.
  if (name.empty() || name.find('\0') != std::string::npos) {
    *unknown = true;
    return "failed to identify user " + name + ": user: unknown user " + name;
  }
  long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(hint > 0 ? static_cast<std::size_t>(hint) : 16384);
  passwd pw{};
  passwd* found = nullptr;
  int rc;
  while ((rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found)) == ERANGE &&
         buf.size() < (1u << 20)) {
    buf.resize(buf.size() * 2);
  }
  // As Nomad's executor (setCmdUser) words it, with Go's os/user text.
  if (rc != 0 && rc != ENOENT && rc != ESRCH) {
    return "failed to identify user " + name + ": " + std::strerror(rc);
  }
  if (found == nullptr) {
    *unknown = true;
    return "failed to identify user " + name + ": user: unknown user " + name;
  }
  out->uid = pw.pw_uid;
  out->gid = pw.pw_gid;
  out->name = pw.pw_name;
  out->home = pw.pw_dir != nullptr && pw.pw_dir[0] != '\0' ? pw.pw_dir : "/";
  int n = 32;
  for (int attempt = 0; attempt < 8; ++attempt) {
    out->groups.assign(static_cast<std::size_t>(n), 0);
    int want = n;
    if (::getgrouplist(name.c_str(), pw.pw_gid, out->groups.data(), &want) >= 0) {
      out->groups.resize(static_cast<std::size_t>(want));
      return "";
    }
    if (want <= n || want > 65536) break;
    n = want;
  }
  return "unable to lookup user's group membership: " + name;
}

void SetEnv(std::vector<std::string>& env, const std::string& key, const std::string& value) {
  for (auto& e : env) {
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') {
      e = key + "=" + value;
      return;
    }
  }
  env.push_back(key + "=" + value);
}

}  // namespace drover::executor
