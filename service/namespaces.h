// Namespaces, as Nomad's Namespace RPCs keep them (nomad/namespace_endpoint.go):
// stored in the `namespaces` table, "default" always present, validated
// with Nomad's rules and texts, and checked when a job is registered.
//
// Where Nomad answers these refusals with 500 (its RPC errors carry no
// code), Drover answers 4xx with Nomad's text: invalid input 400, deleting
// a namespace that is still in use 409, an unknown namespace 404.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/model.h"
#include "storage/namespace_model.h"
#include "storage/state_store.h"

namespace drover {

class NamespaceService {
 public:
  // `job_status` derives a job's Status as GET /v1/job/:id shows it (a
  // stored job's own Status field is not kept current).
  NamespaceService(StateStore& store, std::string region,
                   std::function<Result<std::string>(const Job&)> job_status);

  // By name; only those whose name starts with `prefix`.
  Result<std::vector<Namespace>> List(const std::string& prefix) const;
  Result<std::optional<Namespace>> Get(const std::string& name) const;
  // The index of the namespaces table, at least 1 (Nomad's blocking meta).
  std::uint64_t Index() const;

  // Creates or replaces a namespace (Create/ModifyIndex are the store's).
  // Errors: InvalidArgument `Invalid namespace "x": <multierror>` (name
  // ^[a-zA-Z0-9-]{1,128}$, description at most 256 bytes, Enterprise
  // blocks "... is unlicensed."), or `namespace "x" using non-existent
  // quota "q"`. Returns the index of the change.
  Result<std::uint64_t> Upsert(Namespace ns);

  // Deletes a namespace that holds no non-terminal job or allocation and no
  // variable. InvalidArgument "can not delete default namespace"; NotFound
  // "namespace not found"; AlreadyExists (409) with Nomad's multierror
  // (`namespace "x" has non-terminal jobs in regions: [global]`, ...).
  Result<std::uint64_t> Delete(const std::string& name);

  // Job admission, as Nomad's namespace-constraint-check hook: the job's
  // namespace must exist and allow its task drivers and network modes.
  // InvalidArgument with the hook's text in Go's multierror form.
  Status CheckJob(const Job& job) const;

 private:
  StateStore& store_;
  std::string region_;
  std::function<Result<std::string>(const Job&)> job_status_;
};

// Nomad's Namespace.Validate (CE): the errors, without the prefix.
std::vector<std::string> NamespaceErrors(const Namespace& ns);

}  // namespace drover
