// `drover job parse`: an HCL2 jobspec to the JSON job, offline.
//
//   drover job parse FILE [--var NAME=VALUE]... [--var-file FILE]
//
// prints {"Job": {...}}, the body PUT /v1/jobs takes (what `nomad job run
// -output` prints), so a job in HCL runs with
//   drover job parse web.hcl | curl --data-binary @- localhost:4646/v1/jobs
// Errors go to stderr as "<file>:<line>:<col>: ..."; exit status 1.
#pragma once

namespace CLI {
class App;
}

namespace drover {

void AddJobCommands(CLI::App& app);

}  // namespace drover
