#include "service/job_cli.h"

#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hcl/hcl.h"
#include "hcl/jobspec.h"

namespace drover {
namespace {

// The whole file, refused past the parser's input limit.
Result<std::string> ReadSource(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rbe"), &std::fclose);
  if (!f) return InvalidArgument("cannot open " + path);
  std::string out;
  char buf[65536];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f.get())) > 0;) {
    out.append(buf, n);
    if (out.size() > hcl::kMaxSourceBytes) {
      return InvalidArgument(path + ": larger than " + std::to_string(hcl::kMaxSourceBytes) +
                             " bytes");
    }
  }
  if (std::ferror(f.get())) return InvalidArgument("cannot read " + path);
  return out;
}

struct ParseArgs {
  std::string file;
  std::vector<std::string> vars;
  std::string var_file;
};

int RunParse(const ParseArgs& args) {
  auto source = ReadSource(args.file);
  if (!source.ok()) {
    std::cerr << source.status().message() << "\n";
    return 1;
  }
  hcl::JobspecInput input;
  input.source = *source;
  input.filename = args.file;
  std::string var_file;
  if (!args.var_file.empty()) {
    auto content = ReadSource(args.var_file);
    if (!content.ok()) {
      std::cerr << content.status().message() << "\n";
      return 1;
    }
    var_file = std::move(content).value();
    input.variables_file = var_file;
  }
  for (const std::string& v : args.vars) {
    const std::size_t eq = v.find('=');
    input.var_flags[v.substr(0, eq)] = eq == std::string::npos ? "" : v.substr(eq + 1);
  }
  auto job = hcl::ParseJobspec(input);
  if (!job.ok()) {
    std::cerr << "Error parsing job file from " << args.file << ":\n"
              << job.status().message() << "\n";
    return 1;
  }
  std::cout << boost::json::serialize(boost::json::object{{"Job", std::move(job).value()}})
            << "\n";
  return 0;
}

}  // namespace

void AddJobCommands(CLI::App& app) {
  auto* job = app.add_subcommand("job", "Job files");
  job->require_subcommand(1);
  auto args = std::make_shared<ParseArgs>();
  auto* parse = job->add_subcommand("parse", "Print an HCL2 job file as the JSON job");
  parse->add_option("file", args->file, "The job file (HCL2)")->required();
  parse->add_option("--var", args->vars, "NAME=VALUE: set a variable")->take_all();
  parse->add_option("--var-file", args->var_file, "A file of NAME = VALUE lines");
  parse->callback([args] {
    if (int rc = RunParse(*args); rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace drover
