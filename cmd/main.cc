// drover: the agent and its command line.
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>

#include "api/fd_limits.h"
#include "api/server.h"
#include "cli/cli.h"
#include "common/log.h"
#include "cmd/accept_backoff.h"
#include "service/agent.h"
#include "service/job_cli.h"
#include "service/state_tool.h"

#ifndef DROVER_VERSION
#define DROVER_VERSION "0.0.0"
#endif

namespace drover {
namespace {

namespace json = boost::json;

std::string DefaultDataDir() {
  if (::geteuid() == 0) return "/var/lib/drover";
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.drover";
}

// Reads the agent's JSON config file. Keys (all optional): data_dir,
// http_addr, region, datacenter, name, log_level, client.node_class,
// client.meta (object of strings), client.options (object of strings:
// user.denylist, user.checked_drivers, ...), client.gc_max_allocs (integer, 50),
// client.max_kill_timeout (Go duration, "30s"),
// journal_max_events (100000), journal_max_age_seconds (604800; 0: no limit),
// acl.enabled (false), http.allowed_hosts (list of host names),
// telemetry.prometheus_metrics (false), telemetry.publish_allocation_metrics (false).
Status LoadConfigFile(const std::string& path, AgentConfig& config, std::string& log_level) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read config file " + path);
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(text.str(), ec);
  if (ec || !v.is_object()) return InvalidArgument("config file " + path + ": not a JSON object");
  const json::object& o = v.get_object();
  auto str = [&](const json::object& obj, const char* key, std::string& out) -> Status {
    const json::value* x = obj.if_contains(key);
    if (x == nullptr) return Status::Ok();
    if (!x->is_string()) return InvalidArgument("config file " + path + ": " + key + " must be a string");
    out = std::string(x->get_string());
    return Status::Ok();
  };
  RETURN_IF_ERROR(str(o, "data_dir", config.data_dir));
  RETURN_IF_ERROR(str(o, "http_addr", config.http_addr));
  RETURN_IF_ERROR(str(o, "region", config.region));
  RETURN_IF_ERROR(str(o, "datacenter", config.datacenter));
  RETURN_IF_ERROR(str(o, "name", config.node_name));
  RETURN_IF_ERROR(str(o, "log_level", log_level));
  for (const char* key : {"journal_max_events", "journal_max_age_seconds"}) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr) continue;
    if (!v->is_int64() || v->get_int64() < 0)
      return InvalidArgument("config file " + path + ": " + key + " must be a non-negative integer");
    if (std::string(key) == "journal_max_events") {
      config.journal_max_events = static_cast<std::size_t>(v->get_int64());
    } else {
      if (v->get_int64() > std::numeric_limits<Nanos>::max() / kSecond) {
        return InvalidArgument("config file " + path + ": " + key + " is too large (at most " +
                               std::to_string(std::numeric_limits<Nanos>::max() / kSecond) + ")");
      }
      config.journal_max_age = v->get_int64() * kSecond;
    }
  }
  if (const json::value* acl = o.if_contains("acl")) {
    const json::value* enabled = acl->is_object() ? acl->get_object().if_contains("enabled") : nullptr;
    if (!acl->is_object() || (enabled != nullptr && !enabled->is_bool()))
      return InvalidArgument("config file " + path + ": acl must be an object with a boolean enabled");
    if (enabled != nullptr) config.acl_enabled = enabled->get_bool();
  }
  if (const json::value* telemetry = o.if_contains("telemetry")) {
    const json::value* prom =
        telemetry->is_object() ? telemetry->get_object().if_contains("prometheus_metrics") : nullptr;
    if (!telemetry->is_object() || (prom != nullptr && !prom->is_bool()))
      return InvalidArgument("config file " + path +
                             ": telemetry must be an object with a boolean prometheus_metrics");
    if (prom != nullptr) config.prometheus_metrics = prom->get_bool();
    const json::value* allocs = telemetry->get_object().if_contains("publish_allocation_metrics");
    if (allocs != nullptr && !allocs->is_bool())
      return InvalidArgument("config file " + path +
                             ": telemetry.publish_allocation_metrics must be a boolean");
    if (allocs != nullptr) config.publish_allocation_metrics = allocs->get_bool();
  }
  if (const json::value* http = o.if_contains("http")) {
    const json::value* hosts =
        http->is_object() ? http->get_object().if_contains("allowed_hosts") : nullptr;
    if (!http->is_object() || (hosts != nullptr && !hosts->is_array()))
      return InvalidArgument("config file " + path + ": http.allowed_hosts must be a list of strings");
    if (hosts != nullptr) {
      for (const json::value& h : hosts->get_array()) {
        if (!h.is_string())
          return InvalidArgument("config file " + path + ": http.allowed_hosts must be a list of strings");
        config.allowed_hosts.emplace_back(h.get_string());
      }
    }
  }
  if (const json::value* client = o.if_contains("client"); client && client->is_object()) {
    RETURN_IF_ERROR(str(client->get_object(), "node_class", config.node_class));
    if (const json::value* gc = client->get_object().if_contains("gc_max_allocs")) {
      if (!gc->is_int64() || gc->get_int64() < 0)
        return InvalidArgument("config file " + path + ": client.gc_max_allocs must be a non-negative integer");
      config.gc_max_allocs = static_cast<std::size_t>(gc->get_int64());
    }
    if (const json::value* mkt = client->get_object().if_contains("max_kill_timeout")) {
      Result<Nanos> d = mkt->is_string() ? ParseGoDuration(mkt->get_string())
                                         : Result<Nanos>(InvalidArgument("not a string"));
      if (!d.ok() || *d <= 0 || *d > kMaxTimerDelay)
        return InvalidArgument("config file " + path + ": client.max_kill_timeout must be a positive duration such as \"30s\"");
      config.max_kill_timeout = *d;
    }
    // An object of strings, e.g. client.meta.
    auto strings = [&](const char* key, StringMap& out) -> Status {
      const json::value* obj = client->get_object().if_contains(key);
      if (obj == nullptr) return Status::Ok();
      const std::string name = std::string("client.") + key;
      if (!obj->is_object()) return InvalidArgument("config file " + path + ": " + name + " must be an object");
      for (const auto& kv : obj->get_object()) {
        if (!kv.value().is_string())
          return InvalidArgument("config file " + path + ": " + name + " values must be strings");
        out[std::string(kv.key())] = std::string(kv.value().get_string());
      }
      return Status::Ok();
    };
    RETURN_IF_ERROR(strings("options", config.client_options));
    RETURN_IF_ERROR(strings("meta", config.meta));
  }
  return Status::Ok();
}

// True if `addr` ("host:port") listens on loopback only.
bool LoopbackAddress(const std::string& addr) {
  std::string host = addr.substr(0, addr.rfind(':'));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

int RunAgent(AgentConfig config, const std::string& log_level, bool insecure_bind) {
  log::Level level;
  if (!log::ParseLevel(log_level, &level)) {
    std::cerr << "invalid --log-level \"" << log_level << "\" (debug, info, warn, error)\n";
    return 2;
  }
  log::SetLevel(level);

  // Anyone who reaches a non-loopback address without ACLs can run any
  // command on this machine: say so, and only on explicit request.
  if (!LoopbackAddress(config.http_addr) && !config.acl_enabled) {
    if (!insecure_bind) {
      log::Error("agent: refusing to serve on " + config.http_addr +
                 " without ACLs: anyone who can reach it could run any command on this "
                 "machine. Enable ACLs (--acl-enabled, or \"acl\": {\"enabled\": true}), "
                 "bind 127.0.0.1, or pass --insecure-bind to accept the risk.");
      return 2;
    }
    log::Warn("agent: !!! SERVING ON " + config.http_addr +
              " WITHOUT ACLS (--insecure-bind): ANYONE WHO CAN REACH THIS ADDRESS CAN RUN ANY "
              "COMMAND ON THIS MACHINE !!!");
  }

  std::string dev_dir;
  if (config.dev) {
    char tmpl[] = "/tmp/drover-dev-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      log::Error("dev mode: cannot create a data dir");
      return 1;
    }
    dev_dir = config.data_dir = tmpl;
  }

  // Shutdown signals are taken by sigwait below; every thread started from
  // here on inherits the block.
  sigset_t shutdown_signals;
  sigemptyset(&shutdown_signals);
  sigaddset(&shutdown_signals, SIGINT);
  sigaddset(&shutdown_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &shutdown_signals, nullptr);
  // glibc gives each allocating thread an arena of its own (up to 8 per
  // core); the agent's dozen threads mostly allocate briefly, and the pages
  // their arenas keep add up: with two arenas, the agent plus 100
  // executors measured 31.6 MB PSS instead of 34.7 (lifecycle_bench pss).
  // Two, not one, so that the HTTP workers and the engine do not serialise
  // on one arena lock. MALLOC_ARENA_MAX in the environment still wins.
  if (::getenv("MALLOC_ARENA_MAX") == nullptr) ::mallopt(M_ARENA_MAX, 2);

  log::Info("agent: starting drover " + config.version + " data_dir=" + config.data_dir +
            " http_addr=" + config.http_addr + (config.dev ? " (dev mode)" : "") +
            (config.acl_enabled ? " acl=enabled" : " acl=disabled"));
  // RocksDB, executors' pipes and HTTP connections share one fd budget;
  // when it runs out anyway, accept() backs off instead of spinning.
  if (auto fds = api::RaiseFdLimit(); fds.ok()) {
    log::Info("agent: file descriptor limit " + std::to_string(*fds));
  } else {
    log::Warn("agent: " + fds.status().message());
  }
  auto agent = Agent::Create(config);
  if (!agent.ok()) {
    log::Error("agent: " + agent.status().message());
    return 1;
  }
  InstallAcceptBackoff();
  api::Server server(**agent);
  Status st = server.Start(config.http_addr);
  if (!st.ok()) {
    log::Error(st.message());
    (*agent)->Shutdown();
    return 1;
  }

  int sig = 0;
  sigwait(&shutdown_signals, &sig);
  log::Info(std::string("agent: caught ") + (sig == SIGINT ? "interrupt" : "terminate") +
            (config.dev ? ", stopping tasks and shutting down" : ", shutting down; tasks keep running"));
  server.Shutdown();
  (*agent)->Shutdown();
  agent->reset();
  if (!dev_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dev_dir, ec);
  }
  log::Info("agent: stopped");
  return 0;
}

}  // namespace
}  // namespace drover

int main(int argc, char** argv) {
  using namespace drover;
  // The client commands (job run, alloc status, ...) read flags as Nomad's
  // CLI does; the agent's own commands below use CLI11.
  if (cli::IsClientCommand(argc, argv)) return cli::RunClient(argc, argv);
  const std::string first = argc >= 2 ? argv[1] : "";
  if (first.empty() || first == "-help" || first == "--help" || first == "-h") {
    cli::PrintUsage();
    return first.empty() ? 1 : 0;
  }
  if (first == "-version" || first == "--version" || first == "-v") {
    std::cout << "Drover v" << DROVER_VERSION << "\n";
    return 0;
  }
  CLI::App app{"drover: a single-node agent that runs jobs and speaks Nomad's HTTP API"};
  app.require_subcommand(1);

  AgentConfig config;
  config.version = DROVER_VERSION;
  std::string config_file, log_level = "info", data_dir, http_addr;
  auto* agent_cmd = app.add_subcommand("agent", "Run the agent");
  agent_cmd->add_option("--data-dir", data_dir,
                        "State and allocation directory (default: ~/.drover, /var/lib/drover "
                        "for root)");
  agent_cmd->add_option("--http-addr", http_addr, "HTTP address (default: 127.0.0.1:4646)");
  agent_cmd->add_option("--config", config_file, "JSON config file");
  agent_cmd->add_flag("--dev", config.dev,
                      "Throw-away data dir; tasks are stopped when the agent exits");
  agent_cmd->add_option("--log-level", log_level, "debug, info, warn or error")
      ->capture_default_str();
  agent_cmd->add_option("--region", config.region, "Region")->capture_default_str();
  agent_cmd->add_option("--dc", config.datacenter, "Datacenter")->capture_default_str();
  agent_cmd->add_option("--node", config.node_name, "Node name (default: host name)");
  bool acl_flag = false, insecure_bind = false;
  agent_cmd->add_flag("--acl-enabled", acl_flag,
                      "Require ACL tokens (then POST /v1/acl/bootstrap for the first one)");
  agent_cmd->add_flag("--insecure-bind", insecure_bind,
                      "Allow a non-loopback --http-addr without ACLs (anyone who reaches it "
                      "can run any command)");

  AddStateCommands(app);
  AddJobCommands(app);

  app.add_subcommand("version", "Print the version")->callback([] {
    std::cout << "Drover v" << DROVER_VERSION << "\n";
  });

  CLI11_PARSE(app, argc, argv);

  if (agent_cmd->parsed()) {
    if (!config_file.empty()) {
      Status st = LoadConfigFile(config_file, config, log_level);
      if (!st.ok()) {
        std::cerr << st.message() << "\n";
        return 2;
      }
    }
    // Flags win over the config file.
    if (!data_dir.empty()) config.data_dir = data_dir;
    if (!http_addr.empty()) config.http_addr = http_addr;
    if (acl_flag) config.acl_enabled = true;
    if (config.data_dir.empty()) config.data_dir = DefaultDataDir();
    return RunAgent(config, log_level, insecure_bind);
  }
  return 0;
}
