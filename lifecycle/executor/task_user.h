// Who a task runs as: the user looked up (before fork, in the executor)
// with its groups. Free of everything but libc and the C++ standard
// library: the executor links it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace drover::executor {

struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary, including gid
  std::string name;
  std::string home;
};

// Looks `name` up with getpwnam_r and getgrouplist. "" on success, else
// the error in Nomad's words ("failed to identify user <name>: user:
// unknown user <name>" for a user that does not exist, which also sets
// `*unknown`).
std::string ResolveUser(const std::string& name, Credentials* out, bool* unknown);

// Replaces or adds KEY=VALUE in an environment list.
void SetEnv(std::vector<std::string>& env, const std::string& key, const std::string& value);

}  // namespace drover::executor
