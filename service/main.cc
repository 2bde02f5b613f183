// drover: the agent and its command line.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "api/fd_limits.h"
#include "api/server.h"
#include "common/log.h"
#include "service/accept_backoff.h"
#include "service/agent.h"
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
// client.meta (object of strings), client.gc_max_allocs (integer, 50),
// journal_max_events (100000), journal_max_age_seconds (604800; 0: no limit).
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
      config.journal_max_age = v->get_int64() * kSecond;
    }
  }
  if (const json::value* client = o.if_contains("client"); client && client->is_object()) {
    RETURN_IF_ERROR(str(client->get_object(), "node_class", config.node_class));
    if (const json::value* gc = client->get_object().if_contains("gc_max_allocs")) {
      if (!gc->is_int64() || gc->get_int64() < 0)
        return InvalidArgument("config file " + path + ": client.gc_max_allocs must be a non-negative integer");
      config.gc_max_allocs = static_cast<std::size_t>(gc->get_int64());
    }
    if (const json::value* meta = client->get_object().if_contains("meta")) {
      if (!meta->is_object()) return InvalidArgument("config file " + path + ": client.meta must be an object");
      for (const auto& kv : meta->get_object()) {
        if (!kv.value().is_string())
          return InvalidArgument("config file " + path + ": client.meta values must be strings");
        config.meta[std::string(kv.key())] = std::string(kv.value().get_string());
      }
    }
  }
  return Status::Ok();
}

int RunAgent(AgentConfig config, const std::string& log_level) {
  log::Level level;
  if (!log::ParseLevel(log_level, &level)) {
    std::cerr << "invalid --log-level \"" << log_level << "\" (debug, info, warn, error)\n";
    return 2;
  }
  log::SetLevel(level);

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

  log::Info("agent: starting drover " + config.version + " data_dir=" + config.data_dir +
            " http_addr=" + config.http_addr + (config.dev ? " (dev mode)" : ""));
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

  AddStateCommands(app);

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
    if (config.data_dir.empty()) config.data_dir = DefaultDataDir();
    return RunAgent(config, log_level);
  }
  return 0;
}
