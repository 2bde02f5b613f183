# ACL policy
namespace "default" {
  policy = "read"
  capabilities = ["submit-job", "read-logs"]
  variables {
    path "a/*" { capabilities = ["read"] }
  }
}
agent { policy = "write" }
