// Task users and containment policy on the agent side: the client options
// that govern which users tasks may run as, the cgroup layout found at
// start, and what the node advertises about both.
//
// Client options (the agent config's client.options map, as Nomad's):
//   user.denylist         users a task of a checked driver may not run as
//                         (default "root,Administrator"; alias user.blacklist)
//   user.checked_drivers  drivers the lists apply to (default
//                         "exec,qemu,java": raw_exec is not checked unless
//                         listed, as in Nomad)
//   user.allowlist        Drover's addition: when set, the only users a
//                         task of a checked driver may run as
//   drover.pids_max       pids.max of each task's cgroup (default 4096)
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "common/status.h"
#include "lifecycle/executor/cgroup.h"

namespace drover {

struct ContainmentOptions {
  std::set<std::string> user_denylist{"root", "Administrator"};
  std::set<std::string> user_allowlist;  // empty: no allowlist
  std::set<std::string> checked_drivers{"exec", "qemu", "java"};
  std::int64_t pids_max = 4096;
};

// Reads the options above from client.options; other keys are ignored, as
// Nomad ignores options it does not know. InvalidArgument for a bad value.
Result<ContainmentOptions> ParseClientOptions(const std::map<std::string, std::string>& options);

// Nomad's validate hook: InvalidArgument `running as user "<u>" is
// disallowed` when the task's driver is checked and its user is denied (or
// not allowed).
Status CheckTaskUser(const ContainmentOptions& options, const std::string& driver,
                     const std::string& user);

// What the drivers need: the options and the layout found at start.
struct Containment {
  ContainmentOptions options;
  cgroup::Layout layout;
};

// Detects the cgroup layout of this process (/sys/fs/cgroup,
// /proc/self/cgroup) and creates the drover parent groups. Never fails:
// a layout with version kNone says why containment is off.
cgroup::Layout DetectCgroups();

// The node attributes that describe containment: os.cgroups.version ("1"
// or "2") and unique.cgroup.mountpoint as Nomad's fingerprint sets them,
// and drover.containment ("cgroups" or "off").
void AddContainmentAttributes(const cgroup::Layout& layout, std::map<std::string, std::string>& attrs);

}  // namespace drover
