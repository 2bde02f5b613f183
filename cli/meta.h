// What every client command shares (Nomad's command/meta.go): the agent's
// address, the ACL token and namespace, output switches, and calls to the
// API that turn a non-2xx answer into Nomad's error text
//   Unexpected response code: 404 (alloc not found)
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "cli/flags.h"
#include "client/http_client.h"
#include "common/status.h"

namespace drover::cli {

class Meta {
 public:
  Meta();

  // -address, -token, -namespace, -region, -no-color, -force-color; with
  // `format`, -json and -t too.
  void AddFlags(FlagSet& flags, bool format = false);

  // Reads NOMAD_ADDR / DROVER_ADDR, NOMAD_TOKEN, NOMAD_NAMESPACE where no
  // flag was given, and parses the address: http://HOST[:PORT] or
  // HOST[:PORT] (HOST an IPv4 address, [an IPv6 one] or a name; the agent
  // serves plain http, so https is refused).
  Status Resolve();

  // GET `path` (a query string allowed); the namespace is added as a query
  // parameter unless `path` has one. The JSON body, or an error.
  Result<boost::json::value> Get(const std::string& path);
  // GET with the index of the answer (X-Nomad-Index), for blocking queries.
  Result<boost::json::value> GetIndexed(const std::string& path, std::uint64_t& index);
  Result<boost::json::value> Put(const std::string& path, const std::string& body);
  Result<boost::json::value> Post(const std::string& path, const std::string& body) {
    return Send("POST", path, body);
  }
  Result<boost::json::value> Delete(const std::string& path) { return Send("DELETE", path, ""); }
  // The raw answer, any status.
  Result<client::HttpResponse> Raw(const std::string& method, const std::string& path,
                                   const std::string& body);
  // A streaming GET (logs -f, the event stream); see HttpClient::Stream.
  Status Stream(const std::string& path, const std::function<bool(std::string_view)>& on_data);

  // The headers every request carries (the token).
  client::HttpHeaders Headers() const;
  // `path` with the namespace added.
  std::string WithNamespace(const std::string& path) const;

  const std::string& host() const { return host_; }
  std::uint16_t port() const { return port_; }
  const std::string& token() const { return token_; }
  const std::string& ns() const { return namespace_; }
  bool json() const { return json_; }
  const std::string& tmpl() const { return tmpl_; }
  bool formatted() const { return json_ || !tmpl_.empty(); }

  // Colours only on a terminal (and not with -no-color or NO_COLOR).
  bool color() const;
  std::string Bold(const std::string& s) const;
  std::string Green(const std::string& s) const;
  std::string Red(const std::string& s) const;
  std::string Yellow(const std::string& s) const;

  // Prints `-json` / `-t` output of `data`; 0, or 1 after printing the error.
  int Output(const boost::json::value& data);

 private:
  Result<boost::json::value> Send(const std::string& method, const std::string& path,
                                  const std::string& body, std::uint64_t* index = nullptr);

  std::string address_, token_, namespace_, region_, tmpl_;
  bool json_ = false, no_color_ = false, force_color_ = false;
  std::string host_ = "127.0.0.1";
  std::uint16_t port_ = 4646;
  std::unique_ptr<client::HttpClient> http_;
};

// Errors as Nomad's Ui prints them: one line on stderr. Returns 1.
int Fail(const std::string& message);
// The "Usage: ..." text and "Error: ..." for wrong arguments. Returns 1.
int UsageError(const std::string& usage, const std::string& why);

}  // namespace drover::cli
